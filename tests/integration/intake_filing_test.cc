// How intake files a report on the real stack: a client request id honoured for any grid, across
// a crash between its reservation and the filing, and concurrent reports of one matter merged on
// two intake replicas exactly as sequential ones are.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <future>
#include <latch>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "common/store/keys.h"
#include "grid/v1/intake.grpc.pb.h"
#include "tests/support/poll.h"
#include "tests/support/stack.h"
#include "tests/support/stack_test.h"

namespace grid {
namespace {

using ::testing::IsEmpty;
using ::testing::Not;
using testing::PollUntil;
using testing::Process;
using testing::Stack;

// The first grids of 中韩街道 (370212001), 沙子口街道 (370212002) and 北宅街道 (370212004).
constexpr char kGridSd1[] = "37021200100101";
constexpr char kGridSd2[] = "37021200200101";
constexpr char kGridSd4[] = "37021200400101";
constexpr std::chrono::seconds kDeadline{15};

class IntakeFilingTest : public testing::StackTest {
 protected:
  void SetUp() override { StartStack(); }

  static v1::Report MakeReport(const std::string& grid, const std::string& request_id,
                               const std::string& category = "0102") {
    v1::Report report;
    report.set_grid_id(grid);
    report.set_category(category);
    report.set_severity(v1::SEVERITY_NORMAL);
    report.set_description("暴露垃圾 " + request_id);
    report.set_client_request_id(request_id);
    return report;
  }

  // A report `metres_north` of the first grid of 中韩街道's centre, which is inside the grid.
  static v1::Report Located(const std::string& request_id, const std::string& category,
                            double metres_north = 0) {
    v1::Report report = MakeReport(kGridSd1, request_id, category);
    report.mutable_location()->set_lat(36.113337 + metres_north / 111'195.0);
    report.mutable_location()->set_lng(120.433758);
    return report;
  }

  grpc::Status ReportViaGateway(const v1::Report& report, v1::ReportEventResponse& response,
                                const v1::Actor& actor = Stack::Admin()) {
    v1::ReportEventRequest request;
    *request.mutable_report() = report;
    return gateway().ReportEvent(Context(actor, kDeadline).get(), request, &response);
  }

  // Straight to an intake process (the gateway only knows the stack's own).
  static grpc::Status ReportTo(v1::IntakeService::Stub& intake, const v1::Report& report,
                               v1::ReportEventResponse& response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kDeadline);
    v1::ReportEventRequest request;
    *request.mutable_report() = report;
    *request.mutable_actor() = Stack::Admin();
    return intake.ReportEvent(&context, request, &response);
  }

