#include "common/store/timers.h"

namespace grid::store {

Millis TimerDue(const v1::Event& event) {
  if (event.state() != v1::EVENT_STATE_DISPATCHED && event.state() != v1::EVENT_STATE_ACCEPTED) {
    return 0;
  }
  if (event.overdue() && event.has_next_reminder_at()) {
    return FromTimestamp(event.next_reminder_at());
  }
  return RunningDeadline(event);
}

Millis RunningDeadline(const v1::Event& event) {
  switch (event.state()) {
    case v1::EVENT_STATE_DISPATCHED:
      return FromTimestamp(event.deadlines().accept_by());
    case v1::EVENT_STATE_ACCEPTED:
      return FromTimestamp(event.deadlines().resolve_by());
    default:
      return 0;
  }
}

Millis RunningLimit(const v1::Event& event) {
  const auto& d = event.deadlines();
  switch (event.state()) {
    case v1::EVENT_STATE_DISPATCHED:
      return d.accept_limit().seconds() * 1000 + d.accept_limit().nanos() / 1'000'000;
    case v1::EVENT_STATE_ACCEPTED:
      return d.resolve_limit().seconds() * 1000 + d.resolve_limit().nanos() / 1'000'000;
    default:
      return 0;
  }
}

}  // namespace grid::store
