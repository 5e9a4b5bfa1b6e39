// The console's requests (API.md): routes each to the JSON API, the live feed, the sign-in
// endpoints, the Open311 door or the page's files. Holds no rule about who may do what: the gateway
// decides, with the caller's token or api key; the console checks only HTTP and the browser's CSRF
// defence.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/clock/clock.h"
#include "services/console/api_error.h"
#include "services/console/console_metrics.h"
#include "services/console/exchange.h"
#include "services/console/gateway.h"
#include "services/console/json_api.h"
#include "services/console/open311.h"
#include "services/console/router.h"
#include "services/console/session.h"
#include "services/console/sse_stream.h"
#include "services/console/static_files.h"

namespace grid::console {

struct ConsoleOptions {
  // Each gateway call's deadline (the live feed has none).
  std::chrono::milliseconds call_deadline{10000};
  SseOptions sse;
  // One-time sign-in codes: lifetime and how many are held at most.
  std::chrono::seconds signin_code_ttl{300};
  std::size_t max_signin_codes = 1000;
};

// Thread-safe: Handle runs on any connection's strand. Borrows everything it is given.
class Console final {
 public:
  Console(Gateway& gateway, const StaticFiles& files, const Clock& clock,
          const ConsoleOptions& options, ConsoleMetrics& metrics);

  // Answers `request` on `exchange` (now, or later from a gateway callback).
  void Handle(Request request, ExchangePtr exchange);

  SigninCodes& signin_codes() { return codes_; }

 private:
  using Reply = std::function<void(Response)>;

  void HandleApi(const Request& request, const std::string& path, const std::string& query,
                 const ExchangePtr& exchange, const Reply& reply);
  void HandleWatch(const Request& request, const QueryParams& query, const Credentials& credentials,
                   const ExchangePtr& exchange, const Reply& reply);
  void SessionInfo(const Request& request, const Credentials& credentials, bool secure,
                   const Reply& reply);
  void SignIn(const Request& request, bool secure, const Reply& reply);
  void SignOut(const Request& request, bool secure, const Reply& reply);
  void IssueCode(const Request& request, const Credentials& credentials, const Reply& reply);
  void RedeemCode(const Request& request, const std::string& code, bool secure, const Reply& reply);

  // Has the gateway judge `token` (GetTopology of the token's own unit: OK or PERMISSION_DENIED
  // mean it authenticated the token), then calls `done` with its claims for display, or the
  // error (401 for a missing or refused token).
  void CheckToken(const std::string& token,
                  std::function<void(std::optional<ApiError>, DisplayClaims)> done);

  Gateway& gateway_;
  const StaticFiles& files_;
  const Clock& clock_;
  const ConsoleOptions options_;
  ConsoleMetrics& metrics_;
  const Router router_;
  JsonApi api_;
  Open311 open311_;
  SigninCodes codes_;
  ChangeTexts change_texts_;
};

}  // namespace grid::console
