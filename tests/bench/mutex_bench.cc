// What Abseil's mutex deadlock detector costs. Debian's libabsl is built with it on, and gRPC
// locks absl::Mutex throughout, so every service pays it on every lock (GraphCycles in the
// ingest profiles, BENCHMARKS.md); absl::SetMutexDeadlockDetectionMode turns it off.
#include <benchmark/benchmark.h>

#include <memory>

#include "absl/synchronization/mutex.h"

namespace grid::bench {
namespace {

void SetDetection(const benchmark::State& state) {
  absl::SetMutexDeadlockDetectionMode(state.range(0) != 0 ? absl::OnDeadlockCycle::kAbort
                                                          : absl::OnDeadlockCycle::kIgnore);
}

// A lock taken while another is held, as gRPC's call objects do: the detector records the edge.
void BM_AbslMutexNestedLock(benchmark::State& state) {
  SetDetection(state);
  absl::Mutex outer;
  absl::Mutex inner;
  for (auto _ : state) {
    absl::MutexLock hold(&outer);
    absl::MutexLock lock(&inner);
    benchmark::DoNotOptimize(&inner);
  }
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kAbort);
}
BENCHMARK(BM_AbslMutexNestedLock)->ArgName("detect")->Arg(1)->Arg(0);

// A mutex of a short-lived object (one per call), locked once under another.
void BM_AbslMutexPerCall(benchmark::State& state) {
  SetDetection(state);
  absl::Mutex outer;
  for (auto _ : state) {
    auto call = std::make_unique<absl::Mutex>();
    absl::MutexLock hold(&outer);
    absl::MutexLock lock(call.get());
    benchmark::DoNotOptimize(call.get());
  }
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kAbort);
}
BENCHMARK(BM_AbslMutexPerCall)->ArgName("detect")->Arg(1)->Arg(0);

}  // namespace
}  // namespace grid::bench
