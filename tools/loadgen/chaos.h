// The chaos run: the real stack under a steady load of reports while its processes are killed,
// and the proof afterwards that nothing was lost, doubled or left behind.
//
// What happens, in order:
//   1. A stack starts with Redis on AOF and `appendfsync always` (an acknowledged write survives
//      a kill -9 of Redis), and short reclaim times for the stream consumers.
//   2. Callers send reports through the gateway at a steady rate, each with a client request id
//      of its own; a caller retries a report with the same request id until it is acknowledged
//      (UNAVAILABLE, DEADLINE_EXCEEDED and RESOURCE_EXHAUSTED are what a client may see while a
//      process is down; any other error is counted, INTERNAL apart).
//   3. Meanwhile, from a schedule drawn from the seed: kill -9s of all five services (each at
//      least twice), each landing while reports are in flight and followed by a restart; a
//      kill -9 and a graceful restart of Redis; Redis frozen (SIGSTOP) for a few seconds.
//   4. The load stops; every acknowledged report is sent again and must be replayed as the same
//      event. Then, once the consumers have settled (or a deadline passed), the store is read
//      directly: every request id has exactly one event, which reached DISPATCHED or later and
//      was dispatched once; the metrics service counts what the store holds; no consumer group
//      has entries pending and none went to the dead letters.
//
// The schedule depends only on the seed and the length, so `--seed N` repeats a run's kills (the
// load's timing, on a shared machine, is not repeatable).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace grid::loadgen {

struct ChaosOptions {
  // Length of the loaded part, during which the schedule runs.
  int seconds = 60;
  // The schedule's seed; 0 draws one (printed, so that the run can be repeated).
  std::uint64_t seed = 0;
  // Reports started per second, and concurrent callers.
  double rate = 40;
  int concurrency = 8;
  // kill -9s of services (at least 10; spread round-robin over the five).
  int kills = 10;
};

// One step of the schedule.
struct ChaosAction {
  enum class Kind {
    kKillService,   // kill -9 of `service`, restarted after `pause_ms`.
    kKillRedis,     // kill -9 of Redis, restarted after `pause_ms`.
    kRestartRedis,  // SIGTERM (Redis rewrites nothing, its AOF is current), restart.
    kFreezeRedis,   // SIGSTOP for `pause_ms`, then SIGCONT.
  };
  Kind kind = Kind::kKillService;
  // When, from the load's start.
  int at_ms = 0;
  std::string service;
  int pause_ms = 0;
};

// The schedule of a run of `seconds` for `seed`, sorted by time: `kills` service kills (at least
// 10, each service at least twice), one Redis kill -9, one graceful Redis restart and one freeze,
// all within the middle of the run (10% to 80%), the Redis steps at least 8 s apart.
std::vector<ChaosAction> ChaosSchedule(std::uint64_t seed, int seconds, int kills);

// "kill -9 grid-routing, back after 640 ms".
std::string Describe(const ChaosAction& action);

// Runs it; prints the schedule, what happened and one summary line; not OK when anything was
// lost, doubled, left undispatched or stuck, a client saw INTERNAL, or the schedule could not run.
absl::Status RunChaos(const ChaosOptions& options, std::ostream& out);

}  // namespace grid::loadgen
