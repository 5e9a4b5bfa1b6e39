#include "tools/topogen/generator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "grid/v1/policy.pb.h"
#include "tools/topogen/flags.h"

namespace grid::topogen {
namespace {

using grid::v1::Level;
using grid::v1::Policy;
using grid::v1::Rule;
using grid::v1::Topology;
using grid::v1::Unit;
using ::testing::HasSubstr;

constexpr std::string_view kRealNames[] = {"中韩街道", "沙子口街道", "王哥庄街道", "北宅街道",
                                           "金家岭街道"};

bool IsDigits(std::string_view text, size_t length) {
  return text.size() == length &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

Topology MustGenerate(const Options& options) {
  absl::StatusOr<Topology> topology = Generate(options);
  if (!topology.ok()) {
    ADD_FAILURE() << "Generate failed: " << topology.status();
    return Topology();
  }
  return *std::move(topology);
}

// Reads a file of the source tree: GRID_SOURCE_DIR (set by grid_test), else the tree this test
// was built from.
std::string ReadSourceFile(const std::string& relative_path) {
  const char* root = std::getenv("GRID_SOURCE_DIR");
  if (root == nullptr) {
    root = GRID_TOPOGEN_TEST_SOURCE_DIR;
  }
  const std::string path = std::string(root) + "/" + relative_path;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "cannot read " << path;
    return "";
  }
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

// The units of a topology by id, and what the structural checks found.
struct Census {
  std::map<std::string, const Unit*> by_id;
  std::map<Level, int> areas;
  std::map<std::string, int> workers_per_grid;
  std::map<std::string, std::set<std::string>> department_categories;
};

// Checks every structural promise of the generator and counts what it saw.
Census ExpectWellFormed(const Topology& topology) {
  Census census;
  for (const Unit& unit : topology.units()) {
    EXPECT_TRUE(census.by_id.emplace(unit.id(), &unit).second) << "duplicate unit " << unit.id();
  }
  const auto& sw = topology.bounds().south_west();
  const auto& ne = topology.bounds().north_east();
  EXPECT_LT(sw.lat(), ne.lat());
  EXPECT_LT(sw.lng(), ne.lng());
  std::set<std::pair<double, double>> centres;
  for (const Unit& unit : topology.units()) {
    EXPECT_FALSE(unit.name().empty()) << unit.id();
    if (unit.kind() == grid::v1::UNIT_KIND_DEPARTMENT) {
      EXPECT_EQ(unit.level(), grid::v1::LEVEL_DISTRICT) << unit.id();
      EXPECT_EQ(unit.parent_id(), topology.district_id()) << unit.id();
      EXPECT_EQ(unit.id().substr(0, 7), topology.district_id() + "D") << unit.id();
      EXPECT_TRUE(IsDigits(unit.id().substr(7), 2)) << unit.id();
      EXPECT_GT(unit.categories_size(), 0) << unit.id();
      census.department_categories[unit.id()] = {unit.categories().begin(),
                                                 unit.categories().end()};
      continue;
    }
    EXPECT_EQ(unit.kind(), grid::v1::UNIT_KIND_AREA) << unit.id();
    ++census.areas[unit.level()];
    EXPECT_TRUE(unit.has_center()) << unit.id();
    EXPECT_GE(unit.center().lat(), sw.lat()) << unit.id();
    EXPECT_LE(unit.center().lat(), ne.lat()) << unit.id();
    EXPECT_GE(unit.center().lng(), sw.lng()) << unit.id();
    EXPECT_LE(unit.center().lng(), ne.lng()) << unit.id();
    if (unit.level() == grid::v1::LEVEL_DISTRICT) {
      EXPECT_EQ(unit.id(), topology.district_id());
      EXPECT_TRUE(unit.parent_id().empty());
      continue;
    }
    // One level up, always an area: grid -> community -> zone -> subdistrict -> district.
    const auto parent = census.by_id.find(unit.parent_id());
    if (parent == census.by_id.end()) {
      ADD_FAILURE() << unit.id() << " has no parent " << unit.parent_id();
      continue;
    }
    EXPECT_EQ(parent->second->level(), unit.level() + 1) << unit.id();
    EXPECT_EQ(parent->second->kind(), grid::v1::UNIT_KIND_AREA) << unit.id();
    const std::string& id = unit.id();
    switch (unit.level()) {
      case grid::v1::LEVEL_SUBDISTRICT:
        EXPECT_TRUE(IsDigits(id, 9) && StartsWith(id, topology.district_id())) << id;
        EXPECT_THAT(unit.name(), ::testing::EndsWith("街道"));
        break;
      case grid::v1::LEVEL_ZONE:
        EXPECT_EQ(id.size(), 12u) << id;
        EXPECT_EQ(id.substr(0, 10), unit.parent_id() + "Z") << id;
        EXPECT_TRUE(IsDigits(id.substr(10), 2)) << id;
        EXPECT_THAT(unit.name(), ::testing::EndsWith("管区"));
        break;
      case grid::v1::LEVEL_COMMUNITY:
        // 12 digits: its subdistrict's code (the zone's parent) + a 3-digit sequence.
        EXPECT_TRUE(IsDigits(id, 12)) << id;
        EXPECT_TRUE(StartsWith(id, parent->second->parent_id())) << id;
        EXPECT_THAT(unit.name(), ::testing::EndsWith("社区"));
        break;
      case grid::v1::LEVEL_GRID:
        EXPECT_TRUE(IsDigits(id, 14)) << id;
        EXPECT_TRUE(StartsWith(id, unit.parent_id())) << id;
        EXPECT_TRUE(StartsWith(unit.name(), parent->second->name())) << unit.name();
        EXPECT_THAT(unit.name(), ::testing::EndsWith("网格"));
        EXPECT_TRUE(centres.emplace(unit.center().lat(), unit.center().lng()).second)
            << "two grids share the centre of " << id;
        census.workers_per_grid[id];  // every grid listed, with or without workers
        break;
      default:
        ADD_FAILURE() << "unexpected level of " << id;
    }
  }
  std::set<std::string> worker_ids;
  for (const auto& worker : topology.workers()) {
    EXPECT_TRUE(worker_ids.insert(worker.id()).second) << "duplicate worker " << worker.id();
    EXPECT_FALSE(worker.name().empty()) << worker.id();
    const auto grid = census.workers_per_grid.find(worker.grid_id());
    if (grid == census.workers_per_grid.end()) {
      ADD_FAILURE() << worker.id() << " patrols no grid " << worker.grid_id();
      continue;
    }
    EXPECT_EQ(worker.id().substr(0, 15), "W" + worker.grid_id()) << worker.id();
    EXPECT_TRUE(IsDigits(worker.id().substr(15), 2)) << worker.id();
    ++grid->second;
  }
  for (const auto& [grid, workers] : census.workers_per_grid) {
    EXPECT_GE(workers, 1) << grid << " has no worker";
  }
  return census;
}

void ExpectCounts(const Census& census, const Counts& counts) {
  EXPECT_EQ(census.areas.at(grid::v1::LEVEL_DISTRICT), 1);
  EXPECT_EQ(census.areas.at(grid::v1::LEVEL_SUBDISTRICT), counts.subdistricts);
  EXPECT_EQ(census.areas.at(grid::v1::LEVEL_COMMUNITY), counts.communities);
  EXPECT_EQ(census.areas.at(grid::v1::LEVEL_GRID), counts.grids);
  int workers = 0;
  for (const auto& [grid, staff] : census.workers_per_grid) {
    workers += staff;
  }
  EXPECT_EQ(workers, counts.workers);
  EXPECT_GE(census.department_categories.size(), 20u);
}

std::vector<const Unit*> UnitsAt(const Topology& topology, Level level) {
  std::vector<const Unit*> units;
  for (const Unit& unit : topology.units()) {
    if (unit.level() == level && unit.kind() != grid::v1::UNIT_KIND_DEPARTMENT) {
      units.push_back(&unit);
    }
  }
  return units;
}

// --- The generator ------------------------------------------------------------------------------

TEST(TopogenTest, DefaultsReproduceLaoshan) {
  const Topology topology = MustGenerate(Options());
  const Census census = ExpectWellFormed(topology);
  ExpectCounts(census, Counts{5, 139, 654, 735});
  EXPECT_EQ(topology.district_id(), "370212");
  EXPECT_EQ(topology.version(), "laoshan-2021");
  EXPECT_EQ(census.by_id.at("370212")->name(), "崂山区");
  EXPECT_EQ(topology.bounds().south_west().lat(), 36.05);
  EXPECT_EQ(topology.bounds().south_west().lng(), 120.43);
  EXPECT_EQ(topology.bounds().north_east().lat(), 36.33);
  EXPECT_EQ(topology.bounds().north_east().lng(), 120.72);

  const std::vector<const Unit*> subdistricts = UnitsAt(topology, grid::v1::LEVEL_SUBDISTRICT);
  ASSERT_EQ(subdistricts.size(), 5u);
  for (size_t i = 0; i < subdistricts.size(); ++i) {
    EXPECT_EQ(subdistricts[i]->id(), "37021200" + std::to_string(i + 1));
    EXPECT_EQ(subdistricts[i]->name(), kRealNames[i]);
  }
  std::map<std::string, int> zones_per_subdistrict;
  for (const Unit* zone : UnitsAt(topology, grid::v1::LEVEL_ZONE)) {
    ++zones_per_subdistrict[zone->parent_id()];
  }
  ASSERT_EQ(zones_per_subdistrict.size(), 5u);
  for (const auto& [subdistrict, zones] : zones_per_subdistrict) {
    EXPECT_GE(zones, 2) << subdistrict;
    EXPECT_LE(zones, 5) << subdistrict;
  }
  std::set<std::string> community_names;
  for (const Unit* community : UnitsAt(topology, grid::v1::LEVEL_COMMUNITY)) {
    EXPECT_TRUE(community_names.insert(community->name()).second) << community->name();
  }
  EXPECT_EQ(census.by_id.at("370212D01")->name(), "城市管理局");
  EXPECT_EQ(census.by_id.at("370212D01")->kind(), grid::v1::UNIT_KIND_DEPARTMENT);
}

TEST(TopogenTest, SameOptionsGiveIdenticalJson) {
  EXPECT_EQ(ToJson(MustGenerate(Options())), ToJson(MustGenerate(Options())));
  Options scaled;
  scaled.grids = 5000;
  scaled.seed = 7;
  EXPECT_EQ(ToJson(MustGenerate(scaled)), ToJson(MustGenerate(scaled)));
}

TEST(TopogenTest, SeedChangesNamesButNotShape) {
  Options other;
  other.seed = kDefaultSeed + 1;
  const Topology reseeded = MustGenerate(other);
  EXPECT_NE(ToJson(reseeded), ToJson(MustGenerate(Options())));
  EXPECT_EQ(reseeded.version(), "laoshan-2021-seed20210926");
  ExpectCounts(ExpectWellFormed(reseeded), Counts{5, 139, 654, 735});
}

TEST(TopogenTest, JsonRoundTrips) {
  const Topology topology = MustGenerate(Options());
  const std::string json = ToJson(topology);
  EXPECT_EQ(json.back(), '\n');
  EXPECT_THAT(json, HasSubstr("\"parent_id\": \"370212001Z01\""));  // proto field names
  EXPECT_THAT(json, HasSubstr("\"LEVEL_COMMUNITY\""));              // enums by name
  Topology parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &parsed).ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(parsed, topology));
}

TEST(TopogenTest, CheckedInLaoshanTopologyMatchesGenerator) {
  const std::string checked_in = ReadSourceFile("deploy/config/laoshan-topology.json");
  // Not EXPECT_EQ: a 250 KB diff helps nobody.
  EXPECT_TRUE(checked_in == ToJson(MustGenerate(Options())))
      << "deploy/config/laoshan-topology.json is stale; regenerate it with "
         "`build/bin/grid-topogen --out deploy/config/laoshan-topology.json` "
         "(or `cmake --build build --target regenerate-laoshan-topology`)";
}

TEST(TopogenTest, GridsFlagScalesWithLaoshanRatios) {
  CLI::App app;
  CommandLine command_line;
  AddFlags(app, command_line);
  app.parse("--grids 20000 --out /tmp/x.json", false);
  EXPECT_EQ(command_line.out_path, "/tmp/x.json");
  EXPECT_FALSE(command_line.options.communities.has_value());

  const absl::StatusOr<Counts> counts = ResolveCounts(command_line.options);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->grids, 20000);
  EXPECT_EQ(counts->communities, 4251);  // 20000 * 139 / 654
  EXPECT_EQ(counts->workers, 22477);     // 20000 * 735 / 654
  EXPECT_EQ(counts->subdistricts, 153);  // 4251 * 5 / 139
  const Topology topology = MustGenerate(command_line.options);
  ExpectCounts(ExpectWellFormed(topology), *counts);
  EXPECT_THAT(topology.version(), HasSubstr("20000g"));

