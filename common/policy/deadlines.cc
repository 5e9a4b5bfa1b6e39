#include "common/policy/deadlines.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>

#include "common/policy/policy.h"

namespace grid::policy {

using google::protobuf::util::TimeUtil;

v1::Deadlines StartClock(const v1::LevelLimit& limit, bool working_time, Millis now,
                         const WorkingCalendar* calendar) {
  v1::Deadlines deadlines;
  const bool working = working_time && calendar != nullptr;
  const Millis accept = TimeUtil::DurationToMilliseconds(limit.accept());
  const Millis resolve = TimeUtil::DurationToMilliseconds(limit.resolve());
  *deadlines.mutable_started_at() = ToTimestamp(now);
  *deadlines.mutable_accept_limit() = limit.accept();
  *deadlines.mutable_resolve_limit() = limit.resolve();
  *deadlines.mutable_accept_by() = ToTimestamp(working ? calendar->Add(now, accept) : now + accept);
  *deadlines.mutable_resolve_by() =
      ToTimestamp(working ? calendar->Add(now, resolve) : now + resolve);
  deadlines.set_working_time(working);
  return deadlines;
}

v1::Deadlines StartClock(const v1::Rule& rule, v1::Level level, Millis now,
                         const WorkingCalendar* calendar) {
  const v1::LevelLimit* limit = LimitAt(rule, level);
  if (limit == nullptr) {
    return v1::Deadlines();
  }
  return StartClock(*limit, rule.time_basis() == v1::TIME_BASIS_WORKING_TIME, now, calendar);
}

Millis TimeLeft(const v1::Deadlines& deadlines, Millis deadline, Millis now,
                const WorkingCalendar* calendar) {
  if (now >= deadline) {
    return deadline - now;
  }
  if (deadlines.working_time() && calendar != nullptr) {
    return calendar->Between(now, deadline);
  }
  return deadline - now;
}

Millis Resumed(const v1::Deadlines& deadlines, Millis deadline, Millis paused_at, Millis now,
               const WorkingCalendar* calendar) {
  const Millis left = TimeLeft(deadlines, deadline, paused_at, calendar);
  if (left <= 0) {
    // Already past when paused: it stays past by as much.
    return now + left;
  }
  if (deadlines.working_time() && calendar != nullptr) {
    return calendar->Add(now, left);
  }
  return now + left;
}

Millis RunningLimit(const v1::Deadlines& deadlines, v1::EventState state) {
  switch (state) {
    case v1::EVENT_STATE_DISPATCHED:
      return TimeUtil::DurationToMilliseconds(deadlines.accept_limit());
    case v1::EVENT_STATE_ACCEPTED:
      return TimeUtil::DurationToMilliseconds(deadlines.resolve_limit());
    default:
      return 0;
  }
}

Millis RunningDeadline(const v1::Deadlines& deadlines, v1::EventState state) {
  switch (state) {
    case v1::EVENT_STATE_DISPATCHED:
      return FromTimestamp(deadlines.accept_by());
    case v1::EVENT_STATE_ACCEPTED:
      return FromTimestamp(deadlines.resolve_by());
    default:
      return 0;
  }
}

v1::TrafficLight TrafficLightAt(const v1::Deadlines& deadlines, v1::EventState state, Millis now,
                                const WorkingCalendar* calendar) {
  const Millis limit = RunningLimit(deadlines, state);
  if (limit <= 0) {
    return v1::TRAFFIC_LIGHT_UNSPECIFIED;
  }
  const Millis used = limit - TimeLeft(deadlines, RunningDeadline(deadlines, state), now, calendar);
  // Integer comparisons: used/limit < 0.8 <=> 5*used < 4*limit.
  if (used * 5 < limit * 4) {
    return v1::TRAFFIC_LIGHT_GREEN;
  }
  if (used <= limit) {
    return v1::TRAFFIC_LIGHT_YELLOW;
  }
  return v1::TRAFFIC_LIGHT_RED;
}

Millis YellowAt(const v1::Deadlines& deadlines, v1::EventState state,
                const WorkingCalendar* calendar) {
  const Millis limit = RunningLimit(deadlines, state);
  const Millis deadline = RunningDeadline(deadlines, state);
  if (limit <= 0 || deadline <= 0) {
    return 0;
  }
  // Yellow once used * 5 >= limit * 4, where used = limit - TimeLeft: once the time left is at
  // most limit / 5 (rounded down, as the integer comparison rounds).
  const Millis left_at_yellow = limit / 5;
  if (!deadlines.working_time() || calendar == nullptr) {
    return deadline - left_at_yellow;
  }
  // Working time: the time left shrinks only during working hours, so the earliest instant at
  // which it is at most left_at_yellow is found by bisection between the clock's start (every
  // read comes after it) and the deadline (where it is 0).
  Millis lo = std::min(FromTimestamp(deadlines.started_at()), deadline);
  Millis hi = deadline;
  if (TimeLeft(deadlines, deadline, lo, calendar) <= left_at_yellow) {
    return lo;
  }
  // Invariant: left(lo) > left_at_yellow >= left(hi).
  while (hi - lo > 1) {
    const Millis mid = lo + (hi - lo) / 2;
    if (TimeLeft(deadlines, deadline, mid, calendar) <= left_at_yellow) {
      hi = mid;
    } else {
      lo = mid;
    }
  }
  return hi;
}

}  // namespace grid::policy
