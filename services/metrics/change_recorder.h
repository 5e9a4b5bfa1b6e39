// Turns the live stream into rollups and Prometheus figures: one record_change.lua call per entry
// counts it and acknowledges it in the "metrics" group in one atomic step, so a redelivered entry
// (after a restart or a reclaim) is never counted twice, and one not yet acknowledged is counted
// when it comes back.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <chrono>
#include <functional>
#include <string>

#include "common/redis/client.h"
#include "common/redis/script.h"
#include "common/store/stream_consumer.h"
#include "common/topology/topology.h"
#include "grid/v1/event.pb.h"
#include "services/metrics/metrics_keys.h"

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
};

// Lower-case label values of the enums.
std::string LevelLabel(int level);
std::string StateLabel(int state);
std::string LightLabel(int light);
std::string SeverityLabel(int severity);
std::string ReasonLabel(int reason);

// What record_change.lua is told about one change, computed without Redis (unit-tested).
struct ChangeFacts {
  // The unit the counts go to: a report's grid, the unit that returned or escalated it, else the
  // unit that has it.
  std::string unit_id;
  // The step shows a breached limit: it came after its deadline, or it is a timeout escalation
  // or a reminder.
  bool breached = false;
  // The state after the step is final.
  bool final_state = false;
};
ChangeFacts FactsOf(const v1::EventChange& change);

// Threading: Handle runs on the Redis client's executor (the StreamConsumer's io thread).
class ChangeRecorder final {
 public:
  // `rollup_ttl`: how long the daily rollups and each event's figures are kept.
  ChangeRecorder(redis::Client& redis, const topology::Topology& topology, ResponseMetrics& metrics,
                 std::chrono::seconds rollup_ttl = std::chrono::seconds(kRollupTtlSeconds));

  // A StreamConsumer handler: answers kAcked once counted (or counted before), kAck for an entry
  // deleted since delivery, a dead letter for one that is not a change (no payload, not an
  // EventChange, no event or subdistrict), a retry when Redis failed or refused the count.
  void Handle(const store::StreamEntry& entry, std::function<void(store::Verdict)> done);

 private:
  void Observe(const v1::EventChange& change, const std::string& unit_id, bool first_dispatch,
               bool on_time, long long created_ms);
  std::string LevelOf(const std::string& unit_id, int fallback) const;

  redis::Client& redis_;
  const topology::Topology& topology_;
  ResponseMetrics& metrics_;
  redis::Script script_;
  std::chrono::seconds rollup_ttl_;
};

}  // namespace grid::metrics
