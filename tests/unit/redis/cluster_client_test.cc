// ClusterClient against fake cluster nodes: in-process RESP servers that answer CLUSTER SLOTS
// from a map the test sets and every other command as the test scripts it, and record what they
// receive, so that routing, redirections and retries can be checked command by command.
#include "common/redis/cluster_client.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/redis/reply.h"
#include "common/redis/script.h"
#include "common/redis/slot.h"
#include "tests/support/poll.h"

namespace grid::redis {
namespace {

using boost::asio::ip::tcp;
using ::grid::testing::PollUntil;
using namespace std::chrono_literals;

// Correctness bounds for waiting, not expectations of speed.
constexpr std::chrono::milliseconds kDeadline = 10s;

// RESP replies.
std::string Bulk(absl::string_view s) { return absl::StrCat("$", s.size(), "\r\n", s, "\r\n"); }
std::string Error(absl::string_view s) { return absl::StrCat("-", s, "\r\n"); }
std::string Integer(long long i) { return absl::StrCat(":", i, "\r\n"); }

// A command as a fake node received it.
struct Received {
  int connection = 0;    // Which of the node's connections it came on.
  std::string previous;  // The command before it on that connection ("" if none).
  std::vector<std::string> argv;
};

// A fake cluster node on 127.0.0.1 (a port the kernel picks), served by a thread of its own.
// CLUSTER SLOTS gets set_slots()'s reply and ASKING "+OK"; every other command gets what the
// handler returns: RESP text, kNoReply (it never answers) or kClose (the connection is closed).
class FakeNode final {
 public:
  static constexpr char kNoReply[] = "";
  static constexpr char kClose[] = "close";
  using Handler = std::function<std::string(const Received&)>;

  FakeNode() : acceptor_(io_, tcp::endpoint(boost::asio::ip::address_v4::loopback(), 0)) {
    Accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~FakeNode() {
    io_.stop();
    thread_.join();
  }

  int port() const { return acceptor_.local_endpoint().port(); }
  std::string address() const { return absl::StrCat("127.0.0.1:", port()); }

  void set_slots(std::string reply) {
    std::lock_guard<std::mutex> lock(mu_);
    slots_ = std::move(reply);
  }
  void set_handler(Handler handler) {
    std::lock_guard<std::mutex> lock(mu_);
    handler_ = std::move(handler);
  }

  std::vector<Received> received() {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }
  // How many `name` commands arrived.
  int Count(std::string_view name) {
    std::lock_guard<std::mutex> lock(mu_);
    int n = 0;
    for (const Received& r : received_) {
      n += r.argv.front() == name ? 1 : 0;
    }
    return n;
  }
  // Commands other than the client's own CLUSTER SLOTS.
  std::vector<std::vector<std::string>> Data() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::vector<std::string>> data;
    for (const Received& r : received_) {
      if (r.argv.front() != "CLUSTER") {
        data.push_back(r.argv);
      }
    }
    return data;
  }

 private:
  struct Connection {
    explicit Connection(boost::asio::io_context& io, int id) : socket(io), id(id) {}
    tcp::socket socket;
    int id;
    std::string buffer;
    std::array<char, 4096> chunk{};
    std::string previous;
  };

  void Accept() {
    auto connection = std::make_unique<Connection>(io_, static_cast<int>(connections_.size()));
    Connection* c = connection.get();
    connections_.push_back(std::move(connection));
    acceptor_.async_accept(c->socket, [this, c](const boost::system::error_code& ec) {
      if (ec) {
        return;
      }
      Read(c);
      Accept();
    });
  }

  void Read(Connection* c) {
    c->socket.async_read_some(
        boost::asio::buffer(c->chunk), [this, c](const boost::system::error_code& ec, size_t n) {
          if (ec) {
            return;
          }
          c->buffer.append(c->chunk.data(), n);
          while (std::optional<std::vector<std::string>> argv = Parse(c->buffer)) {
            const std::string reply = Answer(c, *std::move(argv));
            if (reply == kClose) {
              boost::system::error_code ignored;
              c->socket.close(ignored);
              return;
            }
            if (!reply.empty()) {
              boost::system::error_code ignored;
              boost::asio::write(c->socket, boost::asio::buffer(reply), ignored);
            }
          }
          Read(c);
        });
  }

