// Reads the routing streams and dispatches each new event exactly once in effect: a
// redelivered entry finds the event no longer REPORTED and is only acknowledged.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>

#include "common/clock/clock.h"
#include "common/policy/policy.h"
#include "common/store/event_store.h"
#include "common/store/stream_consumer.h"
#include "common/topology/topology.h"

namespace grid::routing {

struct DispatchMetrics {
  explicit DispatchMetrics(prometheus::Registry& registry);

  // grid_dispatch_total{level, outcome}: outcome is dispatched, skipped (already dispatched or
  // gone), failed (cannot be dispatched: the entry is dead-lettered, the event stays REPORTED) or
  // retried.
  prometheus::Family<prometheus::Counter>& dispatched;
  // grid_dispatch_latency_seconds: from the event's creation to its dispatch.
  prometheus::Histogram& latency;
};

// Threading: Handle runs on the Redis clients' io thread (it is the StreamConsumer's handler).
class Dispatcher final {
 public:
  // Borrows everything; all must outlive the dispatcher.
  Dispatcher(store::EventStore& store, const topology::Topology& topology,
             const policy::Policy& policy, const Clock& clock, DispatchMetrics& metrics);

  // Handles one routing-stream entry; `done` says what became of it. An entry that can never be
  // dispatched (no event id, a malformed one, a corrupt record, no rule or unit for the event) is
  // a dead letter; a failure reaching Redis, or a version race lost too often, is retried.
  void Handle(const store::StreamEntry& entry, std::function<void(store::Verdict)> done);

 private:
  void Dispatch(const store::StreamEntry& entry, int attempt,
                std::function<void(store::Verdict)> done);

  store::EventStore& store_;
  const topology::Topology& topology_;
  const policy::Policy& policy_;
  const Clock& clock_;
  DispatchMetrics& metrics_;
};

}  // namespace grid::routing
