#include "services/console/session.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/auth/token.h"

namespace grid::console {
namespace {

std::string HeaderValue(const Request& request, std::string_view name) {
  const auto it = request.find(boost::beast::string_view(name.data(), name.size()));
  return it == request.end() ? std::string() : std::string(it->value());
}

bool IsUnsafe(http::verb method) {
  return method == http::verb::post || method == http::verb::put || method == http::verb::patch ||
         method == http::verb::delete_;
}

std::string Cookie(std::string_view name, std::string_view value, std::chrono::seconds max_age,
                   bool http_only, bool secure) {
  std::string cookie = absl::StrCat(
      std::string(name), "=", std::string(value),
      "; Path=/; Max-Age=", std::max<std::int64_t>(0, max_age.count()), "; SameSite=Strict");
  if (http_only) {
    absl::StrAppend(&cookie, "; HttpOnly");
  }
  if (secure) {
    absl::StrAppend(&cookie, "; Secure");
  }
  return cookie;
}

}  // namespace

std::optional<std::string> CookieValue(std::string_view cookie_header, std::string_view name) {
  for (absl::string_view pair :
       absl::StrSplit(absl::string_view(cookie_header.data(), cookie_header.size()), ';')) {
    pair = absl::StripAsciiWhitespace(pair);
    const std::size_t equals = pair.find('=');
    if (equals != absl::string_view::npos && std::string_view(pair.data(), equals) == name) {
      return std::string(pair.substr(equals + 1));
    }
  }
  return std::nullopt;
}

Credentials CredentialsOf(const Request& request) {
  Credentials credentials;
  const std::string cookies = HeaderValue(request, "Cookie");
  credentials.csrf_cookie = CookieValue(cookies, kCsrfCookie).value_or("");
  const std::string authorization = HeaderValue(request, "Authorization");
  if (absl::StartsWithIgnoreCase(authorization, "Bearer ")) {
    credentials.via = Credentials::Via::kBearer;
    credentials.token = std::string(absl::StripAsciiWhitespace(authorization.substr(7)));
    return credentials;
  }
  if (auto session = CookieValue(cookies, kSessionCookie); session && !session->empty()) {
    credentials.via = Credentials::Via::kCookie;
    credentials.token = *std::move(session);
  }
  return credentials;
}

absl::Status CheckOrigin(const Request& request, bool secure) {
  const std::string origin = HeaderValue(request, "Origin");
  if (origin.empty()) {
    return absl::OkStatus();
  }
  const std::string own =
      absl::StrCat(secure ? "https://" : "http://", HeaderValue(request, "Host"));
  if (!absl::EqualsIgnoreCase(origin, own)) {
    return absl::PermissionDeniedError(
        absl::StrCat("Origin: ", origin, " is not this console's origin (", own, ")"));
  }
  return absl::OkStatus();
}

absl::Status CheckCsrf(const Request& request, const Credentials& credentials, bool secure) {
  if (!IsUnsafe(request.method()) || credentials.via != Credentials::Via::kCookie) {
    return absl::OkStatus();
  }
  const std::string header = HeaderValue(request, kCsrfHeader);
  const std::string& cookie = credentials.csrf_cookie;
  if (header.empty() || cookie.empty() || header.size() != cookie.size() ||
      CRYPTO_memcmp(header.data(), cookie.data(), header.size()) != 0) {
    return absl::PermissionDeniedError(absl::StrCat(
        kCsrfHeader, ": missing or not the value of the ", kCsrfCookie,
        " cookie; a move signed in by cookie must carry it (GET /api/v1/session gives it)"));
  }
  return CheckOrigin(request, secure);
}

std::string SessionCookie(std::string_view token, std::chrono::seconds max_age, bool secure) {
  return Cookie(kSessionCookie, token, max_age, /*http_only=*/true, secure);
}

std::string CsrfCookie(std::string_view value, std::chrono::seconds max_age, bool secure) {
  return Cookie(kCsrfCookie, value, max_age, /*http_only=*/false, secure);
}

std::string RandomToken(std::size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    // Without randomness there is no safe session: stop rather than hand out guessable codes.
    std::cerr << "console: RAND_bytes failed\n";
    std::abort();
  }
  return absl::WebSafeBase64Escape(raw);
}

absl::StatusOr<DisplayClaims> DecodeClaims(std::string_view token) {
  const std::vector<absl::string_view> parts =
      absl::StrSplit(absl::string_view(token.data(), token.size()), '.');
  std::string payload;
  if (parts.size() != 3 || !absl::WebSafeBase64Unescape(parts[1], &payload)) {
    return absl::UnauthenticatedError("token: not a JWT (three base64url parts)");
  }
  const nlohmann::json claims = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (!claims.is_object()) {
    return absl::UnauthenticatedError("token: the payload is not a JSON object");
  }
  const auto string_claim = [&](const char* name) -> std::optional<std::string> {
    const auto it = claims.find(name);
    return it != claims.end() && it->is_string() ? std::optional(it->get<std::string>())
                                                 : std::nullopt;
  };
  const auto number_claim = [&](const char* name) -> std::optional<std::int64_t> {
    const auto it = claims.find(name);
    return it != claims.end() && it->is_number() ? std::optional(it->get<std::int64_t>())
                                                 : std::nullopt;
  };
  DisplayClaims out;
  const auto subject = string_claim("sub");
  const auto role = string_claim("role");
  const auto unit = string_claim("unit");
  const auto expires = number_claim("exp");
  if (!subject || !role || !unit || !expires) {
    return absl::UnauthenticatedError("token: a claim of sub, role, unit, exp is missing");
  }
  const std::optional<v1::Role> parsed_role = auth::ParseRole(*role);
  if (!parsed_role) {
    return absl::UnauthenticatedError(absl::StrCat("token: unknown role \"", *role, "\""));
  }
  out.subject = *subject;
  out.role = *parsed_role;
  out.unit_id = *unit;
  out.issued_at = number_claim("iat").value_or(0);
  out.expires_at = *expires;
  return out;
}

SigninCodes::SigninCodes(const Clock& clock, std::chrono::seconds ttl, std::size_t capacity)
    : clock_(clock), ttl_(ttl), capacity_(std::max<std::size_t>(1, capacity)) {}

void SigninCodes::DropExpired(std::int64_t now_ms) {
  while (!order_.empty()) {
    const auto it = codes_.find(order_.front());
    if (it != codes_.end() && it->second.expires_at_ms > now_ms) {
      return;
    }
    if (it != codes_.end()) {
      codes_.erase(it);
    }
    order_.pop_front();
  }
}

SigninCodes::Issued SigninCodes::Issue(std::string token) {
  const std::int64_t now = clock_.Now();
  Issued issued{RandomToken(32), now + ttl_.count() * 1000};
  std::lock_guard lock(mu_);
  DropExpired(now);
  while (order_.size() >= capacity_) {
    codes_.erase(order_.front());
    order_.pop_front();
  }
  codes_[issued.code] = Entry{std::move(token), issued.expires_at_ms};
  order_.push_back(issued.code);
  return issued;
}

std::optional<std::string> SigninCodes::Redeem(const std::string& code) {
  const std::int64_t now = clock_.Now();
  std::lock_guard lock(mu_);
  const auto it = codes_.find(code);
  if (it == codes_.end()) {
    return std::nullopt;
  }
  Entry entry = std::move(it->second);
  codes_.erase(it);
  if (entry.expires_at_ms <= now) {
    return std::nullopt;
  }
  return std::move(entry.token);
}

std::size_t SigninCodes::size() const {
  std::lock_guard lock(mu_);
  return codes_.size();
}

}  // namespace grid::console
