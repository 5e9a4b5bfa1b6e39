#include "services/metrics/rollup.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

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

// Means come from sums and counts, so a union of days or groups averages exactly: two days of
// (1 acceptance, 60 s) and (3 acceptances, 660 s) are 4 acceptances in 180 s on average, not the
// mean of the daily means (240 s).
TEST(ScoresTest, ResponseTimeMeansAreSumsOverCounts) {
  Counts day1;
  day1.accepted = 1;
  day1.accept_ms = 60'000;
  day1.closed_timed = 1;
  day1.close_ms = 120'000;
  Counts day2;
  day2.accepted = 3;
  day2.accept_ms = 660'000;
  day2.closed_timed = 2;
  day2.close_ms = 1'500'000;
  EXPECT_DOUBLE_EQ(ScoresOf(day1).accept_seconds_mean, 60.0);
  EXPECT_DOUBLE_EQ(ScoresOf(day2).accept_seconds_mean, 220.0);
  Counts both = day1;
  both += day2;
  EXPECT_EQ(both.accepted, 4);
  EXPECT_EQ(both.accept_ms, 720'000);
  EXPECT_DOUBLE_EQ(ScoresOf(both).accept_seconds_mean, 180.0);
  EXPECT_DOUBLE_EQ(ScoresOf(both).close_seconds_mean, 540.0);

  // A day counted before the response times existed has closures but no timed ones: it does not
  // dilute the mean.
  Counts old_day;
  old_day.closed = 5;
  both += old_day;
  EXPECT_DOUBLE_EQ(ScoresOf(both).close_seconds_mean, 540.0);
  EXPECT_EQ(ScoresOf(Counts()).accept_seconds_mean, 0);
  EXPECT_EQ(ScoresOf(Counts()).close_seconds_mean, 0);
}

TEST(CountsTest, AddCounterKnowsEveryRollupName) {
  Counts counts;
  for (std::string_view name : {kReported, kDuplicates, kClosed, kClosedOnTime, kDue, kDeferred,
                                kReworked, kReturned, kEscalated, kRedispatched, kSupervised,
                                kAccepted, kAcceptMillis, kClosedTimed, kCloseMillis}) {
    EXPECT_TRUE(AddCounter(counts, name, 2)) << name;
  }
  EXPECT_FALSE(AddCounter(counts, "nope", 1));
  EXPECT_EQ(counts.reported, 2);
  EXPECT_EQ(counts.redispatched, 2);
  EXPECT_EQ(counts.supervised, 2);
  EXPECT_EQ(counts.accepted, 2);
  EXPECT_EQ(counts.accept_ms, 2);
  EXPECT_EQ(counts.closed_timed, 2);
  EXPECT_EQ(counts.close_ms, 2);
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

// 2026-12-01T00:00:00+08:00 (a Beijing midnight) is 2026-11-30T16:00:00Z.
constexpr Millis kBeijingDec1 = kNov27 + 3 * kDay + 16 * 3600'000;
constexpr Millis kMinute = 60'000;

TEST(LocalDaysTest, UtcWhenTheOffsetIsZero) {
  const LocalDays utc(0);
  EXPECT_EQ(utc.DayOf(0), 0);
  EXPECT_EQ(utc.DayOf(kDay - 1), 0);
  EXPECT_EQ(utc.DayOf(kDay), 1);
  EXPECT_EQ(utc.DayOf(-1), -1);
  EXPECT_EQ(DayName(utc.DayOf(kNov27)), "20261127");
  EXPECT_EQ(DayName(utc.DayOf(kNov27 - 1)), "20261126");
  EXPECT_EQ(DayName(0), "19700101");
}

TEST(LocalDaysTest, ABeijingDayRunsFromMidnightToMidnightBeijingTime) {
  const LocalDays beijing(480);
  const int64_t dec1 = beijing.DayOf(kBeijingDec1);
  EXPECT_EQ(DateName(dec1), "2026-12-01");
  EXPECT_EQ(beijing.StartOf(dec1), kBeijingDec1);
  EXPECT_EQ(beijing.DayOf(kBeijingDec1 - 1), dec1 - 1) << "23:59:59.999 the night before";
  // 07:59 and 08:01 Beijing time are one day apart in UTC days (UTC midnight is 08:00 in
  // Beijing), and the same Beijing day.
  const Millis at_0759 = kBeijingDec1 + 7 * 60 * kMinute + 59 * kMinute;
  const Millis at_0801 = kBeijingDec1 + 8 * 60 * kMinute + 1 * kMinute;
  EXPECT_EQ(beijing.DayOf(at_0759), dec1);
  EXPECT_EQ(beijing.DayOf(at_0801), dec1);
  EXPECT_NE(LocalDays(0).DayOf(at_0759), LocalDays(0).DayOf(at_0801));
  EXPECT_EQ(beijing.DayOf(kBeijingDec1 + kDay - 1), dec1) << "23:59:59.999";
  EXPECT_EQ(beijing.DayOf(kBeijingDec1 + kDay), dec1 + 1);
}

TEST(LocalDaysTest, WestOfGreenwichToo) {
  const LocalDays new_york(-300);
  EXPECT_EQ(new_york.DayOf(kNov27 + 5 * 3600'000), LocalDays(0).DayOf(kNov27));
  EXPECT_EQ(new_york.DayOf(kNov27 + 5 * 3600'000 - 1), LocalDays(0).DayOf(kNov27) - 1);
  EXPECT_EQ(new_york.utc_offset_minutes(), -300);
}

TEST(LocalDaysTest, CompressedDaysRollOverFromTheEpochsRealDay) {
  // The soak's 40 s days, from a start at 10:00 Beijing time on 1 December.
  const Millis start = kBeijingDec1 + 10 * 60 * kMinute;
  const LocalDays compressed(480, 40'000, start);
  const int64_t dec1 = LocalDays(480).DayOf(start);
  EXPECT_EQ(compressed.DayOf(start), dec1);
  EXPECT_EQ(compressed.DayOf(start + 39'999), dec1);
  EXPECT_EQ(compressed.DayOf(start + 40'000), dec1 + 1);
  EXPECT_EQ(compressed.DayOf(start - 1), dec1 - 1);
  EXPECT_EQ(DateName(compressed.DayOf(start + 7 * 40'000)), "2026-12-08");
  EXPECT_EQ(compressed.StartOf(dec1 + 2), start + 80'000);
  // A day of 24 h is the real calendar, whatever the epoch.
  EXPECT_EQ(LocalDays(480, kDay, start).DayOf(kBeijingDec1 - 1), dec1 - 1);
  EXPECT_EQ(LocalDays(480, kDay, start).StartOf(dec1), kBeijingDec1);
}

TEST(DateTest, ParsesAndNamesLocalDates) {
  const int64_t dec1 = LocalDays(480).DayOf(kBeijingDec1);
  EXPECT_EQ(ParseDate("2026-12-01"), dec1);
  EXPECT_EQ(DateName(dec1), "2026-12-01");
  EXPECT_EQ(DayName(dec1), "20261201");
  EXPECT_EQ(ParseDate("1970-01-01"), 0);
  EXPECT_EQ(ParseDate("2028-02-29"), LocalDays(0).DayOf(1'835'395'200'000));
  for (const char* bad : {"", "2026-12-1", "2026/12/01", "2026-13-01", "2026-02-29", "20261201",
                          "2026-12-01T00:00:00Z", "２０２６-12-01", "abcd-ef-gh"}) {
    EXPECT_FALSE(ParseDate(bad).has_value()) << bad;
  }
}

TEST(DateTest, NamesOffsets) {
  EXPECT_EQ(OffsetName(480), "UTC+08:00");
  EXPECT_EQ(OffsetName(0), "UTC+00:00");
  EXPECT_EQ(OffsetName(-330), "UTC-05:30");
}

TEST(DaysInWindowTest, TakesTheKnownDaysInsideTheWindow) {
  const int64_t d = LocalDays(0).DayOf(kNov27);
  const std::vector<int64_t> known = {d - 3, d - 2, d - 1, d, d + 1};
  EXPECT_THAT(DaysInWindow(known, {}), ElementsAre(d - 3, d - 2, d - 1, d, d + 1));
  EXPECT_THAT(DaysInWindow(known, {d, std::nullopt}), ElementsAre(d, d + 1));
  EXPECT_THAT(DaysInWindow(known, {std::nullopt, d - 1}), ElementsAre(d - 3, d - 2, d - 1));
  EXPECT_THAT(DaysInWindow(known, {d - 1, d}), ElementsAre(d - 1, d));
  EXPECT_THAT(DaysInWindow(known, {d, d}), ElementsAre(d));
  EXPECT_THAT(DaysInWindow(known, {d + 5, std::nullopt}), IsEmpty());
  EXPECT_THAT(DaysInWindow({d, d - 1, d}, {}), ElementsAre(d - 1, d)) << "sorted, unique";
}

TEST(RollupFiguresTest, NameEveryRollupCountAsStatsRowDoes) {
  Counts counts;
  counts.closed_on_time = 3;
  counts.supervised = 1;
  counts.open = 9;
  const auto figures = RollupFigures(counts);
  EXPECT_EQ(figures.size(), 11u);
  std::map<std::string_view, int64_t> by_name(figures.begin(), figures.end());
  EXPECT_EQ(by_name.at("closed_on_time"), 3);
  EXPECT_EQ(by_name.at("supervised"), 1);
  EXPECT_EQ(by_name.count("open"), 0u) << "the backlog is not a rollup";
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
