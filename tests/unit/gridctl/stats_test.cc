#include "tools/gridctl/stats.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace grid::gridctl {
namespace {

using ::testing::HasSubstr;

TEST(StatsRequestTest, TakesUnitWindowAndDimensions) {
  StatsArgs args;
  args.unit = "370212001";
  args.since = "2026-11-01T00:00:00Z";
  args.until = "2026-12-01T00:00:00Z";
  args.group_by = {"level", "CATEGORY_CLASS", "stats_dimension_unit"};
  auto request = MakeStatsRequest(args);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->unit_id(), "370212001");
  EXPECT_EQ(request->from().seconds(), 1793491200);
  EXPECT_EQ(request->to().seconds(), 1796083200);
  ASSERT_EQ(request->group_by_size(), 3);
  EXPECT_EQ(request->group_by(0), v1::STATS_DIMENSION_LEVEL);
  EXPECT_EQ(request->group_by(1), v1::STATS_DIMENSION_CATEGORY_CLASS);
  EXPECT_EQ(request->group_by(2), v1::STATS_DIMENSION_UNIT);
}

TEST(StatsRequestTest, NamesTheOptionAtFault) {
  StatsArgs args;
  args.since = "yesterday";
  EXPECT_THAT(MakeStatsRequest(args).status().message(), HasSubstr("--since"));
  args.since.clear();
  args.group_by = {"colour"};
  EXPECT_THAT(MakeStatsRequest(args).status().message(), HasSubstr("--group-by"));
}

TEST(StatsRequestTest, TodayAndLocalDays) {
  StatsArgs today;
  today.today = true;
  auto request = MakeStatsRequest(today);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->last_days(), 1) << "today, as the service's calendar counts it";
  EXPECT_FALSE(request->has_from());

  StatsArgs week;
  week.days = 7;
  EXPECT_EQ(MakeStatsRequest(week)->last_days(), 7);

  StatsArgs dates;
  dates.from_day = "2026-11-01";
  dates.to_day = "2026-11-30";
  request = MakeStatsRequest(dates);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->first_day(), "2026-11-01");
  EXPECT_EQ(request->last_day(), "2026-11-30");
  EXPECT_EQ(request->last_days(), 0);
}

TEST(StatsRequestTest, OneWayOfGivingTheWindow) {
  StatsArgs args;
  args.today = true;
  args.since = "2026-11-01T00:00:00Z";
  EXPECT_THAT(MakeStatsRequest(args).status().message(), HasSubstr("--today"));
  args.today = false;
  args.from_day = "2026-11-01";
  EXPECT_THAT(MakeStatsRequest(args).status().message(), HasSubstr("one way"));
  args.since.clear();
  args.from_day = "1 Nov";
  EXPECT_THAT(MakeStatsRequest(args).status().message(), HasSubstr("--from-day"));
  args.from_day.clear();
  args.days = -1;
  EXPECT_THAT(MakeStatsRequest(args).status().message(), HasSubstr("--days"));
}

TEST(StatsWindowTest, SaysWhichLocalDaysWereCounted) {
  v1::GetStatsResponse response;
  EXPECT_EQ(FormatStatsWindow(response), "") << "an answer that does not say";
  response.set_first_day("2026-12-01");
  response.set_last_day("2026-12-01");
  response.set_today("2026-12-01");
  response.set_utc_offset_minutes(480);
  EXPECT_EQ(FormatStatsWindow(response),
            "local days 2026-12-01 to 2026-12-01 (UTC+08:00), today 2026-12-01\n");
  response.clear_first_day();
  response.clear_last_day();
  EXPECT_THAT(FormatStatsWindow(response), HasSubstr("the first day kept to today"));
}

TEST(StatsTableTest, OneLinePerRowWithGroupCountsAndRates) {
  v1::GetStatsRequest request;
  request.add_group_by(v1::STATS_DIMENSION_CATEGORY_CLASS);
  v1::GetStatsResponse response;
  v1::StatsRow& row = *response.add_rows();
  (*row.mutable_group())["category_class"] = "04";
  row.set_reported(3);
  row.set_closed(3);
  row.set_closed_on_time(2);
  row.set_due(3);
  row.set_on_time_closure_rate(2.0 / 3.0);
  row.set_closure_rate(1.0);
  const std::string table = FormatStatsTable(request, response);
  EXPECT_THAT(table, HasSubstr("category_class"));
  EXPECT_THAT(table, HasSubstr("on_time%"));
  EXPECT_THAT(table, HasSubstr("66.7%"));
  EXPECT_THAT(table, HasSubstr("100.0%"));
  EXPECT_EQ(std::count(table.begin(), table.end(), '\n'), 2);
  EXPECT_EQ(table.substr(table.find('\n') + 1, 2), "04") << table;
}

TEST(StatsTableTest, ShowsTheMeanTimesToAcceptAndCloseOrADashWhenNothingWasTimed) {
  v1::GetStatsRequest request;
  request.add_group_by(v1::STATS_DIMENSION_LEVEL);
  v1::GetStatsResponse response;
  v1::StatsRow& timed = *response.add_rows();
  (*timed.mutable_group())["level"] = "community";
  timed.set_accepted(3);
  timed.set_accept_seconds_sum(660);
  timed.set_accept_seconds_mean(220);
  timed.set_closed_timed(2);
  timed.set_close_seconds_mean(750);
  v1::StatsRow& untimed = *response.add_rows();
  (*untimed.mutable_group())["level"] = "zone";
  const std::string table = FormatStatsTable(request, response);
  EXPECT_THAT(table, HasSubstr("accept_mean"));
  EXPECT_THAT(table, HasSubstr("close_mean"));
  // The last two cells of the line that starts with `group`.
  auto last_two = [&table](const std::string& group) {
    const size_t start = table.find("\n" + group) + 1;
    std::istringstream line(table.substr(start, table.find('\n', start) - start));
    std::vector<std::string> cells;
    for (std::string cell; line >> cell;) {
      cells.push_back(cell);
    }
    return std::vector<std::string>(cells.end() - 2, cells.end());
  };
  EXPECT_THAT(last_two("community"), ::testing::ElementsAre("220.0s", "750.0s")) << table;
  EXPECT_THAT(last_two("zone"), ::testing::ElementsAre("-", "-")) << table;
}

}  // namespace
}  // namespace grid::gridctl
