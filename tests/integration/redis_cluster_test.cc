// ClusterClient on a real Redis Cluster: three redis-server masters (no replicas) on free ports,
// joined by `redis-cli --cluster create`. Routing to every master, a script over hash-tagged keys,
// a slot migrated under the client (ASK, then MOVED), and a master killed.
#include "tests/support/redis_cluster.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <future>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/redis/asio_client.h"
#include "common/redis/cluster_client.h"
#include "common/redis/reply.h"
#include "common/redis/script.h"
#include "common/redis/slot.h"
#include "tests/support/poll.h"
#include "tests/support/process.h"
#include "tests/support/redis_server.h"

namespace grid::redis {
namespace {

using ::grid::testing::PollUntil;
using ::grid::testing::RedisServer;
using namespace std::chrono_literals;

// Correctness bounds for waiting, not expectations of speed.
constexpr std::chrono::milliseconds kDeadline = 15s;
constexpr std::chrono::milliseconds kCommandTimeout = 5s;
constexpr int kMasters = 3;

class RedisClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const absl::Status started = cluster_.Start();
    ASSERT_TRUE(started.ok()) << started << "\n" << cluster_.Log();
    for (std::thread& t : io_threads_) {
      t = std::thread([this] { io_.run(); });
    }
    for (int i = 0; i < kMasters; ++i) {
      AsioClient::Options options;
      options.port = cluster_.node(i).port();
      options.name = absl::StrCat("admin", i);
      admin_[i] = std::make_unique<AsioClient>(io_, options);
      admin_[i]->Start();
      ASSERT_TRUE(admin_[i]->WaitConnected(kDeadline).ok());
    }

    ClusterClient::Options options;
    options.seeds = {Endpoint{.host = "127.0.0.1", .port = cluster_.node(0).port()}};
    options.node.command_timeout = kCommandTimeout;
    options.node.reconnect_min = 10ms;
    options.node.reconnect_max = 100ms;
    options.node.name = "test";
    options.node.observer = [this](std::string_view name, double, bool ok) {
      std::lock_guard<std::mutex> lock(observed_mu_);
      observed_.emplace_back(std::string(name), ok);
    };
    client_ = std::make_unique<ClusterClient>(io_, std::move(options));
    client_->Start();
    const absl::Status connected = client_->WaitConnected(kDeadline);
    ASSERT_TRUE(connected.ok()) << connected;
  }

  void TearDown() override {
    client_.reset();
    for (auto& admin : admin_) {
      admin.reset();
    }
    work_.reset();
    for (std::thread& t : io_threads_) {
      if (t.joinable()) {
        t.join();
      }
    }
    if (HasFailure()) {
      std::cerr << cluster_.Log();
    }
  }

  absl::StatusOr<Reply> Admin(int node, std::vector<std::string> argv) {
    return CommandSync(*admin_[node], std::move(argv), kCommandTimeout);
  }

  // The node (index into the cluster's nodes) that serves `slot`, as node 0 sees the map.
  int OwnerOf(int slot) {
    absl::StatusOr<Reply> slots = Admin(0, {"CLUSTER", "SLOTS"});
    EXPECT_TRUE(slots.ok() && slots->IsArray()) << slots.status();
    for (const Reply& range : slots.ok() ? slots->elements : std::vector<Reply>{}) {
      if (range.elements[0].integer <= slot && slot <= range.elements[1].integer) {
        for (int i = 0; i < kMasters; ++i) {
          if (range.elements[2].elements[1].integer == cluster_.node(i).port()) {
            return i;
          }
        }
      }
    }
    ADD_FAILURE() << "no master serves slot " << slot;
    return 0;
  }

  // A key that node `node` serves, different for every `n`.
  std::string KeyOn(int node, int n = 0) {
    for (int i = 0;; ++i) {
      std::string key = absl::StrCat("key", i);
      if (OwnerOf(KeySlot(key)) == node && n-- == 0) {
        return key;
      }
    }
  }

  std::string NodeId(int node) {
    absl::StatusOr<Reply> id = Admin(node, {"CLUSTER", "MYID"});
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? id->str : "";
  }

  absl::StatusOr<Reply> Run(std::vector<std::string> argv, Deadline deadline = kNoDeadline) {
    std::promise<absl::StatusOr<Reply>> promise;
    client_->Command(std::move(argv), deadline, [&promise](absl::StatusOr<Reply> result) {
      promise.set_value(std::move(result));
    });
    return promise.get_future().get();
  }