  // The real five keep their names and codes; the others get unique invented names.
  const std::vector<const Unit*> subdistricts = UnitsAt(topology, grid::v1::LEVEL_SUBDISTRICT);
  std::set<std::string> names;
  for (size_t i = 0; i < subdistricts.size(); ++i) {
    if (i < 5) {
      EXPECT_EQ(subdistricts[i]->name(), kRealNames[i]);
    }
    EXPECT_TRUE(names.insert(subdistricts[i]->name()).second) << subdistricts[i]->name();
  }
  EXPECT_EQ(subdistricts.back()->id(), "370212153");
}

TEST(TopogenTest, ExplicitCountsOverrideRatios) {
  CLI::App app;
  CommandLine command_line;
  AddFlags(app, command_line);
  app.parse("--grids 1000 --communities 300 --workers 1500 --subdistricts 3 --seed 42", false);
  const Topology topology = MustGenerate(command_line.options);
  ExpectCounts(ExpectWellFormed(topology), Counts{3, 300, 1000, 1500});
  const std::vector<const Unit*> subdistricts = UnitsAt(topology, grid::v1::LEVEL_SUBDISTRICT);
  ASSERT_EQ(subdistricts.size(), 3u);
  EXPECT_EQ(subdistricts[2]->name(), "王哥庄街道");
}

