#include "common/lifecycle/escalation.h"

#include <google/protobuf/util/time_util.h>

#include "absl/strings/str_cat.h"
#include "common/lifecycle/state_machine.h"
#include "common/policy/deadlines.h"
#include "common/store/timers.h"
#include "common/topology/jurisdiction.h"

namespace grid::lifecycle {
namespace {

using google::protobuf::util::TimeUtil;

Millis ReminderInterval(const policy::Policy& policy) {
  const Millis interval = TimeUtil::DurationToMilliseconds(policy.data().reminder_interval());
  return interval > 0 ? interval : kDefaultReminderInterval;
}

// One level up, to the unit the policy names there, with fresh limits.
absl::StatusOr<store::Move> Up(const v1::Event& event, const Context& context,
                               v1::ChangeReason reason_code, const std::string& reason) {
  const v1::Rule* rule = RuleOf(event, context.policy);
  if (rule == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("event ", event.id(), ": no policy rule routes it any more"));
  }
  const auto level = static_cast<v1::Level>(event.level() + 1);
  const v1::Unit* unit = policy::ResponsibleUnit(context.topology, *rule, event.grid_id(), level);
  if (unit == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat("event ", event.id(), ": grid ",
                                                      event.grid_id(), " has no unit at ",
                                                      v1::Level_Name(level)));
  }
  store::Move move =
      SendTo(event, context, *rule, level, *unit, v1::CHANGE_KIND_ESCALATED, reason_code, reason);
  move.event.set_escalation_count(event.escalation_count() + 1);
  // Moving up is not a mis-dispatch: first-dispatch accuracy counts returns and reassignments.
  move.event.set_dispatch_count(event.dispatch_count());
  return move;
}

store::Move Remind(const v1::Event& event, const Context& context, v1::ChangeReason reason_code,
                   const std::string& reason) {
  store::Move move = BeginMove(event, context, v1::CHANGE_KIND_REMINDED, event.state());
  move.event.set_overdue(true);
  move.event.set_reminder_count(event.reminder_count() + 1);
  *move.event.mutable_next_reminder_at() =
      ToTimestamp(context.now + ReminderInterval(context.policy));
  move.event.set_traffic_light(v1::TRAFFIC_LIGHT_RED);
  move.change.set_reason_code(reason_code);
  move.change.set_reason(reason);
  move.change.set_to_level(event.level());
  move.change.set_to_unit_id(event.unit_id());
  move.change.set_to_state(event.state());
  move.change.set_version(move.event.version());
  move.change.set_traffic_light(v1::TRAFFIC_LIGHT_RED);
  move.yellow_at =
      policy::YellowAt(move.event.deadlines(), move.event.state(), context.policy.calendar());
  return move;
}

}  // namespace

std::optional<store::Move> OnTimer(const v1::Event& event, const Context& context) {
  const Millis due = store::TimerDue(event);
  if (due == 0 || context.now < due) {
    return std::nullopt;
  }
  const bool accepting = event.state() == v1::EVENT_STATE_DISPATCHED;
  const v1::ChangeReason reason_code =
      accepting ? v1::CHANGE_REASON_ACCEPT_TIMEOUT : v1::CHANGE_REASON_RESOLVE_TIMEOUT;
  const std::string what = accepting ? "time to accept" : "time to resolve";
  if (event.overdue()) {
    return Remind(
        event, context, reason_code,
        absl::StrCat("still open past its ", what, " at ", v1::Level_Name(event.level())));
  }
  if (event.level() >= v1::LEVEL_DISTRICT) {
    return Remind(event, context, reason_code,
                  absl::StrCat(what, " passed at ", v1::Level_Name(event.level()), "; overdue"));
  }
  auto up = Up(event, context, reason_code,
               absl::StrCat(what, " passed at ", v1::Level_Name(event.level())));
  if (!up.ok()) {
    // A configuration that no longer names a unit above: keep reminding rather than drop it.
    return Remind(event, context, reason_code, std::string(up.status().message()));
  }
  return *std::move(up);
}

absl::StatusOr<store::Move> Escalate(const v1::Event& event, const Context& context,
                                     const std::string& reason) {
  if (auto status = CheckAllowed(MoveKind::kEscalate, event); !status.ok()) {
    return status;
  }
  if (reason.empty()) {
    return absl::InvalidArgumentError("reason: required");
  }
  if (reason.size() > static_cast<size_t>(kMaxReasonChars) * 4) {
    return absl::InvalidArgumentError(
        absl::StrCat("reason: at most ", kMaxReasonChars, " characters are allowed"));
  }
  if (event.level() >= v1::LEVEL_DISTRICT) {
    return absl::FailedPreconditionError(absl::StrCat(
        "event ", event.id(), ": cannot escalate: it is at LEVEL_DISTRICT, the top level"));
  }
  return Up(event, context, v1::CHANGE_REASON_MANUAL, reason);
}

absl::StatusOr<store::Move> Supervise(const v1::Event& event, const Context& context,
                                      const std::string& note, Millis limit_ms) {
  if (auto status = CheckAllowed(MoveKind::kSupervise, event); !status.ok()) {
    return status;
  }
  if (note.empty()) {
    return absl::InvalidArgumentError("note: required");
  }
  if (limit_ms < 0) {
    return absl::InvalidArgumentError("limit: must not be negative");
  }
  const v1::Actor& actor = context.actor;
  const bool covers = actor.role() == v1::ROLE_ADMIN ||
                      topology::EventInSubtree(context.topology, event, actor.unit_id());
  if (!covers) {
    return absl::PermissionDeniedError(
        absl::StrCat("event ", event.id(), " in grid ", event.grid_id(),
                     " is outside the jurisdiction of unit \"", actor.unit_id(), "\""));
  }
  store::Move move = BeginMove(event, context, v1::CHANGE_KIND_SUPERVISED, event.state());
  v1::Event& next = move.event;
  next.set_supervised(true);
  next.set_supervision_note(note);
  next.set_supervised_by_unit_id(actor.unit_id());
  if (limit_ms > 0) {
    const policy::WorkingCalendar* calendar = context.policy.calendar();
    const Millis by = next.deadlines().working_time() && calendar != nullptr
                          ? calendar->Add(context.now, limit_ms)
                          : context.now + limit_ms;
    v1::Deadlines& deadlines = *next.mutable_deadlines();
    if (FromTimestamp(deadlines.accept_by()) > by) {
      *deadlines.mutable_accept_by() = ToTimestamp(by);
    }
    if (FromTimestamp(deadlines.resolve_by()) > by) {
      *deadlines.mutable_resolve_by() = ToTimestamp(by);
    }
  }
  move.change.set_note(note);
  move.change.set_reason_code(v1::CHANGE_REASON_MANUAL);
  move.change.set_to_level(event.level());
  move.change.set_to_unit_id(event.unit_id());
  move.change.set_to_state(event.state());
  move.change.set_version(next.version());
  // Supervised work sorts first in the unit's queue; its score follows the (maybe shorter)
  // deadline.
  move.join_queue_unit = event.unit_id();
  move.join_queue_score =
      static_cast<double>(policy::RunningDeadline(next.deadlines(), next.state()));
  // The backlog index's yellow instant follows the (maybe shorter) deadline.
  move.yellow_at = policy::YellowAt(next.deadlines(), next.state(), context.policy.calendar());
  return move;
}

}  // namespace grid::lifecycle
