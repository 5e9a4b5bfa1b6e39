#include "common/policy/deadlines.h"

#include <gtest/gtest.h>

#include "common/policy/calendar.h"

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

// The light the backlog index derives from YellowAt and the deadline (common/store/backlog.h).
v1::TrafficLight IndexedLight(const v1::Deadlines& d, v1::EventState state, Millis now,
                              const WorkingCalendar* calendar) {
  const Millis yellow_at = YellowAt(d, state, calendar);
  if (yellow_at == 0) {
    return v1::TRAFFIC_LIGHT_UNSPECIFIED;
  }
  if (now > RunningDeadline(d, state)) {
    return v1::TRAFFIC_LIGHT_RED;
  }
  return now >= yellow_at ? v1::TRAFFIC_LIGHT_YELLOW : v1::TRAFFIC_LIGHT_GREEN;
}

TEST(DeadlinesTest, YellowAtIsWhereTheWallClockLightTurnsYellow) {
  const Millis start = 1'700'000'000'000;
  v1::Deadlines d = StartClock(OneLevelRule(), v1::LEVEL_GRID, start);
  EXPECT_EQ(YellowAt(d, v1::EVENT_STATE_DISPATCHED), start + 80'000);
  EXPECT_EQ(YellowAt(d, v1::EVENT_STATE_ACCEPTED), start + 800'000);
  EXPECT_EQ(YellowAt(d, v1::EVENT_STATE_RESOLVED), 0);
  EXPECT_EQ(YellowAt(d, v1::EVENT_STATE_SUSPENDED), 0);
  // An odd limit: 5 * used >= 4 * limit rounds as the light does.
  d.mutable_accept_limit()->set_seconds(0);
  d.mutable_accept_limit()->set_nanos(7'000'000);  // 7 ms
  *d.mutable_accept_by() = ToTimestamp(start + 7);
  for (Millis t = start - 2; t <= start + 10; ++t) {
    EXPECT_EQ(IndexedLight(d, v1::EVENT_STATE_DISPATCHED, t, nullptr),
              TrafficLightAt(d, v1::EVENT_STATE_DISPATCHED, t))
        << "at start + " << t - start;
  }
}

TEST(DeadlinesTest, YellowAtAgreesWithTheLightInWorkingTime) {
  // Monday to Friday, 08:30-12:00 and 13:30-17:30, UTC+8.
  v1::Calendar c;
  c.set_utc_offset_minutes(480);
  for (int weekday : {1, 2, 3, 4, 5}) {
    c.add_working_weekdays(weekday);
  }
  v1::WorkingHours* morning = c.add_hours();
  morning->set_start_minute(510);
  morning->set_end_minute(720);
  v1::WorkingHours* afternoon = c.add_hours();
  afternoon->set_start_minute(810);
  afternoon->set_end_minute(1050);
  absl::StatusOr<WorkingCalendar> calendar = WorkingCalendar::Build(c);
  ASSERT_TRUE(calendar.ok()) << calendar.status();

  v1::LevelLimit limit;
  limit.set_level(v1::LEVEL_GRID);
  limit.mutable_accept()->set_seconds(3 * 3600 + 17);   // crosses lunch and nights
  limit.mutable_resolve()->set_seconds(26 * 3600 + 1);  // several working days
  // Friday 2026-03-20, 16:05 in UTC+8, then other starts through the week.
  const Millis friday = 1'773'993'900'000;
  for (Millis start : {friday, friday - 7 * 3600'000, friday + 2 * 86'400'000 + 123}) {
    const v1::Deadlines d = StartClock(limit, true, start, &*calendar);
    for (v1::EventState state : {v1::EVENT_STATE_DISPATCHED, v1::EVENT_STATE_ACCEPTED}) {
      const Millis yellow_at = YellowAt(d, state, &*calendar);
      ASSERT_GT(yellow_at, start);
      // Exact at the edge, and right at every sampled instant up to past the deadline.
      EXPECT_EQ(TrafficLightAt(d, state, yellow_at, &*calendar), v1::TRAFFIC_LIGHT_YELLOW);
      EXPECT_EQ(TrafficLightAt(d, state, yellow_at - 1, &*calendar), v1::TRAFFIC_LIGHT_GREEN);
      const Millis end = RunningDeadline(d, state) + 3600'000;
      for (Millis t = start; t < end; t += 61'001) {
        ASSERT_EQ(IndexedLight(d, state, t, &*calendar), TrafficLightAt(d, state, t, &*calendar))
            << "state " << state << ", start " << start << ", at " << t;
      }
    }
  }
}

}  // namespace
}  // namespace grid::policy