TEST(TopogenTest, CodeLimitsAreReachable) {
  Options options;  // every code field at its maximum
  options.subdistricts = 999;
  options.communities = 999;
  options.grids = 999;
  options.workers = 999 * 2;
  ExpectCounts(ExpectWellFormed(MustGenerate(options)), Counts{999, 999, 999, 1998});

  Options dense;
  dense.subdistricts = 1;
  dense.communities = 1;
  dense.grids = 99;
  dense.workers = 99 * 99;
  const Topology topology = MustGenerate(dense);
  ExpectCounts(ExpectWellFormed(topology), Counts{1, 1, 99, 9801});
  EXPECT_EQ(topology.workers(9800).id(), "W3702120010019999");
}

struct BadOptionsCase {
  std::string flags;
  std::string message;
};

void PrintTo(const BadOptionsCase& bad, std::ostream* out) { *out << "\"" << bad.flags << "\""; }

// "--grids 1000 --communities 10" -> "grids_1000_communities_10".
std::string CaseName(const ::testing::TestParamInfo<BadOptionsCase>& info) {
  std::string name;
  for (char c : info.param.flags) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      name += c;
    } else if (!name.empty() && name.back() != '_') {
      name += '_';
    }
  }
  return name;
}

class TopogenBadOptionsTest : public ::testing::TestWithParam<BadOptionsCase> {};

