#include "tools/gridctl/stats.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace grid::gridctl
