// The order of a unit's work queue: what the unit should look at first. Pure: no I/O, and the
// time is an argument.
#pragma once

#include <vector>

#include "common/clock/clock.h"
#include "common/policy/calendar.h"
#include "grid/v1/event.pb.h"
#include "grid/v1/routing.pb.h"

namespace grid::routing {

// Builds the queue items of `events` as of `now` and orders them by urgency.
//
// Each item carries the event (with its traffic light set as of `now`), the traffic light, the
// time left until the running deadline (policy::RunningDeadline - now; negative once past it) and
// `overdue` (time left below zero). An event with no running limit has no time_left, an
// UNSPECIFIED light and is not overdue.
//
// Events whose clock runs (DISPATCHED, ACCEPTED) come first, ordered by:
//   1. supervised (督办) before the rest;
//   2. overdue before not overdue, the most overdue first;
//   3. the share of the running limit used (paused time excluded, as for the traffic light),
//      highest first: a yellow light comes before a green one whatever the absolute limits;
//   4. the earlier running deadline;
//   5. the id.
// Events with no running limit (RESOLVED waiting for verification, SUSPENDED...) come after all
// of those, supervised or not, since no clock of the unit runs on them: the least recently updated
// first, then by id.
std::vector<v1::QueueItem> OrderQueue(std::vector<v1::Event> events, Millis now,
                                      const policy::WorkingCalendar* calendar = nullptr);

}  // namespace grid::routing