  // One command (a RESP array of bulk strings, as hiredis sends) off the front of `buffer`.
  static std::optional<std::vector<std::string>> Parse(std::string& buffer) {
    size_t pos = 0;
    auto number = [&](char type) -> std::optional<long long> {
      const size_t end = buffer.find("\r\n", pos);
      long long n = 0;
      if (end == std::string::npos || buffer[pos] != type ||
          !absl::SimpleAtoi(absl::string_view(buffer).substr(pos + 1, end - pos - 1), &n)) {
        return std::nullopt;
      }
      pos = end + 2;
      return n;
    };
    const std::optional<long long> count = number('*');
    if (!count) {
      return std::nullopt;
    }
    std::vector<std::string> argv;
    for (long long i = 0; i < *count; ++i) {
      const std::optional<long long> size = number('$');
      if (!size || pos + static_cast<size_t>(*size) + 2 > buffer.size()) {
        return std::nullopt;
      }
      argv.push_back(buffer.substr(pos, static_cast<size_t>(*size)));
      pos += static_cast<size_t>(*size) + 2;
    }
    buffer.erase(0, pos);
    return argv;
  }

  std::string Answer(Connection* c, std::vector<std::string> argv) {
    Received received{.connection = c->id, .previous = c->previous, .argv = std::move(argv)};
    c->previous = received.argv.front();
    Handler handler;
    std::string slots;
    {
      std::lock_guard<std::mutex> lock(mu_);
      received_.push_back(received);
      handler = handler_;
      slots = slots_;
    }
    const std::vector<std::string>& a = received.argv;
    if (a.size() == 2 && a[0] == "CLUSTER" && a[1] == "SLOTS") {
      return slots;
    }
    if (a[0] == "ASKING") {
      return "+OK\r\n";
    }
    return handler ? handler(received) : "+OK\r\n";
  }

  boost::asio::io_context io_;
  tcp::acceptor acceptor_;
  std::vector<std::unique_ptr<Connection>> connections_;  // The fake's thread only.
  std::thread thread_;
  std::mutex mu_;
  std::string slots_ = "*0\r\n";
  Handler handler_;
  std::vector<Received> received_;
};

// CLUSTER SLOTS's reply for ranges of slots, each served by the fake on `port`.
std::string SlotsReply(const std::vector<std::tuple<int, int, int>>& ranges) {
  std::string reply = absl::StrCat("*", ranges.size(), "\r\n");
  for (const auto& [first, last, port] : ranges) {
    absl::StrAppend(&reply, "*3\r\n", Integer(first), Integer(last), "*3\r\n", Bulk("127.0.0.1"),
                    Integer(port), Bulk(absl::StrCat("node-on-", port)));
  }
  return reply;
}

// A key in slots [first, last], different for every `n`.
std::string KeyIn(int first, int last, int n = 0) {
  for (int i = 0;; ++i) {
    std::string key = absl::StrCat("key", i);
    const int slot = KeySlot(key);
    if (slot >= first && slot <= last && n-- == 0) {
      return key;
    }
  }
}

// Two fake masters, a with slots 0-8191 and b with 8192-16383, and the client under test (knowing
// only a as its seed) on an io_context run by two threads.
class ClusterClientTest : public ::testing::Test {
 protected:
  static constexpr int kHalf = 8192;

  void SetUp() override {
    SetSlots({{0, kHalf - 1, a_.port()}, {kHalf, kSlotCount - 1, b_.port()}});
    for (std::thread& t : io_threads_) {
      t = std::thread([this] { io_.run(); });
    }
  }

