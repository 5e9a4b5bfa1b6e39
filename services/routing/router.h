// Dispatch: which level and unit get a new event, and with what clock. Pure logic over the
// topology and policy; no I/O.
#pragma once

#include "absl/status/statusor.h"
#include "common/clock/clock.h"
#include "common/policy/policy.h"
#include "common/store/event_store.h"
#include "common/topology/topology.h"
#include "grid/v1/event.pb.h"

namespace grid::routing {

struct DispatchDecision {
  const v1::Rule* rule = nullptr;
  v1::Level level = v1::LEVEL_UNSPECIFIED;
  const v1::Unit* unit = nullptr;
};

class Router final {
 public:
  // Borrows both; they must outlive the router.
  Router(const topology::Topology& topology, const policy::Policy& policy)
      : topology_(topology), policy_(policy) {}

  // The rule that matches the event, its start level, and the unit at that level (the grid's
  // ancestor, or the rule's department at DISTRICT level). FAILED_PRECONDITION when no rule
  // matches or the grid is unknown to this topology.
  absl::StatusOr<DispatchDecision> Decide(const v1::Event& event) const;

  // The move that dispatches a REPORTED event as decided, at `now`: state DISPATCHED, the clock
  // started, the event joining the unit's queue, and the DISPATCHED change.
  store::Move Dispatch(const v1::Event& event, const DispatchDecision& decision, Millis now) const;

 private:
  const topology::Topology& topology_;
  const policy::Policy& policy_;
};

}  // namespace grid::routing
