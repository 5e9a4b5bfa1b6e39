#include "common/auth/token.h"

#include <errno.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <jwt.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <memory>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/input/text.h"

namespace grid::auth {
namespace {

// Every jwt_t in RAII.
struct JwtFree {
  void operator()(jwt_t* jwt) const { jwt_free(jwt); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtFree>;

absl::Status Unauthenticated(std::string_view what) {
  return absl::UnauthenticatedError(absl::StrCat("bearer token: ", std::string(what)));
}

// RFC 7519 4.1.3: `aud` is one string or an array of strings.
bool NamesAudience(jwt_t* jwt, const std::string& audience) {
  if (const char* one = jwt_get_grant(jwt, "aud"); one != nullptr) {
    return audience == one;
  }
  char* json = jwt_get_grants_json(jwt, "aud");
  if (json == nullptr) {
    return false;
  }
  const std::string text(json);
  free(json);  // libjwt allocates with malloc.
  google::protobuf::ListValue list;
  if (!google::protobuf::util::JsonStringToMessage(text, &list).ok()) {
    return false;
  }
  for (const google::protobuf::Value& value : list.values()) {
    if (value.kind_case() == google::protobuf::Value::kStringValue &&
        value.string_value() == audience) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::optional<v1::Role> ParseRole(std::string_view text) {
  std::string upper = absl::AsciiStrToUpper(std::string(text));
  if (absl::StartsWith(upper, "ROLE_")) {
    upper = upper.substr(5);
  }
  if (upper == "WORKER") {
    return v1::ROLE_WORKER;
  }
  if (upper == "HANDLER") {
    return v1::ROLE_HANDLER;
  }
  if (upper == "OPERATOR") {
    return v1::ROLE_OPERATOR;
  }
  if (upper == "ADMIN") {
    return v1::ROLE_ADMIN;
  }
  return std::nullopt;
}

std::string RoleClaim(v1::Role role) {
  switch (role) {
    case v1::ROLE_WORKER:
      return "WORKER";
    case v1::ROLE_HANDLER:
      return "HANDLER";
    case v1::ROLE_OPERATOR:
      return "OPERATOR";
    case v1::ROLE_ADMIN:
      return "ADMIN";
    case v1::ROLE_SYSTEM:
      return "SYSTEM";
    default:
      return "UNSPECIFIED";
  }
}

absl::StatusOr<std::string> IssueToken(const Claims& claims, std::string_view secret) {
  if (secret.size() < kMinSecretBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("secret: at least ", kMinSecretBytes, " bytes are required"));
  }
  if (claims.subject.empty()) {
    return absl::InvalidArgumentError("subject: required");
  }
  if (claims.unit_id.empty()) {
    return absl::InvalidArgumentError("unit: required");
  }
  // SYSTEM comes with a client system's api key, never in a token (ParseRole refuses it too).
  if (!ParseRole(RoleClaim(claims.role)).has_value()) {
    return absl::InvalidArgumentError("role: one of WORKER, HANDLER, OPERATOR, ADMIN");
  }
  // libjwt takes C strings and JSON holds text: a claim with a NUL byte or bytes that are not
  // UTF-8 would be signed as something else than what was asked (cut at the NUL, or mangled).
  for (const auto& [field, value] :
       {std::pair<const char*, const std::string&>("subject", claims.subject),
        std::pair<const char*, const std::string&>("unit", claims.unit_id)}) {
    if (value.find('\0') != std::string::npos || input::Utf8Length(value) < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": must be UTF-8 text without NUL characters"));
    }
  }
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) {
    return absl::ResourceExhaustedError("jwt_new failed");
  }
  JwtPtr jwt(raw);
  const bool ok =
      jwt_add_grant(jwt.get(), "sub", claims.subject.c_str()) == 0 &&
      jwt_add_grant(jwt.get(), "role", RoleClaim(claims.role).c_str()) == 0 &&
      jwt_add_grant(jwt.get(), "unit", claims.unit_id.c_str()) == 0 &&
      jwt_add_grant_int(jwt.get(), "iat", static_cast<long>(claims.issued_at)) == 0 &&
      jwt_add_grant_int(jwt.get(), "exp", static_cast<long>(claims.expires_at)) == 0 &&
      (claims.not_before == 0 ||
       jwt_add_grant_int(jwt.get(), "nbf", static_cast<long>(claims.not_before)) == 0) &&
      (claims.issuer.empty() || jwt_add_grant(jwt.get(), "iss", claims.issuer.c_str()) == 0) &&
      (claims.audience.empty() || jwt_add_grant(jwt.get(), "aud", claims.audience.c_str()) == 0) &&
      jwt_set_alg(jwt.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(secret.data()),
                  static_cast<int>(secret.size())) == 0;
  if (!ok) {
    return absl::InternalError("token: cannot set the claims");
  }
  char* encoded = jwt_encode_str(jwt.get());
  if (encoded == nullptr) {
    return absl::InternalError("token: cannot encode");
  }
  std::string token(encoded);
  free(encoded);  // libjwt allocates with malloc.
  return token;
}

absl::StatusOr<std::string> ReadSecretFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot open the secret file"));
  }
  std::ostringstream bytes;
  bytes << file.rdbuf();
  std::string secret = bytes.str();
  if (!secret.empty() && secret.back() == '\n') {
    secret.pop_back();
  }
  if (secret.size() < kMinSecretBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": the secret must be at least ", kMinSecretBytes, " bytes"));
  }
  return secret;
}

