#include "common/lifecycle/moves.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/input/text.h"
#include "common/lifecycle/state_machine.h"
#include "common/policy/deadlines.h"

namespace grid::lifecycle {
namespace {

using google::protobuf::util::TimeUtil;

// The length of text in Unicode code points (text is valid UTF-8: protobuf checked it).
int Chars(const std::string& text) {
  return static_cast<int>(
      std::count_if(text.begin(), text.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

absl::Status RequireText(const std::string& field, const std::string& text, int max_chars) {
  if (text.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": required"));
  }
  if (Chars(text) > max_chars) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": at most ", max_chars, " characters are allowed"));
  }
  return absl::OkStatus();
}

// Queue score: the running deadline, so a plain ZRANGE lists the most urgent first.
double Urgency(const v1::Event& event) {
  return static_cast<double>(policy::RunningDeadline(event.deadlines(), event.state()));
}

// Copies what the change says about the event after the move.
void FinishChange(store::Move& move, const policy::WorkingCalendar* calendar) {
  const v1::Event& event = move.event;
  v1::EventChange& change = move.change;
  change.set_to_level(event.level());
  change.set_to_unit_id(event.unit_id());
  change.set_to_state(event.state());
  change.set_version(event.version());
  change.set_traffic_light(policy::TrafficLightAt(event.deadlines(), event.state(),
                                                  FromTimestamp(change.at()), calendar));
  move.yellow_at = policy::YellowAt(event.deadlines(), event.state(), calendar);
}

void LeaveQueue(const v1::Event& before, store::Move& move) {
  const bool queued =
      before.state() == v1::EVENT_STATE_DISPATCHED || before.state() == v1::EVENT_STATE_ACCEPTED;
  if (queued && !before.unit_id().empty()) {
    move.leave_queue_unit = before.unit_id();
  }
}

// The limit at `level` under `rule`, or the rule's first limit when the rule sets none there
// (a reassignment below the rule's start level).
const v1::LevelLimit* LimitFor(const v1::Rule& rule, v1::Level level) {
  const v1::LevelLimit* limit = policy::LimitAt(rule, level);
  if (limit == nullptr && rule.limits_size() > 0) {
    limit = &rule.limits(0);
  }
  return limit;
}

}  // namespace

const v1::Rule* RuleOf(const v1::Event& event, const policy::Policy& policy) {
  const v1::Rule* rule = policy.FindRule(event.rule_id());
  return rule != nullptr ? rule : policy.Match(event.category(), event.severity(), event.source());
}

store::Move BeginMove(const v1::Event& event, const Context& context, v1::ChangeKind kind,
                      v1::EventState to_state) {
  store::Move move;
  move.expected_version = event.version();
  move.event = event;
  move.event.set_state(to_state);
  move.event.set_version(event.version() + 1);
  *move.event.mutable_updated_at() = ToTimestamp(context.now);

  v1::EventChange& change = move.change;
  change.set_event_id(event.id());
  change.set_kind(kind);
  *change.mutable_at() = ToTimestamp(context.now);
  *change.mutable_actor() = context.actor;
  change.set_from_level(event.level());
  change.set_from_unit_id(event.unit_id());
  change.set_from_state(event.state());
  change.set_grid_id(event.grid_id());
  change.set_subdistrict_id(event.subdistrict_id());
  change.set_category(event.category());
  change.set_severity(event.severity());
  // What the metrics service needs to time the step without reading the event.
  if (const Millis due = policy::RunningDeadline(event.deadlines(), event.state()); due > 0) {
    *change.mutable_due_by() = ToTimestamp(due);
    *change.mutable_clock_started_at() = event.deadlines().started_at();
  }
  if (event.has_created_at()) {
    *change.mutable_created_at() = event.created_at();
  }
  return move;
}

