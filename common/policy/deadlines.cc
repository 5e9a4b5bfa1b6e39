#include "common/policy/deadlines.h"

#include <google/protobuf/util/time_util.h>

#include "common/policy/policy.h"

namespace grid::policy {

using google::protobuf::util::TimeUtil;

v1::Deadlines StartClock(const v1::Rule& rule, v1::Level level, Millis now) {
  v1::Deadlines deadlines;
  const v1::LevelLimit* limit = LimitAt(rule, level);
  if (limit == nullptr) {
    return deadlines;
  }
  *deadlines.mutable_started_at() = ToTimestamp(now);
  *deadlines.mutable_accept_limit() = limit->accept();
  *deadlines.mutable_resolve_limit() = limit->resolve();
  *deadlines.mutable_accept_by() =
      ToTimestamp(now + TimeUtil::DurationToMilliseconds(limit->accept()));
  *deadlines.mutable_resolve_by() =
      ToTimestamp(now + TimeUtil::DurationToMilliseconds(limit->resolve()));
  return deadlines;
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

v1::TrafficLight TrafficLightAt(const v1::Deadlines& deadlines, v1::EventState state, Millis now) {
  const Millis limit = RunningLimit(deadlines, state);
  if (limit <= 0) {
    return v1::TRAFFIC_LIGHT_UNSPECIFIED;
  }
  const Millis used = now - FromTimestamp(deadlines.started_at()) -
                      TimeUtil::DurationToMilliseconds(deadlines.paused());
  // Integer comparisons: used/limit < 0.8 <=> 5*used < 4*limit.
  if (used * 5 < limit * 4) {
    return v1::TRAFFIC_LIGHT_GREEN;
  }
  if (used <= limit) {
    return v1::TRAFFIC_LIGHT_YELLOW;
  }
  return v1::TRAFFIC_LIGHT_RED;
}

}  // namespace grid::policy
