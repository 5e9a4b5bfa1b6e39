// Bearer tokens: JWT signed with HMAC-SHA256 under a shared secret, carrying who calls (sub), their
// role and home unit, and when the token was issued and expires (iat, exp: seconds since the
// epoch). libjwt parses and checks signatures; this file only maps claims to and from v1::Actor.
#pragma once

#include <optional>
#include <string>
#include <string_view>

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

// Checks tokens against one secret and the topology. Immutable; safe to share between threads.
class TokenVerifier final {
 public:
  // Borrows the topology and the clock.
  TokenVerifier(std::string secret, const topology::Topology& topology, const Clock& clock);

  // The caller a token names, or UNAUTHENTICATED saying what is wrong (malformed, bad signature
  // — a forged token or another secret —, not HS256, expired, a missing or unknown claim, an
  // unknown unit). Messages never contain the secret.
  absl::StatusOr<v1::Actor> Verify(std::string_view token) const;

 private:
  std::string secret_;
  const topology::Topology& topology_;
  const Clock& clock_;
};

}  // namespace grid::auth
