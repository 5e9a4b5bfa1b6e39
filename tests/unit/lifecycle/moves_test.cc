// The moves on the shipped topology and policy, with a fixed clock.
#include "common/lifecycle/moves.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include "common/policy/deadlines.h"
#include "tests/support/shipped_config.h"

namespace grid::lifecycle {
namespace {

using google::protobuf::util::TimeUtil;
using ::testing::HasSubstr;

constexpr Millis kT0 = 1'790'000'000'000;
constexpr char kGrid[] = "37021200100101";
constexpr char kCommunity[] = "370212001001";
constexpr char kSubdistrict[] = "370212001";

class MovesTest : public ::testing::Test {
 protected:
  static Context At(Millis now, v1::Role role = v1::ROLE_HANDLER, std::string subject = "h1") {
    v1::Actor actor;
    actor.set_subject(std::move(subject));
    actor.set_role(role);
    return Context{testing::ShippedTopology(), testing::ShippedPolicy(), now, actor};
  }

  static v1::Event Reported(const std::string& category = "0102",
                            v1::Severity severity = v1::SEVERITY_NORMAL) {
    v1::Event event;
    event.set_id("370212001-01M8E25T9NFZPD5H");
    event.set_grid_id(kGrid);
    event.set_subdistrict_id(kSubdistrict);
    event.set_category(category);
    event.set_severity(severity);
    event.set_source(v1::SOURCE_GRID_WORKER);
    event.set_reporter_id("W3702120010010101");
    event.set_state(v1::EVENT_STATE_REPORTED);
    event.set_level(v1::LEVEL_GRID);
    event.set_version(1);
    return event;
  }

  // The event after applying `move` (what the store would hold).
  static v1::Event After(const absl::StatusOr<store::Move>& move) {
    EXPECT_TRUE(move.ok()) << move.status();
    return move.ok() ? move->event : v1::Event();
  }