TEST_P(TopogenBadOptionsTest, FailsWithClearMessage) {
  CLI::App app;
  CommandLine command_line;
  AddFlags(app, command_line);
  app.parse(GetParam().flags, false);
  const absl::StatusOr<Topology> topology = Generate(command_line.options);
  ASSERT_FALSE(topology.ok()) << GetParam().flags;
  EXPECT_EQ(topology.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(topology.status().message()), HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    Overflows, TopogenBadOptionsTest,
    ::testing::Values(
        // Derived: 200000 grids -> 42508 communities -> 1529 subdistricts.
        BadOptionsCase{"--grids 200000", "overflow the 3-digit township code"},
        BadOptionsCase{"--subdistricts 1000", "overflow the 3-digit township code"},
        BadOptionsCase{"--grids 20000 --communities 5000 --subdistricts 5",
                       "overflowing the 3-digit community code"},
        BadOptionsCase{"--grids 1000 --communities 10", "overflowing the 2-digit grid sequence"},
        BadOptionsCase{"--workers 64747", "overflowing the 2-digit worker sequence"},
        BadOptionsCase{"--grids 0", "--grids must be between 1 and"},
        BadOptionsCase{"--grids 3000000", "--grids must be between 1 and"},
        BadOptionsCase{"--district-id 37021", "6-digit county code"}),
    CaseName);

INSTANTIATE_TEST_SUITE_P(
    Inconsistent, TopogenBadOptionsTest,
    ::testing::Values(
        BadOptionsCase{"--communities 700", "every community needs at least one grid"},
        BadOptionsCase{"--workers 653", "every grid needs a grid worker"},
        BadOptionsCase{"--subdistricts 140", "every subdistrict needs at least one community"},
        BadOptionsCase{"--communities 0", "--communities must be at least 1"},
        BadOptionsCase{"--subdistricts 0", "--subdistricts must be at least 1"}),
    CaseName);

// --- Regions: several districts under a city or a province -------------------------------------

Topology MustGenerateFrom(const std::string& flags) {
  CLI::App app;
  CommandLine command_line;
  AddFlags(app, command_line);
  app.parse(flags, false);
  absl::StatusOr<Topology> topology = GenerateFrom(command_line);
  EXPECT_TRUE(topology.ok()) << flags << ": " << topology.status();
  return topology.ok() ? *std::move(topology) : Topology();
}

TEST(TopogenRegionTest, AProvinceOfCitiesAndDistrictsNestsItsCodesAndSplitsTheCounts) {
  const Topology province =
      MustGenerateFrom("--districts 7 --cities 3 --grids 700 --workers 800 --seed 5");
  EXPECT_EQ(province.root_id(), "370000");
  EXPECT_TRUE(province.district_id().empty());
  std::map<Level, int> levels;
  std::map<std::string, int> grids_per_district;
  std::set<std::string> ids;
  for (const Unit& unit : province.units()) {
    EXPECT_TRUE(ids.insert(unit.id()).second) << "duplicate " << unit.id();
    if (unit.kind() != grid::v1::UNIT_KIND_DEPARTMENT) {
      ++levels[unit.level()];
    }
    if (unit.level() == grid::v1::LEVEL_CITY) {
      EXPECT_EQ(unit.parent_id(), "370000");
      EXPECT_TRUE(IsDigits(unit.id(), 6) && StartsWith(unit.id(), "37") &&
                  unit.id().substr(4) == "00")
          << unit.id();
    }
    if (unit.level() == grid::v1::LEVEL_DISTRICT && unit.kind() != grid::v1::UNIT_KIND_DEPARTMENT) {
      EXPECT_EQ(unit.parent_id().substr(0, 4), unit.id().substr(0, 4)) << "in its city";
      EXPECT_THAT(unit.name(), ::testing::EndsWith("区"));
    }
    if (unit.level() == grid::v1::LEVEL_GRID) {
      ++grids_per_district[unit.id().substr(0, 6)];
    }
  }
  EXPECT_EQ(levels[grid::v1::LEVEL_PROVINCE], 1);
  EXPECT_EQ(levels[grid::v1::LEVEL_CITY], 3);
  EXPECT_EQ(levels[grid::v1::LEVEL_DISTRICT], 7);
  EXPECT_EQ(levels[grid::v1::LEVEL_GRID], 700);
  EXPECT_EQ(province.workers_size(), 800);
  ASSERT_EQ(grids_per_district.size(), 7u);
  for (const auto& [district, grids] : grids_per_district) {
    EXPECT_EQ(grids, 100) << district;
  }
  // Every grid centre lies inside the province's bounds.
  for (const Unit& unit : province.units()) {
    if (unit.level() == grid::v1::LEVEL_GRID) {
      EXPECT_GE(unit.center().lat(), province.bounds().south_west().lat()) << unit.id();
      EXPECT_LE(unit.center().lng(), province.bounds().north_east().lng()) << unit.id();
    }
  }
}

TEST(TopogenRegionTest, OneCityIsTheTopAndGridsDefaultToLaoshansPerDistrict) {
  const Topology city = MustGenerateFrom("--districts 2");
  EXPECT_EQ(city.root_id(), "370200");
  int grids = 0;
  for (const Unit& unit : city.units()) {
    grids += unit.level() == grid::v1::LEVEL_GRID;
    if (unit.id() == "370201" || unit.id() == "370202") {
      EXPECT_EQ(unit.parent_id(), "370200");
    }
  }
  EXPECT_EQ(grids, 2 * kLaoshanGrids);
  EXPECT_EQ(ToJson(city), ToJson(MustGenerateFrom("--districts 2"))) << "deterministic";
}

TEST(TopogenRegionTest, DistrictPoliciesMoveTheDepartmentsOntoEachDistrict) {
  const Topology city = MustGenerateFrom("--districts 3 --grids 90");
  Policy model;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(
                  ReadSourceFile("deploy/config/policy.json"), &model)
                  .ok());
  auto policies = DistrictPolicies(city, model);
  ASSERT_TRUE(policies.ok()) << policies.status();
  ASSERT_EQ(policies->size(), 3u);
  std::set<std::string> departments;
  for (const Unit& unit : city.units()) {
    if (unit.kind() == grid::v1::UNIT_KIND_DEPARTMENT) {
      departments.insert(unit.id());
    }
  }
  for (const Policy& policy : *policies) {
    for (const Rule& rule : policy.rules()) {
      if (!rule.department_id().empty()) {
        EXPECT_TRUE(StartsWith(rule.department_id(), policy.district_id())) << rule.id();
        EXPECT_TRUE(departments.count(rule.department_id())) << rule.department_id();
      }
      for (const std::string& fallback : rule.fallback_department_ids()) {
        EXPECT_TRUE(StartsWith(fallback, policy.district_id())) << rule.id();
      }
    }
  }
  model.mutable_rules(0)->set_department_id("city-management");
  auto bad = DistrictPolicies(city, model);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("\"city-management\""));
}

