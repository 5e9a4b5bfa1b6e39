#include <gtest/gtest.h>

#include "services/metrics/stats_reader.h"
#include "tests/support/shipped_config.h"

namespace grid::metrics {
namespace {

using testing::ShippedTopology;

TEST(GroupOfTest, NoDimensionsIsOneGroup) {
  EXPECT_TRUE(GroupOf({}, ShippedTopology(), "", "37021200100101", "370212001", "04", 2).empty());
}

TEST(GroupOfTest, NamesEachDimension) {
  const auto group = GroupOf({v1::STATS_DIMENSION_LEVEL, v1::STATS_DIMENSION_SUBDISTRICT,
                              v1::STATS_DIMENSION_CATEGORY_CLASS, v1::STATS_DIMENSION_SEVERITY},
                             ShippedTopology(), "", "37021200100101", "370212001", "04", 2);
  EXPECT_EQ(group.at("level"), "grid");
  EXPECT_EQ(group.at("subdistrict"), "370212001");
  EXPECT_EQ(group.at("category_class"), "04");
  EXPECT_EQ(group.at("severity"), "normal");
}

TEST(GroupOfTest, TheUnitDimensionIsTheRootsChildOnThePath) {
  const auto& topology = ShippedTopology();
  const std::vector<v1::StatsDimension> by_unit = {v1::STATS_DIMENSION_UNIT};
  EXPECT_EQ(GroupOf(by_unit, topology, "", "37021200100101", "", "", 0).at("unit"), "370212001")
      << "below the district: the subdistrict";
  EXPECT_EQ(GroupOf(by_unit, topology, "370212001", "37021200100101", "", "", 0).at("unit"),
            "370212001Z01")
      << "below a subdistrict: its management area";
  EXPECT_EQ(GroupOf(by_unit, topology, "370212001", "370212001", "", "", 0).at("unit"), "370212001")
      << "the root's own counts";
}

TEST(FillRowTest, CopiesCountsAndScores) {
  Counts counts;
  counts.reported = 4;
  counts.closed = 2;
  counts.closed_on_time = 1;
  counts.due = 2;
  counts.open = 2;
  v1::StatsRow row;
  FillRow(counts, row);
  EXPECT_EQ(row.reported(), 4);
  EXPECT_EQ(row.open(), 2);
  EXPECT_DOUBLE_EQ(row.on_time_closure_rate(), 0.5);
  EXPECT_DOUBLE_EQ(row.closure_rate(), 0.5);
  EXPECT_DOUBLE_EQ(row.first_dispatch_accuracy(), 1.0);
  EXPECT_EQ(row.rework_rate(), 0);
}

TEST(FillRowTest, GivesResponseTimesInSecondsWithTheirCountsAndMeans) {
  Counts counts;
  counts.accepted = 4;
  counts.accept_ms = 720'500;
  counts.closed = 3;
  counts.closed_timed = 2;
  counts.close_ms = 1'620'000;
  v1::StatsRow row;
  FillRow(counts, row);
  EXPECT_EQ(row.accepted(), 4);
  EXPECT_DOUBLE_EQ(row.accept_seconds_sum(), 720.5);
  EXPECT_DOUBLE_EQ(row.accept_seconds_mean(), 180.125);
  EXPECT_EQ(row.closed_timed(), 2);
  EXPECT_DOUBLE_EQ(row.close_seconds_sum(), 1620.0);
  EXPECT_DOUBLE_EQ(row.close_seconds_mean(), 810.0) << "over the timed closures only";
}

}  // namespace
}  // namespace grid::metrics
