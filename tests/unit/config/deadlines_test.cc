#include "common/policy/deadlines.h"

#include <gtest/gtest.h>

namespace grid::policy {
namespace {

v1::Rule OneLevelRule() {
  v1::Rule rule;
  rule.set_start_level(v1::LEVEL_GRID);
  v1::LevelLimit* limit = rule.add_limits();
  limit->set_level(v1::LEVEL_GRID);
  limit->mutable_accept()->set_seconds(100);
  limit->mutable_resolve()->set_seconds(1000);
  return rule;
}

TEST(DeadlinesTest, StartClockSetsDeadlinesFromTheLevelLimit) {
  const Millis now = 1'700'000'000'000;
  v1::Deadlines d = StartClock(OneLevelRule(), v1::LEVEL_GRID, now);
  EXPECT_EQ(FromTimestamp(d.started_at()), now);
  EXPECT_EQ(FromTimestamp(d.accept_by()), now + 100'000);
  EXPECT_EQ(FromTimestamp(d.resolve_by()), now + 1'000'000);
  EXPECT_EQ(RunningDeadline(d, v1::EVENT_STATE_DISPATCHED), now + 100'000);
  EXPECT_EQ(RunningDeadline(d, v1::EVENT_STATE_ACCEPTED), now + 1'000'000);
  EXPECT_EQ(RunningDeadline(d, v1::EVENT_STATE_CLOSED), 0);
}

TEST(DeadlinesTest, TrafficLightThresholds) {
  const Millis start = 1'700'000'000'000;
  v1::Deadlines d = StartClock(OneLevelRule(), v1::LEVEL_GRID, start);
  const auto light = [&](Millis elapsed) {
    return TrafficLightAt(d, v1::EVENT_STATE_DISPATCHED, start + elapsed);
  };
  EXPECT_EQ(light(0), v1::TRAFFIC_LIGHT_GREEN);
  EXPECT_EQ(light(79'999), v1::TRAFFIC_LIGHT_GREEN);
  EXPECT_EQ(light(80'000), v1::TRAFFIC_LIGHT_YELLOW);
  EXPECT_EQ(light(100'000), v1::TRAFFIC_LIGHT_YELLOW);
  EXPECT_EQ(light(100'001), v1::TRAFFIC_LIGHT_RED);
  // Accepted: the resolve limit runs.
  EXPECT_EQ(TrafficLightAt(d, v1::EVENT_STATE_ACCEPTED, start + 100'001), v1::TRAFFIC_LIGHT_GREEN);
  EXPECT_EQ(TrafficLightAt(d, v1::EVENT_STATE_ACCEPTED, start + 800'000), v1::TRAFFIC_LIGHT_YELLOW);
  // No clock runs in a final state.
  EXPECT_EQ(TrafficLightAt(d, v1::EVENT_STATE_CLOSED, start), v1::TRAFFIC_LIGHT_UNSPECIFIED);
}

TEST(DeadlinesTest, PausedTimeDoesNotCount) {
  const Millis start = 1'700'000'000'000;
  v1::Deadlines d = StartClock(OneLevelRule(), v1::LEVEL_GRID, start);
  // Suspended for 50 s: the deadline moved by as much.
  d.mutable_paused()->set_seconds(50);
  *d.mutable_accept_by() = ToTimestamp(FromTimestamp(d.accept_by()) + 50'000);
  EXPECT_EQ(TrafficLightAt(d, v1::EVENT_STATE_DISPATCHED, start + 120'000),
            v1::TRAFFIC_LIGHT_GREEN);
}

}  // namespace
}  // namespace grid::policy
