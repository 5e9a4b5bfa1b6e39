// ResolveWindow: which local days a GetStats request counts.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "services/metrics/stats_reader.h"

namespace grid::metrics {
namespace {

using ::testing::HasSubstr;

const LocalDays kBeijing(480);
// 2026-12-01T00:00:00+08:00.
constexpr Millis kDec1 = 1'796'054'400'000;
constexpr Millis kHour = 3'600'000;
const int64_t kDay1 = *ParseDate("2026-12-01");

absl::StatusOr<DayWindow> Resolve(const v1::GetStatsRequest& request, Millis now = kDec1) {
  return ResolveWindow(request, now, kBeijing);
}

TEST(ResolveWindowTest, NoWindowIsEveryDay) {
  auto window = Resolve(v1::GetStatsRequest());
  ASSERT_TRUE(window.ok());
  EXPECT_EQ(*window, DayWindow{});
}

TEST(ResolveWindowTest, TodayIsTheBeijingDayAt0759And0801) {
  v1::GetStatsRequest today;
  today.set_last_days(1);
  // 07:59 and 08:01 Beijing time on 2026-12-01: UTC says 2026-11-30 and 2026-12-01.
  for (Millis now : {kDec1 + 8 * kHour - 60'000, kDec1 + 8 * kHour + 60'000}) {
    auto window = Resolve(today, now);
    ASSERT_TRUE(window.ok());
    EXPECT_EQ(*window, (DayWindow{kDay1, kDay1})) << now;
  }
  EXPECT_EQ(*Resolve(today, kDec1 - 1), (DayWindow{kDay1 - 1, kDay1 - 1})) << "23:59:59.999";
  v1::GetStatsRequest week;
  week.set_last_days(7);
  EXPECT_EQ(*Resolve(week, kDec1 + kHour), (DayWindow{kDay1 - 6, kDay1}));
}

TEST(ResolveWindowTest, TimesTakeTheWholeLocalDaysTheyTouch) {
  v1::GetStatsRequest request;
  // [2026-11-30T23:59Z, 2026-12-01T00:01Z): 07:59 to 08:01 in Beijing, one Beijing day.
  *request.mutable_from() = ToTimestamp(kDec1 + 8 * kHour - 60'000);
  *request.mutable_to() = ToTimestamp(kDec1 + 8 * kHour + 60'000);
  EXPECT_EQ(*Resolve(request), (DayWindow{kDay1, kDay1}));
  // Ending at a Beijing midnight does not take the next day.
  *request.mutable_from() = ToTimestamp(kDec1);
  *request.mutable_to() = ToTimestamp(kDec1 + 24 * kHour);
  EXPECT_EQ(*Resolve(request), (DayWindow{kDay1, kDay1}));
  request.clear_to();
  EXPECT_EQ(*Resolve(request), (DayWindow{kDay1, std::nullopt}));
  *request.mutable_to() = ToTimestamp(kDec1);
  EXPECT_THAT(Resolve(request).status().message(), HasSubstr("to: must be after from"));
}

TEST(ResolveWindowTest, DatesAreLocalDaysBothIncluded) {
  v1::GetStatsRequest request;
  request.set_first_day("2026-11-30");
  request.set_last_day("2026-12-01");
  EXPECT_EQ(*Resolve(request), (DayWindow{kDay1 - 1, kDay1}));
  request.clear_first_day();
  EXPECT_EQ(*Resolve(request), (DayWindow{std::nullopt, kDay1}));
}

TEST(ResolveWindowTest, NamesTheFieldAtFault) {
  v1::GetStatsRequest request;
  request.set_first_day("2026-02-30");
  EXPECT_THAT(Resolve(request).status().message(), HasSubstr("first_day: not a date"));
  request.set_first_day("2026-12-02");
  request.set_last_day("2026-12-01");
  EXPECT_THAT(Resolve(request).status().message(), HasSubstr("last_day: 2026-12-01 is before"));
  request.set_last_days(3);
  EXPECT_THAT(Resolve(request).status().message(), HasSubstr("last_days: give the window one way"));
  request.clear_first_day();
  request.clear_last_day();
  *request.mutable_from() = ToTimestamp(kDec1);
  EXPECT_EQ(Resolve(request).status().code(), absl::StatusCode::kInvalidArgument);
  request.clear_from();
  request.set_last_days(-1);
  EXPECT_THAT(Resolve(request).status().message(), HasSubstr("last_days: must be 1 (today) to"));
  request.set_last_days(kMaxLastDays + 1);
  EXPECT_EQ(Resolve(request).status().code(), absl::StatusCode::kInvalidArgument);
  request.set_last_days(kMaxLastDays);
  EXPECT_TRUE(Resolve(request).ok());
}

}  // namespace
}  // namespace grid::metrics
