#include <gtest/gtest.h>

#include "common/clock/clock.h"
#include "services/metrics/change_recorder.h"

namespace grid::metrics {
namespace {

v1::EventChange Change(v1::ChangeKind kind) {
  v1::EventChange change;
  change.set_kind(kind);
  change.set_grid_id("37021200100101");
  change.set_from_unit_id("370212001001");
  change.set_to_unit_id("370212001");
  *change.mutable_at() = ToTimestamp(10'000);
  return change;
}

TEST(ChangeFactsTest, AReportCountsAtItsGrid) {
  v1::EventChange change = Change(v1::CHANGE_KIND_REPORTED);
  change.clear_from_unit_id();
  EXPECT_EQ(FactsOf(change).unit_id, "37021200100101");
}

TEST(ChangeFactsTest, AMoveCountsAtTheUnitThatHadTheEvent) {
  EXPECT_EQ(FactsOf(Change(v1::CHANGE_KIND_ESCALATED)).unit_id, "370212001001");
  EXPECT_EQ(FactsOf(Change(v1::CHANGE_KIND_RETURNED)).unit_id, "370212001001");
  v1::EventChange dispatched = Change(v1::CHANGE_KIND_DISPATCHED);
  dispatched.clear_from_unit_id();
  EXPECT_EQ(FactsOf(dispatched).unit_id, "370212001") << "no unit before: the one it went to";
}

TEST(ChangeFactsTest, AStepAfterItsDeadlineIsABreach) {
  v1::EventChange accepted = Change(v1::CHANGE_KIND_ACCEPTED);
  EXPECT_FALSE(FactsOf(accepted).breached) << "no clock ran";
  *accepted.mutable_due_by() = ToTimestamp(10'000);
  EXPECT_FALSE(FactsOf(accepted).breached) << "exactly at the deadline is on time";
  *accepted.mutable_due_by() = ToTimestamp(9'999);
  EXPECT_TRUE(FactsOf(accepted).breached);
}

TEST(ChangeFactsTest, TimeoutEscalationsAndRemindersAreBreachesButManualEscalationIsNot) {
  v1::EventChange escalated = Change(v1::CHANGE_KIND_ESCALATED);
  escalated.set_reason_code(v1::CHANGE_REASON_MANUAL);
  EXPECT_FALSE(FactsOf(escalated).breached);
  escalated.set_reason_code(v1::CHANGE_REASON_ACCEPT_TIMEOUT);
  EXPECT_TRUE(FactsOf(escalated).breached);
  escalated.set_reason_code(v1::CHANGE_REASON_RESOLVE_TIMEOUT);
  EXPECT_TRUE(FactsOf(escalated).breached);
  EXPECT_TRUE(FactsOf(Change(v1::CHANGE_KIND_REMINDED)).breached);
}

TEST(ChangeFactsTest, FinalStates) {
  v1::EventChange change = Change(v1::CHANGE_KIND_VERIFIED);
  for (auto state : {v1::EVENT_STATE_CLOSED, v1::EVENT_STATE_VOIDED, v1::EVENT_STATE_CANCELLED}) {
    change.set_to_state(state);
    EXPECT_TRUE(FactsOf(change).final_state) << state;
  }
  for (auto state : {v1::EVENT_STATE_REPORTED, v1::EVENT_STATE_DISPATCHED, v1::EVENT_STATE_ACCEPTED,
                     v1::EVENT_STATE_RESOLVED, v1::EVENT_STATE_SUSPENDED}) {
    change.set_to_state(state);
    EXPECT_FALSE(FactsOf(change).final_state) << state;
  }
}

TEST(LabelsTest, AreLowerCaseEnumNamesWithoutPrefix) {
  EXPECT_EQ(LevelLabel(v1::LEVEL_ZONE), "zone");
  EXPECT_EQ(LevelLabel(0), "unspecified");
  EXPECT_EQ(StateLabel(v1::EVENT_STATE_DISPATCHED), "dispatched");
  EXPECT_EQ(LightLabel(v1::TRAFFIC_LIGHT_RED), "red");
  EXPECT_EQ(LightLabel(v1::TRAFFIC_LIGHT_UNSPECIFIED), "unspecified");
  EXPECT_EQ(SeverityLabel(v1::SEVERITY_CRITICAL), "critical");
  EXPECT_EQ(ReasonLabel(v1::CHANGE_REASON_ACCEPT_TIMEOUT), "accept_timeout");
}

}  // namespace
}  // namespace grid::metrics