  // Commands the client's node connections completed since `from`, and whether each got a
  // non-error reply; but the client's own CLUSTER SLOTS, which come when they will.
  std::vector<std::pair<std::string, bool>> Observed(size_t from = 0) {
    std::lock_guard<std::mutex> lock(observed_mu_);
    std::vector<std::pair<std::string, bool>> observed;
    for (size_t i = from; i < observed_.size(); ++i) {
      if (observed_[i].first != "CLUSTER") {
        observed.push_back(observed_[i]);
      }
    }
    return observed;
  }
  size_t ObservedCount() {
    std::lock_guard<std::mutex> lock(observed_mu_);
    return observed_.size();
  }

  testing::RedisCluster cluster_{kMasters};
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      io_.get_executor()};
  std::array<std::thread, 2> io_threads_;
  std::array<std::unique_ptr<AsioClient>, kMasters> admin_;
  std::mutex observed_mu_;
  std::vector<std::pair<std::string, bool>> observed_;
  std::unique_ptr<ClusterClient> client_;
};

TEST_F(RedisClusterTest, SetAndGetReachEveryMaster) {
  EXPECT_TRUE(client_->Connected());
  for (int node = 0; node < kMasters; ++node) {
    const std::string key = KeyOn(node);
    absl::StatusOr<Reply> set = Run({"SET", key, absl::StrCat("value on ", node)});
    ASSERT_TRUE(set.ok()) << set.status();
    EXPECT_EQ(*set, Reply::Status("OK"));
    absl::StatusOr<Reply> get = Run({"GET", key});
    ASSERT_TRUE(get.ok()) << get.status();
    EXPECT_EQ(*get, Reply::String(absl::StrCat("value on ", node)));
    // It is that master that holds it.
    absl::StatusOr<Reply> direct = Admin(node, {"GET", key});
    ASSERT_TRUE(direct.ok()) << direct.status();
    EXPECT_EQ(*direct, Reply::String(absl::StrCat("value on ", node)));
  }
  // Sent straight to the right master: no redirection answered.
  for (const auto& [name, ok] : Observed()) {
    EXPECT_TRUE(ok) << name;
  }

  std::promise<absl::StatusOr<std::vector<absl::StatusOr<Reply>>>> promise;
  client_->ForEachMaster({"DBSIZE"}, kNoDeadline,
                         [&](auto results) { promise.set_value(std::move(results)); });
  auto sizes = promise.get_future().get();
  ASSERT_TRUE(sizes.ok()) << sizes.status();
  ASSERT_EQ(sizes->size(), static_cast<size_t>(kMasters));
  for (const absl::StatusOr<Reply>& size : *sizes) {
    ASSERT_TRUE(size.ok()) << size.status();
    EXPECT_EQ(*size, Reply::Integer(1));
  }
}

TEST_F(RedisClusterTest, ScriptOverHashTaggedKeys) {
  const Script script =
      Script::FromSource("redis.call('SET', KEYS[1], ARGV[1]) return redis.call('INCR', KEYS[2])");
  for (int expected = 1; expected <= 2; ++expected) {
    std::promise<absl::StatusOr<Reply>> promise;
    client_->Eval(script, {"{unit:7}:name", "{unit:7}:count"}, {"seven"},
                  [&](absl::StatusOr<Reply> result) { promise.set_value(std::move(result)); });
    absl::StatusOr<Reply> result = promise.get_future().get();
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(*result, Reply::Integer(expected)) << result->DebugString();
  }
  // The first run taught the master the script (EVAL after NOSCRIPT), the second used EVALSHA.
  const int owner = OwnerOf(KeySlot("unit:7"));
  absl::StatusOr<Reply> known = Admin(owner, {"SCRIPT", "EXISTS", script.sha1});
  ASSERT_TRUE(known.ok()) << known.status();
  EXPECT_EQ(*known, Reply::Array({Reply::Integer(1)}));
  EXPECT_EQ(*Run({"GET", "{unit:7}:name"}), Reply::String("seven"));
}