  void TearDown() override {
    client_.reset();
    work_.reset();
    for (std::thread& t : io_threads_) {
      t.join();
    }
  }

  // The map every node gives from now on.
  void SetSlots(const std::vector<std::tuple<int, int, int>>& ranges) {
    for (FakeNode* node : {&a_, &b_, &c_}) {
      node->set_slots(SlotsReply(ranges));
    }
  }

  ClusterClient::Options Options() {
    ClusterClient::Options options;
    options.seeds = {Endpoint{.host = "127.0.0.1", .port = a_.port()}};
    options.node.command_timeout = 5s;
    options.node.reconnect_min = 10ms;
    options.node.reconnect_max = 100ms;
    options.node.name = "test";
    options.refresh_interval = 20ms;
    return options;
  }

  void StartClient() { StartClient(Options()); }
  void StartClient(ClusterClient::Options options) {
    client_ = std::make_unique<ClusterClient>(io_, std::move(options));
    client_->Start();
    const absl::Status connected = client_->WaitConnected(kDeadline);
    ASSERT_TRUE(connected.ok()) << connected;
  }

  absl::StatusOr<Reply> Run(std::vector<std::string> argv, Deadline deadline = kNoDeadline) {
    std::promise<absl::StatusOr<Reply>> promise;
    client_->Command(std::move(argv), deadline, [&promise](absl::StatusOr<Reply> result) {
      promise.set_value(std::move(result));
    });
    std::future<absl::StatusOr<Reply>> future = promise.get_future();
    if (future.wait_for(kDeadline) != std::future_status::ready) {
      return absl::DeadlineExceededError("no callback");
    }
    return future.get();
  }

  absl::StatusOr<Reply> Eval(const Script& script, std::vector<std::string> keys) {
    std::promise<absl::StatusOr<Reply>> promise;
    client_->Eval(script, std::move(keys), {"arg"}, [&promise](absl::StatusOr<Reply> result) {
      promise.set_value(std::move(result));
    });
    std::future<absl::StatusOr<Reply>> future = promise.get_future();
    if (future.wait_for(kDeadline) != std::future_status::ready) {
      return absl::DeadlineExceededError("no callback");
    }
    return future.get();
  }

  // Status messages travel back to callers: never a server's address.
  static void ExpectNoAddress(const absl::Status& status) {
    EXPECT_FALSE(absl::StrContains(status.message(), "127.0.0.1")) << status;
    EXPECT_TRUE(absl::StrContains(status.message(), "redis[test]")) << status;
  }

