#include "services/routing/queue_order.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace grid::routing {
namespace {

using google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;

constexpr Millis kNow = 1'790'000'000'000;
constexpr Millis kMinute = 60'000;

// An event whose `state` clock started at `started` with `limit` (accept or resolve, by state).
v1::Event Running(const std::string& id, Millis started, Millis limit,
                  v1::EventState state = v1::EVENT_STATE_DISPATCHED) {
  v1::Event event;
  event.set_id(id);
  event.set_state(state);
  v1::Deadlines& deadlines = *event.mutable_deadlines();
  *deadlines.mutable_started_at() = ToTimestamp(started);
  if (state == v1::EVENT_STATE_ACCEPTED) {
    *deadlines.mutable_resolve_limit() = TimeUtil::MillisecondsToDuration(limit);
    *deadlines.mutable_resolve_by() = ToTimestamp(started + limit);
    // The accept limit is over and must not count.
    *deadlines.mutable_accept_limit() = TimeUtil::MillisecondsToDuration(1);
    *deadlines.mutable_accept_by() = ToTimestamp(started + 1);
  } else {
    *deadlines.mutable_accept_limit() = TimeUtil::MillisecondsToDuration(limit);
    *deadlines.mutable_accept_by() = ToTimestamp(started + limit);
  }
  *event.mutable_updated_at() = ToTimestamp(started);
  return event;
}

// An event with no running limit, last changed at `updated`.
v1::Event Waiting(const std::string& id, Millis updated,
                  v1::EventState state = v1::EVENT_STATE_RESOLVED) {
  v1::Event event = Running(id, updated - 10 * kMinute, 60 * kMinute);
  event.set_state(state);
  *event.mutable_updated_at() = ToTimestamp(updated);
  return event;
}

v1::Event Supervised(v1::Event event) {
  event.set_supervised(true);
  return event;
}

std::vector<std::string> Ids(const std::vector<v1::QueueItem>& items) {
  std::vector<std::string> ids;
  for (const v1::QueueItem& item : items) {
    ids.push_back(item.event().id());
  }
  return ids;
}

TEST(OrderQueueTest, SupervisedComeFirstEvenBeforeOverdue) {
  auto items = OrderQueue({Running("overdue", kNow - 90 * kMinute, 60 * kMinute),
                           Supervised(Running("supervised-green", kNow, 60 * kMinute)),
                           Running("green", kNow - kMinute, 60 * kMinute)},
                          kNow);
  EXPECT_THAT(Ids(items), ElementsAre("supervised-green", "overdue", "green"));
}

TEST(OrderQueueTest, SupervisedOnesAreOrderedAmongThemselvesByTheSameRules) {
  auto items = OrderQueue({Supervised(Running("s-green", kNow - kMinute, 60 * kMinute)),
                           Supervised(Running("s-overdue", kNow - 70 * kMinute, 60 * kMinute))},
                          kNow);
  EXPECT_THAT(Ids(items), ElementsAre("s-overdue", "s-green"));
}

TEST(OrderQueueTest, OverdueComeNextMostOverdueFirst) {
  auto items = OrderQueue({Running("yellow", kNow - 55 * kMinute, 60 * kMinute),
                           Running("late-5m", kNow - 65 * kMinute, 60 * kMinute),
                           // Late by 20 minutes on a 10-hour limit: a smaller share of its
                           // limit used than late-5m (103% against 108%), but later.
                           Running("late-20m", kNow - 620 * kMinute, 600 * kMinute)},
                          kNow);
  EXPECT_THAT(Ids(items), ElementsAre("late-20m", "late-5m", "yellow"));
  EXPECT_TRUE(items[0].overdue());
  EXPECT_TRUE(items[1].overdue());
  EXPECT_FALSE(items[2].overdue());
}

TEST(OrderQueueTest, ThenByShareOfTheLimitUsedNotByAbsoluteTimeLeft) {
  // 10 minutes left of an hour (83% used: yellow) against 8 minutes left of ten (20%: green).
  // By time left the second would come first; by share of the limit the first does.
  auto items = OrderQueue({Running("green-8m-left", kNow - 2 * kMinute, 10 * kMinute),
                           Running("yellow-10m-left", kNow - 50 * kMinute, 60 * kMinute)},
                          kNow);
  EXPECT_THAT(Ids(items), ElementsAre("yellow-10m-left", "green-8m-left"));
  EXPECT_EQ(items[0].traffic_light(), v1::TRAFFIC_LIGHT_YELLOW);
  EXPECT_EQ(items[1].traffic_light(), v1::TRAFFIC_LIGHT_GREEN);
  EXPECT_EQ(TimeUtil::DurationToMilliseconds(items[0].time_left()), 10 * kMinute);
  EXPECT_EQ(TimeUtil::DurationToMilliseconds(items[1].time_left()), 8 * kMinute);
}

TEST(OrderQueueTest, TheResolveLimitRunsWhileAccepted) {
  // Accepted: its accept limit (long past) does not count, only the resolve limit (10% used).
  auto items =
      OrderQueue({Running("accepted", kNow - 6 * kMinute, 60 * kMinute, v1::EVENT_STATE_ACCEPTED),
                  Running("dispatched", kNow - 30 * kMinute, 60 * kMinute)},
                 kNow);
  EXPECT_THAT(Ids(items), ElementsAre("dispatched", "accepted"));
  EXPECT_FALSE(items[1].overdue());
  EXPECT_EQ(TimeUtil::DurationToMilliseconds(items[1].time_left()), 54 * kMinute);
}

TEST(OrderQueueTest, PausedTimeIsNotCountedAsUsed) {
  // Started 50 minutes ago on an hour, but 40 of them suspended: 10 minutes used (17%), the
  // deadline moved by the pause.
  v1::Event paused = Running("paused", kNow - 50 * kMinute, 60 * kMinute);
  *paused.mutable_deadlines()->mutable_paused() = TimeUtil::MillisecondsToDuration(40 * kMinute);
  *paused.mutable_deadlines()->mutable_accept_by() = ToTimestamp(kNow + 50 * kMinute);
  auto items = OrderQueue({paused, Running("half", kNow - 30 * kMinute, 60 * kMinute)}, kNow);
  EXPECT_THAT(Ids(items), ElementsAre("half", "paused"));
  EXPECT_EQ(items[1].traffic_light(), v1::TRAFFIC_LIGHT_GREEN);
}

TEST(OrderQueueTest, EqualSharesGoByEarlierDeadlineThenById) {
  // All at 50% used: due in 10, 5 and 5 minutes.
  auto items = OrderQueue({Running("due-10m", kNow - 10 * kMinute, 20 * kMinute),
                           Running("b-due-5m", kNow - 5 * kMinute, 10 * kMinute),
                           Running("a-due-5m", kNow - 5 * kMinute, 10 * kMinute)},
                          kNow);
  EXPECT_THAT(Ids(items), ElementsAre("a-due-5m", "b-due-5m", "due-10m"));
}

TEST(OrderQueueTest, EquallyOverdueGoByShare) {
  // Both 10 minutes late; the one on the shorter limit has used more of it.
  auto items = OrderQueue({Running("late-of-60", kNow - 70 * kMinute, 60 * kMinute),
                           Running("late-of-20", kNow - 30 * kMinute, 20 * kMinute)},
                          kNow);
  EXPECT_THAT(Ids(items), ElementsAre("late-of-20", "late-of-60"));
}

TEST(OrderQueueTest, EventsWithNoRunningLimitGoLastOldestUpdateFirst) {
  auto items = OrderQueue(
      {Supervised(Waiting("resolved-recent", kNow - kMinute)),
       Waiting("suspended-old", kNow - 90 * kMinute, v1::EVENT_STATE_SUSPENDED),
       Running("green", kNow, 60 * kMinute), Waiting("resolved-old", kNow - 90 * kMinute)},
      kNow);
  EXPECT_THAT(Ids(items), ElementsAre("green", "resolved-old", "suspended-old", "resolved-recent"));
  for (std::size_t i = 1; i < items.size(); ++i) {
    EXPECT_FALSE(items[i].has_time_left()) << items[i].event().id();
    EXPECT_FALSE(items[i].overdue());
    EXPECT_EQ(items[i].traffic_light(), v1::TRAFFIC_LIGHT_UNSPECIFIED);
  }
}

TEST(OrderQueueTest, TimeLeftIsNegativeOnceOverdueAndZeroIsNotOverdue) {
  auto items = OrderQueue({Running("late", kNow - 61 * kMinute - 500, 60 * kMinute),
                           Running("due-now", kNow - 60 * kMinute, 60 * kMinute),
                           Running("early", kNow - 30 * kMinute, 60 * kMinute)},
                          kNow);
  ASSERT_THAT(Ids(items), ElementsAre("late", "due-now", "early"));
  EXPECT_EQ(TimeUtil::DurationToMilliseconds(items[0].time_left()), -kMinute - 500);
  EXPECT_LT(items[0].time_left().seconds(), 0);
  EXPECT_LE(items[0].time_left().nanos(), 0) << "a Duration's parts share its sign";
  EXPECT_TRUE(items[0].overdue());
  EXPECT_EQ(items[0].traffic_light(), v1::TRAFFIC_LIGHT_RED);

  EXPECT_EQ(TimeUtil::DurationToMilliseconds(items[1].time_left()), 0);
  EXPECT_FALSE(items[1].overdue());
  EXPECT_EQ(items[1].traffic_light(), v1::TRAFFIC_LIGHT_YELLOW);

  EXPECT_EQ(TimeUtil::DurationToMilliseconds(items[2].time_left()), 30 * kMinute);
  EXPECT_FALSE(items[2].overdue());
  EXPECT_EQ(items[2].traffic_light(), v1::TRAFFIC_LIGHT_GREEN);
}

TEST(OrderQueueTest, TheEventCarriesItsLightAsOfNow) {
  v1::Event stale = Running("stale", kNow - 70 * kMinute, 60 * kMinute);
  stale.set_traffic_light(v1::TRAFFIC_LIGHT_GREEN);  // As stored at dispatch.
  auto items = OrderQueue({stale}, kNow);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].event().traffic_light(), v1::TRAFFIC_LIGHT_RED);
}

TEST(OrderQueueTest, EmptyQueueIsEmpty) { EXPECT_TRUE(OrderQueue({}, kNow).empty()); }

}  // namespace
}  // namespace grid::routing