struct BadRegionCase {
  std::string flags;
  std::string message;
};

void PrintTo(const BadRegionCase& bad, std::ostream* out) { *out << "\"" << bad.flags << "\""; }

class TopogenBadRegionTest : public ::testing::TestWithParam<BadRegionCase> {};

TEST_P(TopogenBadRegionTest, FailsNamingTheFlag) {
  CLI::App app;
  CommandLine command_line;
  AddFlags(app, command_line);
  app.parse(GetParam().flags, false);
  const absl::StatusOr<Topology> topology = GenerateFrom(command_line);
  ASSERT_FALSE(topology.ok()) << GetParam().flags;
  EXPECT_EQ(topology.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(topology.status().message()), HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, TopogenBadRegionTest,
    ::testing::Values(BadRegionCase{"--districts 2 --cities 3", "--districts must be"},
                      BadRegionCase{"--districts 200", "at most 99 a city"},
                      BadRegionCase{"--districts 2 --cities 100", "--cities must be 1 to 99"},
                      BadRegionCase{"--districts 3 --grids 2", "--grids must be at least one"},
                      BadRegionCase{"--districts 2 --root-id 370201", "--root-id must be"},
                      BadRegionCase{"--districts 4 --cities 2 --root-id 370200",
                                    "province code such as 370000"},
                      BadRegionCase{"--districts 2 --communities 9", "--communities: not with"},
                      BadRegionCase{"--districts 2 --district-id 370212", "--district-id: not"}));

// --- deploy/config/policy.json against the generated topology --------------------------------

class PolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string json = ReadSourceFile("deploy/config/policy.json");
    const auto status = google::protobuf::util::JsonStringToMessage(json, &policy_);
    ASSERT_TRUE(status.ok()) << "deploy/config/policy.json: " << status.ToString();
    topology_ = MustGenerate(Options());
    for (const Unit& unit : topology_.units()) {
      if (unit.kind() == grid::v1::UNIT_KIND_DEPARTMENT) {
        departments_[unit.id()] = &unit;
      }
    }
    for (const auto& category : policy_.categories()) {
      codes_.insert(category.code());
    }
  }

  // The departments owning `code`: those listing it or its large class.
  std::vector<std::string> Owners(const std::string& code) const {
    std::vector<std::string> owners;
    for (const auto& [id, department] : departments_) {
      for (const std::string& owned : department->categories()) {
        if (StartsWith(code, owned)) {
          owners.push_back(id);
        }
      }
    }
    return owners;
  }

  const Rule* FindRule(std::string_view prefix, grid::v1::Severity severity) const {
    for (const Rule& rule : policy_.rules()) {
      if (rule.category_prefix() == prefix && rule.sources().empty() &&
          std::find(rule.severities().begin(), rule.severities().end(), severity) !=
              rule.severities().end()) {
        return &rule;
      }
    }
    return nullptr;
  }

  static const grid::v1::LevelLimit* LimitAt(const Rule& rule, Level level) {
    for (const auto& limit : rule.limits()) {
      if (limit.level() == level) {
        return &limit;
      }
    }
    return nullptr;
  }

  Policy policy_;
  Topology topology_;
  std::map<std::string, const Unit*> departments_;
  std::set<std::string> codes_;
};