store::Move SendTo(const v1::Event& event, const Context& context, const v1::Rule& rule,
                   v1::Level level, const v1::Unit& unit, v1::ChangeKind kind,
                   v1::ChangeReason reason_code, const std::string& reason) {
  store::Move move = BeginMove(event, context, kind, v1::EVENT_STATE_DISPATCHED);
  v1::Event& next = move.event;
  next.set_level(level);
  next.set_unit_id(unit.id());
  next.set_rule_id(rule.id());
  next.set_department_id(rule.department_id());
  *next.mutable_notified_levels() = rule.notify_levels();
  v1::Deadlines deadlines;
  if (const v1::LevelLimit* limit = LimitFor(rule, level)) {
    deadlines = policy::StartClock(*limit, rule.time_basis() == v1::TIME_BASIS_WORKING_TIME,
                                   context.now, context.policy.calendar());
  }
  *next.mutable_deadlines() = deadlines;
  next.set_overdue(false);
  next.clear_next_reminder_at();
  next.set_dispatch_count(event.dispatch_count() + 1);
  if (!next.has_dispatched_at()) {
    *next.mutable_dispatched_at() = ToTimestamp(context.now);
  }
  next.clear_accepted_at();
  next.clear_resolved_at();
  next.set_traffic_light(v1::TRAFFIC_LIGHT_GREEN);
  move.change.set_reason_code(reason_code);
  move.change.set_reason(reason);
  LeaveQueue(event, move);
  move.join_queue_unit = unit.id();
  move.join_queue_score = Urgency(next);
  FinishChange(move, context.policy.calendar());
  return move;
}

absl::StatusOr<store::Move> Dispatch(const v1::Event& event, const Context& context) {
  if (auto status = CheckAllowed(MoveKind::kDispatch, event); !status.ok()) {
    return status;
  }
  const v1::Rule* rule = context.policy.Match(event.category(), event.severity(), event.source());
  if (rule == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("no policy rule matches category \"", event.category(), "\", ",
                     v1::Severity_Name(event.severity()), ", ", v1::Source_Name(event.source())));
  }
  const v1::Unit* unit =
      policy::ResponsibleUnit(context.topology, *rule, event.grid_id(), rule->start_level());
  if (unit == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "grid \"", event.grid_id(), "\" has no unit at ", v1::Level_Name(rule->start_level())));
  }
  return SendTo(event, context, *rule, rule->start_level(), *unit, v1::CHANGE_KIND_DISPATCHED,
                v1::CHANGE_REASON_POLICY, absl::StrCat("rule ", rule->id()));
}

absl::StatusOr<store::Move> Accept(const v1::Event& event, const Context& context) {
  if (auto status = CheckAllowed(MoveKind::kAccept, event); !status.ok()) {
    return status;
  }
  store::Move move = BeginMove(event, context, v1::CHANGE_KIND_ACCEPTED, v1::EVENT_STATE_ACCEPTED);
  *move.event.mutable_accepted_at() = ToTimestamp(context.now);
  // Accepting answers the reminders; the resolve limit runs (and may be overdue in turn).
  move.event.set_overdue(false);
  move.event.clear_next_reminder_at();
  move.join_queue_unit = event.unit_id();
  move.join_queue_score = Urgency(move.event);
  FinishChange(move, context.policy.calendar());
  return move;
}

absl::StatusOr<store::Move> Resolve(const v1::Event& event, const Context& context,
                                    const std::string& note,
                                    const std::vector<std::string>& media) {
  if (auto status = CheckAllowed(MoveKind::kResolve, event); !status.ok()) {
    return status;
  }
  if (auto status = RequireText("note", note, kMaxNoteChars); !status.ok()) {
    return status;
  }
  if (media.size() > static_cast<size_t>(kMaxEvidence)) {
    return absl::InvalidArgumentError(
        absl::StrCat("media: ", media.size(), " references, at most ", kMaxEvidence));
  }
  for (size_t i = 0; i < media.size(); ++i) {
    if (auto status = input::CheckMediaRef(absl::StrCat("media[", i, "]"), media[i]);
        !status.ok()) {
      return status;
    }
  }
  store::Move move = BeginMove(event, context, v1::CHANGE_KIND_RESOLVED, v1::EVENT_STATE_RESOLVED);
  move.event.set_resolution_note(note);
  move.event.clear_resolution_media();
  for (const std::string& ref : media) {
    move.event.add_resolution_media(ref);
  }
  *move.event.mutable_resolved_at() = ToTimestamp(context.now);
  move.change.set_note(note);
  // Done by the unit: it waits for the reporter's verification, not in the unit's queue.
  LeaveQueue(event, move);
  FinishChange(move, context.policy.calendar());
  return move;
}

