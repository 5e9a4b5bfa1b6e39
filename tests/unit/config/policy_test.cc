#include "common/policy/policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/config/json_file.h"
#include "tests/support/paths.h"

namespace grid::policy {
namespace {

using ::grid::testing::SourcePath;
using ::testing::HasSubstr;

topology::TopologyPtr SmallTopology() {
  v1::Topology t;
  EXPECT_TRUE(config::ParseJson(R"({
    "district_id": "1",
    "units": [
      {"id": "1", "level": "LEVEL_DISTRICT"},
      {"id": "1D01", "level": "LEVEL_DISTRICT", "parent_id": "1", "kind": "UNIT_KIND_DEPARTMENT"},
      {"id": "1D02", "level": "LEVEL_DISTRICT", "parent_id": "1", "kind": "UNIT_KIND_DEPARTMENT"},
      {"id": "1001", "level": "LEVEL_SUBDISTRICT", "parent_id": "1"},
      {"id": "1001Z1", "level": "LEVEL_ZONE", "parent_id": "1001"},
      {"id": "1001001", "level": "LEVEL_COMMUNITY", "parent_id": "1001Z1"},
      {"id": "100100101", "level": "LEVEL_GRID", "parent_id": "1001001"}
    ]
  })",
                                "small", t)
                  .ok());
  return *topology::Topology::Build(t);
}

constexpr const char* kLimitsFromGrid = R"([
  {"level": "LEVEL_GRID", "accept": "600s", "resolve": "3600s"},
  {"level": "LEVEL_COMMUNITY", "accept": "600s", "resolve": "3600s"},
  {"level": "LEVEL_ZONE", "accept": "600s", "resolve": "3600s"},
  {"level": "LEVEL_SUBDISTRICT", "accept": "600s", "resolve": "3600s"},
  {"level": "LEVEL_DISTRICT", "accept": "600s", "resolve": "3600s"}])";

v1::Policy SmallPolicy() {
  const std::string json = std::string(R"({
    "categories": [{"code": "01"}, {"code": "0102"}, {"code": "05"}, {"code": "0501"}],
    "rules": [
      {"id": "catch-all", "category_prefix": "", "start_level": "LEVEL_GRID", "limits": )") +
                           kLimitsFromGrid + R"(},
      {"id": "city", "category_prefix": "01", "start_level": "LEVEL_GRID",
       "department_id": "1D01", "limits": )" +
                           kLimitsFromGrid + R"(},
      {"id": "rubbish", "category_prefix": "0102", "start_level": "LEVEL_COMMUNITY",
       "department_id": "1D01", "limits": )" +
                           kLimitsFromGrid + R"(},
      {"id": "fire-critical", "category_prefix": "05", "severities": ["SEVERITY_CRITICAL"],
       "start_level": "LEVEL_SUBDISTRICT", "department_id": "1D02", "limits": )" +
                           kLimitsFromGrid + R"(},
      {"id": "fire-hotline", "category_prefix": "05", "sources": ["SOURCE_HOTLINE"],
       "start_level": "LEVEL_ZONE", "department_id": "1D02", "limits": )" +
                           kLimitsFromGrid + R"(}
    ]
  })";
  v1::Policy policy;
  EXPECT_TRUE(config::ParseJson(json, "small", policy).ok());
  return policy;
}

TEST(PolicyMatchTest, MostSpecificRuleWins) {
  auto topology = SmallTopology();
  auto built = Policy::Build(SmallPolicy(), *topology);
  ASSERT_TRUE(built.ok()) << built.status();
  const Policy& policy = **built;
  const auto rule = [&](const char* category, v1::Severity severity, v1::Source source) {
    const v1::Rule* r = policy.Match(category, severity, source);
    return r == nullptr ? std::string("none") : r->id();
  };
  EXPECT_EQ(rule("0102", v1::SEVERITY_NORMAL, v1::SOURCE_GRID_WORKER), "rubbish");
  EXPECT_EQ(rule("0103", v1::SEVERITY_NORMAL, v1::SOURCE_GRID_WORKER), "city");
  EXPECT_EQ(rule("0501", v1::SEVERITY_CRITICAL, v1::SOURCE_GRID_WORKER), "fire-critical");
  EXPECT_EQ(rule("0501", v1::SEVERITY_CRITICAL, v1::SOURCE_HOTLINE), "fire-critical")
      << "an explicit severity outranks an explicit source";
  EXPECT_EQ(rule("0501", v1::SEVERITY_NORMAL, v1::SOURCE_HOTLINE), "fire-hotline");
  EXPECT_EQ(rule("0501", v1::SEVERITY_NORMAL, v1::SOURCE_GRID_WORKER), "catch-all");
  EXPECT_EQ(rule("0901", v1::SEVERITY_LOW, v1::SOURCE_GRID_WORKER), "catch-all");
}

