// The one rule of jurisdiction on real processes ("an event is in a unit's subtree when its grid
// or the unit that has it now is"), with a quick policy (every accept limit 2 s) so that events
// leave the community by themselves: a community operator keeps its grid's event in GetEvent,
// ListEvents, ListOverdueEvents and WatchEvents wherever the event went, and sees nothing of the
// neighbouring community; a handler watches its own queue and reads its subtree's topology and
// stats (the web console serves handlers too).
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/poll.h"
#include "tests/support/stack.h"
#include "tests/support/stack_test.h"

namespace grid {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::PollUntil;
using testing::Stack;

constexpr std::chrono::seconds kDeadline{30};
// 中韩街道 (370212001): community 003 (the operator's, as in the report of the defect) and
// community 001, its neighbour under the same subdistrict.
constexpr char kCommunity[] = "370212001003";
constexpr char kGrid[] = "37021200100301";
constexpr char kNeighbourGrid[] = "37021200100101";

// One WatchEvents call as `actor`, read on a thread of its own until cancelled.
class Watch {
 public:
  Watch(Stack& stack, const v1::Actor& actor, const v1::WatchEventsRequest& request) {
    stack.Authorize(context_, actor);
    thread_ = std::thread([this, &stack, request] {
      auto reader = stack.gateway().WatchEvents(&context_, request);
      v1::WatchEventsResponse response;
      while (reader->Read(&response)) {
        std::lock_guard lock(mu_);
        ++messages_;
        if (response.has_change()) {
          changes_.push_back(response.change());
        }
      }
      grpc::Status status = reader->Finish();
      std::lock_guard lock(mu_);
      status_ = std::move(status);
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
  std::vector<v1::EventChange> Changes() const {
    std::lock_guard lock(mu_);
    return changes_;
  }
  // The changes of one event, as "KIND from->to".
  std::vector<std::string> StepsOf(const std::string& event_id) const {
    std::vector<std::string> steps;
    for (const v1::EventChange& change : Changes()) {
      if (change.event_id() == event_id) {
        steps.push_back(v1::ChangeKind_Name(change.kind()) + " " + change.from_unit_id() + "->" +
                        change.to_unit_id());
      }
    }
    return steps;
  }
  bool done() const {
    std::lock_guard lock(mu_);
    return done_;
  }
  grpc::Status status() const {
    std::lock_guard lock(mu_);
    return status_;
  }

 private:
  grpc::ClientContext context_;
  mutable std::mutex mu_;
  int messages_ = 0;
  std::vector<v1::EventChange> changes_;
  bool done_ = false;
  grpc::Status status_;
  std::thread thread_;
};

class JurisdictionTest : public testing::StackTest {
 protected:
  void SetUp() override {
    Stack::Options options;
    options.policy = "tests/integration/testdata/policy-quick.json";
    options.extra_args["grid-gateway"] = {"--watch-heartbeat-seconds", "1"};
    StartStack(options);
  }

  // A noise report (0408, routed to the grid; unlocated, so that reports never merge), filed by
  // an admin.
  std::string Report(const std::string& grid) {
    v1::ReportEventRequest request;
    v1::Report& report = *request.mutable_report();
    report.set_grid_id(grid);
    report.set_category("0408");
    report.set_severity(v1::SEVERITY_NORMAL);
    report.set_description("夜间施工噪音");
    v1::ReportEventResponse response;
    const grpc::Status status = gateway().ReportEvent(Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.event_id();
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

  std::vector<std::string> OverdueIds(const v1::Actor& actor) {
    v1::ListOverdueEventsRequest request;  // No unit: the caller's home unit.
    request.set_page_size(500);
    v1::ListOverdueEventsResponse response;
    const grpc::Status status =
        gateway().ListOverdueEvents(Context(actor).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::vector<std::string> ids;
    for (const v1::Event& event : response.events()) {
      ids.push_back(event.id());
    }
    return ids;
  }
};

// Issue 10, item 2: the community's operator lost its grid's event from its lists once the event
// left the community (ListEvents once at the zone, ListOverdueEvents once at a district
// department), though GetEvent returned it; its watch saw one of the four escalations.
TEST_F(JurisdictionTest, ACommunityKeepsItsGridsEventWhereverItGoes) {
  const v1::Actor op = MakeActor(v1::ROLE_OPERATOR, "op-003", kCommunity);
  Watch watch(*stack_, op, v1::WatchEventsRequest());
  ASSERT_TRUE(watch.WaitAttached());

  const std::string mine = Report(kGrid);
  const std::string neighbours = Report(kNeighbourGrid);
  // Unanswered, both climb grid → community → zone → subdistrict → a district department, where
  // they stay, overdue.
  const auto overdue = [](const v1::Event& e) {
    return e.level() == v1::LEVEL_DISTRICT && e.overdue();
  };
  const v1::Event top = AwaitWhere(mine, overdue, kDeadline);
  AwaitWhere(neighbours, overdue, kDeadline);
  ASSERT_EQ(top.unit_id(), top.department_id())
      << "at the rule's department, outside the community";

  // GetEvent, ListEvents and ListOverdueEvents agree: the grid's event is the community's.
  v1::GetEventRequest get;
  get.set_event_id(mine);
  v1::GetEventResponse got;
  EXPECT_TRUE(gateway().GetEvent(Context(op).get(), get, &got).ok());
  get.set_event_id(neighbours);
  EXPECT_EQ(gateway().GetEvent(Context(op).get(), get, &got).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  const std::vector<std::string> listed = ListedIds(op);
  EXPECT_THAT(listed, Contains(mine));
  EXPECT_THAT(listed, Not(Contains(neighbours)));
  const std::vector<std::string> late = OverdueIds(op);
  EXPECT_THAT(late, Contains(mine));
  EXPECT_THAT(late, Not(Contains(neighbours)));
  // The department's operator lists both: they sit at it.
  const v1::Actor department = MakeActor(v1::ROLE_OPERATOR, "op-dept", top.department_id());
  EXPECT_THAT(OverdueIds(department), ::testing::IsSupersetOf({mine, neighbours}));
  EXPECT_THAT(ListedIds(department), ::testing::IsSupersetOf({mine, neighbours}));

  // The watch: every step of its grid's event, the four escalations included, and nothing of
  // the neighbour's.
  const std::string zone = "370212001Z01";
  const std::vector<std::string> expected = {
      "CHANGE_KIND_REPORTED ->" + std::string(kGrid),
      "CHANGE_KIND_DISPATCHED ->" + std::string(kGrid),
      "CHANGE_KIND_ESCALATED " + std::string(kGrid) + "->" + kCommunity,
      "CHANGE_KIND_ESCALATED " + std::string(kCommunity) + "->" + zone,
      "CHANGE_KIND_ESCALATED " + zone + "->370212001",
      "CHANGE_KIND_ESCALATED 370212001->" + top.department_id(),
  };
  EXPECT_TRUE(PollUntil([&] { return watch.StepsOf(mine).size() >= expected.size(); }, kDeadline));
  std::vector<std::string> steps = watch.StepsOf(mine);
  ASSERT_GE(steps.size(), expected.size()) << ::testing::PrintToString(steps);
  steps.resize(expected.size());  // Reminders at the department follow.
  EXPECT_EQ(steps, expected);
  EXPECT_THAT(watch.StepsOf(neighbours), ::testing::IsEmpty());
  EXPECT_FALSE(watch.done()) << watch.status().error_message();
}

// Issue 9 (the web console serves handlers): a handler watches its own queue — the changes that
// bring events to its unit, happen there, or take them away — and reads its subtree's topology
// and stats; a watch of another unit is refused.
TEST_F(JurisdictionTest, AHandlerWatchesItsQueueAndReadsItsSubtree) {
  const v1::Actor handler = MakeActor(v1::ROLE_HANDLER, "handler-003", kGrid);
  Watch queue(*stack_, handler, v1::WatchEventsRequest());
  ASSERT_TRUE(queue.WaitAttached());
  ASSERT_FALSE(queue.done()) << queue.status().error_message();

  const std::string mine = Report(kGrid);
  const std::string neighbours = Report(kNeighbourGrid);
  AwaitWhere(
      mine, [](const v1::Event& e) { return e.level() >= v1::LEVEL_ZONE; }, kDeadline);
  // Into the grid's queue, and out of it to the community; what happens above is not its queue.
  const std::vector<std::string> expected = {
      "CHANGE_KIND_REPORTED ->" + std::string(kGrid),
      "CHANGE_KIND_DISPATCHED ->" + std::string(kGrid),
      "CHANGE_KIND_ESCALATED " + std::string(kGrid) + "->" + kCommunity,
  };
  EXPECT_TRUE(PollUntil([&] { return queue.StepsOf(mine).size() >= expected.size(); }, kDeadline));
  EXPECT_EQ(queue.StepsOf(mine), expected);
  EXPECT_THAT(queue.StepsOf(neighbours), ::testing::IsEmpty());

  v1::WatchEventsRequest above;
  above.set_unit_id(kCommunity);
  Watch refused(*stack_, handler, above);
  ASSERT_TRUE(PollUntil([&] { return refused.done(); }, kDeadline));
  EXPECT_EQ(refused.status().error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(refused.status().error_message(), HasSubstr("queue"));

  v1::GetTopologyRequest topology;  // No unit: the handler's own.
  v1::GetTopologyResponse own;
  const grpc::Status read = gateway().GetTopology(Context(handler).get(), topology, &own);
  ASSERT_TRUE(read.ok()) << read.error_message();
  EXPECT_GT(own.worker_count(), 0);
  EXPECT_LT(own.worker_count(), 10) << "one grid's workers";
  topology.set_unit_id(kCommunity);
  EXPECT_EQ(gateway().GetTopology(Context(handler).get(), topology, &own).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  v1::GetStatsRequest stats;  // No unit: the handler's own.
  v1::GetStatsResponse figures;
  const grpc::Status counted = gateway().GetStats(Context(handler).get(), stats, &figures);
  EXPECT_TRUE(counted.ok()) << counted.error_message();
  stats.set_unit_id(kCommunity);
  EXPECT_EQ(gateway().GetStats(Context(handler).get(), stats, &figures).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

}  // namespace
}  // namespace grid