absl::StatusOr<store::Move> Verify(const v1::Event& event, const Context& context, bool passed,
                                   const std::string& note) {
  if (auto status = CheckAllowed(MoveKind::kVerify, event); !status.ok()) {
    return status;
  }
  if (Chars(note) > kMaxNoteChars) {
    return absl::InvalidArgumentError(
        absl::StrCat("note: at most ", kMaxNoteChars, " characters are allowed"));
  }
  if (passed) {
    store::Move move = BeginMove(event, context, v1::CHANGE_KIND_VERIFIED, v1::EVENT_STATE_CLOSED);
    *move.event.mutable_closed_at() = ToTimestamp(context.now);
    move.event.set_traffic_light(v1::TRAFFIC_LIGHT_UNSPECIFIED);
    move.change.set_note(note);
    move.leave_open_index = true;
    FinishChange(move, context.policy.calendar());
    return move;
  }
  const v1::Rule* rule = RuleOf(event, context.policy);
  const v1::Unit* unit = context.topology.Find(event.unit_id());
  if (rule == nullptr || unit == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("event ", event.id(), ": its rule or unit is no longer configured"));
  }
  store::Move move =
      SendTo(event, context, *rule, event.level(), *unit, v1::CHANGE_KIND_REWORK,
             v1::CHANGE_REASON_VERIFICATION_FAILED, note.empty() ? "verification failed" : note);
  move.event.set_rework_count(event.rework_count() + 1);
  // Rework is the same unit's work again, not a new dispatch.
  move.event.set_dispatch_count(event.dispatch_count());
  move.change.set_note(note);
  return move;
}

absl::StatusOr<store::Move> Return(const v1::Event& event, const Context& context,
                                   const std::string& reason) {
  if (auto status = CheckAllowed(MoveKind::kReturn, event); !status.ok()) {
    return status;
  }
  if (auto status = RequireText("reason", reason, kMaxReasonChars); !status.ok()) {
    return status;
  }
  const v1::Rule* rule = RuleOf(event, context.policy);
  if (rule == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("event ", event.id(), ": no policy rule routes it any more"));
  }
  std::vector<std::string> refused(event.returned_by_unit_ids().begin(),
                                   event.returned_by_unit_ids().end());
  refused.push_back(event.unit_id());
  const auto is_refused = [&refused](const std::string& id) {
    return std::find(refused.begin(), refused.end(), id) != refused.end();
  };

  const v1::Unit* next = nullptr;
  v1::Level level = event.level();
  if (level == v1::LEVEL_DISTRICT) {
    // The rule's department, then its fallbacks, then the event's district command centre.
    std::vector<std::string> candidates = {rule->department_id()};
    candidates.insert(candidates.end(), rule->fallback_department_ids().begin(),
                      rule->fallback_department_ids().end());
    if (const v1::Unit* district = context.topology.DistrictOf(event.grid_id())) {
      candidates.push_back(district->id());
    }
    for (const std::string& id : candidates) {
      if (!id.empty() && !is_refused(id)) {
        next = context.topology.Find(id);
        break;
      }
    }
  } else {
    for (int up = level + 1; up <= v1::LEVEL_DISTRICT && next == nullptr; ++up) {
      const v1::Unit* unit = policy::ResponsibleUnit(context.topology, *rule, event.grid_id(),
                                                     static_cast<v1::Level>(up));
      if (unit != nullptr && !is_refused(unit->id())) {
        next = unit;
        level = static_cast<v1::Level>(up);
      }
    }
  }
  if (next == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "event ", event.id(), ": every unit the policy names has returned it; an operator must ",
        "reassign or void it"));
  }
  store::Move move = SendTo(event, context, *rule, level, *next, v1::CHANGE_KIND_RETURNED,
                            v1::CHANGE_REASON_RETURNED, reason);
  move.event.add_returned_by_unit_ids(event.unit_id());
  move.event.set_return_count(event.return_count() + 1);
  move.count_return_unit = event.unit_id();
  return move;
}

