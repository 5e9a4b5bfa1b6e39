// Several districts in one deployment: the topology above the districts (a city, a province),
// jurisdiction across them, a policy per district, and the moves that must never leave an
// event's district. Over tools/topogen's generated regions (tests/support/region_config.h).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "common/config/json_file.h"
#include "common/lifecycle/escalation.h"
#include "common/lifecycle/moves.h"
#include "common/policy/policy.h"
#include "common/topology/jurisdiction.h"
#include "common/topology/topology.h"
#include "tests/support/region_config.h"
#include "tests/support/shipped_config.h"
#include "tools/topogen/generator.h"

namespace grid::topology {
namespace {

using ::grid::testing::Region;
using ::grid::testing::TwoDistrictCity;
using ::testing::HasSubstr;

constexpr char kCity[] = "370200";
constexpr char kA[] = "370201";
constexpr char kB[] = "370202";

const Topology& City() { return *TwoDistrictCity().topology; }

// The first grid of `district`, in topology order.
std::string FirstGridOf(const std::string& district) {
  for (const v1::Unit& unit : City().data().units()) {
    if (unit.level() == v1::LEVEL_GRID && City().InSubtree(unit.id(), district)) {
      return unit.id();
    }
  }
  return "";
}

std::vector<std::string> SubdistrictsOf(const std::string& district) {
  std::vector<std::string> out;
  for (const std::string& sd : City().subdistrict_ids()) {
    if (City().InSubtree(sd, district)) {
      out.push_back(sd);
    }
  }
  return out;
}

TEST(DistrictsTopologyTest, ACityOfTwoDistrictsHasEachDistrictWhole) {
  EXPECT_EQ(City().root_id(), kCity);
  EXPECT_EQ(City().district_ids(), (std::vector<std::string>{kA, kB}));
  const auto counts = City().CountLevels("");
  ASSERT_EQ(counts.size(), 6u) << "grid to city";
  EXPECT_EQ(counts[v1::LEVEL_CITY - 1].level(), v1::LEVEL_CITY);
  EXPECT_EQ(counts[v1::LEVEL_CITY - 1].units(), 1);
  EXPECT_EQ(counts[v1::LEVEL_DISTRICT - 1].units(), 2);
  EXPECT_EQ(counts[v1::LEVEL_DISTRICT - 1].departments(), 40) << "20 departments each";
  EXPECT_EQ(counts[v1::LEVEL_GRID - 1].units(), 80);
  // A district's own count is the five levels, as for a single district.
  const auto a = City().CountLevels(kA);
  ASSERT_EQ(a.size(), 5u);
  EXPECT_EQ(a[v1::LEVEL_GRID - 1].units(), 40);
  EXPECT_EQ(a[v1::LEVEL_DISTRICT - 1].departments(), 20);
  EXPECT_EQ(City().CountWorkers(kA) + City().CountWorkers(kB), City().CountWorkers(""));
  EXPECT_GT(City().CountWorkers(kA), 0);
}

TEST(DistrictsTopologyTest, EveryUnitKnowsItsDistrictAndStaysInsideIt) {
  const std::string grid_a = FirstGridOf(kA);
  const std::string grid_b = FirstGridOf(kB);
  ASSERT_FALSE(grid_a.empty());
  ASSERT_FALSE(grid_b.empty());
  EXPECT_EQ(City().DistrictOf(grid_a)->id(), kA);
  EXPECT_EQ(City().DistrictOf(grid_b)->id(), kB);
  EXPECT_EQ(City().DistrictOf(kA)->id(), kA);
  EXPECT_EQ(City().DistrictOf("370202D03")->id(), kB) << "a department's district is its parent";
  EXPECT_EQ(City().DistrictOf(kCity), nullptr);
  EXPECT_EQ(City().DistrictOf("999999"), nullptr);

  EXPECT_TRUE(City().InSubtree(grid_a, kA));
  EXPECT_TRUE(City().InSubtree(grid_a, kCity));
  EXPECT_FALSE(City().InSubtree(grid_a, kB));
  EXPECT_TRUE(City().InSubtree("370201D01", kA));
  EXPECT_TRUE(City().InSubtree("370201D01", kCity));
  EXPECT_FALSE(City().InSubtree("370201D01", kB)) << "a department lies below its own district";
  EXPECT_FALSE(City().InSubtree(kA, kB));
  EXPECT_FALSE(City().InSubtree(kCity, kA));
  EXPECT_EQ(City().AncestorAt(grid_b, v1::LEVEL_CITY)->id(), kCity);
  EXPECT_EQ(City().AncestorAt("370201D01", v1::LEVEL_CITY), nullptr)
      << "a department is no geographic unit";
  EXPECT_EQ(City().SubdistrictOf(kA), "");
}

TEST(DistrictsTopologyTest, ShardsOfAUnitAreTheSubdistrictsItsEventsCanLiveIn) {
  const std::vector<std::string> a = SubdistrictsOf(kA);
  const std::vector<std::string> b = SubdistrictsOf(kB);
  ASSERT_FALSE(a.empty());
  ASSERT_FALSE(b.empty());
  EXPECT_EQ(City().ShardsOf(kA), a);
  EXPECT_EQ(City().ShardsOf("370202D07"), b) << "a department's events are its district's";
  EXPECT_EQ(City().ShardsOf(kCity), City().subdistrict_ids());
  EXPECT_EQ(City().ShardsOf(""), City().subdistrict_ids());
  EXPECT_EQ(City().ShardsOf(FirstGridOf(kB)),
            std::vector<std::string>{std::string(City().SubdistrictOf(FirstGridOf(kB)))});
  EXPECT_TRUE(City().ShardsOf("nowhere").empty());
  std::set<std::string> unique(City().subdistrict_ids().begin(), City().subdistrict_ids().end());
  EXPECT_EQ(unique.size(), City().subdistrict_ids().size()) << "subdistrict ids (shards) unique";
}

TEST(DistrictsTopologyTest, AProvinceStandsAboveItsCities) {
  topogen::RegionOptions options;
  options.districts = 5;
  options.cities = 2;
  options.grids = 50;
  auto data = topogen::GenerateRegion(options);
  ASSERT_TRUE(data.ok()) << data.status();
  auto built = Topology::Build(*data);
  ASSERT_TRUE(built.ok()) << built.status();
  const Topology& province = **built;
  EXPECT_EQ(province.root_id(), "370000");
  EXPECT_EQ(province.district_ids().size(), 5u);
  const auto counts = province.CountLevels("");
  ASSERT_EQ(counts.size(), 7u);
  EXPECT_EQ(counts[v1::LEVEL_PROVINCE - 1].units(), 1);
  EXPECT_EQ(counts[v1::LEVEL_CITY - 1].units(), 2);
  EXPECT_EQ(counts[v1::LEVEL_DISTRICT - 1].units(), 5);
  for (const std::string& district : province.district_ids()) {
    const v1::Unit* city = province.AncestorAt(district, v1::LEVEL_CITY);
    ASSERT_NE(city, nullptr) << district;
    EXPECT_EQ(district.substr(0, 4), city->id().substr(0, 4)) << "codes nest";
    EXPECT_TRUE(province.InSubtree(district, "370000"));
  }
}

// A small city: 9 > districts 91, 92 (each with a department) > one subdistrict, zone,
// community and grid each.
v1::Topology TinyCity() {
  v1::Topology t;
  EXPECT_TRUE(config::ParseJson(R"({
    "root_id": "9",
    "units": [
      {"id": "9", "level": "LEVEL_CITY"},
      {"id": "91", "level": "LEVEL_DISTRICT", "parent_id": "9"},
      {"id": "91D01", "level": "LEVEL_DISTRICT", "parent_id": "91", "kind": "UNIT_KIND_DEPARTMENT"},
      {"id": "91001", "level": "LEVEL_SUBDISTRICT", "parent_id": "91"},
      {"id": "91001Z1", "level": "LEVEL_ZONE", "parent_id": "91001"},
      {"id": "91001001", "level": "LEVEL_COMMUNITY", "parent_id": "91001Z1"},
      {"id": "9100100101", "level": "LEVEL_GRID", "parent_id": "91001001"},
      {"id": "92", "level": "LEVEL_DISTRICT", "parent_id": "9"},
      {"id": "92D01", "level": "LEVEL_DISTRICT", "parent_id": "92", "kind": "UNIT_KIND_DEPARTMENT"},
      {"id": "92001", "level": "LEVEL_SUBDISTRICT", "parent_id": "92"},
      {"id": "92001Z1", "level": "LEVEL_ZONE", "parent_id": "92001"},
      {"id": "92001001", "level": "LEVEL_COMMUNITY", "parent_id": "92001Z1"},
      {"id": "9200100101", "level": "LEVEL_GRID", "parent_id": "92001001"}
    ]
  })",
                                "tiny", t)
                  .ok());
  return t;
}

