#include "common/topology/topology.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "common/config/json_file.h"
#include "tests/support/paths.h"

namespace grid::topology {
namespace {

using ::grid::testing::SourcePath;
using ::testing::HasSubstr;

// district 1 > subdistrict 1001 > zone 1001Z1 > community 1001001 > grids 100100101, 100100102;
// department 1D01.
v1::Topology Small() {
  v1::Topology t;
  EXPECT_TRUE(config::ParseJson(R"({
    "district_id": "1",
    "units": [
      {"id": "1", "level": "LEVEL_DISTRICT"},
      {"id": "1D01", "level": "LEVEL_DISTRICT", "parent_id": "1", "kind": "UNIT_KIND_DEPARTMENT"},
      {"id": "1001", "level": "LEVEL_SUBDISTRICT", "parent_id": "1"},
      {"id": "1001Z1", "level": "LEVEL_ZONE", "parent_id": "1001"},
      {"id": "1001001", "level": "LEVEL_COMMUNITY", "parent_id": "1001Z1"},
      {"id": "100100101", "level": "LEVEL_GRID", "parent_id": "1001001"},
      {"id": "100100102", "level": "LEVEL_GRID", "parent_id": "1001001"}
    ],
    "workers": [{"id": "w1", "grid_id": "100100101"}]
  })",
                                "small", t)
                  .ok());
  return t;
}

class LaoshanTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto loaded = Topology::Load(SourcePath("deploy/config/laoshan-topology.json"));
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    topology_ = new TopologyPtr(*loaded);
  }
  static void TearDownTestSuite() { delete topology_; }
  const Topology& topology() { return **topology_; }

  static TopologyPtr* topology_;
};
TopologyPtr* LaoshanTest::topology_ = nullptr;

TEST_F(LaoshanTest, HasThePublicCounts) {
  auto counts = topology().CountLevels("");
  ASSERT_EQ(counts.size(), 5u);
  EXPECT_EQ(counts[0].level(), v1::LEVEL_GRID);
  EXPECT_EQ(counts[0].units(), 654);
  EXPECT_EQ(counts[1].units(), 139);
  EXPECT_GT(counts[2].units(), 5) << "management areas";
  EXPECT_EQ(counts[3].units(), 5);
  EXPECT_EQ(counts[4].units(), 1);
  EXPECT_GE(counts[4].departments(), 20);
  EXPECT_EQ(topology().CountWorkers(""), 735);
  EXPECT_EQ(topology().root_id(), "370212");
  EXPECT_EQ(topology().subdistrict_ids().size(), 5u);
}

TEST_F(LaoshanTest, EveryGridHasAnAncestorAtEveryLevelAndCodesNest) {
  int grids = 0;
  for (const v1::Unit& unit : topology().data().units()) {
    if (unit.level() != v1::LEVEL_GRID) {
      continue;
    }
    ++grids;
    ASSERT_EQ(unit.id().size(), 14u) << unit.id();
    const v1::Unit* community = topology().AncestorAt(unit.id(), v1::LEVEL_COMMUNITY);
    const v1::Unit* zone = topology().AncestorAt(unit.id(), v1::LEVEL_ZONE);
    const v1::Unit* subdistrict = topology().AncestorAt(unit.id(), v1::LEVEL_SUBDISTRICT);
    const v1::Unit* district = topology().AncestorAt(unit.id(), v1::LEVEL_DISTRICT);
    ASSERT_NE(community, nullptr);
    ASSERT_NE(zone, nullptr);
    ASSERT_NE(subdistrict, nullptr);
    ASSERT_NE(district, nullptr);
    EXPECT_EQ(topology().AncestorAt(unit.id(), v1::LEVEL_GRID), &unit);
    // Grid code = community code + 2 digits; community code = subdistrict code + 3 digits.
    EXPECT_EQ(unit.id().substr(0, 12), community->id());
    EXPECT_EQ(community->id().substr(0, 9), subdistrict->id());
    EXPECT_EQ(zone->parent_id(), subdistrict->id());
    EXPECT_EQ(district->id(), "370212");
    EXPECT_EQ(topology().SubdistrictOf(unit.id()), subdistrict->id());
    EXPECT_TRUE(topology().InSubtree(unit.id(), zone->id()));
  }
  EXPECT_EQ(grids, 654);
}

TEST_F(LaoshanTest, SubdistrictsHaveTheirRealNames) {
  std::vector<std::string> names;
  for (const auto& id : topology().subdistrict_ids()) {
    names.push_back(topology().Find(id)->name());
  }
  for (const char* expected : {"中韩", "沙子口", "王哥庄", "北宅", "金家岭"}) {
    EXPECT_TRUE(std::any_of(names.begin(), names.end(), [&](const std::string& n) {
      return n.find(expected) == 0;
    })) << expected;
  }
}

