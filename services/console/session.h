// Browser sign-in (API.md, "Authentication"): where a request's bearer token comes from (the
// Authorization header or the session cookie), the cookies, the CSRF check of cookie-borne moves,
// the token's claims for display, and the one-time sign-in codes. The token itself is judged by
// the gateway only.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/clock/clock.h"
#include "grid/v1/types.pb.h"
#include "services/console/exchange.h"

namespace grid::console {

inline constexpr char kSessionCookie[] = "grid_session";
inline constexpr char kCsrfCookie[] = "grid_csrf";
inline constexpr char kCsrfHeader[] = "X-Grid-CSRF";

// Where a request's token came from.
struct Credentials {
  enum class Via { kNone, kBearer, kCookie };
  Via via = Via::kNone;
  std::string token;
  // The grid_csrf cookie, when sent.
  std::string csrf_cookie;
};

// The value of cookie `name` in a Cookie header ("a=1; b=2"); nullopt when absent.
std::optional<std::string> CookieValue(std::string_view cookie_header, std::string_view name);

// The token of `request`: "Authorization: Bearer <token>" first, else the grid_session cookie.
Credentials CredentialsOf(const Request& request);

// A cookie-borne POST or DELETE must carry X-Grid-CSRF equal to the grid_csrf cookie and, when
// the browser sends Origin, come from the console's own origin (`secure` says its scheme).
// PERMISSION_DENIED saying which check failed; OK for other methods and for bearer tokens.
absl::Status CheckCsrf(const Request& request, const Credentials& credentials, bool secure);

// When the browser sends Origin, it must be the console's own (`secure` says its scheme, the Host
// header the rest). PERMISSION_DENIED naming the foreign origin.
absl::Status CheckOrigin(const Request& request, bool secure);

// Set-Cookie values: the session (HttpOnly) and CSRF cookies, valid `max_age`; Secure when
// `secure`. A zero max_age clears the cookie.
std::string SessionCookie(std::string_view token, std::chrono::seconds max_age, bool secure);
std::string CsrfCookie(std::string_view value, std::chrono::seconds max_age, bool secure);

// `bytes` random bytes (OpenSSL's CSPRNG), base64url without padding.
std::string RandomToken(std::size_t bytes = 32);

// What a token says about its caller, read without checking the signature: for display only,
// and only after the gateway has accepted the token.
struct DisplayClaims {
  std::string subject;
  v1::Role role = v1::ROLE_UNSPECIFIED;
  std::string unit_id;
  std::int64_t issued_at = 0;   // Seconds since the epoch.
  std::int64_t expires_at = 0;  // Seconds since the epoch.
};

// UNAUTHENTICATED when the token is not a JWT with a JSON payload carrying sub, role, unit, exp.
absl::StatusOr<DisplayClaims> DecodeClaims(std::string_view token);

// One-time sign-in codes: a code stands for a token for `ttl`, and is redeemed once. Bounded:
// beyond `capacity` codes the oldest is forgotten. Thread-safe; borrows the clock.
class SigninCodes final {
 public:
  SigninCodes(const Clock& clock, std::chrono::seconds ttl, std::size_t capacity);

  struct Issued {
    std::string code;
    std::int64_t expires_at_ms = 0;
  };
  Issued Issue(std::string token);
  // The token of `code` and forgets the code; nullopt when unknown, used or expired.
  std::optional<std::string> Redeem(const std::string& code);
  std::size_t size() const;

 private:
  struct Entry {
    std::string token;
    std::int64_t expires_at_ms;
  };
  void DropExpired(std::int64_t now_ms);

  const Clock& clock_;
  const std::chrono::seconds ttl_;
  const std::size_t capacity_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> codes_;
  std::deque<std::string> order_;  // Issue order, for expiry and the bound.
};

}  // namespace grid::console
