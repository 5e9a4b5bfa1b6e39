#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/lifecycle/moves.h"
#include "common/policy/deadlines.h"
#include "tests/support/shipped_config.h"

namespace grid::lifecycle {
namespace {

class DispatchTest : public ::testing::Test {
 protected:
  static v1::Event Reported(const std::string& category, v1::Severity severity) {
    v1::Event event;
    event.set_id("370212001-01M8E25T9NFZPD5H");
    event.set_grid_id("37021200100101");
    event.set_subdistrict_id("370212001");
    event.set_category(category);
    event.set_severity(severity);
    event.set_source(v1::SOURCE_GRID_WORKER);
    event.set_state(v1::EVENT_STATE_REPORTED);
    event.set_level(v1::LEVEL_GRID);
    event.set_version(1);
    return event;
  }

  static Context At(Millis now) {
    return Context{testing::ShippedTopology(), testing::ShippedPolicy(), now, v1::Actor()};
  }
};

TEST_F(DispatchTest, DecidesLevelAndUnitFromThePolicy) {
  auto rubbish = Dispatch(Reported("0102", v1::SEVERITY_NORMAL), At(1));
  ASSERT_TRUE(rubbish.ok()) << rubbish.status();
  EXPECT_EQ(rubbish->event.level(), v1::LEVEL_GRID);
  EXPECT_EQ(rubbish->event.unit_id(), "37021200100101");

  auto dispute = Dispatch(Reported("0701", v1::SEVERITY_NORMAL), At(1));
  ASSERT_TRUE(dispute.ok());
  EXPECT_EQ(dispute->event.level(), v1::LEVEL_COMMUNITY);
  EXPECT_EQ(dispute->event.unit_id(), "370212001001");

  auto fire = Dispatch(Reported("0501", v1::SEVERITY_CRITICAL), At(1));
  ASSERT_TRUE(fire.ok());
  EXPECT_EQ(fire->event.level(), v1::LEVEL_SUBDISTRICT);
  EXPECT_EQ(fire->event.unit_id(), "370212001");
  EXPECT_EQ(fire->event.department_id(),
            testing::ShippedPolicy().FindRule(fire->event.rule_id())->department_id());
}

TEST_F(DispatchTest, UnknownGridCannotBeDispatched) {
  v1::Event event = Reported("0102", v1::SEVERITY_NORMAL);
  event.set_grid_id("37021299999999");
  EXPECT_EQ(Dispatch(event, At(1)).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(DispatchTest, DispatchMovesTheEventAndDescribesTheChange) {
  const v1::Event event = Reported("0102", v1::SEVERITY_NORMAL);
  const Millis now = 1'790'000'000'000;
  auto dispatched = Dispatch(event, At(now));
  ASSERT_TRUE(dispatched.ok());
  const store::Move& move = *dispatched;
  EXPECT_EQ(move.expected_version, 1);
  EXPECT_EQ(move.event.version(), 2);
  EXPECT_EQ(move.event.state(), v1::EVENT_STATE_DISPATCHED);
  EXPECT_EQ(move.event.unit_id(), "37021200100101");
  EXPECT_EQ(move.event.rule_id(), "0102-exposed-rubbish");
  EXPECT_EQ(move.event.dispatch_count(), 1);
  EXPECT_EQ(FromTimestamp(move.event.dispatched_at()), now);
  EXPECT_EQ(FromTimestamp(move.event.deadlines().started_at()), now);
  EXPECT_GT(FromTimestamp(move.event.deadlines().accept_by()), now);
  EXPECT_EQ(move.join_queue_unit, "37021200100101");
  EXPECT_EQ(move.join_queue_score, FromTimestamp(move.event.deadlines().accept_by()));
  EXPECT_TRUE(move.leave_queue_unit.empty()) << "a REPORTED event is in no queue";

  EXPECT_EQ(move.change.kind(), v1::CHANGE_KIND_DISPATCHED);
  EXPECT_EQ(move.change.from_state(), v1::EVENT_STATE_REPORTED);
  EXPECT_EQ(move.change.to_state(), v1::EVENT_STATE_DISPATCHED);
  EXPECT_EQ(move.change.to_unit_id(), "37021200100101");
  EXPECT_EQ(move.change.version(), 2);
  EXPECT_EQ(move.change.reason_code(), v1::CHANGE_REASON_POLICY);
  EXPECT_EQ(move.change.category(), "0102");
}

}  // namespace
}  // namespace grid::lifecycle
