// The benchmarks of grid-loadgen. Each starts its own stack (a fresh redis-server and the five
// service binaries on free ports of 127.0.0.1), drives it within bounds of count and time, prints
// its figures to `out`, and stops the stack. A non-OK status means the run is not valid (a call
// failed, an event did not get where it must): the figures printed before it are not to be quoted.
#pragma once

#include <chrono>
#include <ostream>
#include <string>

#include "absl/status/status.h"

namespace grid::loadgen {

struct DispatchOptions {
  // Reports measured.
  int events = 2000;
  // Reports started per second.
  double rate = 200;
  // Concurrent callers.
  int concurrency = 8;
  // Reports sent before the measured ones (connections, caches), not counted.
  int warmup = 16;
};

// Report-to-DISPATCHED latency (the event's dispatched_at - created_at, both stamped by the
// services) and the ReportEvent round trip at the gateway, against a baseline of gRPC health
// checks to the same gateway at the same rate and concurrency.
absl::Status RunDispatch(const DispatchOptions& options, std::ostream& out);

struct ClusterOptions {
  // The paced phase of each configuration (as DispatchOptions).
  int events = 1000;
  double rate = 200;
  int concurrency = 8;
  // The saturation phase: callers with one report in flight each, for this long (0: none).
  int outstanding = 32;
  int seconds = 5;
  // Masters of the cluster configuration.
  int masters = 3;
  // The province (tools/topogen --districts): its grids (0: skip that configuration), districts
  // and cities. Shandong: about 100,000 grids, 136 districts, 16 cities.
  int province_grids = 100000;
  int province_districts = 136;
  int province_cities = 16;
};

// Scale-out: the same workload on one Redis and on a Redis Cluster of `masters` masters (Laoshan's
// topology), and on one Redis with a province-sized topology: ReportEvent and report->DISPATCHED
// latency at a fixed rate, ingest at saturation, and the ratios between them. The last line is
// machine-readable.
absl::Status RunCluster(const ClusterOptions& options, std::ostream& out);

struct WebhooksOptions {
  // Reports measured; each makes two changes (REPORTED, DISPATCHED).
  int events = 2000;
  // Reports started per second: 100 reports/s are 200 changes/s.
  double rate = 100;
  int concurrency = 8;
  int warmup = 16;
};

// Change-to-receiver latency of grid-webhooks: the stack with the webhooks service and one
// receiver of the whole district (an HTTP server in this process, on loopback); reports at a fixed
// rate; for every change, from its time to its arrival at the receiver, and for the dispatches
// alone. Every change must arrive, signed.
absl::Status RunWebhooks(const WebhooksOptions& options, std::ostream& out);

struct IngestOptions {
  // ReportEvent (and, for the baseline, Health/Check) calls in flight at all times.
  int outstanding = 64;
  // Connections to the gateway they share.
  int channels = 4;
  // Length of the saturation phase and of the health-check baseline.
  int seconds = 10;
  // Reports and health checks before the measured phases, not counted.
  int warmup_seconds = 2;
  // The fixed-rate phase: reports per second for that long (0: none).
  double paced_rate = 2000;
  int paced_seconds = 5;
  // The peer: Prometheus Alertmanager under wrk for that long (0: skip it, its figures 0).
  int alertmanager_seconds = 10;
};

// Ingest at saturation: closed-loop ReportEvent through the gateway from every grid worker of the
// topology, until routing and metrics have worked off the backlog; every filed event must be
// DISPATCHED. Beside it, in the same run: gRPC health checks of the gateway at the same
// concurrency (the bare call), the CPU each process used per report (from /proc), Redis memory per
// open event, the latencies at a fixed rate, and Prometheus Alertmanager ingesting one alert per
// POST (tools/peers/alertmanager-ingest). The last line is machine-readable.
absl::Status RunIngest(const IngestOptions& options, std::ostream& out);

struct DurabilityOptions {
  // Runs of each setting, a fresh stack each, the two settings alternating.
  int runs = 3;
  // Masters of the cluster (each with one replica).
  int masters = 3;
  // intake's --redis-wait-ms when waiting.
  int wait_ms = 500;
  // Length of each phase.
  int seconds = 5;
  // Calls in flight in the saturated phase.
  int outstanding = 64;
};

// The cost of waiting for a replica (WAIT, intake's --redis-wait-ms) on a Redis Cluster with a
// replica per master: ReportEvent through the gateway one call at a time (the added latency) and
// closed-loop at saturation (throughput), without and with the wait; medians of the runs and
// their ratio.
absl::Status RunDurability(const DurabilityOptions& options, std::ostream& out);

struct EscalationOptions {
  // Timers pending in all.
  int pending = 100000;
  // Timers falling due per second, for `seconds`; the rest stay far in the future.
  double rate = 1000;
  int seconds = 30;
  // Before that, the baseline: timers falling due at `baseline_rate` for `baseline_seconds` (0 for
  // none), out of the same `pending`.
  double baseline_rate = 20;
  int baseline_seconds = 5;
  // Events in flight while seeding.
  int window = 512;
  // The first timer falls due this long after seeding is expected to end.
  std::chrono::milliseconds lead{3000};
};

// Escalation lateness: for every event whose accept deadline falls due during the run, the time
// of its ESCALATED change minus the deadline; and that each escalates exactly once. The baseline
// is the lateness of the few timers falling due at `baseline_rate` just before the load window,
// on the same stack with the same timers pending.
absl::Status RunEscalation(const EscalationOptions& options, std::ostream& out);

struct WatchOptions {
  // Concurrent WatchEvents calls on the one gateway: `district_watchers` of the whole district,
  // the rest spread round-robin over the communities (an operator's screen each).
  int watchers = 1000;
  int district_watchers = 10;
  // Connections they share.
  int channels = 8;
  // Reports per second, each giving two changes (REPORTED, DISPATCHED), for `seconds` per phase;
  // sent through the gateway or straight into intake ("gateway", "intake").
  double rate = 1000;
  int seconds = 10;
  std::string via = "intake";
  // Concurrent report callers.
  int concurrency = 32;
  // The second phase adds this many watchers of the whole district that read only `slow_rate`
  // messages a second (cut off, they resume from their cursor).
  int slow = 1;
  double slow_rate = 100;
};

// Live-stream delivery latency: per change and watcher, its receipt time minus EventChange.at,
// median and p99 over all (non-slow) watchers; a phase without and one with slow watchers.
absl::Status RunWatch(const WatchOptions& options, std::ostream& out);

struct SoakOptions {
  // Simulated days, each `day_seconds` long.
  int days = 7;
  double day_seconds = 60;
  // Laoshan's traffic: a few hundred reports a day, each worked through the whole loop
  // (dispatched, accepted, resolved, verified: CLOSED).
  int reports_per_day = 400;
  // The windows, in simulated days: the live stream's window and the rollups' life (7 days and
  // 400 days deployed), and the closed events' retention (90 days deployed).
  double window_days = 1;
  double retention_days = 1;
  // The windows have filled by the start of this day (0-based): memory over that day is the
  // reference the last day is held to.
  int fill_days = 2;
  // Trims and retention sweeps run every this many simulated days.
  double housekeeping_days = 0.05;
  int samples_per_day = 12;
  int concurrency = 4;
};

// Memory over a simulated week: the windows and retentions scaled from days to seconds, Laoshan's
// traffic through the whole loop; Redis's used_memory sampled through the run, and the mean of
// the last day must be within 10% of the mean of the first day after the windows filled.
absl::Status RunSoak(const SoakOptions& options, std::ostream& out);

struct ConsoleBenchOptions {
  // Server-Sent Events clients on the console (/api/v1/watch): `district_clients` of the whole
  // district, the rest spread round-robin over the communities.
  int clients = 500;
  int district_clients = 10;
  // gRPC WatchEvents watchers of the same mix on the gateway, at the same time: the baseline
  // (0: none).
  int grpc_watchers = 500;
  // Connections the gRPC watchers share.
  int channels = 8;
  // Reports per second for `seconds` (after a warm-up of up to 3 s), through intake or the
  // gateway.
  double rate = 200;
  int seconds = 10;
  std::string via = "intake";
  int concurrency = 8;
};

// Live-feed delivery latency through the console: per change and SSE client, its receipt time
// minus EventChange.at; beside the same figure for gRPC watchers of the gateway in the same run.
absl::Status RunConsole(const ConsoleBenchOptions& options, std::ostream& out);

struct BacklogOptions {
  // The two backlogs compared: open events in the records.
  int small = 1000;
  int large = 1000000;
  // Events in flight while seeding.
  int window = 2000;
};

// What the open-backlog gauges cost Redis per refresh (commands, bytes, time) from the backlog
// index, with a small and a large backlog, beside what reading every open record cost before;
// and the index's memory per open event. Its own redis-server, no services.
absl::Status RunBacklog(const BacklogOptions& options, std::ostream& out);

struct RederiveOptions {
  // Events in the records when the metrics service starts without local-day rollups.
  int events = 20000;
  // Events in flight while seeding.
  int window = 512;
  // The run fails when the re-derivation takes longer.
  int timeout_seconds = 600;
};

// The upgrade of the metrics service in place: how long re-deriving the local-day rollups from
// the event records takes (GetStats answers UNAVAILABLE meanwhile), and that the counts are right.
absl::Status RunRederive(const RederiveOptions& options, std::ostream& out);

}  // namespace grid::loadgen
