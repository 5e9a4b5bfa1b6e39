// Several districts in one deployment, on real processes: a city of two generated districts
// (tests/support/region_config.h), each with its own policy (the quick test policy moved onto
// its departments: every accept limit 2 s, so events climb by themselves). Reports of each
// district are filed, dispatched and escalated inside their own district, up to their own
// departments; a district's operator sees nothing of the other district (calls, lists, watch);
// the city's operator sees both, and GetStats and GetTopology count the city by district.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/config/json_file.h"
#include "common/redis/slot.h"
#include "common/store/keys.h"
#include "tests/support/paths.h"
#include "tests/support/poll.h"
#include "tests/support/region_config.h"
#include "tests/support/stack.h"
#include "tests/support/stack_test.h"

namespace grid {
namespace {

using ::testing::Contains;
using ::testing::Not;
using testing::PollUntil;
using testing::Stack;

constexpr std::chrono::seconds kDeadline{40};
constexpr char kCity[] = "370200";
constexpr char kA[] = "370201";
constexpr char kB[] = "370202";
constexpr char kTeaGardens[] = "9901";

// One WatchEvents call as `actor`, read on a thread of its own until cancelled.
class Watch {
 public:
  Watch(Stack& stack, const v1::Actor& actor) {
    stack.Authorize(context_, actor);
    thread_ = std::thread([this, &stack] {
      auto reader = stack.gateway().WatchEvents(&context_, v1::WatchEventsRequest());
      v1::WatchEventsResponse response;
      while (reader->Read(&response)) {
        std::lock_guard lock(mu_);
        ++messages_;
        if (response.has_change()) {
          events_.push_back(response.change().event_id());
        }
      }
      reader->Finish();
      std::lock_guard lock(mu_);
      done_ = true;
    });
  }
  ~Watch() {
    context_.TryCancel();
    thread_.join();
  }
  bool WaitAttached() {
    return PollUntil(
        [this] {
          std::lock_guard lock(mu_);
          return messages_ > 0 || done_;
        },
        kDeadline);
  }
  // The ids of the events whose changes arrived, once per change.
  std::vector<std::string> Events() const {
    std::lock_guard lock(mu_);
    return events_;
  }

 private:
  grpc::ClientContext context_;
  mutable std::mutex mu_;
  int messages_ = 0;
  std::vector<std::string> events_;
  bool done_ = false;
  std::thread thread_;
};

class DistrictsTest : public testing::StackTest {
 protected:
#ifndef GRID_DISTRICTS_ON_A_CLUSTER
  // One Redis, two small districts (one subdistrict each) with the quick policy.
  void SetUp() override { StartRegion("tests/integration/testdata/policy-quick.json", 80, 0); }
#else
  // Three masters, two districts of Laoshan's size (ten subdistricts) with the shipped policy.
  void SetUp() override { StartRegion("deploy/config/policy.json", 2 * 654, 3); }
#endif

  void StartRegion(const std::string& model_path, int grids, int masters) {
    v1::Policy model;
    ASSERT_TRUE(config::LoadJsonFile(testing::SourcePath(model_path), model).ok());
    auto region = testing::MakeTwoDistrictCity(model, grids);
    ASSERT_TRUE(region.ok()) << region.status();
    region_ = *std::move(region);
    // A category of district B's own (its tea gardens), unknown to district A.
    v1::Category* tea = region_.district_policies[1].add_categories();
    tea->set_code(kTeaGardens);
    tea->set_name("茶园巡查");
    dir_ =
        std::filesystem::temp_directory_path() / ("grid-districts-" + std::to_string(::getpid()));
    auto topology = testing::WriteRegion(region_, dir_.string());
    ASSERT_TRUE(topology.ok()) << topology.status();
    Stack::Options options;
    options.topology = *topology;
    options.policy = "";  // Every district has its own.
    options.api_client_unit = kCity;
    options.redis_cluster = masters;
    for (const std::string& name : Stack::ServiceNames()) {
      options.extra_args[name] = {"--district-policy", (dir_ / "policies").string()};
    }
    options.extra_args["grid-gateway"].insert(options.extra_args["grid-gateway"].end(),
                                              {"--watch-heartbeat-seconds", "1"});
    reader_ = admin_;
    StartStack(options);
  }
  void TearDown() override {
    StackTest::TearDown();
    std::filesystem::remove_all(dir_);
  }

