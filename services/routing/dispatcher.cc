#include "services/routing/dispatcher.h"

#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"
#include "common/lifecycle/moves.h"
#include "common/store/keys.h"
#include "common/topology/topology.h"

namespace grid::routing {
namespace {

// A concurrent move (an operator's void, say) can win the version race; re-read and decide
// again a few times before leaving the entry for a later retry.
constexpr int kMaxAttempts = 5;

}  // namespace

DispatchMetrics::DispatchMetrics(prometheus::Registry& registry)
    : dispatched(prometheus::BuildCounter()
                     .Name("grid_dispatch_total")
                     .Help("Routing-stream entries handled, by level and outcome")
                     .Register(registry)),
      latency(prometheus::BuildHistogram()
                  .Name("grid_dispatch_latency_seconds")
                  .Help("Time from an event's filing to its dispatch")
                  .Register(registry)
                  .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.0025, 0.005, 0.01,
                                                                   0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                                                   2.5, 5, 10, 30, 60})) {}

Dispatcher::Dispatcher(store::EventStore& store, const topology::Topology& topology,
                       const policy::Policy& policy, const Clock& clock, DispatchMetrics& metrics)
    : store_(store), topology_(topology), policy_(policy), clock_(clock), metrics_(metrics) {}

void Dispatcher::Handle(const store::StreamEntry& entry, std::function<void(store::Verdict)> done) {
  if (entry.fields.empty()) {
    // Deleted from the stream since delivery: nothing to do.
    done(store::Outcome::kAck);
    return;
  }
  if (entry.Field("id").empty()) {
    metrics_.dispatched.Add({{"level", "none"}, {"outcome", "failed"}}).Increment();
    done(store::Verdict::DeadLetter("not a routing entry: it has no field \"id\""));
    return;
  }
  Dispatch(entry, 1, std::move(done));
}

void Dispatcher::Dispatch(const store::StreamEntry& entry, int attempt,
                          std::function<void(store::Verdict)> done) {
  const std::string event_id = entry.Field("id");
  store_.Get(event_id, [this, entry, attempt, event_id, done = std::move(done)](
                           absl::StatusOr<std::optional<v1::Event>> event) mutable {
    if (!event.ok()) {
      // A malformed id or a record that does not parse will not get better by waiting.
      if (absl::IsInvalidArgument(event.status()) || absl::IsDataLoss(event.status())) {
        metrics_.dispatched.Add({{"level", "none"}, {"outcome", "failed"}}).Increment();
        done(store::Verdict::DeadLetter(std::string(event.status().message())));
        return;
      }
      metrics_.dispatched.Add({{"level", "none"}, {"outcome", "retried"}}).Increment();
      done(store::Verdict::Retry(
          absl::StrCat("reading event ", event_id, ": ", event.status().ToString())));
      return;
    }
    if (!event->has_value() || (*event)->state() != v1::EVENT_STATE_REPORTED) {
      // Already dispatched (a redelivery) or gone: the effect happened once; just acknowledge.
      metrics_.dispatched.Add({{"level", "none"}, {"outcome", "skipped"}}).Increment();
      done(store::Outcome::kAck);
      return;
    }
    const v1::Event& current = **event;
    const Millis now = clock_.Now();
    // The system dispatches: no person is the actor.
    const lifecycle::Context context{topology_, policy_.ForUnit(topology_, current.grid_id()), now,
                                     v1::Actor()};
    absl::StatusOr<store::Move> move = lifecycle::Dispatch(current, context);
    if (!move.ok()) {
      // No rule or no unit for it: the event stays REPORTED, and the entry waits in the dead
      // letters until the policy or topology is fixed and an admin replays it.
      metrics_.dispatched.Add({{"level", "none"}, {"outcome", "failed"}}).Increment();
      done(store::Verdict::DeadLetter(
          absl::StrCat("event ", event_id, " cannot be dispatched: ", move.status().message())));
      return;
    }
    move->ack_group = std::string(store::kRoutingGroup);
    move->ack_entry_id = entry.id;
    const Millis created = FromTimestamp(current.created_at());
    const std::string level(topology::LevelName(move->event.level()));
    store_.Apply(*move, [this, entry, attempt, now, created, level, event_id,
                         done = std::move(done)](absl::StatusOr<store::MoveResult> result) mutable {
      if (!result.ok()) {
        metrics_.dispatched.Add({{"level", level}, {"outcome", "retried"}}).Increment();
        done(store::Verdict::Retry(
            absl::StrCat("dispatching event ", event_id, ": ", result.status().ToString())));
        return;
      }
      if (!result->applied) {
        if (attempt < kMaxAttempts) {
          Dispatch(entry, attempt + 1, std::move(done));
        } else {
          done(store::Verdict::Retry(absl::StrCat("dispatching event ", event_id, ": it moved on ",
                                                  kMaxAttempts, " times while being dispatched")));
        }
        return;
      }
      metrics_.dispatched.Add({{"level", level}, {"outcome", "dispatched"}}).Increment();
      metrics_.latency.Observe(static_cast<double>(now - created) / 1000.0);
      done(store::Outcome::kAcked);
    });
  });
}

}  // namespace grid::routing
