// Turns the live stream into rollups and Prometheus figures: one record_change.lua call per entry
// counts it and acknowledges it in the "metrics" group in one atomic step, once per event
// version, so a redelivered entry (after a restart or a reclaim) is never counted twice, one not
// yet acknowledged is counted when it comes back, and entries may arrive in any order.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/redis/batched_script.h"
#include "common/redis/client.h"
#include "common/redis/script.h"
#include "common/store/stream_consumer.h"
#include "common/topology/topology.h"
#include "grid/v1/event.pb.h"
#include "services/metrics/metrics_keys.h"
#include "services/metrics/rollup.h"

namespace grid::metrics {

// Every figure of the metrics service (STYLE.md item 9). Labels are bounded: subdistrict, level,
// category class (two digits), severity, state, traffic light, reason; never event or unit ids.
struct ResponseMetrics {
  explicit ResponseMetrics(prometheus::Registry& registry);

  // Time from filing to the first dispatch, {subdistrict, level, severity}.
  prometheus::Family<prometheus::Histogram>& dispatch_seconds;
  // Time from the start of the unit's clock (dispatch, escalation, rework) to acceptance.
  prometheus::Family<prometheus::Histogram>& accept_seconds;
  // Time from filing to resolution (each resolution, so rework counts again).
  prometheus::Family<prometheus::Histogram>& resolve_seconds;
  // Time from filing to closure.
  prometheus::Family<prometheus::Histogram>& close_seconds;
  // {subdistrict, category_class, severity}.
  prometheus::Family<prometheus::Counter>& reported;
  // {subdistrict, category_class}.
  prometheus::Family<prometheus::Counter>& duplicates;
  // {subdistrict, from_level, to_level, reason}.
  prometheus::Family<prometheus::Counter>& escalations;
  // {subdistrict, level}.
  prometheus::Family<prometheus::Counter>& returns;
  prometheus::Family<prometheus::Counter>& reworks;
  prometheus::Family<prometheus::Counter>& supervisions;
  prometheus::Family<prometheus::Counter>& suspensions;
  // {subdistrict, level, on_time}.
  prometheus::Family<prometheus::Counter>& closed;
  // Open events now, {subdistrict, level, state, traffic_light}; set by OpenEventsGauges.
  prometheus::Family<prometheus::Gauge>& open;
  // Open events past their limit now, {subdistrict, level}.
  prometheus::Family<prometheus::Gauge>& overdue;
  // Today's counts, from the rollups of the local day it is now (a Beijing day for Laoshan),
  // {subdistrict, figure}: figure is a StatsRow count (reported, closed, closed_on_time, due,
  // deferred...), so today's rates are exact ratios of these; they start again at 0 at local
  // midnight. Set by OpenEventsGauges.
  prometheus::Family<prometheus::Gauge>& today;
  // When today (the local day of grid_events_today) started, Unix seconds.
  prometheus::Family<prometheus::Gauge>& today_start;
  // Events whose changes are still to be counted by the re-derivation, {subdistrict}.
  prometheus::Family<prometheus::Gauge>& rederive_remaining;
};

// Lower-case label values of the enums.
std::string LevelLabel(int level);
std::string StateLabel(int state);
std::string LightLabel(int light);
std::string SeverityLabel(int severity);
std::string ReasonLabel(int reason);

// What record_change.lua is told about one change, computed without Redis (unit-tested). Facts
// that depend on what came before (the first dispatch, the first suspension, whether a closure
// was on time) are derived from the event's own history up to the change's version, never from
// the order in which the live stream delivers entries: that prefix of the history is final once
// the version exists, so every delivery order gives the same facts.
struct ChangeFacts {
  // The unit the counts go to: a report's grid, the unit that returned or escalated it, else the
  // unit that has it.
  std::string unit_id;
  // The step shows a breached limit: it came after its deadline, or it is a timeout escalation
  // or a reminder.
  bool breached = false;
  // The state after the step is final.
  bool final_state = false;
  // The event's first dispatch (for the time-to-dispatch histogram).
  bool first_dispatch = false;
  // A closure with no breached limit and no suspension before it, and in time itself.
  bool closed_on_time = false;
  // The rollup counters this change adds one to (kReported, kDue, ...).
  std::vector<std::string_view> counters;
  // The rollup sums this change adds to, in milliseconds (kAcceptMillis, kCloseMillis): read
  // from the change itself (its time, its clock's start, the event's filing), so they are as
  // final as the version and the same live or re-derived.
  std::vector<std::pair<std::string_view, int64_t>> amounts;
};

// Whether FactsOf needs the changes before `change`: for a dispatch, a suspension, a closure or a
// step that breached a limit (the first of those falls due).
bool NeedsHistory(const v1::EventChange& change);

// The facts of `change`; `before` holds the event's other changes, in any order: those with a
// lower version than `change` count, the rest are ignored.
ChangeFacts FactsOf(const v1::EventChange& change, const std::vector<v1::EventChange>& before);

// Threading: Handle and Rederive run their callbacks on the Redis client's executor.
class ChangeRecorder final {
 public:
  // `rollup_ttl`: how long the daily rollups and an open event's figures are kept (a closed
  // event's figures: kClosedEventStateTtlSeconds, or rollup_ttl if shorter).
  ChangeRecorder(redis::Client& redis, const topology::Topology& topology, LocalDays days,
                 ResponseMetrics& metrics,
                 std::chrono::seconds rollup_ttl = std::chrono::seconds(kRollupTtlSeconds));

  // A StreamConsumer handler: answers kAcked once counted (or counted before), kAck for an entry
  // deleted since delivery or a change without a version (it cannot be counted exactly once), a
  // dead letter for one that is not a change (no payload, not an EventChange, no event or
  // subdistrict), a retry when Redis failed. Observes the Prometheus figures the first time a
  // version arrives live.
  void Handle(const store::StreamEntry& entry, std::function<void(store::Verdict)> done);

  // Counts one change read from the event's history (the re-derivation): `before` are the
  // event's changes before it. Nothing is acknowledged and no Prometheus figure moves (they
  // count live deliveries: the change's own entry, if still pending, moves them when it comes).
  // OK once counted, or when this version was counted before.
  void Rederive(const v1::EventChange& change, const std::vector<v1::EventChange>& before,
                std::function<void(absl::Status)> done);

  const LocalDays& days() const { return days_; }

  // From now on, counts of one subdistrict made together are sent as one script call
  // (redis::BatchedScript: held to the end of the current turn of `executor`, never longer).
  // Up to `max_batch` in one; 1 or less: no batching. Call before the first Handle.
  void BatchOn(boost::asio::any_io_executor executor, size_t max_batch);

 private:
  // The result of record_change.lua.
  struct Recorded {
    bool counted = false;
    bool observe = false;
  };
  void Record(const std::string& entry_id, const v1::EventChange& change, const ChangeFacts& facts,
              std::function<void(absl::StatusOr<Recorded>)> done);
  void Observe(const v1::EventChange& change, const ChangeFacts& facts);
  std::string LevelOf(const std::string& unit_id, int fallback) const;

  redis::Client& redis_;
  const topology::Topology& topology_;
  LocalDays days_;
  ResponseMetrics& metrics_;
  redis::Script script_;
  std::unique_ptr<redis::BatchedScript> batch_;
  std::chrono::seconds rollup_ttl_;
};

// The changes of a history list (LRANGE of store::HistoryKey); unreadable items are skipped.
std::vector<v1::EventChange> ParseHistory(const redis::Reply& reply);

}  // namespace grid::metrics
