// Bounded memory on real processes, with the windows scaled down to seconds: acknowledged routing
// entries are trimmed, the live stream keeps only its window once the metrics group counted it,
// and a closed event past its retention leaves the hot keys (GetEvent answers NOT_FOUND) while its
// figures stay in the rollups and an open event as old stays.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "common/redis/client.h"
#include "common/store/keys.h"
#include "tests/support/poll.h"
#include "tests/support/stack.h"
#include "tests/support/stack_test.h"

namespace grid {
namespace {

using testing::PollUntil;

constexpr char kSd[] = "370212001";
constexpr char kGrid[] = "37021200100101";
constexpr auto kDeadline = std::chrono::seconds(20);

class RetentionTest : public testing::StackTest {
 protected:
  void SetUp() override {
    testing::Stack::Options options;
    options.extra_args["grid-routing"] = {"--closed-retention-seconds",   "2",
                                          "--retention-interval-seconds", "1",
                                          "--trim-interval-seconds",      "1"};
    options.extra_args["grid-metrics"] = {"--live-window-seconds", "3", "--trim-interval-seconds",
                                          "1"};
    StartStack(std::move(options));
  }

  redis::Reply Redis(std::vector<std::string> argv) {
    auto reply =
        redis::CommandSync(stack_->redis_client(), std::move(argv), std::chrono::seconds(2));
    EXPECT_TRUE(reply.ok()) << reply.status();
    return reply.ok() ? *reply : redis::Reply::Nil();
  }

  long long Integer(std::vector<std::string> argv) {
    const redis::Reply reply = Redis(std::move(argv));
    return reply.IsInteger() ? reply.integer : -1;
  }

  std::string Report(const std::string& description) {
    v1::ReportEventRequest request;
    v1::Report& report = *request.mutable_report();
    report.set_grid_id(kGrid);
    report.set_category("0408");
    report.set_severity(v1::SEVERITY_NORMAL);
    report.set_description(description);
    v1::ReportEventResponse response;
    const grpc::Status status = gateway().ReportEvent(Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.event_id();
  }

  // Accepts, resolves and verifies `id` as an admin: CLOSED.
  void Close(const std::string& id) {
    v1::AcceptEventRequest accept;
    accept.set_event_id(id);
    v1::AcceptEventResponse accepted;
    ASSERT_TRUE(gateway().AcceptEvent(Context().get(), accept, &accepted).ok());
    v1::ResolveEventRequest resolve;
    resolve.set_event_id(id);
    resolve.set_note("清理完毕");
    v1::ResolveEventResponse resolved;
    ASSERT_TRUE(gateway().ResolveEvent(Context().get(), resolve, &resolved).ok());
    v1::VerifyEventRequest verify;
    verify.set_event_id(id);
    verify.set_passed(true);
    v1::VerifyEventResponse verified;
    ASSERT_TRUE(gateway().VerifyEvent(Context().get(), verify, &verified).ok());
  }

  grpc::StatusCode GetCode(const std::string& id) {
    v1::GetEventRequest request;
    request.set_event_id(id);
    v1::GetEventResponse response;
    return gateway().GetEvent(Context().get(), request, &response).error_code();
  }
};

TEST_F(RetentionTest, ClosedEventsAndReadEntriesGoWhileOpenEventsAndTheirFiguresStay) {
  const std::string closed = Report("楼道堆放杂物");
  const std::string open = Report("路灯不亮");
  for (const std::string& id : {closed, open}) {
    AwaitWhere(id, [](const v1::Event& e) { return e.state() == v1::EVENT_STATE_DISPATCHED; });
  }
  Close(closed);
  AwaitWhere(closed, [](const v1::Event& e) { return e.state() == v1::EVENT_STATE_CLOSED; });

  // Past its retention the closed event leaves the hot keys, all of them.
  EXPECT_TRUE(PollUntil([&] { return GetCode(closed) == grpc::StatusCode::NOT_FOUND; }, kDeadline))
      << "GetEvent of a closed event past its retention";
  v1::GetEventHistoryRequest history;
  history.set_event_id(closed);
  v1::GetEventHistoryResponse history_response;
  EXPECT_EQ(gateway().GetEventHistory(Context().get(), history, &history_response).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Integer({"EXISTS", store::EventKey(kSd, closed), store::HistoryKey(kSd, closed)}), 0);
  EXPECT_TRUE(Redis({"ZSCORE", store::EventsIndexKey(kSd), closed}).IsNil());

  // The open one, filed as long ago, stays whole.
  EXPECT_EQ(Get(open).state(), v1::EVENT_STATE_DISPATCHED);
  EXPECT_EQ(Integer({"EXISTS", store::EventKey(kSd, open), store::HistoryKey(kSd, open)}), 2);
  EXPECT_FALSE(Redis({"ZSCORE", store::EventsIndexKey(kSd), open}).IsNil());

  // The closure's figures stay in the rollups.
  v1::StatsRow row;
  EXPECT_TRUE(PollUntil(
      [&] {
        v1::GetStatsRequest request;
        request.set_unit_id(kSd);
        v1::GetStatsResponse response;
        if (!gateway().GetStats(Context().get(), request, &response).ok() ||
            response.rows_size() != 1) {
          return false;
        }
        row = response.rows(0);
        return row.closed() == 1;
      },
      kDeadline))
      << row.ShortDebugString();
  EXPECT_EQ(row.reported(), 2);
  EXPECT_EQ(row.open(), 1);

  // Both routing entries were acknowledged: trimmed. Every change is older than the live
  // window and counted by the metrics group: trimmed too.
  EXPECT_TRUE(PollUntil(
      [&] {
        return Integer({"XLEN", store::RoutingStream(kSd)}) == 0;
      },
      kDeadline))
      << "routing stream length " << Integer({"XLEN", store::RoutingStream(kSd)});
  EXPECT_TRUE(PollUntil(
      [&] {
        return Integer({"XLEN", store::LiveStream(kSd)}) == 0;
      },
      kDeadline))
      << "live stream length " << Integer({"XLEN", store::LiveStream(kSd)});
}

}  // namespace
}  // namespace grid
