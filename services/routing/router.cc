#include "services/routing/router.h"

#include "absl/strings/str_cat.h"
#include "common/policy/deadlines.h"

namespace grid::routing {

absl::StatusOr<DispatchDecision> Router::Decide(const v1::Event& event) const {
  const v1::Rule* rule = policy_.Match(event.category(), event.severity(), event.source());
  if (rule == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("no policy rule matches category \"", event.category(), "\", ",
                     v1::Severity_Name(event.severity()), ", ", v1::Source_Name(event.source())));
  }
  const v1::Unit* unit =
      policy::ResponsibleUnit(topology_, *rule, event.grid_id(), rule->start_level());
  if (unit == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "grid \"", event.grid_id(), "\" has no unit at ", v1::Level_Name(rule->start_level())));
  }
  return DispatchDecision{rule, rule->start_level(), unit};
}

store::Move Router::Dispatch(const v1::Event& event, const DispatchDecision& decision,
                             Millis now) const {
  store::Move move;
  move.expected_version = event.version();
  v1::Event& next = move.event;
  next = event;
  next.set_state(v1::EVENT_STATE_DISPATCHED);
  next.set_level(decision.level);
  next.set_unit_id(decision.unit->id());
  next.set_rule_id(decision.rule->id());
  next.set_department_id(decision.rule->department_id());
  *next.mutable_notified_levels() = decision.rule->notify_levels();
  *next.mutable_deadlines() = policy::StartClock(*decision.rule, decision.level, now);
  next.set_traffic_light(v1::TRAFFIC_LIGHT_GREEN);
  next.set_version(event.version() + 1);
  *next.mutable_dispatched_at() = ToTimestamp(now);
  *next.mutable_updated_at() = ToTimestamp(now);

  v1::EventChange& change = move.change;
  change.set_event_id(event.id());
  change.set_kind(v1::CHANGE_KIND_DISPATCHED);
  *change.mutable_at() = ToTimestamp(now);
  change.set_from_level(event.level());
  change.set_to_level(decision.level);
  change.set_from_unit_id(event.unit_id());
  change.set_to_unit_id(decision.unit->id());
  change.set_from_state(event.state());
  change.set_to_state(v1::EVENT_STATE_DISPATCHED);
  change.set_reason_code(v1::CHANGE_REASON_POLICY);
  change.set_reason(absl::StrCat("rule ", decision.rule->id()));
  change.set_version(next.version());
  change.set_grid_id(event.grid_id());
  change.set_subdistrict_id(event.subdistrict_id());
  change.set_category(event.category());
  change.set_severity(event.severity());
  change.set_traffic_light(v1::TRAFFIC_LIGHT_GREEN);

  move.join_queue_unit = decision.unit->id();
  move.join_queue_score =
      static_cast<double>(policy::RunningDeadline(next.deadlines(), next.state()));
  return move;
}

}  // namespace grid::routing
