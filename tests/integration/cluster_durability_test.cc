// Durability on a Redis Cluster with replicas (three masters, a replica each): intake answers a
// report OK only once a replica of its master has it (WAIT, redis::ReplicaWaiter). With the
// replica stopped a report is UNAVAILABLE, and its retry files it once; with the master killed
// under load, every report answered OK is there exactly once after the failover.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/redis/client.h"
#include "common/redis/slot.h"
#include "common/store/keys.h"
#include "tests/support/poll.h"
#include "tests/support/shipped_config.h"
#include "tests/support/stack.h"
#include "tests/support/stack_test.h"

namespace grid {
namespace {

using testing::PollUntil;
using testing::Stack;

constexpr std::chrono::seconds kDeadline{20};

class ClusterDurabilityTest : public testing::StackTest {
 protected:
  void SetUp() override {
    Stack::Options options;
    options.redis_cluster = 3;
    options.redis_cluster_replicas = 1;
    // The failover test files many reports as one subject.
    options.extra_args["grid-gateway"] = {"--rate-per-second", "100000", "--rate-burst", "100000"};
    StartStack(std::move(options));
    // A subdistrict and one of its grids.
    for (const v1::Unit& unit : testing::ShippedTopology().data().units()) {
      if (unit.level() == v1::LEVEL_GRID) {
        grid_ = unit.id();
        sd_ = unit.id().substr(0, 9);
        break;
      }
    }
    ASSERT_FALSE(grid_.empty());
    slot_ = redis::KeySlot(store::EventsIndexKey(sd_));
  }

  v1::ReportEventRequest Report(const std::string& request_id) const {
    v1::ReportEventRequest request;
    request.mutable_report()->set_grid_id(grid_);
    request.mutable_report()->set_category("0102");
    request.mutable_report()->set_severity(v1::SEVERITY_NORMAL);
    request.mutable_report()->set_description(absl::StrCat("暴露垃圾 ", request_id));
    request.mutable_report()->set_client_request_id(request_id);
    return request;
  }

  grpc::Status File(const std::string& request_id, v1::ReportEventResponse* response) {
    return gateway().ReportEvent(Context(Stack::Admin(), std::chrono::seconds(10)).get(),
                                 Report(request_id), response);
  }

  // The subdistrict's events by client request id, as the store holds them now.
  absl::StatusOr<std::map<std::string, std::vector<std::string>>> EventsByRequest() {
    redis::Client& redis = stack_->redis_client();
    absl::StatusOr<redis::Reply> ids = redis::CommandSync(
        redis, {"ZRANGE", store::EventsIndexKey(sd_), "0", "-1"}, std::chrono::seconds(5));
    if (!ids.ok() || !ids->IsArray()) {
      return absl::UnavailableError(absl::StrCat(
          "ZRANGE: ", ids.ok() ? ids->DebugString() : std::string(ids.status().message())));
    }
    std::map<std::string, std::vector<std::string>> events;
    for (const redis::Reply& id : ids->elements) {
      absl::StatusOr<redis::Reply> record = redis::CommandSync(
          redis, {"HGET", store::EventKey(sd_, id.str), "pb"}, std::chrono::seconds(5));
      v1::Event event;
      if (!record.ok() || !record->IsString() || !event.ParseFromString(record->str)) {
        return absl::UnavailableError(absl::StrCat("HGET ", id.str));
      }
      events[event.client_request_id()].push_back(event.id());
    }
    return events;
  }

  // Polls EventsByRequest until it answers (the test's own client may be catching up with a
  // failover).
  std::map<std::string, std::vector<std::string>> ReadEvents() {
    absl::StatusOr<std::map<std::string, std::vector<std::string>>> events;
    EXPECT_TRUE(PollUntil(
        [&] {
          events = EventsByRequest();
          return events.ok();
        },
        kDeadline))
        << events.status();
    return events.ok() ? *events : std::map<std::string, std::vector<std::string>>{};
  }

