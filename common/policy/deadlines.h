// The response-time clock of an event at its unit: limits from the policy, deadlines, traffic
// light. Pure functions of their arguments and the time given.
#pragma once

#include "common/clock/clock.h"
#include "common/policy/calendar.h"
#include "grid/v1/event.pb.h"
#include "grid/v1/policy.pb.h"

namespace grid::policy {

// A fresh clock with `limit`, started at `now`: counted on `calendar` (working hours, nights,
// weekends and holidays skipped) when `working_time` and a calendar is given, else wall-clock.
v1::Deadlines StartClock(const v1::LevelLimit& limit, bool working_time, Millis now,
                         const WorkingCalendar* calendar);
// A fresh clock at `level` under `rule` (its limit there and its time basis); empty deadlines when
// the rule sets no limit at that level.
v1::Deadlines StartClock(const v1::Rule& rule, v1::Level level, Millis now,
                         const WorkingCalendar* calendar = nullptr);

// Time left until `deadline` at `now`: working time when the deadlines count working time and a
// calendar is given, else wall-clock. Negative (wall-clock) once the deadline has passed.
Millis TimeLeft(const v1::Deadlines& deadlines, Millis deadline, Millis now,
                const WorkingCalendar* calendar);

// A deadline moved for a pause from `paused_at` to `now` (a suspension): the time that was left
// at `paused_at` is left again at `now`, counted as the deadlines count.
Millis Resumed(const v1::Deadlines& deadlines, Millis deadline, Millis paused_at, Millis now,
               const WorkingCalendar* calendar);

// The limit that is running for an event in `state`: accepting while DISPATCHED, resolving
// while ACCEPTED; none otherwise (0).
Millis RunningLimit(const v1::Deadlines& deadlines, v1::EventState state);
// The deadline that is running (accept_by or resolve_by), or 0 when none runs.
Millis RunningDeadline(const v1::Deadlines& deadlines, v1::EventState state);

// Green under 80% of the running limit used, yellow from 80% to 100%, red beyond; UNSPECIFIED
// when no limit runs. The share used is the limit less the time left (TimeLeft), so a pause that
// moved the deadline does not count.
v1::TrafficLight TrafficLightAt(const v1::Deadlines& deadlines, v1::EventState state, Millis now,
                                const WorkingCalendar* calendar = nullptr);

// The earliest instant from which TrafficLightAt says yellow (or red) for as long as the state
// and the deadlines stay as they are: the light is green before it, yellow from it, and red from
// the running deadline + 1 ms on. 0 when no limit runs. For the backlog index (common/store),
// which counts lights by comparing these instants with the time of a read.
Millis YellowAt(const v1::Deadlines& deadlines, v1::EventState state,
                const WorkingCalendar* calendar = nullptr);

}  // namespace grid::policy