TEST_F(RedisClusterTest, AMigratingKeyIsReachedByAskThenByMoved) {
  const std::string key = "{moving}key";
  const std::string fresh = "{moving}fresh";
  const int slot = KeySlot(key);
  const int from = OwnerOf(slot);
  const int to = (from + 1) % kMasters;
  ASSERT_TRUE(Run({"SET", key, "v"}).ok());

  // Half-way through a migration: the key has moved, the slot not yet.
  const std::string from_id = NodeId(from);
  const std::string to_id = NodeId(to);
  const std::string s = std::to_string(slot);
  ASSERT_EQ(*Admin(to, {"CLUSTER", "SETSLOT", s, "IMPORTING", from_id}), Reply::Status("OK"));
  ASSERT_EQ(*Admin(from, {"CLUSTER", "SETSLOT", s, "MIGRATING", to_id}), Reply::Status("OK"));
  absl::StatusOr<Reply> migrated =
      Admin(from, {"MIGRATE", cluster_.node(to).host(), std::to_string(cluster_.node(to).port()),
                   key, "0", "5000"});
  ASSERT_TRUE(migrated.ok()) << migrated.status();
  ASSERT_EQ(*migrated, Reply::Status("OK"));

  size_t mark = ObservedCount();
  absl::StatusOr<Reply> get = Run({"GET", key});
  ASSERT_TRUE(get.ok()) << get.status();
  EXPECT_EQ(*get, Reply::String("v"));
  // A new key of the slot is created where the slot is going.
  ASSERT_EQ(*Run({"SET", fresh, "f"}), Reply::Status("OK"));
  // (The importing node shows keys of the slot only right after ASKING.)
  ASSERT_TRUE(Admin(to, {"ASKING"}).ok());
  absl::StatusOr<Reply> exists = Admin(to, {"EXISTS", fresh});
  ASSERT_TRUE(exists.ok()) << exists.status();
  EXPECT_EQ(*exists, Reply::Integer(1)) << exists->DebugString();
  // Each answered -ASK by the old owner (a failed try), then ASKING and the command.
  EXPECT_EQ(Observed(mark), (std::vector<std::pair<std::string, bool>>{{"GET", false},
                                                                       {"ASKING", true},
                                                                       {"GET", true},
                                                                       {"SET", false},
                                                                       {"ASKING", true},
                                                                       {"SET", true}}));

  // The migration ends: the slot belongs to the new owner everywhere.
  for (int node : {to, from, 3 - to - from}) {
    ASSERT_EQ(*Admin(node, {"CLUSTER", "SETSLOT", s, "NODE", to_id}), Reply::Status("OK"));
  }
  mark = ObservedCount();
  get = Run({"GET", key});
  ASSERT_TRUE(get.ok()) << get.status();
  EXPECT_EQ(*get, Reply::String("v"));
  // -MOVED by the old owner, then the new one.
  EXPECT_EQ(Observed(mark),
            (std::vector<std::pair<std::string, bool>>{{"GET", false}, {"GET", true}}));
  // From now on, straight to the new owner.
  mark = ObservedCount();
  EXPECT_EQ(*Run({"GET", fresh}), Reply::String("f"));
  EXPECT_EQ(Observed(mark), (std::vector<std::pair<std::string, bool>>{{"GET", true}}));
}

TEST_F(RedisClusterTest, AKilledMasterGivesUnavailableNotAHang) {
  const std::string lost = KeyOn(2);
  const std::string kept = KeyOn(0);
  ASSERT_TRUE(Run({"SET", lost, "v"}).ok());
  ASSERT_TRUE(cluster_.node(2).Signal(SIGKILL).ok());
  ASSERT_TRUE(PollUntil([&] { return !cluster_.node(2).Running(); }, kDeadline));

  const auto start = std::chrono::steady_clock::now();
  const absl::StatusOr<Reply> get = Run({"GET", lost}, start + 1s);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(get.status().code(), absl::StatusCode::kUnavailable) << get.status();
  EXPECT_FALSE(absl::StrContains(get.status().message(), "127.0.0.1")) << get.status();
  EXPECT_FALSE(absl::StrContains(get.status().message(), std::to_string(cluster_.node(2).port())))
      << get.status();
  EXPECT_LT(took, 1s + 1s);
  EXPECT_FALSE(client_->Connected());
  // The other masters' keys are served meanwhile (until the cluster, after its node timeout,
  // declares the slots lost: 15 s by default).
  EXPECT_TRUE(Run({"SET", kept, "still here"}).ok());
}

}  // namespace
}  // namespace grid::redis
