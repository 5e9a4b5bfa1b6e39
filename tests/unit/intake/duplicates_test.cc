#include "services/intake/duplicates.h"

#include <gtest/gtest.h>

#include "common/clock/clock.h"

namespace grid::intake {
namespace {

constexpr Millis kT0 = 1'790'000'000'000;

v1::Location At(double lat, double lng) {
  v1::Location location;
  location.set_lat(lat);
  location.set_lng(lng);
  return location;
}

v1::Event Event(double lat, double lng, Millis reported, v1::EventState state) {
  v1::Event event;
  event.set_grid_id("37021200100101");
  event.set_category("0102");
  event.set_state(state);
  *event.mutable_location() = At(lat, lng);
  *event.mutable_reported_at() = ToTimestamp(reported);
  return event;
}

v1::DuplicateRule Rule() {
  v1::DuplicateRule rule;
  rule.set_enabled(true);
  rule.set_radius_meters(100);
  rule.mutable_window()->set_seconds(1800);
  return rule;
}

// 0.0009 degrees of latitude is about 100 m (111,195 m per degree).
TEST(DistanceTest, MatchesKnownDistances) {
  EXPECT_NEAR(DistanceMeters(At(36.1, 120.4), At(36.1, 120.4)), 0, 1e-6);
  EXPECT_NEAR(DistanceMeters(At(36.1, 120.4), At(36.1009, 120.4)), 100.08, 0.1);
  // One degree of longitude at 36.1 degrees north: 111,195 * cos(36.1 deg) = 89,857 m.
  EXPECT_NEAR(DistanceMeters(At(36.1, 120.4), At(36.1, 121.4)), 89'857, 50);
  EXPECT_NEAR(DistanceMeters(At(36.1, 120.4), At(36.1, 121.4)),
              DistanceMeters(At(36.1, 121.4), At(36.1, 120.4)), 1e-6);
}

TEST(DuplicateRuleTest, NearAndSoonIsADuplicate) {
  const v1::Event open = Event(36.1, 120.4, kT0, v1::EVENT_STATE_DISPATCHED);
  EXPECT_TRUE(
      IsDuplicateOf(open, Event(36.1008, 120.4, kT0 + 1000, v1::EVENT_STATE_REPORTED), Rule()));
  // The window counts either way: an offline upload may carry an earlier time.
  EXPECT_TRUE(
      IsDuplicateOf(open, Event(36.1, 120.4, kT0 - 1'800'000, v1::EVENT_STATE_REPORTED), Rule()));
}

TEST(DuplicateRuleTest, FarOrLateOrOtherwiseDifferentIsNot) {
  const v1::Event open = Event(36.1, 120.4, kT0, v1::EVENT_STATE_ACCEPTED);
  const v1::Event report = Event(36.1, 120.4, kT0 + 1000, v1::EVENT_STATE_REPORTED);
  EXPECT_FALSE(IsDuplicateOf(open, Event(36.1010, 120.4, kT0, v1::EVENT_STATE_REPORTED), Rule()))
      << "111 m away";
  EXPECT_FALSE(
      IsDuplicateOf(open, Event(36.1, 120.4, kT0 + 1'800'001, v1::EVENT_STATE_REPORTED), Rule()))
      << "30 minutes and a millisecond later";
  v1::Event other_category = report;
  other_category.set_category("0103");
  EXPECT_FALSE(IsDuplicateOf(open, other_category, Rule()));
  v1::Event other_grid = report;
  other_grid.set_grid_id("37021200100102");
  EXPECT_FALSE(IsDuplicateOf(open, other_grid, Rule()));
  v1::Event unlocated = report;
  unlocated.clear_location();
  EXPECT_FALSE(IsDuplicateOf(open, unlocated, Rule()));
  v1::DuplicateRule off = Rule();
  off.set_enabled(false);
  EXPECT_FALSE(IsDuplicateOf(open, report, off));
}

TEST(DuplicateRuleTest, OnlyOpenOriginalsCount) {
  const v1::Event report = Event(36.1, 120.4, kT0 + 1000, v1::EVENT_STATE_REPORTED);
  for (v1::EventState state :
       {v1::EVENT_STATE_CLOSED, v1::EVENT_STATE_VOIDED, v1::EVENT_STATE_CANCELLED}) {
    EXPECT_FALSE(IsDuplicateOf(Event(36.1, 120.4, kT0, state), report, Rule()));
  }
  for (v1::EventState state :
       {v1::EVENT_STATE_REPORTED, v1::EVENT_STATE_RESOLVED, v1::EVENT_STATE_SUSPENDED}) {
    EXPECT_TRUE(IsDuplicateOf(Event(36.1, 120.4, kT0, state), report, Rule()));
  }
  v1::Event itself_a_duplicate = Event(36.1, 120.4, kT0, v1::EVENT_STATE_DISPATCHED);
  itself_a_duplicate.set_duplicate_of("370212001-01M8E25T9NFZPD5H");
  EXPECT_FALSE(IsDuplicateOf(itself_a_duplicate, report, Rule()));
}

}  // namespace
}  // namespace grid::intake