TEST_F(PolicyTest, CategoriesAreCodedLlss) {
  EXPECT_FALSE(policy_.version().empty());
  EXPECT_EQ(codes_.size(), static_cast<size_t>(policy_.categories_size())) << "duplicate code";
  for (const auto& category : policy_.categories()) {
    const std::string& code = category.code();
    EXPECT_TRUE(IsDigits(code, 2) || IsDigits(code, 4)) << code;
    EXPECT_FALSE(category.name().empty()) << code;
    if (code.size() == 4) {
      EXPECT_TRUE(codes_.count(code.substr(0, 2))) << code << " has no large class";
    }
  }
  for (const char* large : {"01", "02", "03", "04", "05", "06", "07", "08", "09"}) {
    EXPECT_TRUE(codes_.count(large)) << large;
  }
}

TEST_F(PolicyTest, EverySmallClassHasExactlyOneDepartment) {
  for (const auto& [id, department] : departments_) {
    for (const std::string& code : department->categories()) {
      EXPECT_TRUE(codes_.count(code)) << id << " owns unknown category " << code;
    }
  }
  for (const std::string& code : codes_) {
    if (code.size() == 4) {
      EXPECT_EQ(Owners(code).size(), 1u) << code;
    }
  }
}

TEST_F(PolicyTest, RulesNameExistingDepartmentsAndCategories) {
  std::set<std::string> ids;
  for (const Rule& rule : policy_.rules()) {
    SCOPED_TRACE(rule.id());
    EXPECT_TRUE(ids.insert(rule.id()).second) << "duplicate rule id";
    EXPECT_FALSE(rule.description().empty());
    const std::string& prefix = rule.category_prefix();
    EXPECT_TRUE(prefix.empty() || codes_.count(prefix)) << "unknown category " << prefix;
    ASSERT_TRUE(departments_.count(rule.department_id())) << rule.department_id();
    std::set<std::string> fallbacks;
    for (const std::string& fallback : rule.fallback_department_ids()) {
      EXPECT_TRUE(departments_.count(fallback)) << fallback;
      EXPECT_NE(fallback, rule.department_id());
      EXPECT_TRUE(fallbacks.insert(fallback).second) << "repeated fallback " << fallback;
    }
    // The department owns what the rule routes: the prefix, a class containing it, or (for a
    // large-class rule) one of its small classes.
    if (!prefix.empty()) {
      bool owns = false;
      for (const std::string& owned : departments_.at(rule.department_id())->categories()) {
        owns = owns || StartsWith(prefix, owned) || StartsWith(owned, prefix);
      }
      EXPECT_TRUE(owns) << rule.department_id() << " owns nothing under " << prefix;
    }
  }
}