  static std::unique_ptr<v1::IntakeService::Stub> IntakeAt(const std::string& address) {
    return v1::IntakeService::NewStub(
        grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  }

  redis::Reply Redis(std::vector<std::string> argv) {
    auto reply =
        redis::CommandSync(stack_->redis_client(), std::move(argv), std::chrono::seconds(2));
    EXPECT_TRUE(reply.ok()) << reply.status();
    return reply.ok() ? *reply : redis::Reply::Nil();
  }

  // Every event filed, in every subdistrict's time index.
  long long EventCount() {
    long long count = 0;
    for (const char* sd : {"370212001", "370212002", "370212003", "370212004", "370212005"}) {
      count += Redis({"ZCARD", store::EventsIndexKey(sd)}).integer;
    }
    return count;
  }

  // The event reserved under the admin's request id, or an empty event when there is none.
  v1::Event Reserved(const std::string& request_id) {
    const redis::Reply reply =
        Redis({"GET", store::RequestKey(Stack::Admin().subject(), request_id)});
    v1::Event event;
    if (reply.IsString()) {
      EXPECT_TRUE(event.ParseFromString(reply.str));
    }
    return event;
  }

  bool Exists(const v1::Event& event) {
    return Redis({"EXISTS", store::EventKey(event.subdistrict_id(), event.id())}).integer == 1;
  }

  // Whether the process is stopped (state T in /proc/<pid>/stat).
  static bool Stopped(Process& process) {
    std::ifstream stat("/proc/" + std::to_string(process.pid()) + "/stat");
    std::string pid;
    std::string comm;
    std::string state;
    stat >> pid >> comm >> state;
    return state == "T";
  }

  // An intake replica that stops itself right after its first reservation.
  std::unique_ptr<Process> StoppingReplica(std::string& address) {
    auto replica = stack_->StartReplica("grid-intake", {"--test-stop-after-reservation"}, &address);
    EXPECT_TRUE(replica.ok()) << replica.status();
    return replica.ok() ? *std::move(replica) : nullptr;
  }
};

TEST_F(IntakeFilingTest, ARequestIdIsHonouredForAGridOfAnotherSubdistrict) {
  v1::ReportEventResponse first;
  ASSERT_TRUE(ReportViaGateway(MakeReport(kGridSd2, "app-cross-1"), first).ok());
  EXPECT_FALSE(first.replayed());
  const long long events = EventCount();

  // The same key again, for a grid of another subdistrict: the first event, nothing new.
  v1::ReportEventResponse again;
  const grpc::Status status = ReportViaGateway(MakeReport(kGridSd4, "app-cross-1"), again);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(again.replayed());
  EXPECT_EQ(again.event_id(), first.event_id());
  EXPECT_EQ(again.event().grid_id(), kGridSd2);
  EXPECT_EQ(EventCount(), events);

  // An operator's key is the operator's own: the same text from another reporter is new.
  const v1::Actor operator_sd4 = MakeActor(v1::ROLE_OPERATOR, "op-370212004", "370212004");
  v1::ReportEventResponse other;
  ASSERT_TRUE(ReportViaGateway(MakeReport(kGridSd4, "app-cross-1"), other, operator_sd4).ok());
  EXPECT_FALSE(other.replayed());
  EXPECT_NE(other.event_id(), first.event_id());
}

// Once filed, a reservation keeps only what a retry needs to find the event (its id), not the
// whole event, for the rest of its eight days; a retry still answers that event.
TEST_F(IntakeFilingTest, AFiledReportsReservationKeepsOnlyItsIdAndStillAnswersARetry) {
  v1::ReportEventResponse first;
  ASSERT_TRUE(ReportViaGateway(MakeReport(kGridSd2, "app-settle-1"), first).ok());
  v1::Event reserved;
  EXPECT_TRUE(PollUntil(
      [&] {
        reserved = Reserved("app-settle-1");
        return !reserved.has_created_at();
      },
      std::chrono::seconds(5)))
      << reserved.ShortDebugString();
  EXPECT_EQ(reserved.id(), first.event_id());
  EXPECT_EQ(reserved.client_request_id(), "app-settle-1");
  EXPECT_TRUE(reserved.grid_id().empty());
  EXPECT_GT(Redis({"TTL", store::RequestKey(Stack::Admin().subject(), "app-settle-1")}).integer,
            7 * 24 * 3600)
      << "it ends when the whole reservation would have";

  v1::ReportEventResponse again;
  const grpc::Status status = ReportViaGateway(MakeReport(kGridSd2, "app-settle-1"), again);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(again.replayed());
  EXPECT_EQ(again.event_id(), first.event_id());
  EXPECT_EQ(again.event().grid_id(), kGridSd2);
}

TEST_F(IntakeFilingTest, AnIntakeKilledBetweenReservationAndFilingLeavesOneEventForTheRetry) {
  std::string address;
  std::unique_ptr<Process> replica = StoppingReplica(address);
  ASSERT_NE(replica, nullptr);
  auto intake = IntakeAt(address);
  const long long events = EventCount();

  // The replica reserves the key and stops; the test kills it there.
  auto lost = std::async(std::launch::async, [&] {
    v1::ReportEventResponse response;
    return ReportTo(*intake, MakeReport(kGridSd2, "app-crash-1"), response);
  });
  ASSERT_TRUE(PollUntil([&] { return Stopped(*replica); }, kDeadline)) << replica->ReadLog();
  const v1::Event reserved = Reserved("app-crash-1");
  ASSERT_THAT(reserved.id(), Not(IsEmpty()));
  ASSERT_FALSE(Exists(reserved)) << "stopped before filing";
  ASSERT_TRUE(replica->Kill(SIGKILL).ok());
  replica->Wait();
  EXPECT_EQ(lost.get().error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(EventCount(), events);

  // The app retries through the gateway, even naming another grid: the reserved event is filed
  // now, once, under its reserved id, for the grid of the first attempt.
  v1::ReportEventResponse retried;
  const grpc::Status status = ReportViaGateway(MakeReport(kGridSd4, "app-crash-1"), retried);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(retried.replayed());
  EXPECT_EQ(retried.event_id(), reserved.id());
  EXPECT_EQ(retried.event().grid_id(), kGridSd2);
  EXPECT_EQ(EventCount(), events + 1);
  v1::ReportEventResponse again;
  ASSERT_TRUE(ReportViaGateway(MakeReport(kGridSd2, "app-crash-1"), again).ok());
  EXPECT_EQ(again.event_id(), reserved.id());
  EXPECT_EQ(EventCount(), events + 1);

  // And it goes its way: routing dispatches it.
  const v1::Event event = AwaitWhere(
      reserved.id(), [](const v1::Event& e) { return e.state() == v1::EVENT_STATE_DISPATCHED; });
  EXPECT_EQ(event.version(), 2);
}

TEST_F(IntakeFilingTest, AReservedDuplicateIsMergedOnceWhenItsRetryFilesIt) {
  v1::ReportEventResponse open;
  ASSERT_TRUE(ReportViaGateway(Located("app-open-1", "0102"), open).ok());

  std::string address;
  std::unique_ptr<Process> replica = StoppingReplica(address);
  ASSERT_NE(replica, nullptr);
  auto intake = IntakeAt(address);
  auto lost = std::async(std::launch::async, [&] {
    v1::ReportEventResponse response;
    return ReportTo(*intake, Located("app-dup-1", "0102", 5), response);
  });
  ASSERT_TRUE(PollUntil([&] { return Stopped(*replica); }, kDeadline)) << replica->ReadLog();
  const v1::Event reserved = Reserved("app-dup-1");
  ASSERT_THAT(reserved.id(), Not(IsEmpty()));
  ASSERT_TRUE(replica->Kill(SIGKILL).ok());
  replica->Wait();
  EXPECT_EQ(lost.get().error_code(), grpc::StatusCode::UNAVAILABLE);

  v1::ReportEventResponse retried;
  ASSERT_TRUE(ReportViaGateway(Located("app-dup-1", "0102", 5), retried).ok());
  EXPECT_TRUE(retried.replayed());
  EXPECT_EQ(retried.event_id(), reserved.id());
  EXPECT_EQ(retried.duplicate_of(), open.event_id());
  EXPECT_EQ(retried.event().state(), v1::EVENT_STATE_VOIDED);
  v1::ReportEventResponse again;
  ASSERT_TRUE(ReportViaGateway(Located("app-dup-1", "0102", 5), again).ok());
  EXPECT_EQ(again.event_id(), reserved.id());
  EXPECT_EQ(Get(open.event_id()).duplicate_count(), 1) << "merged once";
}

TEST_F(IntakeFilingTest, TheFirstAttemptResumingAfterItsRetryFindsTheEventFiled) {
  std::string address;
  std::unique_ptr<Process> replica = StoppingReplica(address);
  ASSERT_NE(replica, nullptr);
  auto intake = IntakeAt(address);
  const long long events = EventCount();
  auto first = std::async(std::launch::async, [&] {
    v1::ReportEventResponse response;
    const grpc::Status status = ReportTo(*intake, MakeReport(kGridSd1, "app-slow-1"), response);
    return std::make_pair(status, response);
  });
  ASSERT_TRUE(PollUntil([&] { return Stopped(*replica); }, kDeadline)) << replica->ReadLog();

  v1::ReportEventResponse retried;
  ASSERT_TRUE(ReportViaGateway(MakeReport(kGridSd1, "app-slow-1"), retried).ok());
  ASSERT_TRUE(replica->Kill(SIGCONT).ok());
  const auto [status, response] = first.get();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.event_id(), retried.event_id());
  EXPECT_EQ(EventCount(), events + 1);
}

TEST_F(IntakeFilingTest, SimultaneousReportsOnTwoReplicasMergeAsSequentialOnesDo) {
  std::string replica_address;
  auto replica = stack_->StartReplica("grid-intake", {}, &replica_address);
  ASSERT_TRUE(replica.ok()) << replica.status();
  std::vector<std::unique_ptr<v1::IntakeService::Stub>> intakes;
  intakes.push_back(IntakeAt(stack_->address("grid-intake")));
  intakes.push_back(IntakeAt(replica_address));

  constexpr int kReports = 5;
  // One matter per trial (a category of its own), so that trials do not merge into each other.
  for (const std::string category : {"0102", "0103", "0104", "0105", "0106"}) {
    SCOPED_TRACE("category " + category);
    std::latch start(kReports);
    std::vector<std::future<std::pair<grpc::Status, v1::ReportEventResponse>>> calls;
    for (int i = 0; i < kReports; ++i) {
      calls.push_back(std::async(std::launch::async, [&, i] {
        // Within 20 m of each other, on both replicas.
        const v1::Report report = Located("", category, 4.0 * i);
        start.arrive_and_wait();
        v1::ReportEventResponse response;
        const grpc::Status status = ReportTo(*intakes[i % 2], report, response);
        return std::make_pair(status, response);
      }));
    }
    std::map<std::string, int> merged_into;
    std::vector<std::string> created;
    for (auto& call : calls) {
      const auto [status, response] = call.get();
      ASSERT_TRUE(status.ok()) << grpc::StatusCode(status.error_code()) << " "
                               << status.error_message();
      if (response.duplicate_of().empty()) {
        created.push_back(response.event_id());
      } else {
        ++merged_into[response.duplicate_of()];
      }
    }
    ASSERT_EQ(created.size(), 1u) << "one new event, as when sent one after another";
    EXPECT_EQ(merged_into.size(), 1u);
    EXPECT_EQ(merged_into[created[0]], kReports - 1);
    EXPECT_EQ(Get(created[0]).duplicate_count(), kReports - 1);
  }
}

}  // namespace
}  // namespace grid
