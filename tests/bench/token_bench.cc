// The gateway's check of the bearer token on every call: HS256 signature, claims, topology.
#include <benchmark/benchmark.h>

#include <optional>

#include "common/auth/token.h"
#include "tests/bench/shipped.h"

namespace grid::bench {
namespace {

constexpr char kSecret[] = "a benchmark secret of at least thirty-two bytes";

// A token per grid worker, as the load generator holds them.
std::vector<std::string> WorkerTokens(const Clock& clock) {
  std::vector<std::string> tokens;
  for (const v1::Worker& worker : ShippedTopology().data().workers()) {
    auth::Claims claims;
    claims.subject = worker.id();
    claims.role = v1::ROLE_WORKER;
    claims.unit_id = worker.grid_id();
    claims.issued_at = clock.Now() / 1000;
    claims.expires_at = claims.issued_at + 3600;
    tokens.push_back(*auth::IssueToken(claims, kSecret));
  }
  return tokens;
}

// Verifies the workers' tokens in turn, with the verifier `verifier_for` gives each iteration.
template <typename VerifierFor>
void VerifyTokens(benchmark::State& state, VerifierFor verifier_for) {
  const SystemClock clock;
  const std::vector<std::string> tokens = WorkerTokens(clock);
  std::size_t i = 0;
  for (auto _ : state) {
    auto actor = verifier_for(clock).Verify(tokens[i++ % tokens.size()]);
    if (!actor.ok()) {
      state.SkipWithError(std::string(actor.status().message()).c_str());
      return;
    }
    benchmark::DoNotOptimize(actor);
  }
  state.SetItemsProcessed(state.iterations());
}

// A token the verifier has checked before (the gateway's common case: an app sends the same
// token with every call): looked up by its text, the clock checked against its window.
void BM_TokenVerify(benchmark::State& state) {
  std::optional<auth::TokenVerifier> verifier;
  VerifyTokens(state, [&](const Clock& clock) -> const auth::TokenVerifier& {
    if (!verifier) {
      verifier.emplace(kSecret, ShippedTopology(), clock);
    }
    return *verifier;
  });
}
BENCHMARK(BM_TokenVerify);

// The first check of a token: decoded, its HS256 signature and claims checked (a verifier of its
// own per iteration, so that nothing is remembered).
void BM_TokenVerifyFirstTime(benchmark::State& state) {
  std::optional<auth::TokenVerifier> verifier;
  VerifyTokens(state, [&](const Clock& clock) -> const auth::TokenVerifier& {
    verifier.emplace(kSecret, ShippedTopology(), clock);
    return *verifier;
  });
}
BENCHMARK(BM_TokenVerifyFirstTime);

void BM_TokenIssue(benchmark::State& state) {
  auth::Claims claims;
  claims.subject = "W3702120010010101";
  claims.role = v1::ROLE_WORKER;
  claims.unit_id = "37021200100101";
  claims.issued_at = 1764547200;
  claims.expires_at = claims.issued_at + 3600;
  for (auto _ : state) {
    benchmark::DoNotOptimize(auth::IssueToken(claims, kSecret));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TokenIssue);

}  // namespace
}  // namespace grid::bench