absl::StatusOr<store::Move> Suspend(const v1::Event& event, const Context& context,
                                    const std::string& reason,
                                    const std::string& approver_unit_id) {
  if (auto status = CheckAllowed(MoveKind::kSuspend, event); !status.ok()) {
    return status;
  }
  if (auto status = RequireText("reason", reason, kMaxReasonChars); !status.ok()) {
    return status;
  }
  if (approver_unit_id.empty()) {
    return absl::InvalidArgumentError("approver_unit_id: required");
  }
  const v1::Unit* approver = context.topology.Find(approver_unit_id);
  if (approver == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("approver_unit_id: unknown unit ", input::Quote(approver_unit_id)));
  }
  // Above the event: an ancestor of its grid, or a department of its district.
  const v1::Unit* district = context.topology.DistrictOf(event.grid_id());
  const bool above = approver->level() > event.level() &&
                     (context.topology.InSubtree(event.grid_id(), approver->id()) ||
                      (approver->kind() == v1::UNIT_KIND_DEPARTMENT && district != nullptr &&
                       context.topology.DistrictOf(approver->id()) == district));
  if (!above) {
    return absl::InvalidArgumentError(absl::StrCat(
        "approver_unit_id: ", input::Quote(approver_unit_id), " is not a unit above the event's ",
        v1::Level_Name(event.level()), " unit \"", event.unit_id(), "\""));
  }
  store::Move move =
      BeginMove(event, context, v1::CHANGE_KIND_SUSPENDED, v1::EVENT_STATE_SUSPENDED);
  move.event.set_suspended_from(event.state());
  *move.event.mutable_suspended_at() = ToTimestamp(context.now);
  move.event.set_suspend_reason(reason);
  move.event.set_approver_unit_id(approver_unit_id);
  move.event.set_traffic_light(v1::TRAFFIC_LIGHT_UNSPECIFIED);
  move.change.set_reason(reason);
  move.change.set_note(absl::StrCat("approved by ", approver_unit_id));
  LeaveQueue(event, move);
  FinishChange(move, context.policy.calendar());
  return move;
}

absl::StatusOr<store::Move> Resume(const v1::Event& event, const Context& context) {
  if (auto status = CheckAllowed(MoveKind::kResume, event); !status.ok()) {
    return status;
  }
  const v1::EventState back = event.suspended_from() == v1::EVENT_STATE_ACCEPTED
                                  ? v1::EVENT_STATE_ACCEPTED
                                  : v1::EVENT_STATE_DISPATCHED;
  store::Move move = BeginMove(event, context, v1::CHANGE_KIND_RESUMED, back);
  const Millis suspended_at = FromTimestamp(event.suspended_at());
  const Millis paused = std::max<Millis>(0, context.now - suspended_at);
  const policy::WorkingCalendar* calendar = context.policy.calendar();
  v1::Deadlines& deadlines = *move.event.mutable_deadlines();
  *deadlines.mutable_paused() = TimeUtil::MillisecondsToDuration(
      TimeUtil::DurationToMilliseconds(deadlines.paused()) + paused);
  *deadlines.mutable_accept_by() = ToTimestamp(policy::Resumed(
      deadlines, FromTimestamp(deadlines.accept_by()), suspended_at, context.now, calendar));
  *deadlines.mutable_resolve_by() = ToTimestamp(policy::Resumed(
      deadlines, FromTimestamp(deadlines.resolve_by()), suspended_at, context.now, calendar));
  move.event.clear_suspended_at();
  move.event.clear_suspended_from();
  move.event.clear_suspend_reason();
  move.event.clear_approver_unit_id();
  move.event.set_traffic_light(
      policy::TrafficLightAt(move.event.deadlines(), back, context.now, calendar));
  move.join_queue_unit = event.unit_id();
  move.join_queue_score = Urgency(move.event);
  FinishChange(move, context.policy.calendar());
  return move;
}

