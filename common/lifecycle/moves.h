// The lifecycle moves: each turns an event (as read, at some version) into the store::Move that
// the store applies atomically if the event is still at that version. Pure functions of their
// arguments; the caller reads the event, calls one, and applies the result, retrying on a lost
// version race.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock/clock.h"
#include "common/input/fields.h"
#include "common/policy/policy.h"
#include "common/store/event_store.h"
#include "common/topology/topology.h"
#include "grid/v1/event.pb.h"

namespace grid::lifecycle {

// What every move needs besides the event.
struct Context {
  const topology::Topology& topology;
  const policy::Policy& policy;
  Millis now;
  v1::Actor actor;
};

inline constexpr int kMaxNoteChars = input::kMaxNoteChars;
inline constexpr int kMaxReasonChars = input::kMaxReasonChars;
inline constexpr int kMaxEvidence = input::kMaxMedia;

// REPORTED -> DISPATCHED at the unit the policy names (routing's first dispatch).
absl::StatusOr<store::Move> Dispatch(const v1::Event& event, const Context& context);
// DISPATCHED -> ACCEPTED (接单): the resolve limit runs.
absl::StatusOr<store::Move> Accept(const v1::Event& event, const Context& context);
// ACCEPTED -> RESOLVED with a note (required) and evidence; waits for on-site verification.
absl::StatusOr<store::Move> Resolve(const v1::Event& event, const Context& context,
                                    const std::string& note, const std::vector<std::string>& media);
// RESOLVED -> CLOSED when `passed`, else back to DISPATCHED at the same unit with a fresh clock
// and rework_count + 1 (返工).
absl::StatusOr<store::Move> Verify(const v1::Event& event, const Context& context, bool passed,
                                   const std::string& note);
// 退回: the unit says the event is not theirs. It goes to the unit the policy names next (a
// fallback department at DISTRICT level) or the level above, never back to a unit that returned
// it; FAILED_PRECONDITION when no unit is left.
absl::StatusOr<store::Move> Return(const v1::Event& event, const Context& context,
                                   const std::string& reason);
// 挂账: parked with a reason and an approver from a higher level; the clock stops.
absl::StatusOr<store::Move> Suspend(const v1::Event& event, const Context& context,
                                    const std::string& reason, const std::string& approver_unit_id);
// Back to the state before the suspension; the deadlines move by the time spent suspended.
absl::StatusOr<store::Move> Resume(const v1::Event& event, const Context& context);
// Withdrawn by its reporter (or an operator) before acceptance.
absl::StatusOr<store::Move> Cancel(const v1::Event& event, const Context& context,
                                   const std::string& reason);
// 作废 by an operator, with a reason.
absl::StatusOr<store::Move> Void(const v1::Event& event, const Context& context,
                                 const std::string& reason);
// Moved by an operator to another unit, with a fresh clock at that unit's level.
absl::StatusOr<store::Move> Reassign(const v1::Event& event, const Context& context,
                                     const std::string& unit_id, const std::string& reason);

// The common tail of every move that sends an event to a unit (dispatch, return, rework,
// reassign, escalation): state DISPATCHED at `unit` and `level` with a fresh clock under `rule`,
// leaving the old unit's queue and joining the new one's.
store::Move SendTo(const v1::Event& event, const Context& context, const v1::Rule& rule,
                   v1::Level level, const v1::Unit& unit, v1::ChangeKind kind,
                   v1::ChangeReason reason_code, const std::string& reason);

// A move of `event` to `to_state` with the change header filled in (who, when, from where, the
// event's identity); callers adjust the event and the queue fields. Exposed for the escalation
// clock, which builds its own moves.
store::Move BeginMove(const v1::Event& event, const Context& context, v1::ChangeKind kind,
                      v1::EventState to_state);

// The rule an event was routed by, or the one the policy would pick now if that rule is gone.
const v1::Rule* RuleOf(const v1::Event& event, const policy::Policy& policy);

}  // namespace grid::lifecycle