  FakeNode a_;
  FakeNode b_;
  FakeNode c_;  // Not in the map until a test puts it there.
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      io_.get_executor()};
  std::array<std::thread, 2> io_threads_;
  std::unique_ptr<ClusterClient> client_;
};

TEST_F(ClusterClientTest, RoutesEachCommandToTheMasterOfItsSlot) {
  a_.set_handler([](const Received&) { return Bulk("from a"); });
  b_.set_handler([](const Received&) { return Bulk("from b"); });
  StartClient();
  EXPECT_TRUE(client_->Connected());

  const std::string low = KeyIn(0, kHalf - 1);
  const std::string high = KeyIn(kHalf, kSlotCount - 1);
  EXPECT_EQ(*Run({"GET", low}), Reply::String("from a"));
  EXPECT_EQ(*Run({"SET", high, "v"}), Reply::String("from b"));
  // Keys after STREAMS, one slot by their hash tag: the master of the tag's slot.
  const std::string tag = KeyIn(kHalf, kSlotCount - 1, 1);
  const std::string s1 = absl::StrCat("{", tag, "}:1");
  const std::string s2 = absl::StrCat("{", tag, "}:2");
  EXPECT_EQ(*Run({"XREAD", "COUNT", "1", "STREAMS", s1, s2, "0", "0"}), Reply::String("from b"));
  // Keyless: one of the masters.
  EXPECT_TRUE(Run({"PING"}).ok());

  const auto a_data = a_.Data();
  const auto b_data = b_.Data();
  EXPECT_EQ(a_data.size() + b_data.size(), 4u);
  EXPECT_EQ(std::count(a_data.begin(), a_data.end(), std::vector<std::string>{"GET", low}), 1);
  EXPECT_EQ(std::count(b_data.begin(), b_data.end(), std::vector<std::string>{"SET", high, "v"}),
            1);
  EXPECT_EQ(b_.Count("XREAD"), 1);
  EXPECT_EQ(a_.Count("SET") + a_.Count("XREAD"), 0);
}

TEST_F(ClusterClientTest, MovedIsFollowedAndTheMapRefreshed) {
  StartClient();
  // The first half moves to b; a still has the old map's clients and says so per command.
  SetSlots({{0, kSlotCount - 1, b_.port()}});
  a_.set_handler([&](const Received& r) {
    return Error(absl::StrCat("MOVED ", KeySlot(r.argv[1]), " ", b_.address()));
  });
  b_.set_handler([](const Received& r) { return Bulk(absl::StrCat("b has ", r.argv[1])); });
  const int refreshes = a_.Count("CLUSTER") + b_.Count("CLUSTER");

  const std::string moved = KeyIn(0, kHalf - 1);
  EXPECT_EQ(*Run({"GET", moved}), Reply::String(absl::StrCat("b has ", moved)));
  EXPECT_EQ(a_.Count("GET"), 1);
  EXPECT_EQ(b_.Count("GET"), 1);
  // The slot points to b at once.
  EXPECT_TRUE(Run({"GET", moved}).ok());
  EXPECT_EQ(a_.Count("GET"), 1);
  // And the refreshed map sends other keys of the moved half straight to b.
  EXPECT_TRUE(
      PollUntil([&] { return a_.Count("CLUSTER") + b_.Count("CLUSTER") > refreshes; }, kDeadline));
  int n = 1;
  EXPECT_TRUE(PollUntil(
      [&] {
        const int before = a_.Count("GET");
        EXPECT_TRUE(Run({"GET", KeyIn(0, kHalf - 1, n++)}).ok());
        return a_.Count("GET") == before;
      },
      kDeadline));
}

TEST_F(ClusterClientTest, MovedToANewNodeWaitsForItsConnection) {
  StartClient();
  const std::string key = KeyIn(0, kHalf - 1);
  // c, which the client has no connection to yet, takes a's half: the client connects to it,
  // then sends.
  SetSlots({{0, kHalf - 1, c_.port()}, {kHalf, kSlotCount - 1, b_.port()}});
  a_.set_handler([&](const Received& r) {
    return Error(absl::StrCat("MOVED ", KeySlot(r.argv[1]), " ", c_.address()));
  });
  c_.set_handler([](const Received&) { return Bulk("from c"); });
  EXPECT_EQ(*Run({"GET", key}), Reply::String("from c"));
  EXPECT_EQ(a_.Count("GET"), 1);
  EXPECT_EQ(c_.Count("GET"), 1);
}

TEST_F(ClusterClientTest, AskSendsAskingFirstOnTheSameConnectionAndLeavesTheMap) {
  StartClient();
  const std::string key = KeyIn(0, kHalf - 1);
  const int slot = KeySlot(key);
  a_.set_handler(
      [&](const Received&) { return Error(absl::StrCat("ASK ", slot, " ", b_.address())); });
  // As an importing node does: the slot is served only right after ASKING.
  b_.set_handler([&](const Received& r) {
    return r.previous == "ASKING" ? Bulk("imported")
                                  : Error(absl::StrCat("MOVED ", slot, " ", a_.address()));
  });

  EXPECT_EQ(*Run({"GET", key}), Reply::String("imported"));
  // On b: ASKING, then the GET right after it on the same connection.
  std::vector<Received> gets;
  for (const Received& r : b_.received()) {
    if (r.argv.front() == "GET") {
      gets.push_back(r);
    }
  }
  ASSERT_EQ(gets.size(), 1u);
  EXPECT_EQ(gets[0].argv, (std::vector<std::string>{"GET", key}));
  EXPECT_EQ(gets[0].previous, "ASKING");
  // One-off: the next command for the slot goes to a again.
  EXPECT_EQ(*Run({"GET", key}), Reply::String("imported"));
  EXPECT_EQ(a_.Count("GET"), 2);
  EXPECT_EQ(b_.Count("ASKING"), 2);
}

TEST_F(ClusterClientTest, AnEvalAskedElsewhereFallsBackToEvalThereToo) {
  StartClient();
  const Script script = Script::FromSource("return 7");
  const std::string key = KeyIn(0, kHalf - 1);
  const int slot = KeySlot(key);
  a_.set_handler(
      [&](const Received&) { return Error(absl::StrCat("ASK ", slot, " ", b_.address())); });
  b_.set_handler([&](const Received& r) {
    if (r.previous != "ASKING") {
      return Error(absl::StrCat("MOVED ", slot, " ", a_.address()));
    }
    return r.argv[0] == "EVALSHA" ? Error("NOSCRIPT No matching script.") : Integer(7);
  });
  EXPECT_EQ(*Eval(script, {key}), Reply::Integer(7));
  EXPECT_EQ(b_.Count("EVALSHA"), 1);
  EXPECT_EQ(b_.Count("EVAL"), 1);
  EXPECT_EQ(b_.Count("ASKING"), 2);
}

TEST_F(ClusterClientTest, EvalFallsBackToEvalOnNoscript) {
  StartClient();
  const Script script = Script::FromSource("return redis.call('GET', KEYS[1])");
  const std::string key = KeyIn(kHalf, kSlotCount - 1);
  b_.set_handler([&](const Received& r) {
    if (r.argv[0] == "EVALSHA") {
      return Error("NOSCRIPT No matching script.");
    }
    return r.argv == std::vector<std::string>{"EVAL", script.source, "1", key, "arg"}
               ? Integer(1)
               : Error("ERR unexpected");
  });
  EXPECT_EQ(*Eval(script, {key}), Reply::Integer(1));
  EXPECT_EQ(b_.Data(),
            (std::vector<std::vector<std::string>>{{"EVALSHA", script.sha1, "1", key, "arg"},
                                                   {"EVAL", script.source, "1", key, "arg"}}));
}

TEST_F(ClusterClientTest, TryAgainIsRetriedUntilItSucceeds) {
  StartClient();
  std::atomic<int> tries{0};
  a_.set_handler([&](const Received&) {
    return ++tries <= 2 ? Error("TRYAGAIN Multiple keys request during rehashing of slot")
                        : Bulk("done");
  });
  EXPECT_EQ(*Run({"GET", KeyIn(0, kHalf - 1)}), Reply::String("done"));
  EXPECT_EQ(a_.Count("GET"), 3);
}

TEST_F(ClusterClientTest, ClusterDownUntilTheDeadlineIsUnavailable) {
  StartClient();
  a_.set_handler([&](const Received&) { return Error("CLUSTERDOWN The cluster is down"); });
  const std::string key = KeyIn(0, kHalf - 1);
  const auto start = std::chrono::steady_clock::now();
  const absl::StatusOr<Reply> result = Run({"GET", key}, start + 300ms);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(result.status().code(), absl::StatusCode::kUnavailable) << result.status();
  EXPECT_TRUE(absl::StrContains(result.status().message(), absl::StrCat("slot ", KeySlot(key))))
      << result.status();
  EXPECT_TRUE(absl::StrContains(result.status().message(), "CLUSTERDOWN")) << result.status();
  ExpectNoAddress(result.status());
  // Tried more than once, and answered by the deadline (plus scheduling slack), not later.
  EXPECT_GE(a_.Count("GET"), 2);
  EXPECT_LT(took, 300ms + 1s);
}

TEST_F(ClusterClientTest, RedirectionsAreCapped) {
  StartClient();
  const std::string key = KeyIn(0, kHalf - 1);
  const int slot = KeySlot(key);
  a_.set_handler(
      [&](const Received&) { return Error(absl::StrCat("MOVED ", slot, " ", b_.address())); });
  b_.set_handler(
      [&](const Received&) { return Error(absl::StrCat("ASK ", slot, " ", a_.address())); });
  const absl::StatusOr<Reply> result = Run({"GET", key});
  ASSERT_EQ(result.status().code(), absl::StatusCode::kUnavailable) << result.status();
  EXPECT_TRUE(absl::StrContains(result.status().message(), absl::StrCat("slot ", slot)))
      << result.status();
  EXPECT_TRUE(absl::StrContains(result.status().message(), "redirections")) << result.status();
  ExpectNoAddress(result.status());
  // The first try and five redirections.
  EXPECT_EQ(a_.Count("GET") + b_.Count("GET"), 6);
}

TEST_F(ClusterClientTest, AnUnreadableRedirectionIsAnInternalErrorWithoutItsText) {
  StartClient();
  a_.set_handler([&](const Received&) { return Error("MOVED somewhere 127.0.0.1"); });
  const absl::StatusOr<Reply> result = Run({"GET", KeyIn(0, kHalf - 1)});
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInternal) << result.status();
  ExpectNoAddress(result.status());
  EXPECT_EQ(a_.Count("GET") + b_.Count("GET"), 1);
}