TokenVerifier::TokenVerifier(std::string secret, const topology::Topology& topology,
                             const Clock& clock, VerifyOptions options)
    : secret_(std::move(secret)),
      options_(std::move(options)),
      topology_(topology),
      clock_(clock) {}

absl::StatusOr<v1::Actor> TokenVerifier::Verify(std::string_view token) const {
  absl::StatusOr<Verified> verified = VerifyToken(token);
  if (!verified.ok()) {
    return verified.status();
  }
  return std::move(verified->actor);
}

std::size_t TokenVerifier::cached_tokens() const {
  std::lock_guard lock(mu_);
  return cache_.size();
}

absl::StatusOr<TokenVerifier::Verified> TokenVerifier::VerifyToken(std::string_view token) const {
  if (token.empty()) {
    return Unauthenticated("missing");
  }
  const std::int64_t now_second = clock_.Now() / 1000;
  {
    std::lock_guard lock(mu_);
    if (auto it = cache_.find(absl::string_view(token.data(), token.size())); it != cache_.end()) {
      const Window& window = it->second;
      if (now_second >= window.valid_from && now_second < window.expires_at) {
        return window.verified;
      }
      // Outside its window: the full check says why (expired, not valid yet).
      cache_.erase(it);
    }
  }
  Window window;
  absl::StatusOr<Verified> verified = CheckInFull(token, window);
  if (verified.ok()) {
    std::lock_guard lock(mu_);
    if (cache_.size() >= kCachedTokens) {
      cache_.clear();
    }
    cache_.emplace(std::string(token), std::move(window));
  }
  return verified;
}

