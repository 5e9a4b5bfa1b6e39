// Graceful shutdown on real processes: SIGTERM to each service while reports flow. Each exits
// by itself (status 0) within 10 s; clients that retry with their request ids lose nothing and
// double nothing; every report is dispatched exactly once and counted once; and no consumer is
// left behind in the routing and metrics groups.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/redis/client.h"
#include "common/store/keys.h"
#include "tests/support/poll.h"
#include "tests/support/shipped_config.h"
#include "tests/support/stack.h"
#include "tests/support/stack_test.h"

namespace grid {
namespace {

using testing::PollUntil;
using testing::Stack;

// Reports at a steady pace from a thread of its own, as a mobile app does: each with a client
// request id, retried with the same id until it is acknowledged.
class ReportLoad {
 public:
  ReportLoad(Stack& stack, std::vector<std::string> grids) : stack_(stack), grids_(grids) {
    thread_ = std::thread([this] { Run(); });
  }
  ~ReportLoad() { Stop(); }

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) {
      thread_.join();
    }
  }
  // request id -> event id, for every acknowledged report.
  std::map<std::string, std::string> Acknowledged() {
    std::lock_guard lock(mu_);
    return acknowledged_;
  }
  std::size_t count() {
    std::lock_guard lock(mu_);
    return acknowledged_.size();
  }
  std::set<grpc::StatusCode> Errors() {
    std::lock_guard lock(mu_);
    return errors_;
  }