  static v1::Event Dispatched(const std::string& category = "0102") {
    return After(Dispatch(Reported(category), At(kT0)));
  }
};

TEST_F(MovesTest, EveryMoveBumpsTheVersionAndDescribesItself) {
  const v1::Event dispatched = Dispatched();
  auto accepted = Accept(dispatched, At(kT0 + 1000));
  ASSERT_TRUE(accepted.ok());
  EXPECT_EQ(accepted->expected_version, 2);
  EXPECT_EQ(accepted->event.version(), 3);
  EXPECT_EQ(accepted->change.version(), 3);
  EXPECT_EQ(accepted->change.kind(), v1::CHANGE_KIND_ACCEPTED);
  EXPECT_EQ(accepted->change.from_state(), v1::EVENT_STATE_DISPATCHED);
  EXPECT_EQ(accepted->change.to_state(), v1::EVENT_STATE_ACCEPTED);
  EXPECT_EQ(accepted->change.actor().subject(), "h1");
  EXPECT_EQ(FromTimestamp(accepted->change.at()), kT0 + 1000);
  EXPECT_EQ(FromTimestamp(accepted->event.accepted_at()), kT0 + 1000);
  // Still the unit's work, now ranked by the resolve deadline.
  EXPECT_EQ(accepted->join_queue_unit, kGrid);
  EXPECT_EQ(accepted->join_queue_score,
            static_cast<double>(FromTimestamp(accepted->event.deadlines().resolve_by())));
}

TEST_F(MovesTest, TheFullLoopEndsClosed) {
  v1::Event event = Dispatched();
  event = After(Accept(event, At(kT0 + 1000)));
  auto resolved = Resolve(event, At(kT0 + 2000), "cleared", {"oss://after.jpg"});
  event = After(resolved);
  EXPECT_EQ(event.state(), v1::EVENT_STATE_RESOLVED);
  EXPECT_EQ(event.resolution_note(), "cleared");
  EXPECT_EQ(event.resolution_media_size(), 1);
  EXPECT_EQ(resolved->leave_queue_unit, kGrid) << "resolved work leaves the unit's queue";
  auto closed = Verify(event, At(kT0 + 3000, v1::ROLE_WORKER, "W3702120010010101"), true, "ok");
  event = After(closed);
  EXPECT_EQ(event.state(), v1::EVENT_STATE_CLOSED);
  EXPECT_EQ(FromTimestamp(event.closed_at()), kT0 + 3000);
  EXPECT_TRUE(closed->leave_open_index);
}

TEST_F(MovesTest, FailedVerificationSendsItBackToTheSameUnitForRework) {
  v1::Event event = Dispatched();
  event = After(Accept(event, At(kT0 + 1000)));
  event = After(Resolve(event, At(kT0 + 2000), "cleared", {}));
  auto rework = Verify(event, At(kT0 + 3000), false, "still there");
  event = After(rework);
  EXPECT_EQ(event.state(), v1::EVENT_STATE_DISPATCHED);
  EXPECT_EQ(event.unit_id(), kGrid);
  EXPECT_EQ(event.rework_count(), 1);
  EXPECT_EQ(event.dispatch_count(), 1) << "rework is not a new dispatch";
  EXPECT_EQ(FromTimestamp(event.deadlines().started_at()), kT0 + 3000) << "a fresh clock";
  EXPECT_EQ(rework->change.kind(), v1::CHANGE_KIND_REWORK);
  EXPECT_EQ(rework->change.reason_code(), v1::CHANGE_REASON_VERIFICATION_FAILED);
  EXPECT_EQ(rework->join_queue_unit, kGrid);
}

TEST_F(MovesTest, AReturnGoesUpALevelAndNeverBackToAUnitThatReturnedIt) {
  v1::Event event = Dispatched();
  auto returned = Return(event, At(kT0 + 1000), "not ours");
  event = After(returned);
  EXPECT_EQ(event.level(), v1::LEVEL_COMMUNITY);
  EXPECT_EQ(event.unit_id(), kCommunity);
  EXPECT_EQ(event.return_count(), 1);
  EXPECT_EQ(event.dispatch_count(), 2);
  EXPECT_THAT(event.returned_by_unit_ids(), ::testing::ElementsAre(kGrid));
  EXPECT_EQ(returned->leave_queue_unit, kGrid);
  EXPECT_EQ(returned->join_queue_unit, kCommunity);
  EXPECT_EQ(returned->count_return_unit, kGrid);
  EXPECT_EQ(returned->change.kind(), v1::CHANGE_KIND_RETURNED);
  EXPECT_EQ(returned->change.reason(), "not ours");
  EXPECT_EQ(returned->change.from_unit_id(), kGrid);
  EXPECT_EQ(returned->change.to_unit_id(), kCommunity);
}

TEST_F(MovesTest, AtDistrictLevelAReturnTriesTheFallbackDepartmentsThenTheCommandCentre) {
  // Find a rule with a fallback department, and put an event at its department.
  const v1::Rule* rule = nullptr;
  for (const v1::Rule& r : testing::ShippedPolicy().data().rules()) {
    if (r.fallback_department_ids_size() > 0 && !r.category_prefix().empty() &&
        testing::ShippedPolicy().FindCategory(r.category_prefix()) != nullptr) {
      rule = &r;
      break;
    }
  }
  ASSERT_NE(rule, nullptr) << "the shipped policy names fallback departments";
  v1::Event event = Reported(rule->category_prefix());
  event.set_rule_id(rule->id());
  event.set_state(v1::EVENT_STATE_DISPATCHED);
  event.set_level(v1::LEVEL_DISTRICT);
  event.set_unit_id(rule->department_id());
  event = After(Return(event, At(kT0), "not ours"));
  EXPECT_EQ(event.unit_id(), rule->fallback_department_ids(0));
  for (int i = 1; i < rule->fallback_department_ids_size(); ++i) {
    event = After(Return(event, At(kT0), "not ours either"));
  }
  event = After(Return(event, At(kT0), "nobody's"));
  EXPECT_EQ(event.unit_id(), "370212") << "the command centre takes what no department will";
  auto none = Return(event, At(kT0), "and not the centre's");
  EXPECT_EQ(none.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(MovesTest, SuspensionPausesTheClockAndResumeShiftsTheDeadlines) {
  const v1::Event dispatched = Dispatched("0408");  // noise: a wall-clock limit at grid level
  const Millis accept_by = FromTimestamp(dispatched.deadlines().accept_by());
  v1::Event event = After(Suspend(dispatched, At(kT0 + 1000), "waiting for parts", kCommunity));
  EXPECT_EQ(event.state(), v1::EVENT_STATE_SUSPENDED);
  EXPECT_EQ(event.suspended_from(), v1::EVENT_STATE_DISPATCHED);
  EXPECT_EQ(policy::TrafficLightAt(event.deadlines(), event.state(), kT0 + 10'000'000),
            v1::TRAFFIC_LIGHT_UNSPECIFIED)
      << "no clock runs while suspended";
  auto resumed = Resume(event, At(kT0 + 1000 + 600'000));
  event = After(resumed);
  EXPECT_EQ(event.state(), v1::EVENT_STATE_DISPATCHED);
  EXPECT_EQ(FromTimestamp(event.deadlines().accept_by()), accept_by + 600'000);
  EXPECT_EQ(TimeUtil::DurationToMilliseconds(event.deadlines().paused()), 600'000);
  EXPECT_EQ(resumed->join_queue_unit, kGrid);
}

TEST_F(MovesTest, WorkingTimeLimitsSkipNightsAndResumeKeepsTheWorkingTimeLeft) {
  // 0102 exposed rubbish: 4 working hours to resolve at grid level (DOMAIN.md).
  // 2026-11-27 is a Friday; 16:00 in Qingdao (UTC+8) is 08:00 UTC.
  const Millis friday_1600 = 1'795'766'400'000;
  const v1::Event event = After(Dispatch(Reported("0102"), At(friday_1600)));
  EXPECT_TRUE(event.deadlines().working_time());
  // Friday 16:00-17:30 is 1.5 working hours; 2.5 more on Monday 08:30-11:00 (Monday 03:00 UTC).
  const Millis monday_1100 = friday_1600 + 3 * 24 * 3600'000LL - 5 * 3600'000LL;
  EXPECT_EQ(FromTimestamp(event.deadlines().resolve_by()), monday_1100);
  // At Friday 17:00 one working hour of four is used: green.
  EXPECT_EQ(policy::TrafficLightAt(event.deadlines(), v1::EVENT_STATE_ACCEPTED,
                                   friday_1600 + 3600'000LL, testing::ShippedPolicy().calendar()),
            v1::TRAFFIC_LIGHT_GREEN);

  // Suspended on Friday at 17:00 (0.5 h left that day, 3 h in all) and resumed on Monday at
  // 10:00: the 3 working hours left then run to 14:30 (lunch is 12:00-13:30).
  const Millis friday_1700 = friday_1600 + 3600'000LL;
  const Millis monday_1000 = monday_1100 - 3600'000LL;
  v1::Event accepted = After(Accept(event, At(friday_1600)));
  v1::Event suspended = After(Suspend(accepted, At(friday_1700), "parts", kCommunity));
  v1::Event resumed = After(Resume(suspended, At(monday_1000)));
  EXPECT_EQ(FromTimestamp(resumed.deadlines().resolve_by()),
            monday_1000 + 4 * 3600'000LL + 1800'000)
      << "10:00-12:00 is 2 h, then 13:30-14:30 the third";
}

TEST_F(MovesTest, SuspensionNeedsAReasonAndAnApproverAbove) {
  const v1::Event event = Dispatched();
  EXPECT_THAT(std::string(Suspend(event, At(kT0), "", kCommunity).status().message()),
              HasSubstr("reason: required"));
  EXPECT_THAT(std::string(Suspend(event, At(kT0), "r", "").status().message()),
              HasSubstr("approver_unit_id: required"));
  EXPECT_THAT(std::string(Suspend(event, At(kT0), "r", kGrid).status().message()),
              HasSubstr("is not a unit above"));
  EXPECT_THAT(std::string(Suspend(event, At(kT0), "r", "370212002001").status().message()),
              HasSubstr("is not a unit above"))
      << "another subdistrict's community";
  EXPECT_TRUE(Suspend(event, At(kT0), "r", "370212").ok());
}

TEST_F(MovesTest, OnlyTheReporterOrAnOperatorMayCancelBeforeAcceptance) {
  const v1::Event event = Dispatched();
  EXPECT_EQ(Cancel(event, At(kT0, v1::ROLE_WORKER, "W0"), "").status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(Cancel(event, At(kT0, v1::ROLE_WORKER, "W3702120010010101"), "fixed it").ok());
  EXPECT_TRUE(Cancel(event, At(kT0, v1::ROLE_OPERATOR, "op"), "").ok());
  const v1::Event accepted = After(Accept(event, At(kT0)));
  EXPECT_EQ(Cancel(accepted, At(kT0, v1::ROLE_WORKER, "W3702120010010101"), "").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(MovesTest, VoidAndReassign) {
  const v1::Event event = Dispatched();
  EXPECT_THAT(std::string(Void(event, At(kT0), "").status().message()),
              HasSubstr("reason: required"));
  const v1::Event voided = After(Void(event, At(kT0), "prank"));
  EXPECT_EQ(voided.state(), v1::EVENT_STATE_VOIDED);

  auto moved = Reassign(event, At(kT0), "370212D01", "the department's");
  EXPECT_EQ(After(moved).unit_id(), "370212D01");
  EXPECT_EQ(After(moved).level(), v1::LEVEL_DISTRICT);
  EXPECT_EQ(After(moved).dispatch_count(), 2);
  EXPECT_EQ(moved->change.kind(), v1::CHANGE_KIND_REASSIGNED);
  EXPECT_THAT(std::string(Reassign(event, At(kT0), "370212002001", "x").status().message()),
              HasSubstr("does not cover the event's grid"));
  EXPECT_THAT(std::string(Reassign(event, At(kT0), kGrid, "x").status().message()),
              HasSubstr("already at"));
}

TEST_F(MovesTest, ResolveChecksItsNoteAndEvidence) {
  const v1::Event accepted = After(Accept(Dispatched(), At(kT0)));
  EXPECT_THAT(std::string(Resolve(accepted, At(kT0), "", {}).status().message()),
              HasSubstr("note: required"));
  std::vector<std::string> ten(10, "oss://x.jpg");
  EXPECT_THAT(std::string(Resolve(accepted, At(kT0), "done", ten).status().message()),
              HasSubstr("media: 10 references"));
}

TEST_F(MovesTest, AMoveFromTheWrongStateIsRefusedNamingTheState) {
  const v1::Event reported = Reported();
  const absl::Status status = Accept(reported, At(kT0)).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()), HasSubstr("EVENT_STATE_REPORTED"));
}

}  // namespace
}  // namespace grid::lifecycle