absl::StatusOr<TokenVerifier::Verified> TokenVerifier::CheckInFull(std::string_view token,
                                                                   Window& window) const {
  const std::string text(token);
  // First without the key, to tell a malformed token and a foreign algorithm from a bad signature.
  jwt_t* raw = nullptr;
  if (jwt_decode(&raw, text.c_str(), nullptr, 0) != 0 || raw == nullptr) {
    return Unauthenticated("malformed (not a JWT)");
  }
  JwtPtr unverified(raw);
  // Without a key libjwt leaves the algorithm unset; the header says which one was used.
  const char* alg = jwt_get_header(unverified.get(), "alg");
  if (alg == nullptr || jwt_str_alg(alg) != JWT_ALG_HS256) {
    return Unauthenticated(absl::StrCat("signed with ", alg == nullptr ? "no algorithm" : alg,
                                        ", only HS256 is accepted"));
  }
  raw = nullptr;
  if (jwt_decode(&raw, text.c_str(), reinterpret_cast<const unsigned char*>(secret_.data()),
                 static_cast<int>(secret_.size())) != 0 ||
      raw == nullptr) {
    return Unauthenticated("bad signature (forged, or signed with another secret)");
  }
  JwtPtr jwt(raw);
  if (jwt_get_alg(jwt.get()) != JWT_ALG_HS256) {
    return Unauthenticated("only HS256 is accepted");
  }

  errno = 0;
  const long expires_at = jwt_get_grant_int(jwt.get(), "exp");
  if (errno == ENOENT || expires_at <= 0) {
    return Unauthenticated("no exp claim");
  }
  const Millis now = clock_.Now();
  // In seconds, as the claim is: a far-future exp in milliseconds would overflow.
  if (expires_at <= now / 1000) {
    return Unauthenticated(absl::StrCat("expired ", (now / 1000 - expires_at), " s ago"));
  }
  const Millis leeway_ms = std::chrono::milliseconds(options_.leeway).count();
  errno = 0;
  const long not_before = jwt_get_grant_int(jwt.get(), "nbf");
  const bool has_not_before = errno != ENOENT;
  // Compared in seconds, as the claims are: a far-off claim in milliseconds would overflow.
  const Millis latest_second = (now + leeway_ms) / 1000;
  if (has_not_before && not_before > latest_second) {
    return Unauthenticated(
        absl::StrCat("not valid yet (nbf is ", not_before - now / 1000, " s from now)"));
  }
  errno = 0;
  const long issued_at = jwt_get_grant_int(jwt.get(), "iat");
  const bool has_issued_at = errno != ENOENT;
  if (has_issued_at && issued_at > latest_second) {
    return Unauthenticated(
        absl::StrCat("issued in the future (iat is ", issued_at - now / 1000, " s from now)"));
  }
  if (!options_.issuer.empty()) {
    const char* issuer = jwt_get_grant(jwt.get(), "iss");
    if (issuer == nullptr || options_.issuer != issuer) {
      return Unauthenticated(absl::StrCat("issuer \"", issuer == nullptr ? "" : issuer,
                                          "\" is not \"", options_.issuer, "\""));
    }
  }
  if (!options_.audience.empty() && !NamesAudience(jwt.get(), options_.audience)) {
    return Unauthenticated(absl::StrCat("not meant for audience \"", options_.audience, "\""));
  }
  const char* subject = jwt_get_grant(jwt.get(), "sub");
  if (subject == nullptr || *subject == '\0') {
    return Unauthenticated("no sub claim");
  }
  const char* role_text = jwt_get_grant(jwt.get(), "role");
  if (role_text == nullptr) {
    return Unauthenticated("no role claim");
  }
  const std::optional<v1::Role> role = ParseRole(role_text);
  if (!role) {
    return Unauthenticated(
        absl::StrCat("unknown role \"", role_text, "\" (one of WORKER, HANDLER, OPERATOR, ADMIN)"));
  }
  const char* unit = jwt_get_grant(jwt.get(), "unit");
  if (unit == nullptr || *unit == '\0') {
    return Unauthenticated("no unit claim");
  }
  if (topology_.Find(unit) == nullptr) {
    return Unauthenticated(absl::StrCat("unknown unit \"", unit, "\""));
  }
  Verified verified;
  verified.actor.set_subject(subject);
  verified.actor.set_role(*role);
  verified.actor.set_unit_id(unit);
  // A far-future exp (the seeds hold one of 2^63 - 1 s) is as good as never.
  constexpr Millis kLatestSecond = std::numeric_limits<Millis>::max() / 1000;
  verified.expires_at = expires_at >= kLatestSecond ? std::numeric_limits<Millis>::max()
                                                    : static_cast<Millis>(expires_at) * 1000;
  // The seconds this check holds for: from the latest of nbf and iat less the leeway (the checks
  // above admit the second s when max(nbf, iat) <= s + leeway) to exp.
  constexpr std::int64_t kEarliest = std::numeric_limits<std::int64_t>::min();
  const std::int64_t leeway_s = options_.leeway.count();
  std::int64_t starts = kEarliest;
  if (has_not_before) {
    starts = std::max<std::int64_t>(starts, not_before);
  }
  if (has_issued_at) {
    starts = std::max<std::int64_t>(starts, issued_at);
  }
  window.valid_from = starts < kEarliest + leeway_s ? kEarliest : starts - leeway_s;
  window.expires_at = expires_at;
  window.verified = verified;
  return verified;
}

}  // namespace grid::auth
