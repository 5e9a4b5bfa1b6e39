#include "services/metrics/rollup.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

namespace grid::metrics {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr Millis kDay = 86'400'000;
// 2026-11-27T00:00:00Z.
constexpr Millis kNov27 = 1'795'737'600'000;

TEST(RatioTest, ZeroOrNegativeDenominatorGivesZero) {
  EXPECT_EQ(Ratio(3, 0), 0);
  EXPECT_EQ(Ratio(0, 0), 0);
  EXPECT_EQ(Ratio(3, -1), 0);
  EXPECT_DOUBLE_EQ(Ratio(1, 4), 0.25);
}

TEST(ScoresTest, FollowTheFieldsFormulas) {
  Counts counts;
  counts.reported = 12;
  counts.duplicates = 2;
  counts.closed = 8;
  counts.closed_on_time = 6;
  counts.due = 9;
  counts.deferred = 1;
  counts.reworked = 2;
  counts.redispatched = 1;
  const Scores scores = ScoresOf(counts);
  EXPECT_DOUBLE_EQ(scores.on_time_closure_rate, 6.0 / 8.0) << "closed on time / (due - deferred)";
  EXPECT_DOUBLE_EQ(scores.closure_rate, 8.0 / 10.0) << "closed / (reported - duplicates)";
  EXPECT_DOUBLE_EQ(scores.rework_rate, 2.0 / 8.0);
  EXPECT_DOUBLE_EQ(scores.first_dispatch_accuracy, 7.0 / 8.0);
}

TEST(ScoresTest, ZeroDenominatorsGiveZeroScores) {
  const Scores none = ScoresOf(Counts());
  EXPECT_EQ(none.on_time_closure_rate, 0);
  EXPECT_EQ(none.closure_rate, 0);
  EXPECT_EQ(none.rework_rate, 0);
  EXPECT_EQ(none.first_dispatch_accuracy, 0);

  Counts all_deferred;
  all_deferred.due = 2;
  all_deferred.deferred = 2;
  all_deferred.reported = 3;
  all_deferred.duplicates = 3;
  const Scores scores = ScoresOf(all_deferred);
  EXPECT_EQ(scores.on_time_closure_rate, 0);
  EXPECT_EQ(scores.closure_rate, 0);
}

TEST(CountsTest, AddCounterKnowsEveryRollupName) {
  Counts counts;
  for (std::string_view name : {kReported, kDuplicates, kClosed, kClosedOnTime, kDue, kDeferred,
                                kReworked, kReturned, kEscalated, kRedispatched, kSupervised}) {
    EXPECT_TRUE(AddCounter(counts, name, 2)) << name;
  }
  EXPECT_FALSE(AddCounter(counts, "nope", 1));
  EXPECT_EQ(counts.reported, 2);
  EXPECT_EQ(counts.redispatched, 2);
  EXPECT_EQ(counts.supervised, 2);
  Counts sum;
  sum += counts;
  sum += counts;
  EXPECT_EQ(sum.closed_on_time, 4);
  EXPECT_EQ(sum.open, 0);
}

TEST(RollupFieldTest, RoundTripsThroughThePrefix) {
  const std::string field = RollupPrefix("37021200100101", "04", 2) + "rep";
  EXPECT_EQ(field, "37021200100101|04|2|rep");
  auto parsed = ParseRollupField(field);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->unit_id, "37021200100101");
  EXPECT_EQ(parsed->category_class, "04");
  EXPECT_EQ(parsed->severity, "2");
  EXPECT_EQ(parsed->counter, "rep");
  EXPECT_FALSE(ParseRollupField("a|b|c").has_value());
  EXPECT_FALSE(ParseRollupField("|04|2|rep").has_value());
  EXPECT_FALSE(ParseRollupField("a|04|2|").has_value());
}

TEST(CategoryClassTest, IsTheFirstTwoDigits) {
  EXPECT_EQ(CategoryClass("0102"), "01");
  EXPECT_EQ(CategoryClass("07"), "07");
  EXPECT_EQ(CategoryClass("7"), "");
}

TEST(DayTest, DaysAreUtc) {
  EXPECT_EQ(DayOf(0), 0);
  EXPECT_EQ(DayOf(kDay - 1), 0);
  EXPECT_EQ(DayOf(kDay), 1);
  EXPECT_EQ(DayOf(-1), -1);
  EXPECT_EQ(DayName(DayOf(kNov27)), "20261127");
  EXPECT_EQ(DayName(DayOf(kNov27 - 1)), "20261126");
  EXPECT_EQ(DayName(0), "19700101");
}

TEST(DaysInWindowTest, TakesEveryDayTheWindowTouches) {
  const int64_t d = DayOf(kNov27);
  const std::vector<int64_t> known = {d - 3, d - 2, d - 1, d, d + 1};
  EXPECT_THAT(DaysInWindow(known, 0, 0), ElementsAre(d - 3, d - 2, d - 1, d, d + 1));
  EXPECT_THAT(DaysInWindow(known, kNov27, 0), ElementsAre(d, d + 1));
  EXPECT_THAT(DaysInWindow(known, 0, kNov27), ElementsAre(d - 3, d - 2, d - 1))
      << "the end is exclusive: a window ending at midnight does not take the next day";
  EXPECT_THAT(DaysInWindow(known, kNov27 - 1, kNov27 + 1), ElementsAre(d - 1, d));
  EXPECT_THAT(DaysInWindow(known, kNov27 + 3600'000, kNov27 + 7200'000), ElementsAre(d))
      << "an hour inside a day takes the whole day";
  EXPECT_THAT(DaysInWindow(known, kNov27 + 5 * kDay, 0), IsEmpty());
  EXPECT_THAT(DaysInWindow({d, d - 1, d}, 0, 0), ElementsAre(d - 1, d)) << "sorted, unique";
}

TEST(BucketsTest, SpanSecondLongTestLimitsToDaysLongFieldLimits) {
  const std::vector<double>& buckets = ResponseTimeBuckets();
  ASSERT_FALSE(buckets.empty());
  EXPECT_TRUE(std::is_sorted(buckets.begin(), buckets.end()));
  EXPECT_EQ(std::adjacent_find(buckets.begin(), buckets.end()), buckets.end()) << "no repeats";
  EXPECT_LE(buckets.front(), 0.5) << "a one-second test limit falls inside a bucket";
  for (double limit : {1.0, 3.0, 3600.0, 86400.0, 5 * 86400.0}) {
    EXPECT_NE(std::find(buckets.begin(), buckets.end(), limit), buckets.end())
        << limit << " s is a typical limit and a bucket bound"
        << " (on-time shares read straight off the histogram)";
  }
  EXPECT_GE(buckets.back(), 30 * 86400.0);
  EXPECT_LE(buckets.size(), 25u) << "series per label set stay few";
}

}  // namespace
}  // namespace grid::metrics
