// When an event's escalation timer is due: the one place that says which deadline runs.
#pragma once

#include "common/clock/clock.h"
#include "grid/v1/event.pb.h"

namespace grid::store {

// The UTC ms at which the escalation clock must look at `event` next: the accept deadline while
// DISPATCHED, the resolve deadline while ACCEPTED, the next reminder once overdue at DISTRICT
// level; 0 when no clock runs (REPORTED, RESOLVED, SUSPENDED, final states).
Millis TimerDue(const v1::Event& event);

// The running limit's deadline: accept_by while DISPATCHED, resolve_by while ACCEPTED, else 0.
Millis RunningDeadline(const v1::Event& event);

// The running limit's length: accept_limit while DISPATCHED, resolve_limit while ACCEPTED, else 0.
Millis RunningLimit(const v1::Event& event);

}  // namespace grid::store