TEST_F(LaoshanTest, EveryGridCentreMapsToItsOwnGrid) {
  int checked = 0;
  for (const v1::Unit& unit : topology().data().units()) {
    if (unit.level() != v1::LEVEL_GRID || !unit.has_center()) {
      continue;
    }
    const v1::Unit* nearest = topology().NearestGrid(unit.center());
    ASSERT_NE(nearest, nullptr) << unit.id();
    EXPECT_EQ(nearest->id(), unit.id());
    ++checked;
  }
  EXPECT_EQ(checked, 654);
}

TEST_F(LaoshanTest, NearestGridAgreesWithAFullScanAndRefusesOutsideTheBounds) {
  // A walk across the district's box: the banded search finds what a scan of every centre finds.
  const auto scan = [&](const v1::Location& at) {
    const v1::Unit* best = nullptr;
    double best_d = 1e300;
    const double k = std::cos(at.lat() * M_PI / 180.0);
    for (const v1::Unit& unit : topology().data().units()) {
      if (unit.level() != v1::LEVEL_GRID || !unit.has_center()) {
        continue;
      }
      const double dy = unit.center().lat() - at.lat();
      const double dx = (unit.center().lng() - at.lng()) * k;
      if (dx * dx + dy * dy < best_d) {
        best_d = dx * dx + dy * dy;
        best = &unit;
      }
    }
    return best;
  };
  for (double lat = 36.06; lat < 36.33; lat += 0.013) {
    for (double lng = 120.44; lng < 120.72; lng += 0.017) {
      v1::Location at;
      at.set_lat(lat);
      at.set_lng(lng);
      const v1::Unit* nearest = topology().NearestGrid(at);
      ASSERT_NE(nearest, nullptr);
      EXPECT_EQ(nearest->id(), scan(at)->id()) << lat << "," << lng;
    }
  }
  v1::Location outside;
  outside.set_lat(36.0);  // South of the box.
  outside.set_lng(120.5);
  EXPECT_EQ(topology().NearestGrid(outside), nullptr);
  outside.set_lat(36.2);
  outside.set_lng(121.0);  // East of the box, out at sea.
  EXPECT_EQ(topology().NearestGrid(outside), nullptr);
  outside.set_lng(std::nan(""));
  EXPECT_EQ(topology().NearestGrid(outside), nullptr);
}

TEST(TopologyTest, NearestGridWithoutBoundsStopsAtFiveKilometres) {
  v1::Topology data = Small();
  for (v1::Unit& unit : *data.mutable_units()) {
    if (unit.id() == "100100101") {
      unit.mutable_center()->set_lat(36.1);
      unit.mutable_center()->set_lng(120.5);
    }
  }
  auto topology = Topology::Build(data);
  ASSERT_TRUE(topology.ok()) << topology.status();
  v1::Location near;
  near.set_lat(36.1 + 4.0 / 111.2);  // 4 km north.
  near.set_lng(120.5);
  const v1::Unit* found = (*topology)->NearestGrid(near);
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->id(), "100100101");  // The grid without a centre is never chosen.
  v1::Location far = near;
  far.set_lat(36.1 + 6.0 / 111.2);
  EXPECT_EQ((*topology)->NearestGrid(far), nullptr);
  auto no_centres = Topology::Build(Small());
  ASSERT_TRUE(no_centres.ok());
  EXPECT_EQ((*no_centres)->NearestGrid(near), nullptr);
}

TEST(TopologyTest, AncestorsAtEveryLevel) {
  auto t = Topology::Build(Small());
  ASSERT_TRUE(t.ok()) << t.status();
  const Topology& topology = **t;
  EXPECT_EQ(topology.AncestorAt("100100101", v1::LEVEL_GRID)->id(), "100100101");
  EXPECT_EQ(topology.AncestorAt("100100101", v1::LEVEL_COMMUNITY)->id(), "1001001");
  EXPECT_EQ(topology.AncestorAt("100100101", v1::LEVEL_ZONE)->id(), "1001Z1");
  EXPECT_EQ(topology.AncestorAt("100100101", v1::LEVEL_SUBDISTRICT)->id(), "1001");
  EXPECT_EQ(topology.AncestorAt("100100101", v1::LEVEL_DISTRICT)->id(), "1");
  EXPECT_EQ(topology.AncestorAt("1001001", v1::LEVEL_GRID), nullptr) << "no ancestor below";
  EXPECT_EQ(topology.AncestorAt("1D01", v1::LEVEL_DISTRICT), nullptr) << "departments: none";
  EXPECT_EQ(topology.SubdistrictOf("1"), "");
}

