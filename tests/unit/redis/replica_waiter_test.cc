// ReplicaWaiter over fake node connections, driven by hand on one io_context: how writes awaited
// together share one round (EXISTS each, one mark, one WAIT) per master, what each answer of the
// master becomes, and ParseClusterNodes.
#include "common/redis/replica_waiter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/redis/slot.h"

namespace grid::redis {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A connection to a fake node: CLUSTER NODES gets the test's text; every other command waits for
// the test to answer it (Answer), in the order sent.
class FakeNode final : public Connection {
 public:
  FakeNode(boost::asio::io_context& io, const std::string* nodes) : io_(io), nodes_(nodes) {}

  void Start() override {}
  void Stop() override { Drop(); }
  absl::Status WaitConnected(std::chrono::milliseconds) override { return absl::OkStatus(); }
  bool Connected() const override { return connected; }

  void Command(std::vector<std::string> argv, ReplyCallback cb) override {
    if (!connected) {
      Post(std::move(cb), absl::UnavailableError("not connected"));
      return;
    }
    if (argv.size() == 2 && argv[0] == "CLUSTER" && argv[1] == "NODES") {
      Post(std::move(cb), Reply::String(*nodes_));
      return;
    }
    sent.push_back(argv);
    pending_.push_back(std::move(cb));
  }
  void Command(std::vector<std::string> argv, std::chrono::milliseconds,
               ReplyCallback cb) override {
    Command(std::move(argv), std::move(cb));
  }
  void Eval(const Script&, std::vector<std::string>, std::vector<std::string>,
            ReplyCallback cb) override {
    Post(std::move(cb), absl::InvalidArgumentError("no scripts here"));
  }

  // Answers the oldest unanswered commands with `replies`, in order.
  void Answer(std::vector<absl::StatusOr<Reply>> replies) {
    ASSERT_LE(replies.size(), pending_.size());
    for (absl::StatusOr<Reply>& reply : replies) {
      Post(std::move(pending_.front()), std::move(reply));
      pending_.erase(pending_.begin());
    }
  }
  // The connection is lost: every unanswered command fails.
  void Drop() {
    for (ReplyCallback& cb : std::exchange(pending_, {})) {
      Post(std::move(cb), absl::UnavailableError("connection lost"));
    }
  }
  size_t unanswered() const { return pending_.size(); }

  bool connected = true;
  std::vector<std::vector<std::string>> sent;

 private:
  void Post(ReplyCallback cb, absl::StatusOr<Reply> reply) {
    boost::asio::post(io_, [cb = std::move(cb), reply = std::move(reply)] { cb(reply); });
  }

  boost::asio::io_context& io_;
  const std::string* nodes_;
  std::vector<ReplyCallback> pending_;
};

// CLUSTER NODES of master a (slots 0-8191, one replica) and master b (8192-16383, `b_replicas`).
std::string TwoMasters(int b_replicas) {
  std::string text =
      "aaaa 127.0.0.1:7001@17001 myself,master - 0 0 1 connected 0-8191\n"
      "bbbb 127.0.0.1:7002@17002 master - 0 0 2 connected 8192-16383\n"
      "ra01 127.0.0.1:7003@17003 slave aaaa 0 0 1 connected\n";
  for (int i = 0; i < b_replicas; ++i) {
    absl::StrAppend(&text, "rb0", i, " 127.0.0.1:710", i, "@1710", i, " slave,fail bbbb 0 0 2 ",
                    "disconnected\n");
  }
  return text;
}

// A key in slots [first, last], different for every `n`.
std::string KeyIn(int first, int last, int n = 0) {
  for (int i = 0;; ++i) {
    std::string key = absl::StrCat("{sd", i, "}:ev:1");
    const int slot = KeySlot(key);
    if (slot >= first && slot <= last && n-- == 0) {
      return key;
    }
  }
}

class ReplicaWaiterTest : public ::testing::Test {
 protected:
  void SetUp() override { Make(TwoMasters(1)); }

  void TearDown() override { Destroy(); }