TEST(PolicyMatchTest, ResponsibleUnitIsAncestorOrDepartment) {
  auto topology = SmallTopology();
  auto policy = *Policy::Build(SmallPolicy(), *topology);
  const v1::Rule& city = *policy->FindRule("city");
  const v1::Rule& catch_all = *policy->FindRule("catch-all");
  EXPECT_EQ(ResponsibleUnit(*topology, city, "100100101", v1::LEVEL_GRID)->id(), "100100101");
  EXPECT_EQ(ResponsibleUnit(*topology, city, "100100101", v1::LEVEL_ZONE)->id(), "1001Z1");
  EXPECT_EQ(ResponsibleUnit(*topology, city, "100100101", v1::LEVEL_DISTRICT)->id(), "1D01");
  EXPECT_EQ(ResponsibleUnit(*topology, catch_all, "100100101", v1::LEVEL_DISTRICT)->id(), "1");
  EXPECT_EQ(ResponsibleUnit(*topology, city, "999", v1::LEVEL_GRID), nullptr);
}

struct BadCase {
  std::string name;
  std::function<void(v1::Policy&)> spoil;
  std::string message;
};

void PrintTo(const BadCase& bad, std::ostream* out) { *out << bad.name; }

class BadPolicyTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadPolicyTest, FailsNamingTheField) {
  auto topology = SmallTopology();
  v1::Policy data = SmallPolicy();
  GetParam().spoil(data);
  auto built = Policy::Build(data, *topology);
  ASSERT_FALSE(built.ok());
  EXPECT_EQ(built.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(built.status().message()), HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadPolicyTest,
    ::testing::Values(
        BadCase{"UnknownDepartment",
                [](v1::Policy& p) { p.mutable_rules(1)->set_department_id("1D99"); },
                "rules[1].department_id: unknown department \"1D99\""},
        BadCase{"AreaIsNotADepartment",
                [](v1::Policy& p) { p.mutable_rules(1)->set_department_id("1001"); },
                "rules[1].department_id: unknown department \"1001\""},
        BadCase{"UnknownFallback",
                [](v1::Policy& p) { p.mutable_rules(2)->add_fallback_department_ids("x"); },
                "rules[2].fallback_department_ids[0]: unknown department \"x\""},
        BadCase{"UnknownCategory",
                [](v1::Policy& p) { p.mutable_rules(2)->set_category_prefix("0199"); },
                "rules[2].category_prefix: unknown category \"0199\""},
        BadCase{"MissingLimitAboveStart",
                [](v1::Policy& p) { p.mutable_rules(3)->mutable_limits()->RemoveLast(); },
                "rules[3].limits: no limit for LEVEL_DISTRICT"},
        BadCase{"ResolveShorterThanAccept",
                [](v1::Policy& p) {
                  p.mutable_rules(0)->mutable_limits(2)->mutable_resolve()->set_seconds(60);
                },
                "rules[0].limits[2].resolve: must not be shorter than accept"},
        BadCase{"ZeroAccept",
                [](v1::Policy& p) {
                  p.mutable_rules(0)->mutable_limits(0)->mutable_accept()->set_seconds(0);
                },
                "rules[0].limits[0].accept: must be positive"},
        BadCase{"DuplicateRule", [](v1::Policy& p) { p.mutable_rules(4)->set_id("city"); },
                "rules[4].id: duplicate rule \"city\""},
        BadCase{"MissingStartLevel", [](v1::Policy& p) { p.mutable_rules(1)->clear_start_level(); },
                "rules[1].start_level: required"},
        BadCase{"BadCategoryCode", [](v1::Policy& p) { p.mutable_categories(0)->set_code("1x"); },
                "categories[0].code: \"1x\""},
        BadCase{"BadHoliday", [](v1::Policy& p) { p.mutable_calendar()->add_holidays("2026-13"); },
                "calendar.holidays[0]"},
        BadCase{"BadWeekday", [](v1::Policy& p) { p.mutable_calendar()->add_working_weekdays(8); },
                "calendar.working_weekdays[0]"},
        BadCase{"NoRules", [](v1::Policy& p) { p.clear_rules(); }, "rules: at least one"},
        BadCase{"ZeroOfflineWindow",
                [](v1::Policy& p) { p.mutable_offline_window()->set_seconds(0); },
                "offline_window: must be positive"}),
    [](const auto& info) { return info.param.name; });

TEST(PolicyOfflineWindowTest, DefaultsToAWeekAndIsConfigurable) {
  auto topology = SmallTopology();
  v1::Policy data = SmallPolicy();
  auto built = Policy::Build(data, *topology);
  ASSERT_TRUE(built.ok()) << built.status();
  EXPECT_EQ((*built)->OfflineWindow(), 7LL * 24 * 3600 * 1000);
  data.mutable_offline_window()->set_seconds(36 * 3600);
  built = Policy::Build(data, *topology);
  ASSERT_TRUE(built.ok()) << built.status();
  EXPECT_EQ((*built)->OfflineWindow(), 36LL * 3600 * 1000);
}

TEST(ShippedPolicyTest, LoadsAgainstTheLaoshanTopologyAndRoutesEveryCategory) {
  auto topology = topology::Topology::Load(SourcePath("deploy/config/laoshan-topology.json"));
  ASSERT_TRUE(topology.ok()) << topology.status();
  auto policy = Policy::Load(SourcePath("deploy/config/policy.json"), **topology);
  ASSERT_TRUE(policy.ok()) << policy.status();
  for (const v1::Category& category : (*policy)->data().categories()) {
    for (int severity = v1::SEVERITY_LOW; severity <= v1::SEVERITY_CRITICAL; ++severity) {
      EXPECT_NE((*policy)->Match(category.code(), static_cast<v1::Severity>(severity),
                                 v1::SOURCE_GRID_WORKER),
                nullptr)
          << category.code();
    }
  }
}

TEST(ShippedPolicyTest, TheFastPolicyIsTheRealOneWithShortWallClockLimits) {
  auto topology = topology::Topology::Load(SourcePath("deploy/config/laoshan-topology.json"));
  ASSERT_TRUE(topology.ok());
  auto real = Policy::Load(SourcePath("deploy/config/policy.json"), **topology);
  auto fast = Policy::Load(SourcePath("deploy/config/policy-fast.json"), **topology);
  ASSERT_TRUE(real.ok()) << real.status();
  ASSERT_TRUE(fast.ok()) << fast.status() << " (regenerate it with tools/fast-policy)";
  ASSERT_EQ((*fast)->data().rules_size(), (*real)->data().rules_size());
  for (int i = 0; i < (*real)->data().rules_size(); ++i) {
    const v1::Rule& r = (*real)->data().rules(i);
    const v1::Rule& f = (*fast)->data().rules(i);
    EXPECT_EQ(f.id(), r.id());
    EXPECT_EQ(f.category_prefix(), r.category_prefix());
    EXPECT_EQ(f.start_level(), r.start_level());
    EXPECT_EQ(f.department_id(), r.department_id());
    EXPECT_EQ(f.time_basis(), v1::TIME_BASIS_WALL_CLOCK);
    for (const v1::LevelLimit& limit : f.limits()) {
      EXPECT_LE(limit.accept().seconds(), 10) << f.id();
      EXPECT_LE(limit.resolve().seconds(), 20) << f.id();
    }
  }
  EXPECT_LE((*fast)->data().reminder_interval().seconds(), 10);
}

TEST(ShippedPolicyTest, BadFileFailsNamingFileAndField) {
  auto topology = topology::Topology::Load(SourcePath("deploy/config/laoshan-topology.json"));
  ASSERT_TRUE(topology.ok());
  auto policy = Policy::Load(SourcePath("tests/unit/config/testdata/bad-policy.json"), **topology);
  ASSERT_FALSE(policy.ok());
  EXPECT_THAT(std::string(policy.status().message()), HasSubstr("bad-policy.json"));
  EXPECT_THAT(std::string(policy.status().message()), HasSubstr("rules[0].department_id"));
}

}  // namespace
}  // namespace grid::policy