TEST(TopologyTest, UnknownGridHasNothing) {
  auto t = Topology::Build(Small());
  ASSERT_TRUE(t.ok());
  EXPECT_EQ((*t)->Find("999"), nullptr);
  EXPECT_EQ((*t)->AncestorAt("999", v1::LEVEL_COMMUNITY), nullptr);
  EXPECT_FALSE((*t)->InSubtree("999", "1"));
  EXPECT_FALSE((*t)->InSubtree("100100101", "999"));
  EXPECT_EQ((*t)->SubdistrictOf("999"), "");
}

TEST(TopologyTest, SubtreeMembership) {
  auto t = Topology::Build(Small());
  ASSERT_TRUE(t.ok());
  const Topology& topology = **t;
  EXPECT_TRUE(topology.InSubtree("100100101", "1"));
  EXPECT_TRUE(topology.InSubtree("100100101", "1001001"));
  EXPECT_TRUE(topology.InSubtree("100100101", "100100101"));
  EXPECT_FALSE(topology.InSubtree("100100101", "100100102")) << "siblings";
  EXPECT_FALSE(topology.InSubtree("1001", "1001001")) << "an ancestor is not in the subtree";
  EXPECT_TRUE(topology.InSubtree("1D01", "1")) << "departments lie below the district";
  EXPECT_FALSE(topology.InSubtree("1D01", "1001"));
  EXPECT_FALSE(topology.InSubtree("100100101", "1D01"));
  EXPECT_EQ(topology.CountWorkers("1001001"), 1);
  EXPECT_EQ(topology.CountLevels("1001001")[0].units(), 2);
  EXPECT_EQ(topology.CountLevels("1001001")[3].units(), 0);
}

struct BadCase {
  std::string name;
  std::function<void(v1::Topology&)> spoil;
  std::string message;
};

void PrintTo(const BadCase& bad, std::ostream* out) { *out << bad.name; }

class BadTopologyTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadTopologyTest, FailsNamingTheField) {
  v1::Topology data = Small();
  GetParam().spoil(data);
  auto t = Topology::Build(data);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(t.status().message()), HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadTopologyTest,
    ::testing::Values(
        BadCase{"UnknownParent", [](v1::Topology& t) { t.mutable_units(5)->set_parent_id("42"); },
                "units[5].parent_id: unknown unit \"42\""},
        BadCase{"DuplicateId", [](v1::Topology& t) { t.mutable_units(6)->set_id("100100101"); },
                "units[6].id: duplicate unit \"100100101\""},
        BadCase{"SkipsALevel", [](v1::Topology& t) { t.mutable_units(5)->set_parent_id("1001Z1"); },
                "units[5].parent_id: \"1001Z1\" is not one level above"},
        BadCase{"MissingLevel",
                [](v1::Topology& t) { t.mutable_units(3)->set_level(v1::LEVEL_UNSPECIFIED); },
                "units[3].level: required"},
        BadCase{"MissingId", [](v1::Topology& t) { t.mutable_units(2)->clear_id(); },
                "units[2].id: required"},
        // Found by the cursor fuzz target: such ids broke watch cursors (and Redis hash tags).
        BadCase{"IdWithCursorCharacters",
                [](v1::Topology& t) { t.mutable_units(2)->set_id("a,b=c"); },
                "units[2].id: \"a,b=c\" has characters other than"},
        BadCase{"IdWithHashTagCharacters",
                [](v1::Topology& t) { t.mutable_units(2)->set_id("{x}"); },
                "units[2].id: \"{x}\" has characters other than"},
        BadCase{"UnknownDistrict", [](v1::Topology& t) { t.set_district_id("9"); },
                "district_id: \"9\""},
        BadCase{"WorkerInUnknownGrid",
                [](v1::Topology& t) { t.mutable_workers(0)->set_grid_id("1001001"); },
                "workers[0].grid_id: unknown grid \"1001001\""},
        BadCase{"DepartmentBelowSubdistrict",
                [](v1::Topology& t) { t.mutable_units(1)->set_parent_id("1001"); },
                "units[1]: department \"1D01\""}),
    [](const auto& info) { return info.param.name; });

TEST(TopologyLoadTest, BadFileNamesFileAndField) {
  auto t = Topology::Load(SourcePath("tests/unit/config/testdata/bad-topology.json"));
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(std::string(t.status().message()), HasSubstr("bad-topology.json"));
  EXPECT_THAT(std::string(t.status().message()), HasSubstr("units[1].parent_id"));
}

}  // namespace
}  // namespace grid::topology