TEST_F(PolicyTest, EveryRuleHasLimitsFromItsStartLevelUp) {
  for (const Rule& rule : policy_.rules()) {
    SCOPED_TRACE(rule.id());
    ASSERT_GE(rule.start_level(), grid::v1::LEVEL_GRID);
    ASSERT_LE(rule.start_level(), grid::v1::LEVEL_DISTRICT);
    EXPECT_NE(rule.time_basis(), grid::v1::TIME_BASIS_UNSPECIFIED);
    ASSERT_EQ(rule.limits_size(), grid::v1::LEVEL_DISTRICT - rule.start_level() + 1);
    for (int i = 0; i < rule.limits_size(); ++i) {
      const auto& limit = rule.limits(i);
      EXPECT_EQ(limit.level(), rule.start_level() + i);
      EXPECT_GT(limit.accept().seconds(), 0);
      EXPECT_GE(limit.resolve().seconds(), limit.accept().seconds());
    }
    for (int level : rule.notify_levels()) {
      EXPECT_GT(level, rule.start_level()) << "notifies a level that already has it";
      EXPECT_LE(level, grid::v1::LEVEL_DISTRICT);
    }
  }
}

// Two rules that can match the same report must not tie: one must be strictly narrower.
TEST_F(PolicyTest, NoTwoRulesTie) {
  auto set_of = [](const auto& repeated) {
    return std::set<int>(repeated.begin(), repeated.end());
  };
  // a within b: every report a matches, b matches too (an empty list matches everything).
  auto within = [](const std::set<int>& a, const std::set<int>& b) {
    return b.empty() || (!a.empty() && std::includes(b.begin(), b.end(), a.begin(), a.end()));
  };
  auto overlap = [](const std::set<int>& a, const std::set<int>& b) {
    if (a.empty() || b.empty()) {
      return true;
    }
    return std::any_of(a.begin(), a.end(), [&b](int x) { return b.count(x) > 0; });
  };
  const auto& rules = policy_.rules();
  for (int i = 0; i < rules.size(); ++i) {
    for (int j = i + 1; j < rules.size(); ++j) {
      const Rule& a = rules[i];
      const Rule& b = rules[j];
      if (a.category_prefix() != b.category_prefix()) {
        continue;
      }
      const auto as = set_of(a.severities()), bs = set_of(b.severities());
      const auto ao = set_of(a.sources()), bo = set_of(b.sources());
      if (!overlap(as, bs) || !overlap(ao, bo)) {
        continue;
      }
      const bool a_in_b = within(as, bs) && within(ao, bo);
      const bool b_in_a = within(bs, as) && within(bo, ao);
      EXPECT_NE(a_in_b, b_in_a) << a.id() << " and " << b.id() << " tie";
    }
  }
}

TEST_F(PolicyTest, CatchAllRoutesEveryCategory) {
  const auto catch_all =
      std::find_if(policy_.rules().begin(), policy_.rules().end(), [](const Rule& rule) {
        return rule.category_prefix().empty() && rule.severities().empty() &&
               rule.sources().empty();
      });
  ASSERT_NE(catch_all, policy_.rules().end());
}

TEST_F(PolicyTest, SeverityDecidesForEmergenciesAndHazards) {
  for (const char* prefix : {"05", "08", "0501", "0502", "0503", "0801", "0804"}) {
    SCOPED_TRACE(prefix);
    const Rule* critical = FindRule(prefix, grid::v1::SEVERITY_CRITICAL);
    const Rule* normal = FindRule(prefix, grid::v1::SEVERITY_NORMAL);
    ASSERT_NE(critical, nullptr);
    ASSERT_NE(normal, nullptr);
    EXPECT_NE(critical, normal);
    EXPECT_EQ(critical->start_level(), grid::v1::LEVEL_SUBDISTRICT);
    EXPECT_THAT(critical->notify_levels(), ::testing::Contains(grid::v1::LEVEL_DISTRICT));
    EXPECT_EQ(critical->time_basis(), grid::v1::TIME_BASIS_WALL_CLOCK);
    EXPECT_LE(critical->limits(0).resolve().seconds(), 2 * 3600);
    EXPECT_LT(normal->start_level(), grid::v1::LEVEL_SUBDISTRICT);
  }
}

