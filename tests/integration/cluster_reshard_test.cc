// A resharding under load: the slot of a subdistrict with live traffic moves from one master to
// another (MIGRATING/IMPORTING, its keys MIGRATEd in small batches, SETSLOT NODE) while reports of
// that subdistrict keep coming through the gateway. No error may reach a client (the Redis client
// follows ASK and MOVED and retries TRYAGAIN within the call's deadline), and every report must be
// filed once and dispatched, with its keys on the new master afterwards. A call whose script's
// keys are split between the two masters gets TRYAGAIN until the last of them has moved: it waits
// for the migration (here stretched by pauses between batches), and none fails.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/redis/slot.h"
#include "common/store/keys.h"
#include "tests/support/poll.h"
#include "tests/support/redis_cluster.h"
#include "tests/support/stack.h"
#include "tests/support/stack_test.h"

namespace grid {
namespace {

using testing::PollUntil;
using testing::Stack;

constexpr char kSubdistrict[] = "370212001";
constexpr char kGrid[] = "37021200100101";
constexpr int kCallers = 4;
constexpr int kReportsEach = 60;

class ClusterReshardTest : public testing::StackTest {
 protected:
  void SetUp() override {
    Stack::Options options;
    options.redis_cluster = 3;
    StartStack(std::move(options));
  }
};

TEST_F(ClusterReshardTest, ASlotMovesUnderLoadWithoutAnErrorReachingAClient) {
  testing::RedisCluster& cluster = *stack_->cluster();
  const int slot = redis::KeySlot(store::LiveStream(kSubdistrict));
  absl::StatusOr<int> from = cluster.MasterOf(slot);
  ASSERT_TRUE(from.ok()) << from.status();
  const int to = (*from + 1) % 3;

  std::mutex mu;
  std::vector<std::string> errors;
  std::set<std::string> ids;
  std::atomic<int> filed{0};
  std::chrono::steady_clock::duration slowest{};
  std::vector<std::thread> callers;
  for (int c = 0; c < kCallers; ++c) {
    callers.emplace_back([&, c] {
      for (int i = 0; i < kReportsEach; ++i) {
        v1::ReportEventRequest request;
        v1::Report& report = *request.mutable_report();
        report.set_grid_id(kGrid);
        report.set_category("0102");
        report.set_severity(v1::SEVERITY_NORMAL);
        report.set_description(absl::StrCat("暴露垃圾 ", c, "-", i));
        report.set_client_request_id(absl::StrCat("reshard-", c, "-", i));
        v1::ReportEventResponse response;
        const auto started = std::chrono::steady_clock::now();
        auto context = std::make_unique<grpc::ClientContext>();
        context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
        stack_->Authorize(*context, Stack::Admin());
        const grpc::Status status = gateway().ReportEvent(context.get(), request, &response);
        std::lock_guard lock(mu);
        slowest = std::max(slowest, std::chrono::steady_clock::now() - started);
        if (status.ok()) {
          ids.insert(response.event_id());
          ++filed;
        } else {
          errors.push_back(absl::StrCat(status.error_code(), ": ", status.error_message()));
        }
      }
    });
  }
  // The migration starts once traffic flows, and pauses between batches of keys so that calls
  // meet the slot half moved.
  ASSERT_TRUE(PollUntil([&] { return filed.load() >= 20; }, std::chrono::seconds(30)));
  int batches = 0;
  const int filed_when_started = filed.load();
  const absl::Status moved = cluster.MigrateSlot(slot, to, [&batches] {
    ++batches;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  });
  const int filed_when_moved = filed.load();
  for (std::thread& caller : callers) {
    caller.join();
  }
  ASSERT_TRUE(moved.ok()) << moved << "\n" << cluster.Log();
  EXPECT_LT(filed_when_moved, kCallers * kReportsEach) << "the load outlasted the migration";
  EXPECT_GE(batches, 3) << "the slot's keys moved in several batches, with calls in between";
  std::cout << "migrated in " << batches << " batches while "
            << filed_when_moved - filed_when_started << " reports were filed; the slowest took "
            << std::chrono::duration_cast<std::chrono::milliseconds>(slowest).count() << " ms\n";
  EXPECT_THAT(errors, ::testing::IsEmpty());
  EXPECT_EQ(ids.size(), static_cast<size_t>(kCallers * kReportsEach)) << "each report once";

  absl::StatusOr<int> now_at = cluster.MasterOf(slot);
  ASSERT_TRUE(now_at.ok()) << now_at.status();
  EXPECT_EQ(*now_at, to);
  // Every report is dispatched: routing's and metrics' readers of that stream followed it.
  for (const std::string& id : ids) {
    const v1::Event event = AwaitWhere(
        id, [](const v1::Event& e) { return e.state() == v1::EVENT_STATE_DISPATCHED; },
        std::chrono::seconds(30));
    EXPECT_EQ(event.state(), v1::EVENT_STATE_DISPATCHED) << id;
  }
  // A report after the move is filed and dispatched as usual.
  v1::ReportEventRequest request;
  request.mutable_report()->set_grid_id(kGrid);
  request.mutable_report()->set_category("0102");
  request.mutable_report()->set_severity(v1::SEVERITY_NORMAL);
  request.mutable_report()->set_description("after the move");
  v1::ReportEventResponse response;
  const grpc::Status status = gateway().ReportEvent(Context().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const v1::Event after = AwaitWhere(
      response.event_id(),
      [](const v1::Event& e) { return e.state() == v1::EVENT_STATE_DISPATCHED; },
      std::chrono::seconds(30));
  EXPECT_EQ(after.state(), v1::EVENT_STATE_DISPATCHED) << stack_->Logs();
}

}  // namespace
}  // namespace grid
