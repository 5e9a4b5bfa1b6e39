// Drives a synchronous call at a target rate from a fixed number of concurrent callers.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace grid::loadgen {

struct PacedOptions {
  // How many calls, indexed 0..count-1.
  int count = 0;
  // Calls started per second overall; <= 0 for as fast as the callers go.
  double rate = 0;
  // Callers (threads), each with one call in flight at a time.
  int concurrency = 1;
  // No call starts after this much time; the rest count as not issued.
  std::chrono::milliseconds time_limit{60000};
};

struct PacedResult {
  // Per call index, the round trip in ms; negative for a call that failed or was not issued.
  std::vector<double> latency_ms;
  int issued = 0;
  int failed = 0;
  // The first failure's status, for the report.
  absl::Status first_error;
  // From the first call's start to the last call's end.
  double elapsed_seconds = 0;

  // The round trips of the calls that succeeded.
  std::vector<double> Succeeded() const;
};

// Calls `call(i)` for every index. Call i is due at start + i / rate; the next free caller takes
// the next index and waits for its due time, so the offered rate holds while callers are free
// and slips (rather than piling up calls) when all `concurrency` callers are busy. The round
// trip is timed from the call's actual start. `call` runs on the callers' threads, concurrently
// with itself.
PacedResult RunPaced(const PacedOptions& options, const std::function<absl::Status(int)>& call);

}  // namespace grid::loadgen