TEST_F(ClusterClientTest, KeysInDifferentSlotsAreRefusedWithoutSending) {
  StartClient();
  const std::string low = KeyIn(0, kHalf - 1);
  const std::string high = KeyIn(kHalf, kSlotCount - 1);
  for (const std::vector<std::string>& argv : std::vector<std::vector<std::string>>{
           {"DEL", low, high}, {"XREAD", "STREAMS", low, high, "0", "0"}}) {
    const absl::StatusOr<Reply> result = Run(argv);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << result.status();
    EXPECT_TRUE(absl::StrContains(result.status().message(), "CROSSSLOT")) << result.status();
    EXPECT_TRUE(absl::StrContains(result.status().message(), argv[0])) << result.status();
    ExpectNoAddress(result.status());
  }
  const Script script = Script::FromSource("return 1");
  const absl::StatusOr<Reply> eval = Eval(script, {low, high});
  EXPECT_EQ(eval.status().code(), absl::StatusCode::kInvalidArgument) << eval.status();
  EXPECT_TRUE(absl::StrContains(eval.status().message(), "CROSSSLOT")) << eval.status();
  EXPECT_TRUE(absl::StrContains(eval.status().message(), script.sha1.substr(0, 12)))
      << eval.status();
  // Neither is a command the table knows.
  EXPECT_EQ(Run({"DBSIZE"}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Run({}).status().code(), absl::StatusCode::kInvalidArgument);

  EXPECT_TRUE(a_.Data().empty());
  EXPECT_TRUE(b_.Data().empty());
}

TEST_F(ClusterClientTest, ACommandWhoseConnectionDropsIsNotSentAgain) {
  StartClient();
  // An XADD may have run before the connection went: resending could add the entry twice.
  a_.set_handler([](const Received&) { return std::string(FakeNode::kClose); });
  const int refreshes = a_.Count("CLUSTER");
  const absl::StatusOr<Reply> result = Run({"XADD", KeyIn(0, kHalf - 1), "*", "f", "v"});
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable) << result.status();
  ExpectNoAddress(result.status());
  EXPECT_EQ(a_.Count("XADD"), 1);
  // The map is asked for again (of a, once reconnected, or of b).
  EXPECT_TRUE(
      PollUntil([&] { return a_.Count("CLUSTER") + b_.Count("CLUSTER") > refreshes; }, kDeadline));
  EXPECT_EQ(a_.Count("XADD"), 1);
}

