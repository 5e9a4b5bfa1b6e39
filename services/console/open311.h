// The Open311 GeoReport v2 door of the console (API.md, "Open311 GeoReport v2"): the requests
// under /open311/v2/ become gateway calls made with the client's api key (forwarded as
// "x-api-key"), and their answers the spec's documents in JSON or XML. The gateway judges the key
// (its client, role SYSTEM, the unit's subtree, rate limits); the console keeps no rule of its own
// and stores nothing, personal fields least of all.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock/clock.h"
#include "services/console/exchange.h"
#include "services/console/gateway.h"
#include "services/console/georeport.h"

namespace grid::console {

// Thread-safe; borrows the gateway and the clock.
class Open311 final {
 public:
  using Reply = std::function<void(Response)>;

  // `deadline`: each gateway call's own.
  Open311(Gateway& gateway, const Clock& clock, std::chrono::milliseconds deadline);

  // True when `path` is the door's ("/open311/...").
  static bool Owns(std::string_view path);
  // The route's name for metrics: "GET /open311/v2/requests/{service_request_id}", or
  // "open311 unmatched".
  static std::string RouteName(std::string_view method, std::string_view path);

  // Answers `request` (whose target split into `path` and `query`) through `reply`, at once or
  // from a gateway callback. Every refusal is the spec's error document with its HTTP status:
  // 400 bad input naming the parameter, 403 api key missing or refused, 404 no such resource,
  // 405 wrong method, 415 a body that is not a urlencoded form, 429 rate limited (Retry-After),
  // 503 gateway unavailable.
  void Handle(const Request& request, const std::string& path, const std::string& query,
              Reply reply);

  // One request's answer in its format; public for the implementation's helpers.
  struct Answer;
  // A refusal: HTTP status, the description, and a rate limit's hint.
  struct Failure {
    int http = 400;
    std::string description;
    std::optional<std::int64_t> retry_after_ms;
  };

 private:
  using Services = std::vector<georeport::Service>;
  using AnswerPtr = std::shared_ptr<const Answer>;
  struct Listing;

  void ListServices(const std::string& api_key, AnswerPtr answer);
  void DefineService(const std::string& api_key, const std::string& code, AnswerPtr answer);
  void PostRequest(const QueryParams& params, AnswerPtr answer);
  void Search(const QueryParams& params, AnswerPtr answer);
  void SearchIds(const georeport::Search& search, const Services& services, AnswerPtr answer);
  void SearchPage(std::shared_ptr<Listing> listing, AnswerPtr answer);
  void GetRequest(const std::string& api_key, const std::string& id, AnswerPtr answer);
  void GetToken(const std::string& api_key, const std::string& token, AnswerPtr answer);

  // ListCategories with `api_key` (may be empty); `done` gets the services, or the answer fails.
  void WithServices(const std::string& api_key, AnswerPtr answer,
                    std::function<void(Services)> done);
  // Calls `rpc` with `api_key`; `done` gets the status and the response.
  void Ask(const std::string& rpc, const std::string& api_key,
           std::shared_ptr<google::protobuf::Message> request,
           std::shared_ptr<google::protobuf::Message> response,
           std::function<void(const CallResult&)> done);

  Gateway& gateway_;
  const Clock& clock_;
  const std::chrono::milliseconds deadline_;
};

// The refusal of a gateway's status: the HTTP status of its code (UNAUTHENTICATED is 403: the
// spec's answer for a bad api key), and its message with the report's fields named as the form's
// parameters ("report.location" → "lat/long").
Open311::Failure Open311FailureOf(const grpc::Status& status,
                                  std::optional<std::int64_t> retry_after_ms);

}  // namespace grid::console
