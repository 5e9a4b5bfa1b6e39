// Bearer tokens: JWT signed with HMAC-SHA256 under a shared secret, carrying who calls (sub), their
// role and home unit, and when the token was issued and expires (iat, exp: seconds since the
// epoch), optionally when it starts to hold (nbf), who issued it (iss) and for whom (aud).
// libjwt parses and checks signatures; this file maps claims to and from v1::Actor and checks the
// times and the optional issuer and audience.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "common/clock/clock.h"
#include "common/topology/topology.h"
#include "grid/v1/types.pb.h"

namespace grid::auth {

// A secret shorter than this is refused: HS256 wants at least 256 bits of key.
inline constexpr std::size_t kMinSecretBytes = 32;

// What a token says.
struct Claims {
  std::string subject;
  v1::Role role = v1::ROLE_UNSPECIFIED;
  std::string unit_id;
  // Seconds since the epoch.
  std::int64_t issued_at = 0;
  std::int64_t expires_at = 0;
  // Optional (0 / empty: the claim is left out).
  std::int64_t not_before = 0;
  std::string issuer{};
  std::string audience{};
};

// What TokenVerifier checks beyond the signature and the claims every token carries.
struct VerifyOptions {
  // nbf and iat may lie this far in the future: the issuer's clock may run ahead of ours.
  // Expiry gets no leeway: a token ends when its issuer said.
  std::chrono::seconds leeway{60};
  // When set, `iss` must equal it.
  std::string issuer{};
  // When set, `aud` (a string, or an array of strings) must name it.
  std::string audience{};
};

// "WORKER", "HANDLER", "OPERATOR", "ADMIN" (any case, with or without the ROLE_ prefix).
std::optional<v1::Role> ParseRole(std::string_view text);
// The claim's spelling: "WORKER", "HANDLER", "OPERATOR", "ADMIN".
std::string RoleClaim(v1::Role role);

// Signs `claims` with HS256. INVALID_ARGUMENT for an empty subject or unit, an unset role, or a
// secret shorter than kMinSecretBytes.
absl::StatusOr<std::string> IssueToken(const Claims& claims, std::string_view secret);

// Reads a secret file: its bytes, less one trailing newline. Errors name the file, never the
// secret.
absl::StatusOr<std::string> ReadSecretFile(const std::string& path);

// Checks tokens against one secret and the topology. Safe to share between threads.
//
// A mobile app sends the same token with every call until it expires, and checking it costs two
// JWT decodes (base64, JSON) and an HMAC: so a token that passed is remembered, by its exact text,
// with the window of time it holds in (from nbf/iat less the leeway, to exp), and a later call
// with the same text only checks the clock against that window. The memory is bounded
// (kCachedTokens; when full it starts over); a token outside its window is checked in full again,
// so that the answer and its message are what a first check would give.
class TokenVerifier final {
 public:
  // Borrows the topology and the clock.
  TokenVerifier(std::string secret, const topology::Topology& topology, const Clock& clock,
                VerifyOptions options = {});

  // A verified token: its caller and when it expires (UTC milliseconds).
  struct Verified {
    v1::Actor actor;
    Millis expires_at = 0;
  };

  // The caller a token names, or UNAUTHENTICATED saying what is wrong (malformed, bad signature
  // — a forged token or another secret —, not HS256, expired, not valid yet (nbf), issued in the
  // future (iat), another issuer or audience, a missing or unknown claim, an unknown unit).
  // Messages never contain the secret.
  absl::StatusOr<Verified> VerifyToken(std::string_view token) const;
  absl::StatusOr<v1::Actor> Verify(std::string_view token) const;

  const VerifyOptions& options() const { return options_; }

  // Tokens remembered at most.
  static constexpr std::size_t kCachedTokens = 10'000;
  // How many are remembered now.
  std::size_t cached_tokens() const;

 private:
  struct Window {
    Verified verified;
    // The token holds from this second (its nbf and iat less the leeway)...
    std::int64_t valid_from = 0;
    // ...to this one (exp, excluded).
    std::int64_t expires_at = 0;
  };
  absl::StatusOr<Verified> CheckInFull(std::string_view token, Window& window) const;

  std::string secret_;
  VerifyOptions options_;
  const topology::Topology& topology_;
  const Clock& clock_;

  mutable std::mutex mu_;
  mutable absl::flat_hash_map<std::string, Window> cache_;
};

}  // namespace grid::auth