TEST_F(ClusterClientTest, ForEachMasterAsksEveryMasterOnce) {
  a_.set_handler([](const Received&) { return Bulk("a"); });
  b_.set_handler([](const Received&) { return Bulk("b"); });
  StartClient();
  std::promise<absl::StatusOr<std::vector<absl::StatusOr<Reply>>>> promise;
  client_->ForEachMaster({"INFO", "keyspace"}, kNoDeadline,
                         [&](absl::StatusOr<std::vector<absl::StatusOr<Reply>>> results) {
                           promise.set_value(std::move(results));
                         });
  auto results = promise.get_future().get();
  ASSERT_TRUE(results.ok()) << results.status();
  std::vector<std::string> answers;
  for (const absl::StatusOr<Reply>& result : *results) {
    ASSERT_TRUE(result.ok()) << result.status();
    answers.push_back(result->str);
  }
  std::sort(answers.begin(), answers.end());
  EXPECT_EQ(answers, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(a_.Count("INFO"), 1);
  EXPECT_EQ(b_.Count("INFO"), 1);
}

TEST_F(ClusterClientTest, WithoutAReachableNodeCommandsFailByTheDeadline) {
  ClusterClient::Options options = Options();
  // The only seed has no slots assigned (a node not yet part of a cluster): no map.
  c_.set_slots("*0\r\n");
  options.seeds = {Endpoint{.host = "127.0.0.1", .port = c_.port()}};
  client_ = std::make_unique<ClusterClient>(io_, options);
  client_->Start();
  EXPECT_EQ(client_->WaitConnected(200ms).code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_FALSE(client_->Connected());
  const absl::StatusOr<Reply> result = Run({"GET", "k"}, std::chrono::steady_clock::now() + 200ms);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable) << result.status();
  EXPECT_TRUE(absl::StrContains(result.status().message(), "no slot map")) << result.status();
  ExpectNoAddress(result.status());
  EXPECT_TRUE(c_.Data().empty());
}

TEST_F(ClusterClientTest, StopFailsWhatIsInFlightOnceAndNeverInline) {
  StartClient();
  a_.set_handler([](const Received&) { return std::string(FakeNode::kNoReply); });
  std::atomic<int> calls{0};
  std::atomic<int> unavailable{0};
  const std::thread::id caller = std::this_thread::get_id();
  std::atomic<int> inline_calls{0};
  auto callback = [&](absl::StatusOr<Reply> result) {
    // Even the refusal, decided without the network, comes on the client's strand.
    inline_calls += std::this_thread::get_id() == caller ? 1 : 0;
    ++calls;
    unavailable += result.status().code() == absl::StatusCode::kUnavailable ? 1 : 0;
  };
  client_->Command({"GET", KeyIn(0, kHalf - 1)}, callback);
  client_->Command({"DEL", KeyIn(0, kHalf - 1), KeyIn(kHalf, kSlotCount - 1)}, callback);
  ASSERT_TRUE(PollUntil([&] { return a_.Count("GET") == 1 && calls.load() == 1; }, kDeadline));
  client_->Stop();
  // Stop() returns once the callbacks have run.
  EXPECT_EQ(calls.load(), 2);
  EXPECT_EQ(unavailable.load(), 1);
  EXPECT_EQ(inline_calls.load(), 0);
  EXPECT_FALSE(client_->Connected());
  EXPECT_EQ(Run({"GET", "k"}).status().code(), absl::StatusCode::kUnavailable);
}

TEST(EndpointsTest, ParsesTheSeedList) {
  absl::StatusOr<std::vector<Endpoint>> seeds = ParseEndpoints("127.0.0.1:7000, redis-1:7001");
  ASSERT_TRUE(seeds.ok()) << seeds.status();
  EXPECT_EQ(*seeds, (std::vector<Endpoint>{{"127.0.0.1", 7000}, {"redis-1", 7001}}));
  for (const char* bad : {"", "host", "host:", ":7000", "host:0", "host:70000", "a:1,,b:2"}) {
    EXPECT_EQ(ParseEndpoints(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace grid::redis
