// The escalation clock's decisions with a fixed clock, on the shipped topology and policy.
#include "common/lifecycle/escalation.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include "common/store/timers.h"
#include "tests/support/shipped_config.h"

namespace grid::lifecycle {
namespace {

using google::protobuf::util::TimeUtil;
using ::testing::HasSubstr;

constexpr Millis kT0 = 1'790'000'000'000;
constexpr char kGrid[] = "37021200100101";

class EscalationTest : public ::testing::Test {
 protected:
  static Context At(Millis now, v1::Actor actor = v1::Actor()) {
    return Context{testing::ShippedTopology(), testing::ShippedPolicy(), now, std::move(actor)};
  }

  // Noise (0408): a wall-clock rule starting at GRID level with limits up to DISTRICT.
  static v1::Event Dispatched() {
    v1::Event event;
    event.set_id("370212001-01M8E25T9NFZPD5H");
    event.set_grid_id(kGrid);
    event.set_subdistrict_id("370212001");
    event.set_category("0408");
    event.set_severity(v1::SEVERITY_NORMAL);
    event.set_source(v1::SOURCE_GRID_WORKER);
    event.set_state(v1::EVENT_STATE_REPORTED);
    event.set_version(1);
    auto move = Dispatch(event, At(kT0));
    EXPECT_TRUE(move.ok()) << move.status();
    return move->event;
  }

  static const v1::Rule& Rule() { return *testing::ShippedPolicy().FindRule("0408-noise"); }
  static Millis AcceptLimit(v1::Level level) {
    return TimeUtil::DurationToMilliseconds(policy::LimitAt(Rule(), level)->accept());
  }
  static Millis ReminderInterval() {
    return TimeUtil::DurationToMilliseconds(testing::ShippedPolicy().data().reminder_interval());
  }
};

TEST_F(EscalationTest, AnUnansweredEventClimbsEveryLevelThenIsRemindedAtTheTop) {
  v1::Event event = Dispatched();
  ASSERT_EQ(event.rule_id(), "0408-noise");
  const std::vector<std::pair<v1::Level, std::string>> climb = {
      {v1::LEVEL_COMMUNITY, "370212001001"},
      {v1::LEVEL_ZONE, testing::ShippedTopology().AncestorAt(kGrid, v1::LEVEL_ZONE)->id()},
      {v1::LEVEL_SUBDISTRICT, "370212001"},
      {v1::LEVEL_DISTRICT, Rule().department_id()}};
  Millis now = kT0;
  for (const auto& [level, unit] : climb) {
    const Millis due = store::TimerDue(event);
    EXPECT_EQ(due, now + AcceptLimit(event.level()));
    EXPECT_FALSE(OnTimer(event, At(due - 1))) << "not due a millisecond early";
    now = due + 7;  // the clock looks a little late
    auto move = OnTimer(event, At(now));
    ASSERT_TRUE(move);
    EXPECT_EQ(move->change.kind(), v1::CHANGE_KIND_ESCALATED);
    EXPECT_EQ(move->change.reason_code(), v1::CHANGE_REASON_ACCEPT_TIMEOUT);
    EXPECT_EQ(move->change.from_level(), event.level());
    EXPECT_EQ(move->event.level(), level);
    EXPECT_EQ(move->event.unit_id(), unit);
    EXPECT_EQ(move->event.state(), v1::EVENT_STATE_DISPATCHED);
    EXPECT_EQ(move->event.escalation_count(), event.escalation_count() + 1);
    EXPECT_EQ(move->event.dispatch_count(), 1) << "climbing is not a mis-dispatch";
    EXPECT_EQ(move->leave_queue_unit, event.unit_id());
    EXPECT_EQ(move->join_queue_unit, unit);
    EXPECT_EQ(FromTimestamp(move->event.deadlines().started_at()), now) << "fresh limits";
    event = move->event;
  }
  EXPECT_EQ(event.escalation_count(), 4);

  // At DISTRICT level it stays, overdue, reminded at the policy's interval.
  now = store::TimerDue(event);
  auto overdue = OnTimer(event, At(now));
  ASSERT_TRUE(overdue);
  EXPECT_EQ(overdue->change.kind(), v1::CHANGE_KIND_REMINDED);
  EXPECT_EQ(overdue->change.reason_code(), v1::CHANGE_REASON_ACCEPT_TIMEOUT);
  EXPECT_EQ(overdue->event.level(), v1::LEVEL_DISTRICT);
  EXPECT_TRUE(overdue->event.overdue());
  EXPECT_EQ(overdue->event.reminder_count(), 1);
  EXPECT_EQ(store::TimerDue(overdue->event), now + ReminderInterval());
  event = overdue->event;
  EXPECT_FALSE(OnTimer(event, At(now + ReminderInterval() - 1)));
  auto again = OnTimer(event, At(now + ReminderInterval()));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->change.kind(), v1::CHANGE_KIND_REMINDED);
  EXPECT_EQ(again->event.reminder_count(), 2);
  EXPECT_EQ(again->event.escalation_count(), 4);