absl::StatusOr<store::Move> Cancel(const v1::Event& event, const Context& context,
                                   const std::string& reason) {
  if (auto status = CheckAllowed(MoveKind::kCancel, event); !status.ok()) {
    return status;
  }
  const bool privileged =
      context.actor.role() == v1::ROLE_OPERATOR || context.actor.role() == v1::ROLE_ADMIN;
  if (!privileged && context.actor.subject() != event.reporter_id()) {
    return absl::PermissionDeniedError(
        absl::StrCat("event ", event.id(), ": only its reporter may cancel it"));
  }
  if (Chars(reason) > kMaxReasonChars) {
    return absl::InvalidArgumentError(
        absl::StrCat("reason: at most ", kMaxReasonChars, " characters are allowed"));
  }
  store::Move move =
      BeginMove(event, context, v1::CHANGE_KIND_CANCELLED, v1::EVENT_STATE_CANCELLED);
  *move.event.mutable_closed_at() = ToTimestamp(context.now);
  move.event.set_traffic_light(v1::TRAFFIC_LIGHT_UNSPECIFIED);
  move.change.set_reason(reason);
  move.leave_open_index = true;
  LeaveQueue(event, move);
  FinishChange(move, context.policy.calendar());
  return move;
}

absl::StatusOr<store::Move> Void(const v1::Event& event, const Context& context,
                                 const std::string& reason) {
  if (auto status = CheckAllowed(MoveKind::kVoid, event); !status.ok()) {
    return status;
  }
  if (auto status = RequireText("reason", reason, kMaxReasonChars); !status.ok()) {
    return status;
  }
  store::Move move = BeginMove(event, context, v1::CHANGE_KIND_VOIDED, v1::EVENT_STATE_VOIDED);
  *move.event.mutable_closed_at() = ToTimestamp(context.now);
  move.event.set_traffic_light(v1::TRAFFIC_LIGHT_UNSPECIFIED);
  move.change.set_reason(reason);
  move.change.set_reason_code(v1::CHANGE_REASON_MANUAL);
  move.leave_open_index = true;
  LeaveQueue(event, move);
  FinishChange(move, context.policy.calendar());
  return move;
}

absl::StatusOr<store::Move> Reassign(const v1::Event& event, const Context& context,
                                     const std::string& unit_id, const std::string& reason) {
  if (auto status = CheckAllowed(MoveKind::kReassign, event); !status.ok()) {
    return status;
  }
  if (auto status = RequireText("reason", reason, kMaxReasonChars); !status.ok()) {
    return status;
  }
  if (unit_id.empty()) {
    return absl::InvalidArgumentError("unit_id: required");
  }
  const v1::Unit* unit = context.topology.Find(unit_id);
  if (unit == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("unit_id: unknown unit ", input::Quote(unit_id)));
  }
  if (unit_id == event.unit_id()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unit_id: the event is already at ", input::Quote(unit_id)));
  }
  // An ancestor of the grid up to its district, or a department of that district; never a
  // city or province (they watch and count) nor another district's unit.
  const v1::Unit* district = context.topology.DistrictOf(event.grid_id());
  const v1::Unit* theirs = context.topology.DistrictOf(unit_id);
  if (unit->level() > v1::LEVEL_DISTRICT) {
    return absl::InvalidArgumentError(
        absl::StrCat("unit_id: ", input::Quote(unit_id),
                     " is above the districts; an event stays with its district's units"));
  }
  if (district != nullptr && theirs != nullptr && theirs != district) {
    return absl::InvalidArgumentError(
        absl::StrCat("unit_id: ", input::Quote(unit_id), " belongs to district ", theirs->id(),
                     ", not to the event's district ", district->id()));
  }
  const bool reaches = district != nullptr && theirs == district &&
                       (unit->kind() == v1::UNIT_KIND_DEPARTMENT ||
                        context.topology.InSubtree(event.grid_id(), unit_id));
  if (!reaches) {
    return absl::InvalidArgumentError(absl::StrCat("unit_id: ", input::Quote(unit_id),
                                                   " does not cover the event's grid \"",
                                                   event.grid_id(), "\""));
  }
  const v1::Rule* rule = RuleOf(event, context.policy);
  if (rule == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("event ", event.id(), ": no policy rule routes it any more"));
  }
  return SendTo(event, context, *rule, unit->level(), *unit, v1::CHANGE_KIND_REASSIGNED,
                v1::CHANGE_REASON_MANUAL, reason);
}

}  // namespace grid::lifecycle
