#include "common/policy/calendar.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "common/config/json_file.h"
#include "tests/support/paths.h"

namespace grid::policy {
namespace {

using ::grid::testing::SourcePath;
using ::testing::HasSubstr;

constexpr Millis kMinute = 60'000;
constexpr Millis kHour = 60 * kMinute;
constexpr Millis kDay = 24 * kHour;
// 7.5 h: 08:30-12:00 and 13:30-17:30.
constexpr Millis kWorkingDay = 7 * kHour + 30 * kMinute;

// The UTC instant of a local wall-clock time at a fixed offset. Independent of the code under
// test: absl's civil-day arithmetic and nothing else.
Millis LocalTime(int offset_minutes, int year, int month, int day, int hour, int minute) {
  const std::int64_t days = absl::CivilDay(year, month, day) - absl::CivilDay(1970, 1, 1);
  return days * kDay + hour * kHour + minute * kMinute - offset_minutes * kMinute;
}

// China Standard Time, UTC+8.
Millis Cst(int year, int month, int day, int hour, int minute) {
  return LocalTime(480, year, month, day, hour, minute);
}

// Monday to Friday, 08:30-12:00 and 13:30-17:30 (listed out of order), in UTC+8; Monday
// 2026-03-16 is a holiday and Saturday 2026-03-21 a make-up working day.
v1::Calendar HandMade() {
  v1::Calendar c;
  c.set_utc_offset_minutes(480);
  for (int weekday : {1, 2, 3, 4, 5}) {
    c.add_working_weekdays(weekday);
  }
  v1::WorkingHours* afternoon = c.add_hours();
  afternoon->set_start_minute(810);
  afternoon->set_end_minute(1050);
  v1::WorkingHours* morning = c.add_hours();
  morning->set_start_minute(510);
  morning->set_end_minute(720);
  c.add_holidays("2026-03-16");
  c.add_extra_working_days("2026-03-21");
  return c;
}

WorkingCalendar MustBuild(const v1::Calendar& c) {
  absl::StatusOr<WorkingCalendar> built = WorkingCalendar::Build(c);
  EXPECT_TRUE(built.ok()) << built.status();
  return *std::move(built);
}

WorkingCalendar Shipped() {
  v1::Policy policy;
  const absl::Status loaded = config::LoadJsonFile(SourcePath("deploy/config/policy.json"), policy);
  EXPECT_TRUE(loaded.ok()) << loaded;
  return MustBuild(policy.calendar());
}

TEST(WorkingCalendarTest, TheTestClockIsRight) {
  // 2026-01-05 00:30 UTC, a Monday, written out: 08:30 in UTC+8.
  EXPECT_EQ(LocalTime(0, 2026, 1, 5, 0, 30), 1'767'573'000'000);
  EXPECT_EQ(Cst(2026, 1, 5, 8, 30), 1'767'573'000'000);
}

// --- Hand-made calendar -------------------------------------------------------------------------

TEST(WorkingCalendarTest, FourHoursFromFridayAfternoonEndMondayMorning) {
  const WorkingCalendar cal = MustBuild(HandMade());
  EXPECT_EQ(cal.WorkingDayLength(), kWorkingDay);
  // Fri 2026-03-06 16:00-17:30 = 1.5 h, Mon 2026-03-09 08:30-11:00 = 2.5 h.
  EXPECT_EQ(cal.Add(Cst(2026, 3, 6, 16, 0), 4 * kHour), Cst(2026, 3, 9, 11, 0));
  EXPECT_EQ(cal.Between(Cst(2026, 3, 6, 16, 0), Cst(2026, 3, 9, 11, 0)), 4 * kHour);
}

TEST(WorkingCalendarTest, StartingAtNightCountsFromTheNextMorning) {
  const WorkingCalendar cal = MustBuild(HandMade());
  // Tue 22:00: nothing until Wed 08:30; 08:30-12:00 = 3.5 h, then 13:30-14:00.
  EXPECT_EQ(cal.Add(Cst(2026, 3, 10, 22, 0), 4 * kHour), Cst(2026, 3, 11, 14, 0));
  // Wed 03:00, before the day starts: the same.
  EXPECT_EQ(cal.Add(Cst(2026, 3, 11, 3, 0), 4 * kHour), Cst(2026, 3, 11, 14, 0));
  EXPECT_EQ(cal.Between(Cst(2026, 3, 10, 22, 0), Cst(2026, 3, 11, 8, 30)), 0);
  EXPECT_EQ(cal.Between(Cst(2026, 3, 10, 17, 30), Cst(2026, 3, 11, 8, 30)), 0);
}

TEST(WorkingCalendarTest, StartingDuringLunchCountsFromTheAfternoon) {
  const WorkingCalendar cal = MustBuild(HandMade());
  // Wed 12:30: 13:30-17:30 is exactly 4 h, so the limit ends at 17:30, not Thu 08:30.
  EXPECT_EQ(cal.Add(Cst(2026, 3, 11, 12, 30), 4 * kHour), Cst(2026, 3, 11, 17, 30));
  // One minute more spills into Thursday morning.
  EXPECT_EQ(cal.Add(Cst(2026, 3, 11, 12, 30), 4 * kHour + kMinute), Cst(2026, 3, 12, 8, 31));
  // Wed 11:00 + 2 h: 11:00-12:00 = 1 h, lunch, 13:30-14:30.
  EXPECT_EQ(cal.Add(Cst(2026, 3, 11, 11, 0), 2 * kHour), Cst(2026, 3, 11, 14, 30));
  EXPECT_EQ(cal.Between(Cst(2026, 3, 11, 12, 0), Cst(2026, 3, 11, 13, 30)), 0);
}

TEST(WorkingCalendarTest, WeekdayHolidayIsSkipped) {
  const WorkingCalendar cal = MustBuild(HandMade());
  // Fri 2026-03-13 16:00-17:30 = 1.5 h; Mon 03-16 is a holiday; Tue 03-17 08:30-11:00.
  EXPECT_EQ(cal.Add(Cst(2026, 3, 13, 16, 0), 4 * kHour), Cst(2026, 3, 17, 11, 0));
  EXPECT_FALSE(cal.IsWorking(Cst(2026, 3, 16, 10, 0)));
  EXPECT_EQ(cal.Between(Cst(2026, 3, 16, 0, 0), Cst(2026, 3, 17, 0, 0)), 0);
  // Starting on the holiday itself.
  EXPECT_EQ(cal.Add(Cst(2026, 3, 16, 10, 0), 1 * kHour), Cst(2026, 3, 17, 9, 30));
}

TEST(WorkingCalendarTest, MakeUpSaturdayIsWorked) {
  const WorkingCalendar cal = MustBuild(HandMade());
  // Fri 2026-03-20 16:00-17:30 = 1.5 h; Sat 03-21 is a make-up day: 08:30-11:00.
  EXPECT_EQ(cal.Add(Cst(2026, 3, 20, 16, 0), 4 * kHour), Cst(2026, 3, 21, 11, 0));
  EXPECT_TRUE(cal.IsWorking(Cst(2026, 3, 21, 10, 0)));
  EXPECT_FALSE(cal.IsWorking(Cst(2026, 3, 22, 10, 0)));  // An ordinary Sunday.
  EXPECT_FALSE(cal.IsWorking(Cst(2026, 3, 14, 10, 0)));  // An ordinary Saturday.
  // A whole week Mon 03-16 .. Sun 03-22: holiday out, Saturday in, so still 5 days.
  EXPECT_EQ(cal.Between(Cst(2026, 3, 16, 0, 0), Cst(2026, 3, 23, 0, 0)), 5 * kWorkingDay);
}

TEST(WorkingCalendarTest, BoundaryInstants) {
  const WorkingCalendar cal = MustBuild(HandMade());
  // Spans are half-open.
  EXPECT_FALSE(cal.IsWorking(Cst(2026, 3, 11, 8, 30) - 1));
  EXPECT_TRUE(cal.IsWorking(Cst(2026, 3, 11, 8, 30)));
  EXPECT_TRUE(cal.IsWorking(Cst(2026, 3, 11, 12, 0) - 1));
  EXPECT_FALSE(cal.IsWorking(Cst(2026, 3, 11, 12, 0)));
  EXPECT_FALSE(cal.IsWorking(Cst(2026, 3, 11, 13, 30) - 1));
  EXPECT_TRUE(cal.IsWorking(Cst(2026, 3, 11, 13, 30)));
  EXPECT_TRUE(cal.IsWorking(Cst(2026, 3, 11, 17, 30) - 1));
  EXPECT_FALSE(cal.IsWorking(Cst(2026, 3, 11, 17, 30)));

  // From a span's start to its end, and a whole day from the first start to the last end.
  EXPECT_EQ(cal.Add(Cst(2026, 3, 11, 8, 30), 3 * kHour + 30 * kMinute), Cst(2026, 3, 11, 12, 0));
  EXPECT_EQ(cal.Add(Cst(2026, 3, 11, 8, 30), kWorkingDay), Cst(2026, 3, 11, 17, 30));
  // From a span's end: counting resumes at the next span.
  EXPECT_EQ(cal.Add(Cst(2026, 3, 11, 12, 0), 1), Cst(2026, 3, 11, 13, 30) + 1);
  EXPECT_EQ(cal.Add(Cst(2026, 3, 11, 12, 0), 4 * kHour), Cst(2026, 3, 11, 17, 30));
  // From the day's end: the next day.
  EXPECT_EQ(cal.Add(Cst(2026, 3, 11, 17, 30), 1 * kHour), Cst(2026, 3, 12, 9, 30));
  EXPECT_EQ(cal.Add(Cst(2026, 3, 11, 17, 30), kWorkingDay), Cst(2026, 3, 12, 17, 30));
  // One millisecond before the end of the day.
  EXPECT_EQ(cal.Add(Cst(2026, 3, 11, 17, 30) - 1, 1), Cst(2026, 3, 11, 17, 30));
  EXPECT_EQ(cal.Add(Cst(2026, 3, 11, 17, 30) - 1, 2), Cst(2026, 3, 12, 8, 30) + 1);
  // Two whole days from Thursday's start end on Friday evening, not Monday morning.
  EXPECT_EQ(cal.Add(Cst(2026, 3, 12, 8, 30), 2 * kWorkingDay), Cst(2026, 3, 13, 17, 30));
  EXPECT_EQ(cal.Between(Cst(2026, 3, 11, 12, 0) - 1, Cst(2026, 3, 11, 13, 30) + 1), 2);
}

TEST(WorkingCalendarTest, ZeroAndNegativeDurationsReturnTheStart) {
  const WorkingCalendar cal = MustBuild(HandMade());
  EXPECT_EQ(cal.Add(Cst(2026, 3, 11, 10, 0), 0), Cst(2026, 3, 11, 10, 0));
  EXPECT_EQ(cal.Add(Cst(2026, 3, 11, 23, 0), 0), Cst(2026, 3, 11, 23, 0));  // Even at night.
  EXPECT_EQ(cal.Add(Cst(2026, 3, 14, 10, 0), 0), Cst(2026, 3, 14, 10, 0));  // And at weekends.
  EXPECT_EQ(cal.Add(Cst(2026, 3, 11, 10, 0), -kHour), Cst(2026, 3, 11, 10, 0));
  EXPECT_EQ(cal.Between(Cst(2026, 3, 11, 10, 0), Cst(2026, 3, 11, 10, 0)), 0);
  EXPECT_EQ(cal.Between(Cst(2026, 3, 11, 11, 0), Cst(2026, 3, 11, 10, 0)), 0);
}

TEST(WorkingCalendarTest, UtcOffsetIsApplied) {
  const WorkingCalendar china = MustBuild(HandMade());
  // Monday 2026-01-05 00:30 UTC is 08:30 in UTC+8: the first working instant of the day.
  constexpr Millis kMonday0030Utc = 1'767'573'000'000;
  EXPECT_TRUE(china.IsWorking(kMonday0030Utc));
  EXPECT_FALSE(china.IsWorking(kMonday0030Utc - 1));
  // From Monday 00:30 local (Sunday 16:30 UTC) one hour ends at 09:30 local = 01:30 UTC.
  EXPECT_EQ(china.Add(kMonday0030Utc - 8 * kHour, kHour), 1'767'576'600'000);

  v1::Calendar utc_calendar = HandMade();
  utc_calendar.set_utc_offset_minutes(0);
  const WorkingCalendar utc = MustBuild(utc_calendar);
  EXPECT_FALSE(utc.IsWorking(kMonday0030Utc));
  // 08:30 UTC the same Monday.
  EXPECT_EQ(utc.Add(kMonday0030Utc, 1), 1'767'601'800'001);

  v1::Calendar new_york = HandMade();
  new_york.set_utc_offset_minutes(-300);
  const WorkingCalendar ny = MustBuild(new_york);
  // 00:30 UTC Monday is Sunday 19:30 in UTC-5; work starts Monday 08:30 local = 13:30 UTC.
  EXPECT_FALSE(ny.IsWorking(kMonday0030Utc));
  EXPECT_EQ(ny.Add(kMonday0030Utc, kHour), 1'767'623'400'000);  // 09:30 local, 14:30 UTC.
}

TEST(WorkingCalendarTest, HandlesTimesBeforeTheEpoch) {
  const WorkingCalendar cal = MustBuild(HandMade());
  // Wed 1969-12-31 16:00 + 4 h: 1.5 h that day, Thu 1970-01-01 08:30-11:00.
  EXPECT_EQ(cal.Add(Cst(1969, 12, 31, 16, 0), 4 * kHour), Cst(1970, 1, 1, 11, 0));
  EXPECT_FALSE(cal.IsWorking(Cst(1969, 12, 28, 10, 0)));  // A Sunday.
  // Fri 1969-12-26 16:00-17:30, Mon..Wed whole, Thu 08:30-11:00.
  EXPECT_EQ(cal.Between(Cst(1969, 12, 26, 16, 0), Cst(1970, 1, 1, 11, 0)),
            3 * kWorkingDay + 4 * kHour);
}

TEST(WorkingCalendarTest, SpansAreSortedAndMerged) {
  v1::Calendar c = HandMade();
  c.clear_hours();
  for (auto [start, end] : std::vector<std::pair<int, int>>{
           {600, 780}, {510, 720}, {900, 960}, {960, 1000}, {910, 920}}) {
    v1::WorkingHours* h = c.add_hours();
    h->set_start_minute(start);
    h->set_end_minute(end);
  }
  const WorkingCalendar cal = MustBuild(c);
  // 08:30-13:00 (4.5 h) and 15:00-16:40 (1 h 40 min).
  EXPECT_EQ(cal.WorkingDayLength(), 6 * kHour + 10 * kMinute);
  EXPECT_EQ(cal.Add(Cst(2026, 3, 11, 8, 30), 4 * kHour + 30 * kMinute), Cst(2026, 3, 11, 13, 0));
  EXPECT_EQ(cal.Add(Cst(2026, 3, 11, 12, 0), 2 * kHour), Cst(2026, 3, 11, 16, 0));
  EXPECT_TRUE(cal.IsWorking(Cst(2026, 3, 11, 16, 0)));
  EXPECT_FALSE(cal.IsWorking(Cst(2026, 3, 11, 16, 40)));
}

TEST(WorkingCalendarTest, WholeDaySpanAndSixDayWeek) {
  v1::Calendar c;
  c.set_utc_offset_minutes(480);
  for (int weekday : {1, 2, 3, 4, 5, 6}) {
    c.add_working_weekdays(weekday);
  }
  v1::WorkingHours* h = c.add_hours();
  h->set_start_minute(0);
  h->set_end_minute(1440);
  const WorkingCalendar cal = MustBuild(c);
  // Sat 2026-03-14 20:00 + 5 h: 4 h to Saturday midnight, Sunday off, Monday 01:00.
  EXPECT_EQ(cal.Add(Cst(2026, 3, 14, 20, 0), 5 * kHour), Cst(2026, 3, 16, 1, 0));
  // Exactly to Saturday midnight: ends there, not Monday.
  EXPECT_EQ(cal.Add(Cst(2026, 3, 14, 20, 0), 4 * kHour), Cst(2026, 3, 15, 0, 0));
  EXPECT_TRUE(cal.IsWorking(Cst(2026, 3, 14, 23, 59)));
  EXPECT_FALSE(cal.IsWorking(Cst(2026, 3, 15, 0, 0)));
  EXPECT_TRUE(cal.IsWorking(Cst(2026, 3, 16, 0, 0)));
}

TEST(WorkingCalendarTest, HolidayWinsOverMakeUpDayAndWeekdayMakeUpIsHarmless) {
  v1::Calendar c = HandMade();
  c.add_holidays("2026-03-28");            // Saturday, both a holiday ...
  c.add_extra_working_days("2026-03-28");  // ... and a make-up day: not worked.
  c.add_extra_working_days("2026-03-25");  // A Wednesday: worked anyway.
  c.add_holidays("2026-03-16");            // Listed twice.
  const WorkingCalendar cal = MustBuild(c);
  EXPECT_FALSE(cal.IsWorking(Cst(2026, 3, 28, 10, 0)));
  EXPECT_TRUE(cal.IsWorking(Cst(2026, 3, 25, 10, 0)));
  EXPECT_EQ(cal.Between(Cst(2026, 3, 23, 0, 0), Cst(2026, 3, 30, 0, 0)), 5 * kWorkingDay);
  EXPECT_EQ(cal.Between(Cst(2026, 3, 16, 0, 0), Cst(2026, 3, 23, 0, 0)), 5 * kWorkingDay);
}

// --- The shipped calendar: deploy/config/policy.json ----------------------------------------

TEST(WorkingCalendarTest, ShippedCalendarWeekdayHolidayAndMakeUpSunday) {
  const WorkingCalendar cal = Shipped();
  EXPECT_EQ(cal.WorkingDayLength(), kWorkingDay);
  // Thu 2026-09-24 16:00-17:30 = 1.5 h; Fri 09-25 .. Sun 09-27 holidays; Mon 09-28 until 11:00.
  EXPECT_EQ(cal.Add(Cst(2026, 9, 24, 16, 0), 4 * kHour), Cst(2026, 9, 28, 11, 0));
  // Fri 2026-09-18 16:00-17:30 = 1.5 h; Sun 09-20 is a make-up day: 08:30-11:00.
  EXPECT_EQ(cal.Add(Cst(2026, 9, 18, 16, 0), 4 * kHour), Cst(2026, 9, 20, 11, 0));
}

TEST(WorkingCalendarTest, ShippedCalendarTwentyDaysAcrossNationalDay) {
  const WorkingCalendar cal = Shipped();
  // Mon 2026-09-28 10:00. Worked days after it: 09-29, 09-30; 10-01..10-07 holidays; 10-08,
  // 10-09, Sat 10-10 (make-up), 10-12..10-16, 10-19..10-23, 10-26..10-29 = 19 whole days; the
  // 20th, Fri 10-30, takes the last 1.5 h (28 Sep gave 6 h): 08:30-10:00.
  const Millis start = Cst(2026, 9, 28, 10, 0);
  EXPECT_EQ(cal.Add(start, 20 * kWorkingDay), Cst(2026, 10, 30, 10, 0));
  EXPECT_EQ(cal.Between(start, Cst(2026, 10, 30, 10, 0)), 20 * kWorkingDay);
  // Five working days (greenery upkeep) from the last evening before the holiday: 10-08, 10-09,
  // 10-10, 10-12, 10-13, ending at 17:30 on the 13th.
  EXPECT_EQ(cal.Add(Cst(2026, 9, 30, 17, 30), 5 * kWorkingDay), Cst(2026, 10, 13, 17, 30));
  EXPECT_FALSE(cal.IsWorking(Cst(2026, 10, 5, 10, 0)));  // A Monday in the holiday.
  EXPECT_TRUE(cal.IsWorking(Cst(2026, 10, 10, 10, 0)));  // The make-up Saturday.
}

TEST(WorkingCalendarTest, ShippedCalendarSpringFestival) {
  const WorkingCalendar cal = Shipped();
  // Fri 2026-02-13 14:00-17:30 = 3.5 h; Sat 02-14 make-up, 7.5 h (11 h); 02-15..02-23 holidays;
  // Tue 02-24 7.5 h (18.5 h); Wed 02-25 08:30-12:00 (22 h) and 13:30-14:00: 3 days = 22.5 h.
  EXPECT_EQ(cal.Add(Cst(2026, 2, 13, 14, 0), 3 * kWorkingDay), Cst(2026, 2, 25, 14, 0));
  // The holiday week itself has no working time.
  EXPECT_EQ(cal.Between(Cst(2026, 2, 14, 17, 30), Cst(2026, 2, 24, 8, 30)), 0);
  // 2027: 02-05..02-11 holidays (Fri..Thu). Thu 2027-02-04 17:00 + 1 h: 30 min that day,
  // then Fri 02-12 08:30-09:00.
  EXPECT_EQ(cal.Add(Cst(2027, 2, 4, 17, 0), kHour), Cst(2027, 2, 12, 9, 0));
}

TEST(WorkingCalendarTest, ShippedCalendarAcrossTheYearBoundary) {
  const WorkingCalendar cal = Shipped();
  // Wed 2025-12-31 16:00-17:30 = 1.5 h; 2026-01-01..01-03 holidays; Sun 01-04 make-up 08:30-11:00.
  EXPECT_EQ(cal.Add(Cst(2025, 12, 31, 16, 0), 4 * kHour), Cst(2026, 1, 4, 11, 0));
  // Thu 2026-12-31 16:00 + 2 days: 1.5 h; 2027-01-01..01-03 holidays; Mon 01-04 7.5 h;
  // Tue 01-05 6 h: 08:30-12:00, 13:30-16:00.
  EXPECT_EQ(cal.Add(Cst(2026, 12, 31, 16, 0), 2 * kWorkingDay), Cst(2027, 1, 5, 16, 0));
}

TEST(WorkingCalendarTest, ShippedCalendarQingming) {
  const WorkingCalendar cal = Shipped();
  // Wed 2026-04-01 10:00: 6 h that day; 04-02, 04-03, (04-04..04-06 holidays), 04-07, 04-08
  // whole (36 h); Thu 04-09 08:30-10:00 makes 37.5 h = 5 working days.
  EXPECT_EQ(cal.Add(Cst(2026, 4, 1, 10, 0), 5 * kWorkingDay), Cst(2026, 4, 9, 10, 0));
}

// --- Properties ---------------------------------------------------------------------------------

TEST(WorkingCalendarTest, AddAndBetweenAgreeOverRandomStarts) {
  const WorkingCalendar cal = Shipped();
  std::mt19937_64 random(20260928);
  std::uniform_int_distribution<Millis> starts(Cst(2025, 12, 1, 0, 0), Cst(2027, 12, 31, 0, 0));
  std::uniform_int_distribution<Millis> durations(0, 30 * kWorkingDay);
  for (int i = 0; i < 20'000; ++i) {
    const Millis start = starts(random);
    const Millis duration = durations(random);
    const Millis end = cal.Add(start, duration);
    ASSERT_GE(end, start);
    ASSERT_EQ(cal.Between(start, end), duration) << "start " << start << " duration " << duration;
    if (duration > 0) {
      // The earliest such instant, and at a working moment or a span's end.
      ASSERT_EQ(cal.Between(start, end - 1), duration - 1) << "start " << start;
      ASSERT_TRUE(cal.IsWorking(end - 1)) << "start " << start << " duration " << duration;
    }
    // Going on from `end` is the same as adding in one go.
    const Millis more = durations(random) / 7;
    ASSERT_EQ(cal.Add(end, more), cal.Add(start, duration + more)) << "start " << start;
    // Working time between two arbitrary instants never overshoots.
    const Millis other = starts(random);
    const Millis from = std::min(start, other);
    const Millis to = std::max(start, other);
    ASSERT_LE(cal.Add(from, cal.Between(from, to)), to);
  }
}

// A brute-force model of HandMade(), minute by minute, sharing no code with WorkingCalendar.
bool ModelWorkingMinute(Millis t) {
  const Millis local = t + 480 * kMinute;
  const std::int64_t days = local >= 0 ? local / kDay : (local - kDay + 1) / kDay;
  const absl::CivilDay day = absl::CivilDay(1970, 1, 1) + days;
  const int minute = static_cast<int>((local - days * kDay) / kMinute);
  const absl::Weekday weekday = absl::GetWeekday(day);
  bool worked = weekday != absl::Weekday::saturday && weekday != absl::Weekday::sunday;
  worked = (worked || day == absl::CivilDay(2026, 3, 21)) && day != absl::CivilDay(2026, 3, 16);
  return worked && ((minute >= 510 && minute < 720) || (minute >= 810 && minute < 1050));
}

TEST(WorkingCalendarTest, MatchesAMinuteByMinuteModel) {
  const WorkingCalendar cal = MustBuild(HandMade());
  std::mt19937_64 random(7);
  std::uniform_int_distribution<Millis> minutes(0, 31 * 24 * 60);
  std::uniform_int_distribution<Millis> lengths(0, 3 * 450);
  const Millis march = Cst(2026, 3, 1, 0, 0);
  for (int i = 0; i < 400; ++i) {
    const Millis start = march + minutes(random) * kMinute;
    const Millis duration = lengths(random) * kMinute;
    Millis t = start;
    for (Millis counted = 0; counted < duration; t += kMinute) {
      counted += ModelWorkingMinute(t) ? kMinute : 0;
    }
    ASSERT_EQ(cal.Add(start, duration), t) << "start " << start << " duration " << duration;
    ASSERT_EQ(cal.IsWorking(start), ModelWorkingMinute(start)) << "at " << start;
  }
}

TEST(WorkingCalendarTest, LongLimitsAreFast) {
  const WorkingCalendar cal = Shipped();
  const auto begin = std::chrono::steady_clock::now();
  Millis sum = 0;
  for (int i = 0; i < 100'000; ++i) {
    const Millis start = Cst(2026, 9, 1, 0, 0) + static_cast<Millis>(i) * 7 * kMinute;
    sum += cal.Add(start, 20 * kWorkingDay) - start;
  }
  const auto elapsed = std::chrono::steady_clock::now() - begin;
  EXPECT_GT(sum, 0);
  // Microseconds a call; a loose bound for a shared, possibly sanitised build.
  EXPECT_LT(elapsed, std::chrono::seconds(2));
  // Far beyond the listed holidays only the weekday pattern counts: 1000 weeks of 5 days from
  // Mon 2030-01-07 end on Friday 2049-03-05 (6997 days later).
  EXPECT_EQ(cal.Add(Cst(2030, 1, 7, 8, 30), 5000 * kWorkingDay), Cst(2049, 3, 5, 17, 30));
  EXPECT_EQ(cal.Add(Cst(2030, 1, 7, 8, 30), std::numeric_limits<Millis>::max()),
            std::numeric_limits<Millis>::max());
}

// --- Build errors -------------------------------------------------------------------------------

void ExpectError(const v1::Calendar& c, const std::string& field) {
  absl::StatusOr<WorkingCalendar> built = WorkingCalendar::Build(c);
  ASSERT_FALSE(built.ok()) << field;
  EXPECT_EQ(built.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(built.status().message()), HasSubstr(field));
}

TEST(WorkingCalendarTest, BuildErrorsNameTheField) {
  {
    v1::Calendar c = HandMade();
    c.set_utc_offset_minutes(1500);
    ExpectError(c, "calendar.utc_offset_minutes");
  }
  {
    v1::Calendar c = HandMade();
    c.add_working_weekdays(8);
    ExpectError(c, "calendar.working_weekdays[5]");
  }
  {
    v1::Calendar c = HandMade();
    c.set_working_weekdays(0, 0);
    ExpectError(c, "calendar.working_weekdays[0]");
  }
  {
    v1::Calendar c = HandMade();
    c.clear_working_weekdays();
    c.add_extra_working_days("2026-03-28");  // Make-up days alone do not make a calendar.
    ExpectError(c, "calendar.working_weekdays: at least one");
  }
  {
    v1::Calendar c = HandMade();
    c.clear_hours();
    ExpectError(c, "calendar.hours: at least one");
  }
  {
    v1::Calendar c = HandMade();
    c.mutable_hours(1)->set_end_minute(510);  // Empty span.
    ExpectError(c, "calendar.hours[1]");
  }
  {
    v1::Calendar c = HandMade();
    c.mutable_hours(0)->set_end_minute(1441);
    ExpectError(c, "calendar.hours[0]");
  }
  {
    v1::Calendar c = HandMade();
    c.mutable_hours(1)->set_start_minute(-1);
    ExpectError(c, "calendar.hours[1]");
  }
  for (const char* bad : {"2026-02-30", "2026-1-01", "2026/01/01", "2026-13-01", "", "x"}) {
    v1::Calendar c = HandMade();
    c.add_holidays(bad);
    ExpectError(c, "calendar.holidays[1]");
  }
  {
    v1::Calendar c = HandMade();
    c.set_extra_working_days(0, "2026-10-10 ");
    ExpectError(c, "calendar.extra_working_days[0]");
  }
  // A leap day is a date.
  v1::Calendar leap = HandMade();
  leap.add_holidays("2028-02-29");
  EXPECT_TRUE(WorkingCalendar::Build(leap).ok());
}

}  // namespace
}  // namespace grid::policy