  // Accepting answers the reminders: the resolve clock runs.
  auto accepted = Accept(again->event, At(now + ReminderInterval() + 1));
  ASSERT_TRUE(accepted.ok());
  EXPECT_FALSE(accepted->event.overdue());
  EXPECT_EQ(store::TimerDue(accepted->event),
            FromTimestamp(accepted->event.deadlines().resolve_by()));
}

TEST_F(EscalationTest, AnAcceptedEventEscalatesOnlyWhenTheResolveLimitPasses) {
  const v1::Event dispatched = Dispatched();
  auto accepted = Accept(dispatched, At(kT0 + 1));
  ASSERT_TRUE(accepted.ok());
  const v1::Event& event = accepted->event;
  EXPECT_FALSE(OnTimer(event, At(FromTimestamp(event.deadlines().accept_by()) + 1)))
      << "the accept limit no longer runs";
  const Millis resolve_by = FromTimestamp(event.deadlines().resolve_by());
  auto move = OnTimer(event, At(resolve_by));
  ASSERT_TRUE(move);
  EXPECT_EQ(move->change.reason_code(), v1::CHANGE_REASON_RESOLVE_TIMEOUT);
  EXPECT_EQ(move->event.level(), v1::LEVEL_COMMUNITY);
  EXPECT_EQ(move->event.state(), v1::EVENT_STATE_DISPATCHED) << "the level above must accept";
}

TEST_F(EscalationTest, NoClockRunsForParkedResolvedOrFinalEvents) {
  const v1::Event dispatched = Dispatched();
  const Millis late = kT0 + 365LL * 24 * 3600 * 1000;
  auto suspended = Suspend(dispatched, At(kT0 + 1), "waiting", "370212001001");
  ASSERT_TRUE(suspended.ok());
  EXPECT_EQ(store::TimerDue(suspended->event), 0);
  EXPECT_FALSE(OnTimer(suspended->event, At(late)));
  for (v1::EventState state : {v1::EVENT_STATE_RESOLVED, v1::EVENT_STATE_CLOSED,
                               v1::EVENT_STATE_VOIDED, v1::EVENT_STATE_REPORTED}) {
    v1::Event event = dispatched;
    event.set_state(state);
    EXPECT_EQ(store::TimerDue(event), 0) << v1::EventState_Name(state);
    EXPECT_FALSE(OnTimer(event, At(late))) << v1::EventState_Name(state);
  }
}

TEST_F(EscalationTest, ManualEscalationGoesOneLevelUpWithItsReason) {
  const v1::Event event = Dispatched();
  EXPECT_THAT(std::string(Escalate(event, At(kT0), "").status().message()),
              HasSubstr("reason: required"));
  auto up = Escalate(event, At(kT0 + 5), "需要社区协调");
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(up->event.level(), v1::LEVEL_COMMUNITY);
  EXPECT_EQ(up->change.kind(), v1::CHANGE_KIND_ESCALATED);
  EXPECT_EQ(up->change.reason_code(), v1::CHANGE_REASON_MANUAL);
  EXPECT_EQ(up->change.reason(), "需要社区协调");
  v1::Event top = event;
  top.set_level(v1::LEVEL_DISTRICT);
  EXPECT_EQ(Escalate(top, At(kT0), "x").status().code(), absl::StatusCode::kFailedPrecondition);
  v1::Event resolved = event;
  resolved.set_state(v1::EVENT_STATE_RESOLVED);
  EXPECT_EQ(Escalate(resolved, At(kT0), "x").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(EscalationTest, SupervisionNeedsJurisdictionAndMayOnlyShortenTheLimit) {
  const v1::Event event = Dispatched();
  v1::Actor outsider;
  outsider.set_role(v1::ROLE_OPERATOR);
  outsider.set_unit_id("370212002");  // another subdistrict
  EXPECT_EQ(Supervise(event, At(kT0, outsider), "快办", 0).status().code(),
            absl::StatusCode::kPermissionDenied);
  v1::Actor centre;
  centre.set_role(v1::ROLE_OPERATOR);
  centre.set_unit_id("370212001");
  EXPECT_THAT(std::string(Supervise(event, At(kT0, centre), "", 0).status().message()),
              HasSubstr("note: required"));

  auto pressed = Supervise(event, At(kT0 + 10, centre), "请于一分钟内接单", 60'000);
  ASSERT_TRUE(pressed.ok()) << pressed.status();
  EXPECT_TRUE(pressed->event.supervised());
  EXPECT_EQ(pressed->event.supervised_by_unit_id(), "370212001");
  EXPECT_EQ(pressed->change.kind(), v1::CHANGE_KIND_SUPERVISED);
  EXPECT_EQ(FromTimestamp(pressed->event.deadlines().accept_by()), kT0 + 10 + 60'000);
  EXPECT_EQ(store::TimerDue(pressed->event), kT0 + 10 + 60'000) << "the timer follows";

  auto lenient = Supervise(event, At(kT0 + 10, centre), "慢慢来", 24 * 3600'000LL);
  ASSERT_TRUE(lenient.ok());
  EXPECT_EQ(lenient->event.deadlines().accept_by(), event.deadlines().accept_by())
      << "supervision never lengthens a limit";
}

// Supervision's own check is the one rule of jurisdiction too: a department supervises what
// sits at it, whatever the grid (the gateway's authorizer lets it; this check refused it).
TEST_F(EscalationTest, SupervisionFollowsTheOneRuleOfJurisdiction) {
  v1::Event at_department = Dispatched();
  at_department.set_level(v1::LEVEL_DISTRICT);
  at_department.set_unit_id(Rule().department_id());
  v1::Actor department;
  department.set_role(v1::ROLE_OPERATOR);
  department.set_unit_id(Rule().department_id());
  EXPECT_TRUE(Supervise(at_department, At(kT0, department), "快办", 0).ok());
  v1::Actor other_department = department;
  other_department.set_unit_id(Rule().department_id() == "370212D01" ? "370212D02" : "370212D01");
  EXPECT_EQ(Supervise(at_department, At(kT0, other_department), "快办", 0).status().code(),
            absl::StatusCode::kPermissionDenied);
  // The grid's community keeps it.
  v1::Actor community;
  community.set_role(v1::ROLE_OPERATOR);
  community.set_unit_id("370212001001");
  EXPECT_TRUE(Supervise(at_department, At(kT0, community), "快办", 0).ok());
}

}  // namespace
}  // namespace grid::lifecycle