  std::string grid_;
  std::string sd_;
  int slot_ = 0;
};

TEST_F(ClusterDurabilityTest, AReportWaitsForTheReplicaOfItsMaster) {
  v1::ReportEventResponse response;
  grpc::Status status = File("durable-0", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();

  testing::RedisCluster& cluster = *stack_->cluster();
  absl::StatusOr<int> master = cluster.MasterOf(slot_);
  ASSERT_TRUE(master.ok()) << master.status();
  absl::StatusOr<std::vector<int>> replicas = cluster.ReplicasOf(*master);
  ASSERT_TRUE(replicas.ok()) << replicas.status();
  ASSERT_EQ(replicas->size(), 1u);
  for (int replica : *replicas) {
    ASSERT_TRUE(cluster.node(replica).Signal(SIGSTOP).ok());
  }

  // The master takes the report, its replica cannot confirm it: never OK, never INTERNAL.
  status = File("durable-1", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr("retry later"));

  for (int replica : *replicas) {
    ASSERT_TRUE(cluster.node(replica).Signal(SIGCONT).ok());
  }
  // The replica back, the retry with the same request id is acknowledged: the same event, filed
  // once.
  std::string event_id;
  ASSERT_TRUE(PollUntil(
      [&] {
        response.Clear();
        status = File("durable-1", &response);
        EXPECT_NE(status.error_code(), grpc::StatusCode::INTERNAL) << status.error_message();
        if (status.ok()) {
          event_id = response.event_id();
        }
        return status.ok();
      },
      kDeadline))
      << status.error_message();
  const std::map<std::string, std::vector<std::string>> events = ReadEvents();
  ASSERT_EQ(events.count("durable-1"), 1u);
  EXPECT_THAT(events.at("durable-1"), ::testing::ElementsAre(event_id));
  EXPECT_THAT(events.at("durable-0"), ::testing::SizeIs(1));
}

TEST_F(ClusterDurabilityTest, AcknowledgedReportsSurviveTheLossOfTheirMaster) {
  testing::RedisCluster& cluster = *stack_->cluster();
  absl::StatusOr<int> master = cluster.MasterOf(slot_);
  ASSERT_TRUE(master.ok()) << master.status();

  // Clients file report after report, each retried with its request id while UNAVAILABLE (the
  // answer of a store that is failing over), until OK or the run's end.
  constexpr int kClients = 4;
  std::atomic<bool> stop{false};
  std::atomic<int> acknowledged{0};
  std::mutex mu;
  std::map<std::string, std::string> acked;  // Request id -> event id, guarded by mu.
  std::vector<std::string> failures;         // Anything but OK and UNAVAILABLE, guarded by mu.
  int unavailable = 0;                       // Guarded by mu.
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; !stop; ++i) {
        const std::string request_id = absl::StrCat("failover-", c, "-", i);
        while (!stop) {
          v1::ReportEventResponse response;
          const grpc::Status status = File(request_id, &response);
          if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
            {
              std::lock_guard<std::mutex> lock(mu);
              ++unavailable;
            }
            // A client's back-off before its retry, so that a few clients do not spin on the
            // two cores the cluster fails over on.
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            continue;
          }
          std::lock_guard<std::mutex> lock(mu);
          if (status.ok()) {
            acked[request_id] = response.event_id();
            ++acknowledged;
          } else {
            failures.push_back(
                absl::StrCat(request_id, ": ", status.error_code(), " ", status.error_message()));
          }
          break;
        }
      }
    });
  }

  ASSERT_TRUE(PollUntil([&] { return acknowledged >= 20; }, kDeadline));
  ASSERT_TRUE(cluster.node(*master).Signal(SIGKILL).ok());
  const int before = acknowledged;
  absl::Status served = cluster.WaitServed(slot_, *master, kDeadline);
  EXPECT_TRUE(served.ok()) << served;
  // Filing again on the promoted replica.
  EXPECT_TRUE(PollUntil([&] { return acknowledged >= before + 20; }, kDeadline));
  stop = true;
  for (std::thread& client : clients) {
    client.join();
  }

  std::lock_guard<std::mutex> lock(mu);
  EXPECT_THAT(failures, ::testing::IsEmpty());
  const std::map<std::string, std::vector<std::string>> events = ReadEvents();
  int missing = 0;
  for (const auto& [request_id, event_id] : acked) {
    const auto it = events.find(request_id);
    if (it == events.end()) {
      ++missing;
      ADD_FAILURE() << request_id << " (" << event_id << ") was acknowledged and is gone";
      continue;
    }
    EXPECT_THAT(it->second, ::testing::ElementsAre(event_id)) << request_id;
  }
  EXPECT_EQ(missing, 0);
  std::cerr << acked.size() << " reports acknowledged, " << unavailable
            << " UNAVAILABLE answers retried\n";
}

}  // namespace
}  // namespace grid
