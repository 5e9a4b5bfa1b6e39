// The escalation clock on real processes with a quick policy (every accept limit 2 s, every
// resolve limit 4 s, reminders every second): events climb the five levels by themselves.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include "common/clock/clock.h"
#include "tests/support/poll.h"
#include "tests/support/stack.h"
#include "tests/support/stack_test.h"

namespace grid {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::PollUntil;
using testing::Stack;

constexpr char kGrid[] = "37021200100101";
constexpr char kCommunity[] = "370212001001";
constexpr char kSubdistrict[] = "370212001";

Millis Now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class EscalationTest : public testing::StackTest {
 protected:
  void SetUp() override {
    Stack::Options options;
    options.policy = "tests/integration/testdata/policy-quick.json";
    StartStack(options);
  }

  static v1::Actor Actor(v1::Role role, const std::string& unit) {
    return MakeActor(role, "user-" + unit, unit);
  }

  // A noise report (0408): routed to the grid, unlocated so that reports never merge.
  std::string Report() {
    v1::ReportEventRequest request;
    v1::Report& report = *request.mutable_report();
    report.set_grid_id(kGrid);
    report.set_category("0408");
    report.set_severity(v1::SEVERITY_NORMAL);
    report.set_description("夜间施工噪音");
    *request.mutable_actor() = Actor(v1::ROLE_OPERATOR, kSubdistrict);
    v1::ReportEventResponse response;
    const grpc::Status status =
        gateway().ReportEvent(Context(request.actor()).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.event_id();
  }

  std::vector<v1::EventChange> History(const std::string& id) {
    v1::GetEventHistoryRequest request;
    request.set_event_id(id);
    v1::GetEventHistoryResponse response;
    EXPECT_TRUE(gateway().GetEventHistory(Context().get(), request, &response).ok());
    return {response.changes().begin(), response.changes().end()};
  }

  static std::vector<v1::EventChange> OfKind(const std::vector<v1::EventChange>& changes,
                                             v1::ChangeKind kind) {
    std::vector<v1::EventChange> out;
    for (const auto& change : changes) {
      if (change.kind() == kind) {
        out.push_back(change);
      }
    }
    return out;
  }
};

TEST_F(EscalationTest, AnUnansweredEventClimbsAllFiveLevelsThenIsReminded) {
  const std::string id = Report();
  const v1::Event top = AwaitWhere(id, [](const v1::Event& e) { return e.reminder_count() > 0; });
  EXPECT_EQ(top.level(), v1::LEVEL_DISTRICT);
  EXPECT_EQ(top.escalation_count(), 4);
  EXPECT_TRUE(top.overdue());
  const std::vector<v1::EventChange> changes = History(id);
  const std::vector<v1::EventChange> escalations = OfKind(changes, v1::CHANGE_KIND_ESCALATED);
  ASSERT_EQ(escalations.size(), 4u);
  std::vector<v1::Level> levels;
  for (const v1::EventChange& change : escalations) {
    levels.push_back(change.to_level());
    EXPECT_EQ(change.reason_code(), v1::CHANGE_REASON_ACCEPT_TIMEOUT);
    EXPECT_EQ(change.to_level(), change.from_level() + 1);
  }
  EXPECT_THAT(levels, ElementsAre(v1::LEVEL_COMMUNITY, v1::LEVEL_ZONE, v1::LEVEL_SUBDISTRICT,
                                  v1::LEVEL_DISTRICT));
  EXPECT_EQ(escalations[0].from_unit_id(), kGrid);
  EXPECT_EQ(escalations[0].to_unit_id(), kCommunity);
  EXPECT_EQ(escalations[2].to_unit_id(), kSubdistrict);
  EXPECT_EQ(escalations[3].to_unit_id(), top.department_id()) << "the rule's department";
  // Each step waited for its two-second limit.
  for (size_t i = 1; i < escalations.size(); ++i) {
    EXPECT_GE(FromTimestamp(escalations[i].at()) - FromTimestamp(escalations[i - 1].at()), 2000);
  }
  const std::vector<v1::EventChange> reminders = OfKind(changes, v1::CHANGE_KIND_REMINDED);
  ASSERT_FALSE(reminders.empty());
  EXPECT_EQ(reminders[0].to_level(), v1::LEVEL_DISTRICT);
  // Reminders repeat while nobody accepts.
  AwaitWhere(id, [](const v1::Event& e) { return e.reminder_count() >= 2; });
}

TEST_F(EscalationTest, AcceptingStopsTheAcceptClockButTheResolveLimitStillEscalates) {
  const std::string id = Report();
  AwaitWhere(id, [](const v1::Event& e) { return e.state() == v1::EVENT_STATE_DISPATCHED; });
  v1::AcceptEventRequest accept;
  accept.set_event_id(id);
  *accept.mutable_actor() = Actor(v1::ROLE_HANDLER, kGrid);
  v1::AcceptEventResponse accepted;
  ASSERT_TRUE(gateway().AcceptEvent(Context(accept.actor()).get(), accept, &accepted).ok());
  const Millis resolve_by = FromTimestamp(accepted.event().deadlines().resolve_by());

  const v1::Event up = AwaitWhere(id, [](const v1::Event& e) { return e.escalation_count() >= 1; });
  EXPECT_EQ(up.level(), v1::LEVEL_COMMUNITY);
  EXPECT_EQ(up.state(), v1::EVENT_STATE_DISPATCHED);
  const std::vector<v1::EventChange> escalations = OfKind(History(id), v1::CHANGE_KIND_ESCALATED);
  ASSERT_GE(escalations.size(), 1u);
  EXPECT_EQ(escalations[0].reason_code(), v1::CHANGE_REASON_RESOLVE_TIMEOUT);
  EXPECT_GE(FromTimestamp(escalations[0].at()), resolve_by)
      << "nothing moved it while only the accept limit had passed";
}

TEST_F(EscalationTest, AHandlerEscalatesByHand) {
  const std::string id = Report();
  AwaitWhere(id, [](const v1::Event& e) { return e.state() == v1::EVENT_STATE_DISPATCHED; });
  v1::EscalateEventRequest request;
  request.set_event_id(id);
  *request.mutable_actor() = Actor(v1::ROLE_HANDLER, kGrid);
  request.set_reason("涉及多户居民, 需社区协调");
  v1::EscalateEventResponse response;
  ASSERT_TRUE(gateway().EscalateEvent(Context(request.actor()).get(), request, &response).ok());
  EXPECT_EQ(response.event().level(), v1::LEVEL_COMMUNITY);
  EXPECT_EQ(response.event().unit_id(), kCommunity);
  const std::vector<v1::EventChange> escalations = OfKind(History(id), v1::CHANGE_KIND_ESCALATED);
  ASSERT_GE(escalations.size(), 1u);
  EXPECT_EQ(escalations[0].reason_code(), v1::CHANGE_REASON_MANUAL);
  EXPECT_EQ(escalations[0].reason(), "涉及多户居民, 需社区协调");
}

TEST_F(EscalationTest, SupervisionPressesTheUnitWithAShorterLimit) {
  const std::string id = Report();
  const v1::Event dispatched =
      AwaitWhere(id, [](const v1::Event& e) { return e.state() == v1::EVENT_STATE_DISPATCHED; });
  const std::string other = Report();

  v1::SuperviseEventRequest outside;
  outside.set_event_id(id);
  *outside.mutable_actor() = Actor(v1::ROLE_OPERATOR, "370212002");
  outside.set_note("督办");
  v1::SuperviseEventResponse ignored;
  EXPECT_EQ(
      gateway().SuperviseEvent(Context(outside.actor()).get(), outside, &ignored).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);

  v1::SuperviseEventRequest request;
  request.set_event_id(id);
  *request.mutable_actor() = Actor(v1::ROLE_OPERATOR, kSubdistrict);
  request.set_note("请立即处置");
  request.mutable_limit()->set_nanos(300'000'000);
  v1::SuperviseEventResponse response;
  ASSERT_TRUE(gateway().SuperviseEvent(Context(request.actor()).get(), request, &response).ok());
  EXPECT_TRUE(response.event().supervised());
  const Millis pressed_by = FromTimestamp(response.event().deadlines().accept_by());
  EXPECT_LT(pressed_by, FromTimestamp(dispatched.deadlines().accept_by()));

  // Supervised work sorts first in the unit's queue.
  v1::ListUnitQueueRequest queue;
  queue.set_unit_id(kGrid);
  v1::ListUnitQueueResponse items;
  ASSERT_TRUE(gateway().ListUnitQueue(Context().get(), queue, &items).ok());
  ASSERT_GE(items.items_size(), 1);
  EXPECT_EQ(items.items(0).event().id(), id);
  (void)other;

  // And it escalates at the shorter limit.
  AwaitWhere(id, [](const v1::Event& e) { return e.escalation_count() >= 1; });
  const std::vector<v1::EventChange> changes = History(id);
  EXPECT_EQ(OfKind(changes, v1::CHANGE_KIND_SUPERVISED).size(), 1u);
  const auto escalations = OfKind(changes, v1::CHANGE_KIND_ESCALATED);
  ASSERT_GE(escalations.size(), 1u);
  EXPECT_GE(FromTimestamp(escalations[0].at()), pressed_by);
}

TEST_F(EscalationTest, ASuspendedEventDoesNotEscalate) {
  const std::string id = Report();
  AwaitWhere(id, [](const v1::Event& e) { return e.state() == v1::EVENT_STATE_DISPATCHED; });
  v1::SuspendEventRequest suspend;
  suspend.set_event_id(id);
  *suspend.mutable_actor() = Actor(v1::ROLE_HANDLER, kGrid);
  suspend.set_reason("等待施工许可核查");
  suspend.set_approver_unit_id(kCommunity);
  v1::SuspendEventResponse suspended;
  ASSERT_TRUE(gateway().SuspendEvent(Context(suspend.actor()).get(), suspend, &suspended).ok());
  // Two accept limits pass while it is parked.
  EXPECT_FALSE(PollUntil([&] { return Get(id).escalation_count() > 0; }, std::chrono::seconds(4)));
  EXPECT_EQ(Get(id).state(), v1::EVENT_STATE_SUSPENDED);

  v1::ResumeEventRequest resume;
  resume.set_event_id(id);
  // Taking a suspension back up is an operator's (the handler only asks for one).
  *resume.mutable_actor() = Actor(v1::ROLE_OPERATOR, kSubdistrict);
  v1::ResumeEventResponse resumed;
  ASSERT_TRUE(gateway().ResumeEvent(Context(resume.actor()).get(), resume, &resumed).ok());
  const v1::Event up = AwaitWhere(id, [](const v1::Event& e) { return e.escalation_count() >= 1; });
  EXPECT_EQ(up.level(), v1::LEVEL_COMMUNITY) << "its clock ran again once resumed";
}

TEST_F(EscalationTest, TwoEscalatorsEscalateEachEventExactlyOnce) {
  auto replica = stack_->StartReplica("grid-escalation");
  ASSERT_TRUE(replica.ok()) << replica.status();
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    ids.push_back(Report());
  }
  for (const std::string& id : ids) {
    AwaitWhere(id, [](const v1::Event& e) { return e.reminder_count() >= 1; });
    const std::vector<v1::EventChange> changes = History(id);
    const auto escalations = OfKind(changes, v1::CHANGE_KIND_ESCALATED);
    ASSERT_EQ(escalations.size(), 4u) << id;
    for (size_t i = 0; i < escalations.size(); ++i) {
      EXPECT_EQ(escalations[i].from_level(), v1::LEVEL_GRID + static_cast<int>(i)) << id;
    }
    // Versions are consecutive: no move was applied twice.
    for (size_t i = 1; i < changes.size(); ++i) {
      EXPECT_EQ(changes[i].version(), changes[i - 1].version() + 1) << id;
    }
  }
}

TEST_F(EscalationTest, TimersThatFellDueWhileTheEscalatorWasDownFireAtOnceAfterARestart) {
  stack_->StopService("grid-escalation", SIGKILL);
  const std::string id = Report();
  const v1::Event dispatched =
      AwaitWhere(id, [](const v1::Event& e) { return e.state() == v1::EVENT_STATE_DISPATCHED; });
  const Millis due = FromTimestamp(dispatched.deadlines().accept_by());
  // Let its limit pass with nobody watching the clock.
  EXPECT_FALSE(PollUntil([&] { return Get(id).escalation_count() > 0; },
                         std::chrono::milliseconds(due - Now() + 1500)));
  const Millis restarted = Now();
  auto started = stack_->StartService("grid-escalation");
  ASSERT_TRUE(started.ok()) << started;
  const v1::Event up = AwaitWhere(id, [](const v1::Event& e) { return e.escalation_count() >= 1; });
  EXPECT_EQ(up.level(), v1::LEVEL_COMMUNITY);
  const auto escalations = OfKind(History(id), v1::CHANGE_KIND_ESCALATED);
  ASSERT_GE(escalations.size(), 1u);
  EXPECT_GE(FromTimestamp(escalations[0].at()), restarted);
  EXPECT_LT(FromTimestamp(escalations[0].at()) - restarted, 5000)
      << "caught up as soon as it was back";
}

}  // namespace
}  // namespace grid