  const topology::Topology& topo() const { return *region_.topology; }

  std::string FirstGridOf(const std::string& district) const {
    for (const v1::Unit& unit : topo().data().units()) {
      if (unit.level() == v1::LEVEL_GRID && topo().InSubtree(unit.id(), district)) {
        return unit.id();
      }
    }
    return "";
  }

  // A report (noise, 0408, routed to the grid first), unlocated, filed by the city's admin.
  grpc::Status TryReport(const std::string& grid, const std::string& category,
                         std::string* event_id) {
    v1::ReportEventRequest request;
    v1::Report& report = *request.mutable_report();
    report.set_grid_id(grid);
    report.set_category(category);
    report.set_severity(v1::SEVERITY_NORMAL);
    report.set_description("夜间施工噪音");
    v1::ReportEventResponse response;
    const grpc::Status status = gateway().ReportEvent(Context(admin_).get(), request, &response);
    *event_id = response.event_id();
    return status;
  }
  std::string Report(const std::string& grid) {
    std::string id;
    const grpc::Status status = TryReport(grid, "0408", &id);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return id;
  }

  std::vector<std::string> CategoriesOf(const v1::Actor& actor) {
    v1::ListCategoriesResponse response;
    const grpc::Status status =
        gateway().ListCategories(Context(actor).get(), v1::ListCategoriesRequest(), &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::vector<std::string> codes;
    for (const v1::Category& category : response.categories()) {
      codes.push_back(category.code());
    }
    return codes;
  }

  std::vector<std::string> ListedIds(const v1::Actor& actor) {
    v1::ListEventsRequest request;  // No unit: the caller's home unit.
    request.set_page_size(500);
    v1::ListEventsResponse response;
    const grpc::Status status = gateway().ListEvents(Context(actor).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::vector<std::string> ids;
    for (const v1::Event& event : response.events()) {
      ids.push_back(event.id());
    }
    return ids;
  }

  v1::Event GetAs(const v1::Actor& actor, const std::string& id, grpc::Status* status) {
    v1::GetEventRequest request;
    request.set_event_id(id);
    v1::GetEventResponse response;
    *status = gateway().GetEvent(Context(actor).get(), request, &response);
    return response.event();
  }

  testing::Region region_;
  std::filesystem::path dir_;
  const v1::Actor admin_ = MakeActor(v1::ROLE_ADMIN, "city-admin", kCity);
};

#ifndef GRID_DISTRICTS_ON_A_CLUSTER
TEST_F(DistrictsTest, EachDistrictHandlesItsOwnAndTheCitySeesBoth) {
  const v1::Actor city = MakeActor(v1::ROLE_OPERATOR, "op-city", kCity);
  const v1::Actor op_a = MakeActor(v1::ROLE_OPERATOR, "op-a", kA);
  const v1::Actor op_b = MakeActor(v1::ROLE_OPERATOR, "op-b", kB);
  Watch city_watch(*stack_, city);
  Watch a_watch(*stack_, op_a);
  ASSERT_TRUE(city_watch.WaitAttached());
  ASSERT_TRUE(a_watch.WaitAttached());

  const std::string in_a = Report(FirstGridOf(kA));
  const std::string in_b = Report(FirstGridOf(kB));
  ASSERT_FALSE(in_a.empty());
  ASSERT_FALSE(in_b.empty());
  EXPECT_EQ(in_b.substr(0, 6), kB) << "ids start with the subdistrict code";

  // Unanswered, both climb to a department of their own district and stay there, overdue.
  const auto overdue = [](const v1::Event& e) {
    return e.level() == v1::LEVEL_DISTRICT && e.overdue();
  };
  const v1::Event top_a = AwaitWhere(in_a, overdue, kDeadline);
  const v1::Event top_b = AwaitWhere(in_b, overdue, kDeadline);
  ASSERT_NE(topo().DistrictOf(top_a.unit_id()), nullptr) << top_a.unit_id();
  ASSERT_NE(topo().DistrictOf(top_b.unit_id()), nullptr) << top_b.unit_id();
  EXPECT_EQ(topo().DistrictOf(top_a.unit_id())->id(), kA) << top_a.unit_id();
  EXPECT_EQ(topo().DistrictOf(top_b.unit_id())->id(), kB) << top_b.unit_id();
  EXPECT_EQ(top_a.unit_id().substr(6), top_b.unit_id().substr(6))
      << "the same department of each district (the same policy, moved)";

  // A district's operator: its own event, never the other's.
  grpc::Status status;
  GetAs(op_a, in_a, &status);
  EXPECT_TRUE(status.ok()) << status.error_message();
  GetAs(op_a, in_b, &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(ListedIds(op_a), Contains(in_a));
  EXPECT_THAT(ListedIds(op_a), Not(Contains(in_b)));
  EXPECT_THAT(ListedIds(op_b), Contains(in_b));
  EXPECT_THAT(ListedIds(op_b), Not(Contains(in_a)));
  // The other district's department: not its event either.
  const v1::Actor department_a = MakeActor(v1::ROLE_OPERATOR, "op-dept-a", top_a.unit_id());
  GetAs(department_a, in_b, &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);

  // The city: both, in calls, lists and its watch.
  GetAs(city, in_b, &status);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(ListedIds(city), ::testing::IsSupersetOf({in_a, in_b}));
  EXPECT_TRUE(PollUntil(
      [&] {
        const auto seen = city_watch.Events();
        return std::count(seen.begin(), seen.end(), in_a) >= 6 &&
               std::count(seen.begin(), seen.end(), in_b) >= 6;
      },
      kDeadline))
      << "report, dispatch and four escalations of each";
  EXPECT_THAT(a_watch.Events(), Contains(in_a));
  EXPECT_THAT(a_watch.Events(), Not(Contains(in_b)));

  // GetStats from the city, by unit (its children: the districts) and by district: one row per
  // district, each counting its own report.
  v1::GetStatsRequest stats;
  v1::GetStatsResponse figures;
  const auto districts_counted = [&](v1::StatsDimension dimension, const std::string& key) {
    stats.clear_group_by();
    stats.add_group_by(dimension);
    figures.Clear();
    if (!gateway().GetStats(Context(city).get(), stats, &figures).ok()) {
      return false;
    }
    int districts = 0;
    for (const v1::StatsRow& row : figures.rows()) {
      const auto value = row.group().find(key);
      districts += value != row.group().end() && (value->second == kA || value->second == kB) &&
                   row.reported() >= 1;
    }
    return districts == 2;
  };
  EXPECT_TRUE(
      PollUntil([&] { return districts_counted(v1::STATS_DIMENSION_UNIT, "unit"); }, kDeadline))
      << figures.ShortDebugString();
  EXPECT_TRUE(districts_counted(v1::STATS_DIMENSION_DISTRICT, "district"))
      << figures.ShortDebugString();
  // A district's operator asking for the city: refused.
  stats.set_unit_id(kCity);
  EXPECT_EQ(gateway().GetStats(Context(op_a).get(), stats, &figures).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  // The topology of the city counts its two districts and itself.
  v1::GetTopologyRequest topology;
  v1::GetTopologyResponse tree;
  ASSERT_TRUE(gateway().GetTopology(Context(city).get(), topology, &tree).ok());
  bool counted = false;
  for (const v1::LevelCount& count : tree.level_counts()) {
    if (count.level() == v1::LEVEL_DISTRICT) {
      EXPECT_EQ(count.units(), 2);
      counted = true;
    }
  }
  EXPECT_TRUE(counted) << tree.ShortDebugString();
}

// Each district's policy has its own categories: the catalogue a caller gets is their district's,
// and a report is checked against its grid's district.
TEST_F(DistrictsTest, EachDistrictKeepsItsOwnCategories) {
  const v1::Actor op_a = MakeActor(v1::ROLE_OPERATOR, "op-a", kA);
  const v1::Actor op_b = MakeActor(v1::ROLE_OPERATOR, "op-b", kB);
  EXPECT_THAT(CategoriesOf(op_b), Contains(kTeaGardens));
  EXPECT_THAT(CategoriesOf(op_a), Not(Contains(kTeaGardens)));
  EXPECT_THAT(CategoriesOf(op_a), Contains("0408"));

  std::string id;
  const grpc::Status in_b = TryReport(FirstGridOf(kB), kTeaGardens, &id);
  ASSERT_TRUE(in_b.ok()) << in_b.error_message();
  AwaitWhere(
      id, [](const v1::Event& e) { return e.state() == v1::EVENT_STATE_DISPATCHED; }, kDeadline);
  const grpc::Status in_a = TryReport(FirstGridOf(kA), kTeaGardens, &id);
  EXPECT_EQ(in_a.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(in_a.error_message(), ::testing::HasSubstr("category: unknown category \"9901\""));
}
#else
// Several districts share a Redis Cluster as they share one Redis: every subdistrict's reports
// are filed and dispatched inside their district, with every master holding a subdistrict that
// has live traffic; the city sees them all, a district its own.
TEST_F(DistrictsTest, BothDistrictsRunOnAClusterWithTrafficOnEveryMaster) {
  std::map<std::string, std::string> grids;  // subdistrict -> its first grid
  for (const v1::Unit& unit : topo().data().units()) {
    if (unit.level() == v1::LEVEL_GRID) {
      grids.emplace(std::string(topo().SubdistrictOf(unit.id())), unit.id());
    }
  }
  ASSERT_EQ(grids.size(), 10u);
  std::set<int> masters;
  for (const auto& [sd, grid] : grids) {
    auto master = stack_->cluster()->MasterOf(redis::KeySlot(store::LiveStream(sd)));
    ASSERT_TRUE(master.ok()) << master.status();
    masters.insert(*master);
  }
  EXPECT_EQ(masters.size(), 3u) << "every master holds a subdistrict with traffic";

  const v1::Actor city = MakeActor(v1::ROLE_OPERATOR, "op-city", kCity);
  const v1::Actor op_a = MakeActor(v1::ROLE_OPERATOR, "op-a", kA);
  std::map<std::string, std::string> district_of;  // event id -> district
  for (const auto& [sd, grid] : grids) {
    std::string id;
    const grpc::Status status = TryReport(grid, "0102", &id);
    ASSERT_TRUE(status.ok()) << sd << ": " << status.error_message();
    district_of[id] = topo().DistrictOf(sd)->id();
  }
  for (const auto& [id, district] : district_of) {
    const v1::Event event = AwaitWhere(
        id, [](const v1::Event& e) { return e.state() == v1::EVENT_STATE_DISPATCHED; }, kDeadline);
    ASSERT_NE(topo().DistrictOf(event.unit_id()), nullptr) << event.ShortDebugString();
    EXPECT_EQ(topo().DistrictOf(event.unit_id())->id(), district) << event.ShortDebugString();
  }
  const std::vector<std::string> all = ListedIds(city);
  const std::vector<std::string> mine = ListedIds(op_a);
  for (const auto& [id, district] : district_of) {
    EXPECT_THAT(all, Contains(id));
    if (district == kA) {
      EXPECT_THAT(mine, Contains(id));
    } else {
      EXPECT_THAT(mine, Not(Contains(id)));
    }
  }
}
#endif

}  // namespace
}  // namespace grid