TEST(DistrictsTopologyTest, TheTinyCityBuilds) {
  auto built = Topology::Build(TinyCity());
  ASSERT_TRUE(built.ok()) << built.status();
  EXPECT_EQ((*built)->root_id(), "9");
  EXPECT_EQ((*built)->district_ids(), (std::vector<std::string>{"91", "92"}));
}

struct BadCity {
  std::string name;
  std::function<void(v1::Topology&)> spoil;
  std::string message;
};

void PrintTo(const BadCity& bad, std::ostream* out) { *out << bad.name; }

class BadCityTest : public ::testing::TestWithParam<BadCity> {};

TEST_P(BadCityTest, FailsNamingTheField) {
  v1::Topology data = TinyCity();
  GetParam().spoil(data);
  auto built = Topology::Build(data);
  ASSERT_FALSE(built.ok());
  EXPECT_EQ(built.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(built.status().message()), HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadCityTest,
    ::testing::Values(
        BadCity{"BothTops", [](v1::Topology& t) { t.set_district_id("91"); },
                "root_id: set together with district_id"},
        BadCity{"NoTop", [](v1::Topology& t) { t.clear_root_id(); }, "district_id: required"},
        BadCity{"RootIsADistrict", [](v1::Topology& t) { t.set_root_id("91"); },
                "root_id: \"91\" is not a city or province unit"},
        BadCity{"ASecondTop", [](v1::Topology& t) { t.mutable_units(7)->clear_parent_id(); },
                "units[7].parent_id: unknown unit \"\""},
        BadCity{"DepartmentUnderTheCity",
                [](v1::Topology& t) { t.mutable_units(2)->set_parent_id("9"); },
                "units[2]: department \"91D01\" must be at LEVEL_DISTRICT under a district"},
        BadCity{"SubdistrictUnderTheCity",
                [](v1::Topology& t) { t.mutable_units(3)->set_parent_id("9"); },
                "units[3].parent_id: \"9\" is not one level above unit \"91001\""},
        BadCity{"CityUnderADistrict",
                [](v1::Topology& t) {
                  v1::Unit* city = t.add_units();
                  city->set_id("8");
                  city->set_level(v1::LEVEL_CITY);
                  city->set_parent_id("91");
                },
                "units[13].parent_id: \"91\" is not one level above unit \"8\""}),
    [](const auto& info) { return info.param.name; });

TEST(DistrictsJurisdictionTest, ACityOperatorSeesBothDistrictsAndADistrictOnlyItsOwn) {
  const std::string grid_b = FirstGridOf(kB);
  v1::EventChange change;
  change.set_grid_id(grid_b);
  change.set_from_unit_id(std::string(City().AncestorAt(grid_b, v1::LEVEL_SUBDISTRICT)->id()));
  change.set_to_unit_id("370202D04");
  EXPECT_TRUE(ChangeInSubtree(City(), change, kCity));
  EXPECT_TRUE(ChangeInSubtree(City(), change, kB));
  EXPECT_FALSE(ChangeInSubtree(City(), change, kA));
  EXPECT_FALSE(ChangeInSubtree(City(), change, "370201D04")) << "the same department elsewhere";
  // The fan-out roots are exactly the roots the rule admits, the city's among them.
  const Roots roots = RootsOfChange(City(), change);
  for (const v1::Unit& unit : City().data().units()) {
    const bool listed = std::find(roots.begin(), roots.end(), unit.id()) != roots.end();
    EXPECT_EQ(listed, ChangeInSubtree(City(), change, unit.id())) << unit.id();
  }
  EXPECT_NE(std::find(roots.begin(), roots.end(), kCity), roots.end());
}

// --- A policy per district --------------------------------------------------------------------

TEST(DistrictsPolicyTest, EachDistrictRoutesToItsOwnDepartments) {
  const policy::Policy& policy = *TwoDistrictCity().policy;
  for (const char* district : {kA, kB}) {
    const policy::Policy& own = policy.For(district);
    EXPECT_EQ(own.data().district_id(), district);
    for (const v1::Rule& rule : own.data().rules()) {
      if (!rule.department_id().empty()) {
        EXPECT_EQ(City().DistrictOf(rule.department_id())->id(), district) << rule.id();
      }
    }
    EXPECT_EQ(&policy.ForUnit(City(), FirstGridOf(district)), &own);
    EXPECT_EQ(&policy.ForUnit(City(), std::string(district) + "D02"), &own);
  }
}

std::vector<v1::Policy> CityPolicies() { return TwoDistrictCity().district_policies; }

TEST(DistrictsPolicyTest, ADefaultNamingOneDistrictsDepartmentsCannotServeTheOther) {
  // The shipped policy names 370212's departments; here its ids are moved to 370201's and it
  // is offered as the default for both districts.
  v1::Policy fallback = CityPolicies()[0];
  fallback.clear_district_id();
  auto built = policy::Policy::BuildAll({fallback}, City());
  ASSERT_FALSE(built.ok());
  EXPECT_THAT(std::string(built.status().message()),
              HasSubstr("belongs to district 370201, not to 370202"));
  EXPECT_THAT(std::string(built.status().message()),
              HasSubstr("give district 370202 a policy of its own"));
  // With 370202's own policy beside it, the default serves 370201 alone.
  auto both = policy::Policy::BuildAll({fallback, CityPolicies()[1]}, City());
  ASSERT_TRUE(both.ok()) << both.status();
  EXPECT_EQ((*both)->For(kA).data().district_id(), "");
  EXPECT_EQ((*both)->For(kB).data().district_id(), kB);
}

TEST(DistrictsPolicyTest, BadSetsFailNamingThePolicyAndField) {
  {
    std::vector<v1::Policy> policies = CityPolicies();
    policies[1].set_district_id(kA);
    auto built = policy::Policy::BuildAll(policies, City());
    ASSERT_FALSE(built.ok());
    EXPECT_THAT(std::string(built.status().message()),
                HasSubstr("a second policy for district 370201"));
  }
  {
    std::vector<v1::Policy> policies = {CityPolicies()[0]};
    auto built = policy::Policy::BuildAll(policies, City());
    ASSERT_FALSE(built.ok());
    EXPECT_THAT(std::string(built.status().message()),
                HasSubstr("district 370202 has no policy and there is no default"));
  }
  {
    std::vector<v1::Policy> policies = CityPolicies();
    policies[1].set_district_id("370202001");
    auto built = policy::Policy::BuildAll(policies, City());
    ASSERT_FALSE(built.ok());
    EXPECT_THAT(std::string(built.status().message()),
                HasSubstr("\"370202001\" is not a district of the topology"));
  }
  {
    std::vector<v1::Policy> policies = CityPolicies();
    policies[1].mutable_calendar()->add_holidays("2026-12-24");
    auto built = policy::Policy::BuildAll(policies, City());
    ASSERT_FALSE(built.ok());
    EXPECT_THAT(std::string(built.status().message()),
                HasSubstr("policy of district 370202: calendar: differs from the default"));
  }
  {
    std::vector<v1::Policy> policies = CityPolicies();
    policies[1].mutable_rules(0)->set_department_id("370201D01");
    auto built = policy::Policy::BuildAll(policies, City());
    ASSERT_FALSE(built.ok());
    EXPECT_THAT(std::string(built.status().message()),
                HasSubstr("policy of district 370202: rules[0].department_id: department "
                          "\"370201D01\" belongs to district 370201"));
  }
}

// --- Moves stay inside the event's district --------------------------------------------------

class DistrictsMovesTest : public ::testing::Test {
 protected:
  static lifecycle::Context At(const std::string& grid) {
    v1::Actor actor;
    actor.set_subject("op");
    actor.set_role(v1::ROLE_OPERATOR);
    return lifecycle::Context{City(), TwoDistrictCity().policy->ForUnit(City(), grid),
                              1'790'000'000'000, actor};
  }

  static v1::Event Reported(const std::string& grid, const std::string& category) {
    v1::Event event;
    event.set_id(std::string(City().SubdistrictOf(grid)) + "-01M8E25T9NFZPD5H");
    event.set_grid_id(grid);
    event.set_subdistrict_id(std::string(City().SubdistrictOf(grid)));
    event.set_category(category);
    event.set_severity(v1::SEVERITY_NORMAL);
    event.set_source(v1::SOURCE_GRID_WORKER);
    event.set_state(v1::EVENT_STATE_REPORTED);
    event.set_level(v1::LEVEL_GRID);
    event.set_version(1);
    return event;
  }
};

TEST_F(DistrictsMovesTest, EveryCategoryDispatchesAndEscalatesWithinItsDistrict) {
  const std::string grid = FirstGridOf(kB);
  for (const v1::Category& category : testing::ShippedPolicy().data().categories()) {
    if (category.code().size() != 4) {
      continue;
    }
    auto dispatched = lifecycle::Dispatch(Reported(grid, category.code()), At(grid));
    ASSERT_TRUE(dispatched.ok()) << category.code() << ": " << dispatched.status();
    v1::Event event = dispatched->event;
    EXPECT_EQ(City().DistrictOf(event.unit_id())->id(), kB) << category.code();
    while (event.level() < v1::LEVEL_DISTRICT) {
      auto up = lifecycle::Escalate(event, At(grid), "needs the level above");
      ASSERT_TRUE(up.ok()) << category.code() << ": " << up.status();
      event = up->event;
      EXPECT_EQ(City().DistrictOf(event.unit_id())->id(), kB) << category.code();
    }
  }
}

TEST_F(DistrictsMovesTest, AReturnAtDistrictLevelEndsAtTheEventsOwnCommandCentre) {
  const std::string grid = FirstGridOf(kB);
  const policy::Policy& own = TwoDistrictCity().policy->For(kB);
  const v1::Rule* rule = nullptr;
  for (const v1::Rule& r : own.data().rules()) {
    if (!r.department_id().empty() && own.FindCategory(r.category_prefix()) != nullptr) {
      rule = &r;
      break;
    }
  }
  ASSERT_NE(rule, nullptr);
  v1::Event event = Reported(grid, rule->category_prefix());
  event.set_rule_id(rule->id());
  event.set_state(v1::EVENT_STATE_DISPATCHED);
  event.set_level(v1::LEVEL_DISTRICT);
  event.set_unit_id(rule->department_id());
  for (int i = 0; i <= rule->fallback_department_ids_size(); ++i) {
    auto returned = lifecycle::Return(event, At(grid), "not ours");
    ASSERT_TRUE(returned.ok()) << returned.status();
    event = returned->event;
  }
  EXPECT_EQ(event.unit_id(), kB) << "not the other district's command centre";
}

TEST_F(DistrictsMovesTest, NoReassignmentOrApprovalCrossesDistrictsOrRestsAboveThem) {
  const std::string grid = FirstGridOf(kB);
  auto dispatched = lifecycle::Dispatch(Reported(grid, "0102"), At(grid));
  ASSERT_TRUE(dispatched.ok()) << dispatched.status();
  const v1::Event event = dispatched->event;
  for (const std::string& elsewhere :
       {std::string("370201D01"), std::string(kA), FirstGridOf(kA)}) {
    auto moved = lifecycle::Reassign(event, At(grid), elsewhere, "try elsewhere");
    ASSERT_FALSE(moved.ok()) << elsewhere;
    EXPECT_EQ(moved.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(moved.status().message()),
                HasSubstr("belongs to district 370201, not to the event's district 370202"));
  }
  auto up = lifecycle::Reassign(event, At(grid), kCity, "to the city");
  EXPECT_EQ(up.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(up.status().message()), HasSubstr("is above the districts"));
  EXPECT_TRUE(lifecycle::Reassign(event, At(grid), "370202D01", "to our department").ok());
  EXPECT_TRUE(lifecycle::Reassign(event, At(grid), kB, "to our command centre").ok());
  EXPECT_FALSE(lifecycle::Suspend(event, At(grid), "parts", "370201D01").ok());
  EXPECT_TRUE(lifecycle::Suspend(event, At(grid), "parts", "370202D01").ok());
}

}  // namespace
}  // namespace grid::topology
