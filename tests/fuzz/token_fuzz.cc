// Bearer tokens (common/auth/token.*). Three kinds of input, chosen by the first byte:
//   0: raw token text, as it arrives in the authorization header;
//   1: a fuzzed JSON claims object, signed with the secret, so that it gets past the signature
//      check and the claims themselves are checked;
//   2: fuzzed Claims through IssueToken, whose token must verify as those claims when they are
//      valid (a known unit, not expired).
// Verify either names the caller or answers UNAUTHENTICATED; nothing else.
#include <fuzzer/FuzzedDataProvider.h>
#include <jwt.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "common/auth/token.h"
#include "tests/support/shipped_config.h"

namespace {

constexpr std::string_view kSecret = "fuzz-secret-0123456789abcdef0123456789";
// 2026-11-30T00:30:00Z.
constexpr grid::Millis kNow = 1795998600000;

const grid::auth::TokenVerifier& Verifier() {
  static const grid::FakeClock clock(kNow);
  static const grid::auth::TokenVerifier verifier(std::string(kSecret),
                                                  grid::testing::ShippedTopology(), clock);
  return verifier;
}

absl::StatusOr<grid::v1::Actor> Verify(const std::string& token) {
  absl::StatusOr<grid::v1::Actor> actor = Verifier().Verify(token);
  if (!actor.ok() && actor.status().code() != absl::StatusCode::kUnauthenticated) {
    std::abort();
  }
  return actor;
}

// Signs a claims object with the secret as libjwt does for any issuer.
void SignedClaims(const std::string& json) {
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) {
    return;
  }
  std::unique_ptr<jwt_t, void (*)(jwt_t*)> jwt(raw, jwt_free);
  if (jwt_add_grants_json(jwt.get(), json.c_str()) != 0 ||
      jwt_set_alg(jwt.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(kSecret.data()),
                  static_cast<int>(kSecret.size())) != 0) {
    return;
  }
  char* encoded = jwt_encode_str(jwt.get());
  if (encoded == nullptr) {
    return;
  }
  const std::string token(encoded);
  free(encoded);
  (void)Verify(token);
}

void IssuedClaims(FuzzedDataProvider& input) {
  const grid::topology::Topology& topology = grid::testing::ShippedTopology();
  grid::auth::Claims claims;
  claims.subject = input.ConsumeRandomLengthString(64);
  claims.role = static_cast<grid::v1::Role>(input.ConsumeIntegralInRange<int>(-1, 6));
  if (input.ConsumeBool()) {
    const auto& units = topology.data().units();
    claims.unit_id = units.Get(input.ConsumeIntegralInRange<int>(0, units.size() - 1)).id();
  } else {
    claims.unit_id = input.ConsumeRandomLengthString(32);
  }
  claims.issued_at = input.ConsumeIntegral<std::int64_t>();
  claims.expires_at = input.ConsumeIntegral<std::int64_t>();
  const absl::StatusOr<std::string> token = grid::auth::IssueToken(claims, kSecret);
  if (!token.ok()) {
    return;
  }
  const absl::StatusOr<grid::v1::Actor> actor = Verify(*token);
  // Valid: not expired, not issued in the future (the iat check), a known unit.
  const bool valid = claims.expires_at > kNow / 1000 && claims.issued_at <= kNow / 1000 &&
                     topology.Find(claims.unit_id) != nullptr;
  if (valid && (!actor.ok() || actor->subject() != claims.subject || actor->role() != claims.role ||
                actor->unit_id() != claims.unit_id)) {
    std::abort();  // A token issued for valid claims names exactly those claims.
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  switch (input.ConsumeIntegralInRange<int>(0, 2)) {
    case 0:
      (void)Verify(input.ConsumeRemainingBytesAsString());
      break;
    case 1:
      SignedClaims(input.ConsumeRemainingBytesAsString());
      break;
    default:
      IssuedClaims(input);
      break;
  }
  return 0;
}