  // Stopped where nothing runs the io_context: Stop() fails what is pending at once. Then what
  // is left queued runs (and finds the waiter gone), so that nothing outlives it but the fakes'
  // callbacks, which do nothing.
  void Destroy() {
    io_.stop();
    waiter_.reset();
    fakes_.clear();
    Run();
  }

  void Make(std::string nodes) {
    if (waiter_ != nullptr) {
      Destroy();
    }
    nodes_ = std::move(nodes);
    ReplicaWaiter::Options options;
    options.seeds = {Endpoint{.host = "127.0.0.1", .port = 7001}};
    options.wait = std::chrono::milliseconds(300);
    options.connect = [this](const Endpoint& endpoint) {
      auto node = std::make_unique<FakeNode>(io_, &nodes_);
      fakes_[endpoint.port] = node.get();
      return node;
    };
    waiter_ = std::make_unique<ReplicaWaiter>(io_, std::move(options));
    waiter_->Start();
    Run();
  }

  // Runs what is ready, until nothing is.
  void Run() {
    io_.restart();
    io_.poll();
  }

  // Awaits `key`; the outcome lands in the returned slot.
  std::shared_ptr<std::optional<absl::Status>> Await(const std::string& key) {
    auto outcome = std::make_shared<std::optional<absl::Status>>();
    waiter_->AwaitReplica(key, kNoDeadline, [outcome](absl::Status status) { *outcome = status; });
    return outcome;
  }

  FakeNode& a() { return *fakes_.at(7001); }
  FakeNode& b() { return *fakes_.at(7002); }

