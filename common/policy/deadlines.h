// The response-time clock of an event at its unit: limits from the policy, deadlines, traffic
// light. Pure functions of their arguments and the time given.
#pragma once

#include "common/clock/clock.h"
#include "grid/v1/event.pb.h"
#include "grid/v1/policy.pb.h"

namespace grid::policy {

// A fresh clock at `level` under `rule`, started at `now`. The rule must have a limit at that
// level (Policy::Build checks every level from the rule's start up).
// Limits are counted in wall-clock time; working-time calendars are applied by the escalation
// clock (see Rule.time_basis), which records `working_time` on the deadlines.
v1::Deadlines StartClock(const v1::Rule& rule, v1::Level level, Millis now);

// The limit that is running for an event in `state`: accepting while DISPATCHED, resolving
// while ACCEPTED; none otherwise (0).
Millis RunningLimit(const v1::Deadlines& deadlines, v1::EventState state);
// The deadline that is running (accept_by or resolve_by), or 0 when none runs.
Millis RunningDeadline(const v1::Deadlines& deadlines, v1::EventState state);

// Green under 80% of the running limit used, yellow from 80% to 100%, red beyond; UNSPECIFIED
// when no limit runs.
v1::TrafficLight TrafficLightAt(const v1::Deadlines& deadlines, v1::EventState state, Millis now);

}  // namespace grid::policy
