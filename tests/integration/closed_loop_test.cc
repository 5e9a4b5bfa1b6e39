// The closed loop on real processes: report, dispatch, accept, resolve, verify, and the moves
// around it, through the gateway, with redis-server and the five service binaries.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <thread>

#include "common/clock/clock.h"
#include "common/topology/topology.h"
#include "tests/support/paths.h"
#include "tests/support/poll.h"
#include "tests/support/stack.h"
#include "tests/support/stack_test.h"

namespace grid {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::PollUntil;
using testing::SourcePath;
using testing::Stack;

constexpr std::chrono::seconds kDeadline{15};
constexpr char kGrid[] = "37021200100101";  // 张家涧社区第1网格, 中韩街道
constexpr char kCommunity[] = "370212001001";
constexpr char kWorker[] = "W3702120010010101";
constexpr char kSd[] = "370212001";

class ClosedLoopTest : public testing::StackTest {
 protected:
  void SetUp() override {
    Stack::Options options;
    // Entries a dead routing consumer left pending are taken over quickly in tests.
    options.extra_args["grid-routing"] = {"--reclaim-idle-ms", "500"};
    StartStack(options);
  }

  static v1::Actor Actor(v1::Role role, const std::string& subject, const std::string& unit) {
    return MakeActor(role, subject, unit);
  }
  static v1::Actor Handler(const std::string& unit) {
    return Actor(v1::ROLE_HANDLER, "handler-" + unit, unit);
  }
  static v1::Actor Worker() { return Actor(v1::ROLE_WORKER, kWorker, kGrid); }

  static v1::Report MakeReport(const std::string& category = "0102",
                               const std::string& request_id = "") {
    v1::Report report;
    report.set_grid_id(kGrid);
    report.set_category(category);
    report.set_severity(v1::SEVERITY_NORMAL);
    report.set_description("暴露垃圾");
    report.set_client_request_id(request_id);
    report.mutable_location()->set_lat(36.113337);
    report.mutable_location()->set_lng(120.433758);
    return report;
  }