  boost::asio::io_context io_;
  std::string nodes_;
  std::map<int, FakeNode*> fakes_;  // By port; owned by the waiter.
  std::unique_ptr<ReplicaWaiter> waiter_;
};

TEST_F(ReplicaWaiterTest, WritesAwaitedTogetherShareOneMarkAndOneWait) {
  const std::string k0 = KeyIn(0, 8191, 0);
  const std::string k1 = KeyIn(0, 8191, 1);
  const std::string k2 = KeyIn(0, 8191, 2);
  auto o0 = Await(k0);
  auto o1 = Await(k1);
  auto o2 = Await(k2);
  Run();
  ASSERT_EQ(a().sent.size(), 5u);
  EXPECT_THAT(a().sent[0], ElementsAre("EXISTS", k0));
  EXPECT_THAT(a().sent[1], ElementsAre("EXISTS", k1));
  EXPECT_THAT(a().sent[2], ElementsAre("EXISTS", k2));
  EXPECT_EQ(a().sent[3][0], "SET");
  EXPECT_EQ(KeySlot(a().sent[3][1]), KeySlot(k0));  // The mark is a write to the same master.
  EXPECT_THAT(a().sent[4], ElementsAre("WAIT", "1", "300"));
  EXPECT_TRUE(b().sent.empty());
  EXPECT_FALSE(o0->has_value());

  a().Answer({Reply::Integer(1), Reply::Integer(1), Reply::Integer(1), Reply::Status("OK"),
              Reply::Integer(1)});
  Run();
  ASSERT_TRUE(o0->has_value() && o1->has_value() && o2->has_value());
  EXPECT_TRUE(o0->value().ok()) << o0->value();
  EXPECT_TRUE(o1->value().ok());
  EXPECT_TRUE(o2->value().ok());
}

TEST_F(ReplicaWaiterTest, WritesAwaitedDuringARoundGoTogetherInTheNext) {
  auto first = Await(KeyIn(0, 8191, 0));
  Run();
  ASSERT_EQ(a().sent.size(), 3u);
  auto second = Await(KeyIn(0, 8191, 1));
  Run();
  auto third = Await(KeyIn(0, 8191, 2));
  Run();
  EXPECT_EQ(a().sent.size(), 3u) << "one round in flight per master";

  a().Answer({Reply::Integer(1), Reply::Status("OK"), Reply::Integer(1)});
  Run();
  ASSERT_TRUE(first->has_value());
  EXPECT_TRUE(first->value().ok());
  EXPECT_FALSE(second->has_value());
  ASSERT_EQ(a().sent.size(), 3u + 4u) << "the next round: two EXISTS, one mark, one WAIT";
  EXPECT_EQ(a().sent[5][0], "SET");
  EXPECT_EQ(a().sent[6][0], "WAIT");
  a().Answer({Reply::Integer(1), Reply::Integer(1), Reply::Status("OK"), Reply::Integer(1)});
  Run();
  ASSERT_TRUE(second->has_value() && third->has_value());
  EXPECT_TRUE(second->value().ok());
  EXPECT_TRUE(third->value().ok());
}

TEST_F(ReplicaWaiterTest, EachMasterHasARoundOfItsOwn) {
  auto on_a = Await(KeyIn(0, 8191));
  auto on_b = Await(KeyIn(8192, 16383));
  Run();
  EXPECT_EQ(a().sent.size(), 3u);
  EXPECT_EQ(b().sent.size(), 3u);
  a().Answer({Reply::Integer(1), Reply::Status("OK"), Reply::Integer(1)});
  b().Answer({Reply::Integer(1), Reply::Status("OK"), Reply::Integer(2)});
  Run();
  ASSERT_TRUE(on_a->has_value() && on_b->has_value());
  EXPECT_TRUE(on_a->value().ok());
  EXPECT_TRUE(on_b->value().ok());
}

TEST_F(ReplicaWaiterTest, NoReplicaAcknowledgingIsUnavailableForTheWholeRound) {
  auto o0 = Await(KeyIn(0, 8191, 0));
  auto o1 = Await(KeyIn(0, 8191, 1));
  Run();
  a().Answer({Reply::Integer(1), Reply::Integer(1), Reply::Status("OK"), Reply::Integer(0)});
  Run();
  for (const auto& outcome : {o0, o1}) {
    ASSERT_TRUE(outcome->has_value());
    EXPECT_EQ(outcome->value().code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(outcome->value().message(), HasSubstr("no replica confirmed it within 300 ms"));
    EXPECT_THAT(outcome->value().message(), HasSubstr(kStoreUnavailable));
  }
}

TEST_F(ReplicaWaiterTest, AKeyTheMasterDoesNotHoldIsNeverConfirmed) {
  auto held = Await(KeyIn(0, 8191, 0));
  auto lost = Await(KeyIn(0, 8191, 1));
  Run();
  a().Answer({Reply::Integer(1), Reply::Integer(0), Reply::Status("OK"), Reply::Integer(1)});
  Run();
  ASSERT_TRUE(held->has_value() && lost->has_value());
  EXPECT_TRUE(held->value().ok());
  EXPECT_EQ(lost->value().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(lost->value().message(), HasSubstr("failover"));
}

TEST_F(ReplicaWaiterTest, ALostConnectionOrARedirectionIsUnavailableWithoutAnAddress) {
  auto dropped = Await(KeyIn(0, 8191));
  auto moved = Await(KeyIn(8192, 16383));
  Run();
  a().Drop();
  b().Answer({Reply::Error("MOVED 9000 127.0.0.1:7009"), Reply::Error("MOVED 9000 127.0.0.1:7009"),
              Reply::Error("MOVED 9000 127.0.0.1:7009")});
  Run();
  ASSERT_TRUE(dropped->has_value() && moved->has_value());
  EXPECT_EQ(dropped->value().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(moved->value().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(moved->value().message(), HasSubstr("MOVED"));
  EXPECT_THAT(moved->value().message(), ::testing::Not(HasSubstr("7009")));
}

TEST_F(ReplicaWaiterTest, AMasterWithoutReplicasAnswersAtOnceWithoutACommand) {
  Make(
      "aaaa 127.0.0.1:7001@17001 myself,master - 0 0 1 connected 0-16383\n"
      "ra01 127.0.0.1:7003@17003 slave,fail cccc 0 0 1 connected\n");
  auto outcome = Await(KeyIn(0, 16383));
  Run();
  ASSERT_TRUE(outcome->has_value());
  EXPECT_TRUE(outcome->value().ok());
  EXPECT_TRUE(a().sent.empty());
}

TEST_F(ReplicaWaiterTest, AReplicaThatIsDownStillCounts) {
  Make(TwoMasters(/*b_replicas=*/1));  // b's replica is flagged fail.
  auto outcome = Await(KeyIn(8192, 16383));
  Run();
  EXPECT_EQ(b().sent.size(), 3u);
  EXPECT_FALSE(outcome->has_value());
}

TEST_F(ReplicaWaiterTest, AMasterNotConnectedFailsAtOnce) {
  a().connected = false;
  auto outcome = Await(KeyIn(0, 8191));
  Run();
  ASSERT_TRUE(outcome->has_value());
  EXPECT_EQ(outcome->value().code(), absl::StatusCode::kUnavailable);
}

TEST_F(ReplicaWaiterTest, StopFailsWhatIsPending) {
  auto outcome = Await(KeyIn(0, 8191));
  Run();
  io_.stop();
  waiter_->Stop();
  ASSERT_TRUE(outcome->has_value());
  EXPECT_EQ(outcome->value().code(), absl::StatusCode::kUnavailable);
}

TEST(ParseClusterNodesTest, ReadsMastersSlotsAndReplicasFailedOrNot) {
  const std::string text =
      "07c3 127.0.0.1:30004@31004 slave e7d1 0 1426238317239 4 connected\n"
      "67ed 127.0.0.1:30002@31002 master - 0 1426238316232 2 connected 5461-10922\n"
      "292f 127.0.0.1:30003@31003 master - 0 1426238318243 3 connected 10923-16383 "
      "[10923->-67ed]\n"
      "6ec2 127.0.0.1:30005@31005 slave,fail 67ed 0 1426238316232 5 disconnected\n"
      "824f 127.0.0.1:30006@31006 slave 67ed 0 1426238317741 6 connected\n"
      "e7d1 :30001@31001,myhost myself,master - 0 0 1 connected 0-5459 5460\n"
      "dead 127.0.0.1:30007@31007 master,fail - 0 0 7 disconnected\n";
  absl::StatusOr<ReplicaMap> map = ParseClusterNodes(text, "10.0.0.9");
  ASSERT_TRUE(map.ok()) << map.status();
  ASSERT_EQ(map->masters.size(), 3u);
  std::map<int, std::pair<std::string, int>> by_port;
  for (const ReplicaMap::Master& master : map->masters) {
    by_port[master.address.port] = {master.address.host, master.replicas};
  }
  EXPECT_EQ(by_port.at(30001), std::make_pair(std::string("10.0.0.9"), 1));
  EXPECT_EQ(by_port.at(30002), std::make_pair(std::string("127.0.0.1"), 2));
  EXPECT_EQ(by_port.at(30003), std::make_pair(std::string("127.0.0.1"), 0));
  const auto port_of = [&](int slot) {
    return map->masters.at(static_cast<size_t>(map->slot_master.at(static_cast<size_t>(slot))))
        .address.port;
  };
  EXPECT_EQ(port_of(0), 30001);
  EXPECT_EQ(port_of(5460), 30001);
  EXPECT_EQ(port_of(5461), 30002);
  EXPECT_EQ(port_of(16383), 30003);
}

TEST(ParseClusterNodesTest, RefusesWhatItCannotRead) {
  EXPECT_EQ(ParseClusterNodes("garbage\n", "h").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      ParseClusterNodes("a 127.0.0.1:1@2 master - 0 0 1 connected x-y\n", "h").status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseClusterNodes("a 127.0.0.1:1@2 master - 0 0 1 connected\n", "h").status().code(),
            absl::StatusCode::kUnavailable);
}

TEST(MarkKeyTest, EverySlotHasAMarkKeyOfItsOwn) {
  for (int slot = 0; slot < kSlotCount; ++slot) {
    ASSERT_EQ(KeySlot(MarkKey(slot)), slot) << MarkKey(slot);
  }
}

}  // namespace
}  // namespace grid::redis
