// Drives asynchronous calls closed-loop: a fixed number outstanding at all times, each slot
// starting its next call when the last one completes, for a fixed time. The rate is whatever the
// system under test sustains (saturation), not an offered one.
#pragma once

#include <chrono>
#include <functional>
#include <vector>

#include "absl/status/status.h"

namespace grid::loadgen {

struct ClosedLoopOptions {
  // Calls in flight at all times.
  int outstanding = 64;
  // No call starts after this long.
  std::chrono::milliseconds duration{10000};
};

struct ClosedLoopResult {
  // Round trips of the calls that succeeded, in ms, in no particular order.
  std::vector<double> latency_ms;
  int started = 0;
  int failed = 0;
  // The first failure's status; no call starts after it.
  absl::Status first_error;
  // From the first call's start to the last call's end.
  double elapsed_seconds = 0;

  int succeeded() const { return started - failed; }
  double PerSecond() const { return elapsed_seconds > 0 ? succeeded() / elapsed_seconds : 0; }
};

// Starts call `index` (0, 1, 2... across all slots); it must call `done` exactly once, with the
// call's outcome, from any thread but not from within `start` itself.
using AsyncCall = std::function<void(int index, std::function<void(absl::Status)> done)>;

// Runs `call` in `outstanding` slots until `duration` has passed (or a call failed), then waits
// for the calls in flight to end.
ClosedLoopResult RunClosedLoop(const ClosedLoopOptions& options, const AsyncCall& call);

}  // namespace grid::loadgen
