// The escalation clock's decisions: what a due timer does to an event, manual escalation (上报)
// and supervision (督办). Pure functions, like the moves in moves.h.
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/lifecycle/moves.h"

namespace grid::lifecycle {

// How often an overdue event at DISTRICT level is reminded when the policy does not say.
inline constexpr Millis kDefaultReminderInterval = 24 * 3600 * 1000LL;

// What a due timer does, as of context.now:
// - the running limit (accept while DISPATCHED, resolve while ACCEPTED) passed below DISTRICT:
//   the event escalates to the grid's unit one level up with fresh limits (reason
//   ACCEPT_TIMEOUT or RESOLVE_TIMEOUT); an ACCEPTED event must be accepted again up there;
// - it passed at DISTRICT: the event stays, is marked overdue, and gets a REMINDED change; the
//   next reminder is due after the policy's reminder interval;
// - an overdue event's reminder is due: another REMINDED change, and the next one scheduled.
// nullopt when nothing is due (a stale timer: the event moved on); the caller then re-arms the
// timer at store::TimerDue(event), or drops it when no clock runs.
std::optional<store::Move> OnTimer(const v1::Event& event, const Context& context);

// 上报: the unit hands the event to the level above, with a reason. FAILED_PRECONDITION at
// DISTRICT level (there is none above).
absl::StatusOr<store::Move> Escalate(const v1::Event& event, const Context& context,
                                     const std::string& reason);

// 督办: an operator whose jurisdiction (context.actor.unit_id's subtree) covers the event marks
// it supervised with a note; with `limit_ms` > 0 the running deadlines shrink to now + limit_ms
// when that is sooner. PERMISSION_DENIED outside the jurisdiction.
absl::StatusOr<store::Move> Supervise(const v1::Event& event, const Context& context,
                                      const std::string& note, Millis limit_ms);

}  // namespace grid::lifecycle