TEST_F(PolicyTest, DomainTimeLimits) {
  constexpr int64_t kWorkingHour = 3600;
  constexpr int64_t kWorkingDay = 7 * kWorkingHour + kWorkingHour / 2;  // 08:30-12:00, 13:30-17:30
  struct Expectation {
    const char* prefix;
    Level start;
    int64_t resolve;
  };
  for (const Expectation& expected : {
           Expectation{"0102", grid::v1::LEVEL_GRID, 4 * kWorkingHour},       // exposed rubbish
           Expectation{"0104", grid::v1::LEVEL_GRID, 2 * kWorkingHour},       // road cleaning
           Expectation{"0106", grid::v1::LEVEL_COMMUNITY, 4 * kWorkingHour},  // standing water
           Expectation{"0101", grid::v1::LEVEL_COMMUNITY, 4 * kWorkingHour},  // stop work
           Expectation{"0107", grid::v1::LEVEL_COMMUNITY, 5 * kWorkingDay},   // greenery
       }) {
    SCOPED_TRACE(expected.prefix);
    const auto rule =
        std::find_if(policy_.rules().begin(), policy_.rules().end(), [&](const Rule& r) {
          return r.category_prefix() == expected.prefix && r.severities().empty();
        });
    ASSERT_NE(rule, policy_.rules().end());
    EXPECT_EQ(rule->start_level(), expected.start);
    EXPECT_EQ(rule->time_basis(), grid::v1::TIME_BASIS_WORKING_TIME);
    EXPECT_EQ(LimitAt(*rule, expected.start)->resolve().seconds(), expected.resolve);
  }
  // Demolition of an illegal structure at district level: 20 working days.
  const Rule* illegal = nullptr;
  for (const Rule& rule : policy_.rules()) {
    if (rule.category_prefix() == "0101") {
      illegal = &rule;
    }
  }
  ASSERT_NE(illegal, nullptr);
  EXPECT_EQ(LimitAt(*illegal, grid::v1::LEVEL_DISTRICT)->resolve().seconds(), 20 * kWorkingDay);
  // Disputes are mediated in the community first (矛盾不上交).
  for (const Rule& rule : policy_.rules()) {
    if (StartsWith(rule.category_prefix(), "07")) {
      EXPECT_EQ(rule.start_level(), grid::v1::LEVEL_COMMUNITY) << rule.id();
    }
  }
}

TEST_F(PolicyTest, CalendarAndDuplicates) {
  const auto& calendar = policy_.calendar();
  EXPECT_EQ(calendar.utc_offset_minutes(), 480);
  EXPECT_THAT(calendar.working_weekdays(), ::testing::ElementsAre(1, 2, 3, 4, 5));
  ASSERT_EQ(calendar.hours_size(), 2);
  EXPECT_EQ(calendar.hours(0).start_minute(), 8 * 60 + 30);
  EXPECT_EQ(calendar.hours(0).end_minute(), 12 * 60);
  EXPECT_EQ(calendar.hours(1).start_minute(), 13 * 60 + 30);
  EXPECT_EQ(calendar.hours(1).end_minute(), 17 * 60 + 30);

  auto parse = [](const std::string& text) -> std::chrono::year_month_day {
    EXPECT_TRUE(text.size() == 10 && text[4] == '-' && text[7] == '-') << text;
    const std::chrono::year_month_day date{std::chrono::year(std::stoi(text.substr(0, 4))),
                                           std::chrono::month(std::stoi(text.substr(5, 2))),
                                           std::chrono::day(std::stoi(text.substr(8, 2)))};
    EXPECT_TRUE(date.ok()) << text;
    return date;
  };
  std::set<std::string> holidays(calendar.holidays().begin(), calendar.holidays().end());
  EXPECT_EQ(holidays.size(), static_cast<size_t>(calendar.holidays_size())) << "repeated date";
  for (const char* day :
       {"2026-01-01", "2026-02-17", "2026-04-05", "2026-05-01", "2026-06-19", "2026-09-25",
        "2026-10-01", "2027-01-01", "2027-02-06", "2027-05-01", "2027-10-01"}) {
    EXPECT_TRUE(holidays.count(day)) << day;
  }
  for (const std::string& day : holidays) {
    parse(day);
  }
  for (const std::string& day : calendar.extra_working_days()) {
    const std::chrono::weekday weekday{std::chrono::sys_days(parse(day))};
    EXPECT_TRUE(weekday == std::chrono::Saturday || weekday == std::chrono::Sunday) << day;
    EXPECT_FALSE(holidays.count(day)) << day;
  }

  EXPECT_TRUE(policy_.duplicates().enabled());
  EXPECT_EQ(policy_.duplicates().radius_meters(), 100);
  EXPECT_EQ(policy_.duplicates().window().seconds(), 1800);
  EXPECT_EQ(policy_.reminder_interval().seconds(), 86400);
}

}  // namespace
}  // namespace grid::topogen
