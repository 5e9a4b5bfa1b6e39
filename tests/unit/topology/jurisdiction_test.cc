// The one rule of jurisdiction (common/topology/jurisdiction.h) over the Laoshan topology: a
// table of the event's grid inside/outside × the unit that has it inside/outside/none, for a
// root at each level and a department; the changes that move an event in or out; a unit's
// queue; and the fan-out roots, which must be exactly the roots the rule admits.
#include "common/topology/jurisdiction.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/support/shipped_config.h"

namespace grid::topology {
namespace {

using testing::ShippedTopology;

// 中韩街道 (370212001) / 第一管理区 (Z01) / 张家涧社区 (001) / grid 1.
constexpr char kGrid[] = "37021200100101";
constexpr char kCommunity[] = "370212001001";
constexpr char kZone[] = "370212001Z01";
constexpr char kSubdistrict[] = "370212001";
constexpr char kDistrict[] = "370212";
constexpr char kDepartment[] = "370212D01";

// One root with a grid and a unit inside its subtree and one of each outside. "Outside the
// district" is an id the topology does not know; nothing lies inside a department but itself.
struct Root {
  const char* name;
  std::string root;
  std::string grid_inside;  // Empty: no grid lies inside (a department).
  std::string grid_outside;
  std::string unit_inside;
  std::string unit_outside;
};

std::vector<Root> RootCases() {
  return {
      {"grid", kGrid, kGrid, "37021200100102", kGrid, kCommunity},
      {"community", kCommunity, kGrid, "37021200100201", "37021200100102", kZone},
      {"zone", kZone, kGrid, "37021200200101", kCommunity, kSubdistrict},
      {"subdistrict", kSubdistrict, kGrid, "37021200200101", kZone, kDepartment},
      {"district", kDistrict, kGrid, "37021299999999", kDepartment, "370212D99"},
      {"department", kDepartment, "", kGrid, kDepartment, "370212D02"},
  };
}

v1::Event EventOf(const std::string& grid, const std::string& unit) {
  v1::Event event;
  event.set_grid_id(grid);
  event.set_unit_id(unit);
  return event;
}

v1::EventChange ChangeOf(const std::string& grid, const std::string& from, const std::string& to) {
  v1::EventChange change;
  change.set_grid_id(grid);
  change.set_from_unit_id(from);
  change.set_to_unit_id(to);
  return change;
}

TEST(JurisdictionRuleTest, AnEventIsInTheSubtreeWhenItsGridOrItsUnitIs) {
  const Topology& topology = ShippedTopology();
  for (const Root& r : RootCases()) {
    for (const bool grid_in : {true, false}) {
      if (grid_in && r.grid_inside.empty()) {
        continue;
      }
      const std::string& grid = grid_in ? r.grid_inside : r.grid_outside;
      // The unit that has the event: inside, outside, or nobody yet (a new report).
      for (const int unit_case : {0, 1, 2}) {
        const std::string unit = unit_case == 0   ? r.unit_inside
                                 : unit_case == 1 ? r.unit_outside
                                                  : std::string();
        const bool expected = grid_in || unit_case == 0;
        SCOPED_TRACE(
            absl::StrCat(r.name, " root ", r.root, ": grid ", grid, ", unit \"", unit, "\""));
        EXPECT_EQ(EventInSubtree(topology, grid, unit, r.root), expected);
        EXPECT_EQ(EventInSubtree(topology, EventOf(grid, unit), r.root), expected);
        // A change that leaves the event where it is (an acceptance, a supervision).
        EXPECT_EQ(ChangeInSubtree(topology, ChangeOf(grid, unit, unit), r.root), expected);
      }
    }
  }
}

TEST(JurisdictionRuleTest, TheCasesOfTheField) {
  const Topology& topology = ShippedTopology();
  // A community operator keeps their grid's event that routing sent to the zone, the subdistrict
  // or a district department.
  for (const char* at : {kZone, kSubdistrict, kDepartment}) {
    EXPECT_TRUE(EventInSubtree(topology, EventOf(kGrid, at), kCommunity)) << at;
  }
  // A department sees what sits at it, from any subdistrict, and nothing else.
  EXPECT_TRUE(EventInSubtree(topology, EventOf("37021200500101", kDepartment), kDepartment));
  EXPECT_FALSE(EventInSubtree(topology, EventOf(kGrid, kSubdistrict), kDepartment));
  // Another community's event at the shared zone is not the community's.
  EXPECT_FALSE(EventInSubtree(topology, EventOf("37021200100201", kZone), kCommunity));
  // Unknown or empty roots hold nothing.
  EXPECT_FALSE(EventInSubtree(topology, EventOf(kGrid, kGrid), ""));
  EXPECT_FALSE(EventInSubtree(topology, EventOf(kGrid, kGrid), "370212999"));
}

TEST(JurisdictionRuleTest, AChangeIsInTheSubtreeWhenTheEventIsBeforeOrAfterIt) {
  const Topology& topology = ShippedTopology();
  const std::string outside_grid = "37021200200101";
  // Another subdistrict's event, reassigned to and from a department: the department sees both
  // the change that brought the event in and the one that took it away.
  EXPECT_TRUE(
      ChangeInSubtree(topology, ChangeOf(outside_grid, "370212002", kDepartment), kDepartment));
  EXPECT_TRUE(
      ChangeInSubtree(topology, ChangeOf(outside_grid, kDepartment, "370212002"), kDepartment));
  EXPECT_FALSE(
      ChangeInSubtree(topology, ChangeOf(outside_grid, "370212002", "370212002"), kDepartment));
  // The community's own event: every step, wherever it goes (reported, dispatched up, escalated
  // on to a department).
  EXPECT_TRUE(ChangeInSubtree(topology, ChangeOf(kGrid, "", kGrid), kCommunity));
  EXPECT_TRUE(ChangeInSubtree(topology, ChangeOf(kGrid, kGrid, kSubdistrict), kCommunity));
  EXPECT_TRUE(ChangeInSubtree(topology, ChangeOf(kGrid, kSubdistrict, kDepartment), kCommunity));
}

TEST(JurisdictionRuleTest, AQueueHoldsTheEventsAtTheUnitAndTheChangesInAndOut) {
  EXPECT_TRUE(EventAtUnit(EventOf(kGrid, kZone), kZone));
  EXPECT_FALSE(EventAtUnit(EventOf(kGrid, kZone), kCommunity)) << "not the subtree: the unit";
  EXPECT_FALSE(EventAtUnit(EventOf(kGrid, ""), ""));
  EXPECT_TRUE(ChangeAtUnit(ChangeOf(kGrid, kCommunity, kZone), kZone)) << "in";
  EXPECT_TRUE(ChangeAtUnit(ChangeOf(kGrid, kZone, kSubdistrict), kZone)) << "out";
  EXPECT_TRUE(ChangeAtUnit(ChangeOf(kGrid, kZone, kZone), kZone)) << "stays";
  EXPECT_FALSE(ChangeAtUnit(ChangeOf(kGrid, kCommunity, kSubdistrict), kZone)) << "passes over";
  EXPECT_FALSE(ChangeAtUnit(ChangeOf(kGrid, "", ""), ""));
}

// The fan-out index must offer a change to every watcher whose filter would take it, and need
// offer it to no other: RootsOfChange is exactly the set of units r with ChangeInSubtree(r).
TEST(JurisdictionRuleTest, TheRootsOfAChangeAreExactlyTheUnitsWhoseSubtreeHoldsIt) {
  const Topology& topology = ShippedTopology();
  const std::vector<v1::EventChange> changes = {
      ChangeOf(kGrid, "", kGrid),                            // Reported.
      ChangeOf(kGrid, kGrid, kSubdistrict),                  // Dispatched up.
      ChangeOf(kGrid, kSubdistrict, kDepartment),            // Escalated to a department.
      ChangeOf("37021200500101", kDepartment, "370212D02"),  // Between departments.
      ChangeOf("37021200300101", "370212003Z01", "370212003Z01"),
      ChangeOf("37021299999999", "", "370212999"),  // Unknown ids: no subtree holds them.
  };
  for (const v1::EventChange& change : changes) {
    const Roots roots = RootsOfChange(topology, change);
    int holding = 0;
    for (const v1::Unit& unit : topology.data().units()) {
      const bool in = ChangeInSubtree(topology, change, unit.id());
      const bool listed = std::find(roots.begin(), roots.end(), unit.id()) != roots.end();
      EXPECT_EQ(listed, in) << change.ShortDebugString() << " root " << unit.id();
      holding += in ? 1 : 0;
    }
    EXPECT_EQ(static_cast<int>(roots.size()), holding) << "each root once";
  }
}

}  // namespace
}  // namespace grid::topology
