#include "tools/loadgen/workload.h"

#include <gtest/gtest.h>

#include <set>

#include "common/store/timers.h"
#include "tests/support/paths.h"

namespace grid::loadgen {
namespace {

class WorkloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto topology =
        topology::Topology::Load(testing::SourcePath("deploy/config/laoshan-topology.json"));
    ASSERT_TRUE(topology.ok()) << topology.status();
    topology_ = *topology;
    auto policy =
        policy::Policy::Load(testing::SourcePath("deploy/config/policy.json"), *topology_);
    ASSERT_TRUE(policy.ok()) << policy.status();
    policy_ = *policy;
  }

  topology::TopologyPtr topology_;
  policy::PolicyPtr policy_;
};

TEST_F(WorkloadTest, EveryGridOfLaoshan) {
  const std::vector<std::string> grids = GridIds(*topology_);
  EXPECT_EQ(grids.size(), 654u);
  EXPECT_EQ(std::set<std::string>(grids.begin(), grids.end()).size(), grids.size());
}

TEST_F(WorkloadTest, OneSmallClassPerLargeClass) {
  const std::vector<std::string> categories = SpreadCategories(*policy_);
  ASSERT_GE(categories.size(), 5u);
  std::set<std::string> large;
  for (const std::string& code : categories) {
    EXPECT_EQ(code.size(), 4u);
    EXPECT_NE(policy_->FindCategory(code), nullptr) << code;
    large.insert(code.substr(0, 2));
  }
  EXPECT_EQ(large.size(), categories.size());
}

TEST_F(WorkloadTest, DispatchReportsSpreadOverGridsAndCategories) {
  const std::vector<std::string> grids = GridIds(*topology_);
  const std::vector<std::string> categories = SpreadCategories(*policy_);
  const v1::ReportEventRequest first = DispatchReport(0, grids, categories, "run", "370212");
  const v1::ReportEventRequest next = DispatchReport(1, grids, categories, "run", "370212");
  EXPECT_EQ(first.report().grid_id(), grids[0]);
  EXPECT_EQ(next.report().grid_id(), grids[1]);
  EXPECT_NE(first.report().category(), next.report().category());
  EXPECT_NE(first.report().client_request_id(), next.report().client_request_id());
  EXPECT_FALSE(first.report().has_location());
  EXPECT_EQ(first.actor().role(), v1::ROLE_OPERATOR);
  EXPECT_EQ(first.actor().unit_id(), "370212");
}

TEST_F(WorkloadTest, WorkerReportsAreTheWorkersOwnInTheirGrid) {
  const std::vector<std::string> categories = SpreadCategories(*policy_);
  ASSERT_FALSE(topology_->data().workers().empty());
  const v1::Worker& worker = topology_->data().workers(0);
  const v1::ReportEventRequest first = WorkerReport(0, worker, categories, "run");
  const v1::ReportEventRequest next = WorkerReport(1, worker, categories, "run");
  EXPECT_EQ(first.report().grid_id(), worker.grid_id());
  EXPECT_EQ(first.actor().subject(), worker.id());
  EXPECT_EQ(first.actor().role(), v1::ROLE_WORKER);
  EXPECT_EQ(first.actor().unit_id(), worker.grid_id());
  EXPECT_EQ(first.report().source(), v1::SOURCE_GRID_WORKER);
  EXPECT_NE(first.report().category(), next.report().category());
  EXPECT_NE(first.report().client_request_id(), next.report().client_request_id());
  EXPECT_FALSE(first.report().has_location());
}

TEST_F(WorkloadTest, SeedRuleStartsAtGridOnTheWallClock) {
  auto rule = PickSeedRule(*policy_);
  ASSERT_TRUE(rule.ok()) << rule.status();
  EXPECT_EQ(rule->rule->start_level(), v1::LEVEL_GRID);
  EXPECT_NE(rule->rule->time_basis(), v1::TIME_BASIS_WORKING_TIME);
  EXPECT_EQ(policy_->Match(rule->category, rule->severity, v1::SOURCE_GRID_WORKER), rule->rule);
  ASSERT_NE(rule->grid_limit, nullptr);
  EXPECT_GT(rule->grid_limit->accept().seconds(), 0);
}

TEST_F(WorkloadTest, DispatchArmsTheTimerAtTheDueTime) {
  auto rule = PickSeedRule(*policy_);
  ASSERT_TRUE(rule.ok());
  const Millis now = 1'800'000'000'000;
  const Millis due = now + 5000;
  const SeedEvent seed =
      ReportedEvent("370212001-01JDX3M8ZK4F2QH7", "37021200100101", "370212001", *rule, now);
  EXPECT_EQ(seed.event.state(), v1::EVENT_STATE_REPORTED);
  EXPECT_EQ(seed.event.version(), 1);
  EXPECT_EQ(seed.change.kind(), v1::CHANGE_KIND_REPORTED);
  EXPECT_EQ(store::TimerDue(seed.event), 0);

  const store::Move move = DispatchAt(seed.event, *rule, now, due);
  EXPECT_EQ(move.expected_version, 1);
  EXPECT_EQ(move.event.version(), 2);
  EXPECT_EQ(move.event.state(), v1::EVENT_STATE_DISPATCHED);
  EXPECT_EQ(move.event.level(), v1::LEVEL_GRID);
  EXPECT_EQ(move.event.unit_id(), "37021200100101");
  EXPECT_EQ(move.event.rule_id(), rule->rule->id());
  EXPECT_EQ(move.change.kind(), v1::CHANGE_KIND_DISPATCHED);
  EXPECT_EQ(move.change.version(), 2);
  EXPECT_EQ(move.join_queue_unit, "37021200100101");
  EXPECT_TRUE(move.event.deadlines().has_accept_limit());
  EXPECT_TRUE(move.event.deadlines().has_resolve_limit());
  EXPECT_EQ(store::TimerDue(move.event), due);
  EXPECT_GT(FromTimestamp(move.event.deadlines().resolve_by()), due);
}

TEST(TimerPlanTest, BaselineThenLoadWindow) {
  const TimerPlan plan(1000, {10, 5}, {100, 1000});
  EXPECT_EQ(plan.due_count(), 110);
  EXPECT_EQ(plan.pending_count(), 890);
  EXPECT_TRUE(plan.InBaseline(9));
  EXPECT_FALSE(plan.InBaseline(10));
  EXPECT_EQ(plan.Due(0, 0), 0);
  EXPECT_EQ(plan.Due(1, 0), 200);
  EXPECT_EQ(plan.Due(9, 0), 1800);
  EXPECT_EQ(plan.Due(10, 0), 1800 + TimerPlan::kGap);
  EXPECT_EQ(plan.Due(109, 0), 1800 + TimerPlan::kGap + 99);
  EXPECT_GT(TimerPlan::Pending(0, 0), plan.Due(109, 0) + 24 * 3600 * 1000);
}

TEST(TimerPlanTest, NoBaseline) {
  const TimerPlan plan(100, {0, 20}, {30, 10});
  EXPECT_EQ(plan.Due(0, 500), 500);
  EXPECT_EQ(plan.Due(29, 500), 500 + 2900);
}

}  // namespace
}  // namespace grid::loadgen