 private:
  void Run() {
    for (int n = 0; !stop_; ++n) {
      const std::string request_id = absl::StrCat("load-", n);
      v1::ReportEventRequest request;
      v1::Report& report = *request.mutable_report();
      report.set_grid_id(grids_[n % grids_.size()]);
      report.set_category("0408");
      report.set_severity(v1::SEVERITY_NORMAL);
      report.set_description("夜间施工噪音");
      report.set_client_request_id(request_id);
      // Until acknowledged, however long the service is away (the test stops the load only
      // after every service is back).
      while (true) {
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
        stack_.Authorize(context, Stack::Admin());
        v1::ReportEventResponse response;
        const grpc::Status status = stack_.gateway().ReportEvent(&context, request, &response);
        if (status.ok()) {
          std::lock_guard lock(mu_);
          acknowledged_[request_id] = response.event_id();
          break;
        }
        {
          std::lock_guard lock(mu_);
          errors_.insert(status.error_code());
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // The app's retry pace.
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // ~40 reports a second.
    }
  }

  Stack& stack_;
  std::vector<std::string> grids_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::map<std::string, std::string> acknowledged_;
  std::set<grpc::StatusCode> errors_;
  std::thread thread_;
};

class ShutdownTest : public testing::StackTest {
 protected:
  redis::Reply Redis(std::vector<std::string> argv) {
    auto reply =
        redis::CommandSync(stack_->redis_client(), std::move(argv), std::chrono::seconds(2));
    EXPECT_TRUE(reply.ok()) << reply.status();
    return reply.ok() ? *reply : redis::Reply::Nil();
  }

  // Consumer names of `group` on `stream`.
  std::vector<std::string> Consumers(const std::string& stream, const std::string& group) {
    std::vector<std::string> names;
    for (const redis::Reply& consumer : Redis({"XINFO", "CONSUMERS", stream, group}).elements) {
      for (size_t i = 0; i + 1 < consumer.elements.size(); i += 2) {
        if (consumer.elements[i].str == "name") {
          names.push_back(consumer.elements[i + 1].str);
        }
      }
    }
    return names;
  }

  // SIGTERM while `load` runs: exits by itself, status 0, within 10 s; then started again.
  void TerminateAndRestart(const std::string& name, ReportLoad& load) {
    const std::size_t before = load.count();
    ASSERT_TRUE(PollUntil([&] { return load.count() >= before + 20; }, std::chrono::seconds(30)))
        << "the load flows before " << name << " stops";
    const auto began = std::chrono::steady_clock::now();
    const int status = stack_->StopService(name, SIGTERM, std::chrono::seconds(15));
    const auto took = std::chrono::steady_clock::now() - began;
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << name << ": " << testing::DescribeWaitStatus(status);
    const auto took_ms = std::chrono::duration_cast<std::chrono::milliseconds>(took).count();
    EXPECT_LT(took, std::chrono::seconds(10)) << name << " took " << took_ms << " ms";
    std::cout << name << ": exited " << took_ms << " ms after SIGTERM, under load\n";
    const absl::Status started = stack_->StartService(name);
    ASSERT_TRUE(started.ok()) << started;
  }
};

TEST_F(ShutdownTest, SigtermUnderLoadLosesNothingAndLeavesNoConsumerBehind) {
  StartStack();
  ReportLoad load(*stack_, {"37021200100101", "37021200200101", "37021200300101"});
  const auto& subdistricts = testing::ShippedTopology().subdistrict_ids();
  // The consumers of the processes about to stop.
  std::set<std::string> stopped;
  for (const std::string& name : Stack::ServiceNames()) {
    SCOPED_TRACE(name);
    for (const std::string& sd : subdistricts) {
      if (name == "grid-routing") {
        for (const std::string& consumer : Consumers(store::RoutingStream(sd), "routing")) {
          stopped.insert("routing/" + consumer);
        }
      } else if (name == "grid-metrics") {
        for (const std::string& consumer : Consumers(store::LiveStream(sd), "metrics")) {
          stopped.insert("metrics/" + consumer);
        }
      }
    }
    ASSERT_NO_FATAL_FAILURE(TerminateAndRestart(name, load));
  }
  ASSERT_FALSE(stopped.empty());
  const std::size_t before = load.count();
  ASSERT_TRUE(PollUntil([&] { return load.count() >= before + 20; }, std::chrono::seconds(30)));
  load.Stop();
  const auto acknowledged = load.Acknowledged();
  EXPECT_THAT(load.Errors(), ::testing::Not(::testing::Contains(grpc::StatusCode::INTERNAL)));

  // Nothing doubled: one event per request id, and no two request ids share one.
  std::set<std::string> events;
  for (const auto& [request_id, event_id] : acknowledged) {
    EXPECT_TRUE(events.insert(event_id).second) << event_id << " twice";
  }
  // Nothing lost, each dispatched exactly once.
  for (const std::string& id : events) {
    AwaitWhere(id, [](const v1::Event& e) { return e.state() == v1::EVENT_STATE_DISPATCHED; });
    v1::GetEventHistoryRequest request;
    request.set_event_id(id);
    v1::GetEventHistoryResponse history;
    ASSERT_TRUE(gateway().GetEventHistory(Context().get(), request, &history).ok());
    int dispatched = 0;
    for (const auto& change : history.changes()) {
      dispatched += change.kind() == v1::CHANGE_KIND_DISPATCHED ? 1 : 0;
    }
    EXPECT_EQ(dispatched, 1) << id;
  }
  // Counted once by the metrics service.
  EXPECT_TRUE(PollUntil(
      [&] {
        v1::GetStatsResponse stats;
        return gateway().GetStats(Context().get(), v1::GetStatsRequest(), &stats).ok() &&
               stats.rows_size() == 1 &&
               stats.rows(0).reported() == static_cast<int64_t>(events.size());
      },
      std::chrono::seconds(20), std::chrono::milliseconds(200)));

  // At most one consumer per group and stream, the running one: those of the stopped processes
  // left their groups.
  for (const std::string& sd : subdistricts) {
    const auto routing = Consumers(store::RoutingStream(sd), "routing");
    const auto metrics = Consumers(store::LiveStream(sd), "metrics");
    EXPECT_LE(routing.size(), 1u) << sd;
    EXPECT_LE(metrics.size(), 1u) << sd;
    for (const std::string& consumer : routing) {
      EXPECT_EQ(stopped.count("routing/" + consumer), 0u) << consumer << " left behind";
    }
    for (const std::string& consumer : metrics) {
      EXPECT_EQ(stopped.count("metrics/" + consumer), 0u) << consumer << " left behind";
    }
    EXPECT_EQ(Redis({"XPENDING", store::RoutingStream(sd), "routing"}).elements[0].integer, 0);
  }
  EXPECT_EQ(Redis({"XLEN", "{370212001}:dead"}).integer, 0) << "nothing was dead-lettered";
}

}  // namespace
}  // namespace grid