  v1::ReportEventResponse Report(const v1::Report& report) {
    v1::ReportEventRequest request;
    *request.mutable_report() = report;
    *request.mutable_actor() = Worker();
    v1::ReportEventResponse response;
    const grpc::Status status =
        gateway().ReportEvent(Context(request.actor()).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  grpc::Status Get(const std::string& id, v1::Event& event) {
    v1::GetEventRequest request;
    request.set_event_id(id);
    v1::GetEventResponse response;
    grpc::Status status = gateway().GetEvent(Context().get(), request, &response);
    event = response.event();
    return status;
  }

  v1::Event Await(const std::string& id, v1::EventState state) {
    v1::Event event;
    PollUntil([&] { return Get(id, event).ok() && event.state() == state; }, kDeadline);
    EXPECT_EQ(event.state(), state) << id;
    return event;
  }

  // A located report would be merged into an open one at the same spot; tests that report the
  // same thing again and again leave the location out.
  v1::Event ReportDispatched(const std::string& category = "0102", bool located = false) {
    v1::Report report = MakeReport(category);
    if (!located) {
      report.clear_location();
    }
    return Await(Report(report).event_id(), v1::EVENT_STATE_DISPATCHED);
  }

  std::vector<v1::ChangeKind> History(const std::string& id,
                                      std::vector<v1::EventChange>* changes = nullptr) {
    v1::GetEventHistoryRequest request;
    request.set_event_id(id);
    v1::GetEventHistoryResponse response;
    EXPECT_TRUE(gateway().GetEventHistory(Context().get(), request, &response).ok());
    std::vector<v1::ChangeKind> kinds;
    for (const v1::EventChange& change : response.changes()) {
      kinds.push_back(change.kind());
    }
    if (changes != nullptr) {
      changes->assign(response.changes().begin(), response.changes().end());
    }
    return kinds;
  }

  // Moves through the gateway; each returns the status and fills the event after the move.
  grpc::Status Accept(const std::string& id, const v1::Actor& actor, v1::Event* out = nullptr) {
    v1::AcceptEventRequest request;
    request.set_event_id(id);
    *request.mutable_actor() = actor;
    v1::AcceptEventResponse response;
    auto status = gateway().AcceptEvent(Context(request.actor()).get(), request, &response);
    if (out != nullptr) {
      *out = response.event();
    }
    return status;
  }
  grpc::Status Resolve(const std::string& id, const v1::Actor& actor) {
    v1::ResolveEventRequest request;
    request.set_event_id(id);
    *request.mutable_actor() = actor;
    request.set_note("清理完毕");
    request.add_media("oss://evidence/after.jpg");
    v1::ResolveEventResponse response;
    return gateway().ResolveEvent(Context(request.actor()).get(), request, &response);
  }
  grpc::Status Verify(const std::string& id, bool passed, v1::Event* out = nullptr) {
    v1::VerifyEventRequest request;
    request.set_event_id(id);
    *request.mutable_actor() = Worker();
    request.set_passed(passed);
    request.set_note(passed ? "现场核实已清理" : "仍有垃圾");
    v1::VerifyEventResponse response;
    auto status = gateway().VerifyEvent(Context(request.actor()).get(), request, &response);
    if (out != nullptr) {
      *out = response.event();
    }
    return status;
  }

  std::optional<std::string> RedisString(std::vector<std::string> argv) {
    auto reply =
        redis::CommandSync(stack_->redis_client(), std::move(argv), std::chrono::seconds(2));
    if (!reply.ok() || reply->IsNil()) {
      return std::nullopt;
    }
    return reply->str;
  }
  long long RedisInteger(std::vector<std::string> argv) {
    auto reply =
        redis::CommandSync(stack_->redis_client(), std::move(argv), std::chrono::seconds(2));
    return reply.ok() ? reply->integer : -1;
  }
  bool InQueue(const std::string& unit, const std::string& id) {
    return RedisString({"ZSCORE", std::string("{") + kSd + "}:queue:" + unit, id}).has_value();
  }
};

TEST_F(ClosedLoopTest, ReportDispatchAcceptResolveVerifyClose) {
  const v1::Event dispatched = ReportDispatched();
  const std::string id = dispatched.id();
  EXPECT_EQ(dispatched.unit_id(), kGrid);
  EXPECT_TRUE(InQueue(kGrid, id));

  v1::Event event;
  ASSERT_TRUE(Accept(id, Handler(kGrid), &event).ok());
  EXPECT_EQ(event.state(), v1::EVENT_STATE_ACCEPTED);
  ASSERT_TRUE(Resolve(id, Handler(kGrid)).ok());
  EXPECT_FALSE(InQueue(kGrid, id)) << "resolved work waits for verification, not in the queue";
  ASSERT_TRUE(Verify(id, true, &event).ok());
  EXPECT_EQ(event.state(), v1::EVENT_STATE_CLOSED);
  EXPECT_EQ(event.version(), 5);

  std::vector<v1::EventChange> changes;
  EXPECT_THAT(
      History(id, &changes),
      ElementsAre(v1::CHANGE_KIND_REPORTED, v1::CHANGE_KIND_DISPATCHED, v1::CHANGE_KIND_ACCEPTED,
                  v1::CHANGE_KIND_RESOLVED, v1::CHANGE_KIND_VERIFIED));
  EXPECT_EQ(changes[2].actor().subject(), std::string("handler-") + kGrid);
  EXPECT_EQ(changes[3].note(), "清理完毕");
  EXPECT_EQ(changes[4].to_state(), v1::EVENT_STATE_CLOSED);

  // Every move is on the live stream too, in order.
  auto live = redis::CommandSync(stack_->redis_client(),
                                 {"XRANGE", std::string("{") + kSd + "}:live", "-", "+"},
                                 std::chrono::seconds(2));
  ASSERT_TRUE(live.ok());
  std::vector<v1::ChangeKind> streamed;
  for (const redis::Reply& entry : live->elements) {
    v1::EventChange change;
    ASSERT_TRUE(change.ParseFromString(entry.elements[1].elements[1].str));
    if (change.event_id() == id) {
      streamed.push_back(change.kind());
    }
  }
  EXPECT_EQ(streamed, History(id));

  // Nothing moves a closed event.
  const grpc::Status again = Accept(id, Handler(kGrid));
  EXPECT_EQ(again.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(again.error_message(), HasSubstr("EVENT_STATE_CLOSED"));
}

TEST_F(ClosedLoopTest, FailedVerificationSendsItBackForRework) {
  const std::string id = ReportDispatched().id();
  ASSERT_TRUE(Accept(id, Handler(kGrid)).ok());
  ASSERT_TRUE(Resolve(id, Handler(kGrid)).ok());
  v1::Event event;
  ASSERT_TRUE(Verify(id, false, &event).ok());
  EXPECT_EQ(event.state(), v1::EVENT_STATE_DISPATCHED);
  EXPECT_EQ(event.unit_id(), kGrid) << "rework goes to the same unit";
  EXPECT_EQ(event.rework_count(), 1);
  EXPECT_TRUE(InQueue(kGrid, id));
  ASSERT_TRUE(Accept(id, Handler(kGrid)).ok());
  ASSERT_TRUE(Resolve(id, Handler(kGrid)).ok());
  ASSERT_TRUE(Verify(id, true, &event).ok());
  EXPECT_EQ(event.state(), v1::EVENT_STATE_CLOSED);
  EXPECT_EQ(event.rework_count(), 1);
  EXPECT_THAT(History(id), ElementsAre(v1::CHANGE_KIND_REPORTED, v1::CHANGE_KIND_DISPATCHED,
                                       v1::CHANGE_KIND_ACCEPTED, v1::CHANGE_KIND_RESOLVED,
                                       v1::CHANGE_KIND_REWORK, v1::CHANGE_KIND_ACCEPTED,
                                       v1::CHANGE_KIND_RESOLVED, v1::CHANGE_KIND_VERIFIED));
}

TEST_F(ClosedLoopTest, AReturnedEventIsRoutedToTheNextUnit) {
  const std::string id = ReportDispatched().id();
  v1::ReturnEventRequest request;
  request.set_event_id(id);
  *request.mutable_actor() = Handler(kGrid);
  request.set_reason("这是物业的事");
  v1::ReturnEventResponse response;
  ASSERT_TRUE(gateway().ReturnEvent(Context(request.actor()).get(), request, &response).ok());
  EXPECT_EQ(response.event().state(), v1::EVENT_STATE_DISPATCHED);
  EXPECT_EQ(response.event().level(), v1::LEVEL_COMMUNITY);
  EXPECT_EQ(response.event().unit_id(), kCommunity);
  EXPECT_EQ(response.event().return_count(), 1);
  EXPECT_FALSE(InQueue(kGrid, id));
  EXPECT_TRUE(InQueue(kCommunity, id));
  EXPECT_EQ(RedisString({"HGET", std::string("{") + kSd + "}:returns", kGrid}), "1");
  std::vector<v1::EventChange> changes;
  History(id, &changes);
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[2].kind(), v1::CHANGE_KIND_RETURNED);
  EXPECT_EQ(changes[2].reason(), "这是物业的事");
  EXPECT_EQ(changes[2].from_unit_id(), kGrid);
  EXPECT_EQ(changes[2].to_unit_id(), kCommunity);
}

TEST_F(ClosedLoopTest, SuspendPausesTheClockAndResumeRestartsIt) {
  // Noise (0408) runs on a wall-clock limit, so the shift is visible at any hour of the week.
  const v1::Event dispatched = ReportDispatched("0408");
  const std::string id = dispatched.id();
  v1::SuspendEventRequest suspend;
  suspend.set_event_id(id);
  *suspend.mutable_actor() = Handler(kGrid);
  suspend.set_reason("等待管网改造");
  suspend.set_approver_unit_id(kCommunity);
  v1::SuspendEventResponse suspended;
  ASSERT_TRUE(gateway().SuspendEvent(Context(suspend.actor()).get(), suspend, &suspended).ok());
  EXPECT_EQ(suspended.event().state(), v1::EVENT_STATE_SUSPENDED);
  v1::Event event;
  ASSERT_TRUE(Get(id, event).ok());
  EXPECT_EQ(event.traffic_light(), v1::TRAFFIC_LIGHT_UNSPECIFIED) << "no clock runs";
  EXPECT_FALSE(InQueue(kGrid, id));
  const grpc::Status refused = Accept(id, Handler(kGrid));
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(refused.error_message(), HasSubstr("EVENT_STATE_SUSPENDED"));

  // Let the wall clock move on while the event is parked.
  const auto parked = std::chrono::steady_clock::now();
  PollUntil(
      [&] { return std::chrono::steady_clock::now() - parked > std::chrono::milliseconds(300); },
      std::chrono::seconds(1));
  v1::ResumeEventRequest resume;
  resume.set_event_id(id);
  // Taking a suspension back up is an operator's (the handler only asks for one).
  *resume.mutable_actor() = Actor(v1::ROLE_OPERATOR, std::string("operator-") + kSd, kSd);
  v1::ResumeEventResponse resumed;
  ASSERT_TRUE(gateway().ResumeEvent(Context(resume.actor()).get(), resume, &resumed).ok());
  EXPECT_EQ(resumed.event().state(), v1::EVENT_STATE_DISPATCHED);
  EXPECT_TRUE(InQueue(kGrid, id));

  std::vector<v1::EventChange> changes;
  History(id, &changes);
  ASSERT_EQ(changes.size(), 4u);
  const Millis paused = FromTimestamp(changes[3].at()) - FromTimestamp(changes[2].at());
  EXPECT_GE(paused, 300);
  EXPECT_EQ(FromTimestamp(resumed.event().deadlines().accept_by()) -
                FromTimestamp(dispatched.deadlines().accept_by()),
            paused)
      << "the deadline moved by exactly the time spent suspended";
}

TEST_F(ClosedLoopTest, ARetriedReportFilesOneEvent) {
  const v1::ReportEventResponse first = Report(MakeReport("0102", "phone-7f3a-0001"));
  const v1::ReportEventResponse retry = Report(MakeReport("0102", "phone-7f3a-0001"));
  EXPECT_FALSE(first.replayed());
  EXPECT_TRUE(retry.replayed());
  EXPECT_EQ(retry.event_id(), first.event_id());
  EXPECT_EQ(RedisInteger({"XLEN", std::string("{") + kSd + "}:routing"}), 1);
}

TEST_F(ClosedLoopTest, AnOfflineBatchAnswersPerItemAndKeepsOriginalTimes) {
  const Millis two_days_ago = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count() -
                              2 * 24 * 3600 * 1000LL;
  std::vector<v1::Report> reports;
  for (int i = 0; i < 4; ++i) {
    v1::Report report = MakeReport("0104", "offline-" + std::to_string(i));
    report.clear_location();  // unlocated: no duplicate merging in this test
    *report.mutable_reported_at() = ToTimestamp(two_days_ago + i * 60'000);
    reports.push_back(report);
  }
  reports.push_back(reports[1]);  // the app resent one
  reports.push_back(MakeReport("9999", "offline-bad"));

  grpc::ClientContext context;
  stack_->Authorize(context, Worker());
  v1::UploadReportsResponse response;
  auto writer = gateway().UploadReports(&context, &response);
  for (const v1::Report& report : reports) {
    v1::UploadReportsRequest item;
    *item.mutable_report() = report;
    *item.mutable_actor() = Worker();
    ASSERT_TRUE(writer->Write(item));
  }
  writer->WritesDone();
  const grpc::Status status = writer->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.results_size(), 6);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(response.results(i).index(), i);
  }
  EXPECT_EQ(response.results(4).event_id(), response.results(1).event_id());
  EXPECT_TRUE(response.results(4).replayed());
  EXPECT_FALSE(response.results(1).replayed());
  EXPECT_EQ(response.results(5).error().code(),
            static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(response.results(5).error().message(), HasSubstr("report.category"));
  for (int i = 0; i < 4; ++i) {
    v1::Event event = Await(response.results(i).event_id(), v1::EVENT_STATE_DISPATCHED);
    EXPECT_EQ(FromTimestamp(event.reported_at()), two_days_ago + i * 60'000);
  }
  EXPECT_EQ(RedisInteger({"XLEN", std::string("{") + kSd + "}:routing"}), 4);
}

TEST_F(ClosedLoopTest, ADuplicateReportIsMergedNotDispatched) {
  const v1::Event open = ReportDispatched("0102", /*located=*/true);
  v1::Report again = MakeReport("0102");
  again.mutable_location()->set_lat(open.location().lat() + 0.0002);  // about 22 m north
  const v1::ReportEventResponse duplicate = Report(again);
  EXPECT_EQ(duplicate.duplicate_of(), open.id());
  EXPECT_EQ(duplicate.event().state(), v1::EVENT_STATE_VOIDED);

  v1::Event merged;
  ASSERT_TRUE(Get(open.id(), merged).ok());
  EXPECT_EQ(merged.duplicate_count(), 1);
  EXPECT_EQ(merged.state(), v1::EVENT_STATE_DISPATCHED);
  EXPECT_EQ(merged.unit_id(), open.unit_id());
  EXPECT_THAT(History(open.id()), ElementsAre(v1::CHANGE_KIND_REPORTED, v1::CHANGE_KIND_DISPATCHED,
                                              v1::CHANGE_KIND_DUPLICATE_MERGED));
  EXPECT_THAT(History(duplicate.event_id()), ElementsAre(v1::CHANGE_KIND_REPORTED));
  EXPECT_EQ(RedisInteger({"XLEN", std::string("{") + kSd + "}:routing"}), 1)
      << "the duplicate never reached routing";

  // Another category at the same spot is a matter of its own.
  const v1::ReportEventResponse other = Report(MakeReport("0103"));
  EXPECT_TRUE(other.duplicate_of().empty());
}

TEST_F(ClosedLoopTest, OfTwoConcurrentAcceptsExactlyOneWins) {
  for (int round = 0; round < 5; ++round) {
    const std::string id = ReportDispatched().id();
    std::atomic<int> ok{0};
    std::atomic<int> refused{0};
    std::vector<std::thread> handlers;
    for (int h = 0; h < 2; ++h) {
      handlers.emplace_back([&, h] {
        const grpc::Status status =
            Accept(id, Actor(v1::ROLE_HANDLER, "handler-" + std::to_string(h), kGrid));
        if (status.ok()) {
          ++ok;
        } else if (status.error_code() == grpc::StatusCode::FAILED_PRECONDITION &&
                   status.error_message().find("EVENT_STATE_ACCEPTED") != std::string::npos) {
          ++refused;
        }
      });
    }
    for (auto& handler : handlers) {
      handler.join();
    }
    EXPECT_EQ(ok.load(), 1) << "round " << round;
    EXPECT_EQ(refused.load(), 1) << "round " << round;
    std::vector<v1::ChangeKind> kinds = History(id);
    EXPECT_EQ(std::count(kinds.begin(), kinds.end(), v1::CHANGE_KIND_ACCEPTED), 1);
  }
}

TEST_F(ClosedLoopTest, QueuesAndListsShowWhereEveryEventStands) {
  const std::string waiting = ReportDispatched("0104").id();
  const std::string accepted = ReportDispatched("0102").id();
  const std::string returned = ReportDispatched("0103").id();
  ASSERT_TRUE(Accept(accepted, Handler(kGrid)).ok());
  v1::ReturnEventRequest give_back;
  give_back.set_event_id(returned);
  v1::Event to_give_back;
  ASSERT_TRUE(Get(returned, to_give_back).ok());
  // Returned by the handler of the unit that has it (0103 starts at the community).
  *give_back.mutable_actor() = Handler(to_give_back.unit_id());
  give_back.set_reason("not ours");
  v1::ReturnEventResponse ignored;
  const grpc::Status given_back =
      gateway().ReturnEvent(Context(give_back.actor()).get(), give_back, &ignored);
  ASSERT_TRUE(given_back.ok()) << given_back.error_message();

  v1::ListUnitQueueRequest queue;
  queue.set_unit_id(kGrid);
  v1::ListUnitQueueResponse items;
  ASSERT_TRUE(gateway().ListUnitQueue(Context().get(), queue, &items).ok());
  std::vector<std::string> queued;
  for (const v1::QueueItem& item : items.items()) {
    queued.push_back(item.event().id());
    EXPECT_EQ(item.traffic_light(), v1::TRAFFIC_LIGHT_GREEN);
    EXPECT_GT(item.time_left().seconds(), 0);
  }
  EXPECT_THAT(queued, ::testing::UnorderedElementsAre(waiting, accepted));

  v1::ListEventsRequest list;
  list.set_unit_id(kSd);
  list.add_states(v1::EVENT_STATE_DISPATCHED);
  v1::ListEventsResponse events;
  ASSERT_TRUE(gateway().ListEvents(Context().get(), list, &events).ok());
  std::vector<std::string> listed;
  for (const v1::Event& event : events.events()) {
    listed.push_back(event.id());
  }
  EXPECT_EQ(listed, (std::vector<std::string>{returned, waiting})) << "newest first";

  queue.set_unit_id("370212999999");
  const grpc::Status unknown = gateway().ListUnitQueue(Context().get(), queue, &items);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(unknown.error_message(), HasSubstr("unit_id"));
}

// The console's 督办 list and severity filter ask ListEvents, through the gateway, for exactly
// what they show: pressed (or not pressed) events, and events at least this severe.
TEST_F(ClosedLoopTest, ListEventsFiltersBySupervisionAndSeverity) {
  auto report = [&](v1::Severity severity) {
    v1::Report report = MakeReport("0102");
    report.clear_location();
    report.set_severity(severity);
    return Await(Report(report).event_id(), v1::EVENT_STATE_DISPATCHED).id();
  };
  const std::string low = report(v1::SEVERITY_LOW);
  const std::string pressed = report(v1::SEVERITY_NORMAL);
  const std::string high = report(v1::SEVERITY_HIGH);
  v1::SuperviseEventRequest supervise;
  supervise.set_event_id(pressed);
  *supervise.mutable_actor() = Actor(v1::ROLE_OPERATOR, "operator-" + std::string(kSd), kSd);
  supervise.set_note("请尽快处置");
  v1::SuperviseEventResponse supervised;
  const grpc::Status pressed_status =
      gateway().SuperviseEvent(Context(supervise.actor()).get(), supervise, &supervised);
  ASSERT_TRUE(pressed_status.ok()) << pressed_status.error_message();

  const v1::Actor operator_actor = supervise.actor();
  auto list = [&](const v1::ListEventsRequest& request) {
    v1::ListEventsResponse response;
    const grpc::Status status =
        gateway().ListEvents(Context(operator_actor).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::vector<std::string> ids;
    for (const v1::Event& event : response.events()) {
      ids.push_back(event.id());
    }
    return ids;
  };
  v1::ListEventsRequest request;
  request.add_states(v1::EVENT_STATE_DISPATCHED);
  EXPECT_EQ(list(request), (std::vector<std::string>{high, pressed, low}));
  request.set_supervised(true);
  EXPECT_EQ(list(request), (std::vector<std::string>{pressed}));
  request.set_supervised(false);
  EXPECT_EQ(list(request), (std::vector<std::string>{high, low}));
  request.clear_supervised();
  request.set_min_severity(v1::SEVERITY_NORMAL);
  EXPECT_EQ(list(request), (std::vector<std::string>{high, pressed}));
  request.set_min_severity(v1::SEVERITY_HIGH);
  EXPECT_EQ(list(request), (std::vector<std::string>{high}));

  request.set_min_severity(static_cast<v1::Severity>(7));
  v1::ListEventsResponse ignored;
  const grpc::Status bad = gateway().ListEvents(Context(operator_actor).get(), request, &ignored);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(bad.error_message(), HasSubstr("min_severity"));
}

TEST_F(ClosedLoopTest, EntriesLeftPendingByADeadRoutingProcessAreDispatchedExactlyOnce) {
  // A burst while routing runs, cut short by a crash.
  std::vector<std::string> ids;
  for (int i = 0; i < 60; ++i) {
    v1::Report report = MakeReport("0104");
    report.clear_location();
    ids.push_back(Report(report).event_id());
    if (i == 30) {
      stack_->StopService("grid-routing", SIGKILL);
    }
  }
  // Entries another consumer read and never acknowledged: it died holding them.
  const std::string stream = std::string("{") + kSd + "}:routing";
  auto held = redis::CommandSync(
      stack_->redis_client(),
      {"XREADGROUP", "GROUP", "routing", "ghost", "COUNT", "10", "STREAMS", stream, ">"},
      std::chrono::seconds(2));
  ASSERT_TRUE(held.ok());
  auto restarted = stack_->StartService("grid-routing");
  ASSERT_TRUE(restarted.ok()) << restarted;

  for (const std::string& id : ids) {
    const v1::Event event = Await(id, v1::EVENT_STATE_DISPATCHED);
    EXPECT_EQ(event.version(), 2) << id << " was dispatched more than once";
    const std::vector<v1::ChangeKind> kinds = History(id);
    EXPECT_EQ(std::count(kinds.begin(), kinds.end(), v1::CHANGE_KIND_DISPATCHED), 1) << id;
  }
  EXPECT_TRUE(PollUntil(
      [&] {
        auto pending = redis::CommandSync(stack_->redis_client(), {"XPENDING", stream, "routing"},
                                          std::chrono::seconds(2));
        return pending.ok() && pending->elements.at(0).integer == 0;
      },
      kDeadline))
      << "every entry was acknowledged in the end";
}

}  // namespace
}  // namespace grid
