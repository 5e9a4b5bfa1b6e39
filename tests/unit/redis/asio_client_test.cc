#include "common/redis/asio_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/redis/reply.h"
#include "common/redis/script.h"
#include "tests/support/poll.h"
#include "tests/support/redis_server.h"

namespace grid::redis {
namespace {

using ::grid::testing::PollUntil;
using ::grid::testing::RedisServer;
using ::testing::ElementsAre;
using ::testing::Pair;
using namespace std::chrono_literals;

// Correctness bounds for waiting, not expectations of speed.
constexpr std::chrono::milliseconds kDeadline = 10s;
constexpr std::chrono::milliseconds kCommandTimeout = 5s;

// Collects callback results, which arrive on the io threads, for the test thread.
class Results final {
 public:
  ReplyCallback Callback() {
    return [this](absl::StatusOr<Reply> result) {
      std::lock_guard<std::mutex> lock(mu_);
      results_.push_back(std::move(result));
    };
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return results_.size();
  }
  bool WaitFor(size_t n) {
    return PollUntil([&] { return size() >= n; }, kDeadline);
  }
  absl::StatusOr<Reply> at(size_t i) {
    std::lock_guard<std::mutex> lock(mu_);
    return results_.at(i);
  }

 private:
  std::mutex mu_;
  std::vector<absl::StatusOr<Reply>> results_;
};

absl::StatusOr<Reply> EvalSync(Client& client, const Script& script, std::vector<std::string> keys,
                               std::vector<std::string> args) {
  std::promise<absl::StatusOr<Reply>> promise;
  std::future<absl::StatusOr<Reply>> future = promise.get_future();
  client.Eval(script, std::move(keys), std::move(args),
              [&promise](absl::StatusOr<Reply> result) { promise.set_value(std::move(result)); });
  if (future.wait_for(kDeadline) != std::future_status::ready) {
    return absl::DeadlineExceededError("no Eval callback");
  }
  return future.get();
}

// A field of INFO's "name:value" lines.
long long InfoField(const Reply& info, absl::string_view field) {
  for (absl::string_view line : absl::StrSplit(info.str, "\r\n")) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(line, ':');
    long long value = 0;
    if (kv.first == field && absl::SimpleAtoi(kv.second, &value)) {
      return value;
    }
  }
  ADD_FAILURE() << "INFO has no field " << field;
  return -1;
}

// A real redis-server, and the client under test on an io_context run by two threads, so that
// the strand (not a single thread) is what serialises the client's work.
class AsioClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const absl::Status started = redis_.Start();
    ASSERT_TRUE(started.ok()) << started;
    for (std::thread& t : io_threads_) {
      t = std::thread([this] { io_.run(); });
    }
    client_ = NewClient();
    const absl::Status connected = client_->WaitConnected(kDeadline);
    ASSERT_TRUE(connected.ok()) << connected;
  }

  void TearDown() override {
    client_.reset();
    work_.reset();
    for (std::thread& t : io_threads_) {
      if (t.joinable()) {
        t.join();
      }
    }
    if (HasFailure()) {
      std::cerr << "redis-server log:\n" << redis_.Log();
    }
  }

  AsioClient::Options Options() {
    AsioClient::Options options;
    options.host = redis_.host();
    options.port = redis_.port();
    options.command_timeout = kCommandTimeout;
    // Short back-off keeps reconnect tests quick.
    options.reconnect_min = 10ms;
    options.reconnect_max = 100ms;
    options.name = "test";
    options.observer = [this](std::string_view name, double seconds, bool ok) {
      std::lock_guard<std::mutex> lock(observed_mu_);
      EXPECT_GE(seconds, 0.0);
      observed_.emplace_back(std::string(name), ok);
    };
    return options;
  }

  std::unique_ptr<AsioClient> NewClient() {
    auto client = std::make_unique<AsioClient>(io_, Options());
    client->Start();
    return client;
  }

  absl::StatusOr<Reply> Run(std::vector<std::string> argv) {
    return CommandSync(*client_, std::move(argv), kCommandTimeout);
  }

  std::vector<std::pair<std::string, bool>> Observed() {
    std::lock_guard<std::mutex> lock(observed_mu_);
    return observed_;
  }

  RedisServer redis_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      io_.get_executor()};
  std::array<std::thread, 2> io_threads_;
  std::mutex observed_mu_;
  std::vector<std::pair<std::string, bool>> observed_;
  std::unique_ptr<AsioClient> client_;
};

TEST_F(AsioClientTest, SetThenGetRoundTripsBinaryValues) {
  const std::string value("hello\0world\r\n", 13);
  absl::StatusOr<Reply> set = Run({"SET", "greeting", value});
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(*set, Reply::Status("OK"));

  absl::StatusOr<Reply> get = Run({"GET", "greeting"});
  ASSERT_TRUE(get.ok()) << get.status();
  EXPECT_EQ(*get, Reply::String(value));
}

TEST_F(AsioClientTest, MissingKeyIsANilReplyNotAFailure) {
  absl::StatusOr<Reply> get = Run({"GET", "no-such-key"});
  ASSERT_TRUE(get.ok()) << get.status();
  EXPECT_TRUE(get->IsNil()) << get->DebugString();
}

TEST_F(AsioClientTest, ErrorReplyIsDeliveredAsAReply) {
  ASSERT_TRUE(Run({"SET", "plain", "x"}).ok());
  absl::StatusOr<Reply> wrong_type = Run({"LPUSH", "plain", "y"});
  ASSERT_TRUE(wrong_type.ok()) << wrong_type.status();
  EXPECT_TRUE(wrong_type->IsError()) << wrong_type->DebugString();
  EXPECT_EQ(wrong_type->ErrorCode(), "WRONGTYPE");

  absl::StatusOr<Reply> unknown = Run({"NO-SUCH-COMMAND", "arg"});
  ASSERT_TRUE(unknown.ok()) << unknown.status();
  EXPECT_TRUE(unknown->IsError()) << unknown->DebugString();
  EXPECT_EQ(unknown->ErrorCode(), "ERR");

  // The connection stays usable.
  EXPECT_TRUE(Run({"PING"}).ok());
}

TEST_F(AsioClientTest, ArrayReplies) {
  absl::StatusOr<Reply> pushed = Run({"RPUSH", "list", "a", "b", "c"});
  ASSERT_TRUE(pushed.ok()) << pushed.status();
  EXPECT_EQ(*pushed, Reply::Integer(3));
  absl::StatusOr<Reply> range = Run({"LRANGE", "list", "0", "-1"});
  ASSERT_TRUE(range.ok()) << range.status();
  EXPECT_EQ(*range, Reply::Array({Reply::String("a"), Reply::String("b"), Reply::String("c")}));

  absl::StatusOr<Reply> empty = Run({"LRANGE", "no-such-list", "0", "-1"});
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(*empty, Reply::Array({}));

  ASSERT_TRUE(Run({"XADD", "stream", "1-1", "unit", "u7"}).ok());
  ASSERT_TRUE(Run({"XADD", "stream", "1-2", "unit", "u8", "level", "2"}).ok());
  absl::StatusOr<Reply> entries = Run({"XRANGE", "stream", "-", "+"});
  ASSERT_TRUE(entries.ok()) << entries.status();
  EXPECT_EQ(*entries,
            Reply::Array({
                Reply::Array({Reply::String("1-1"),
                              Reply::Array({Reply::String("unit"), Reply::String("u7")})}),
                Reply::Array({Reply::String("1-2"),
                              Reply::Array({Reply::String("unit"), Reply::String("u8"),
                                            Reply::String("level"), Reply::String("2")})}),
            }))
      << entries->DebugString();
}

TEST_F(AsioClientTest, PipelinedCommandsAllCompleteInOrder) {
  constexpr int kCount = 10000;
  absl::StatusOr<Reply> before = Run({"INFO", "stats"});
  ASSERT_TRUE(before.ok()) << before.status();

  std::mutex mu;
  std::vector<long long> values;
  values.reserve(kCount);
  // All fired without waiting for any reply.
  for (int i = 0; i < kCount; ++i) {
    client_->Command({"INCR", "counter"}, [&](absl::StatusOr<Reply> result) {
      std::lock_guard<std::mutex> lock(mu);
      values.push_back(result.ok() && result->IsInteger() ? result->integer : -1);
    });
  }
  ASSERT_TRUE(PollUntil(
      [&] {
        std::lock_guard<std::mutex> lock(mu);
        return values.size() == kCount;
      },
      30s));

  // INCR's reply is the counter's new value, so the callbacks ran in the order sent iff the
  // i-th callback saw i+1.
  std::lock_guard<std::mutex> lock(mu);
  for (int i = 0; i < kCount; ++i) {
    ASSERT_EQ(values[i], i + 1) << "callback " << i;
  }
  absl::StatusOr<Reply> counter = Run({"GET", "counter"});
  ASSERT_TRUE(counter.ok()) << counter.status();
  EXPECT_EQ(counter->AsInteger().value_or(-1), kCount);

  // One command at a time would take the server at least one read per command; pipelined
  // commands share reads.
  absl::StatusOr<Reply> after = Run({"INFO", "stats"});
  ASSERT_TRUE(after.ok()) << after.status();
  const long long reads =
      InfoField(*after, "total_reads_processed") - InfoField(*before, "total_reads_processed");
  EXPECT_LT(reads, kCount) << "the client did not pipeline";
}

TEST_F(AsioClientTest, EvalFallsBackToEvalOnNoscriptAndThenUsesEvalsha) {
  const Script script = Script::FromSource("return redis.call('INCRBY', KEYS[1], ARGV[1])");
  absl::StatusOr<Reply> exists = Run({"SCRIPT", "EXISTS", script.sha1});
  ASSERT_TRUE(exists.ok()) << exists.status();
  EXPECT_EQ(*exists, Reply::Array({Reply::Integer(0)}));

  absl::StatusOr<Reply> first = EvalSync(*client_, script, {"total"}, {"5"});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, Reply::Integer(5));
  absl::StatusOr<Reply> second = EvalSync(*client_, script, {"total"}, {"5"});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(*second, Reply::Integer(10));

  ASSERT_TRUE(Run({"SCRIPT", "FLUSH"}).ok());
  absl::StatusOr<Reply> after_flush = EvalSync(*client_, script, {"total"}, {"5"});
  ASSERT_TRUE(after_flush.ok()) << after_flush.status();
  EXPECT_EQ(*after_flush, Reply::Integer(15));

  // NOSCRIPT made the client send the body exactly when the server lacked it.
  EXPECT_THAT(Observed(),
              ElementsAre(Pair("SCRIPT", true), Pair("EVALSHA", false), Pair("EVAL", true),
                          Pair("EVALSHA", true), Pair("SCRIPT", true), Pair("EVALSHA", false),
                          Pair("EVAL", true)));

  // Our digest is the one Redis computes.
  absl::StatusOr<Reply> loaded = Run({"SCRIPT", "LOAD", script.source});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(*loaded, Reply::String(script.sha1));
}

TEST_F(AsioClientTest, ScriptErrorIsDeliveredAsAReply) {
  const Script script = Script::FromSource("return redis.error_reply('STALE version moved on')");
  absl::StatusOr<Reply> result = EvalSync(*client_, script, {}, {});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(*result, Reply::Error("STALE version moved on"));
}

TEST_F(AsioClientTest, CommandsFailFastWhileRedisIsDown) {
  ASSERT_TRUE(redis_.Stop().ok());
  ASSERT_TRUE(PollUntil([&] { return !client_->Connected(); }, kDeadline));

  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<Reply> get = Run({"GET", "k"});
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(get.status().code(), absl::StatusCode::kUnavailable) << get.status();
  // A correctness bound: failing fast means not waiting for the (5 s) command timeout.
  EXPECT_LT(elapsed, 500ms);

  absl::StatusOr<Reply> eval = EvalSync(*client_, Script::FromSource("return 1"), {}, {});
  EXPECT_EQ(eval.status().code(), absl::StatusCode::kUnavailable) << eval.status();
}

TEST_F(AsioClientTest, ReconnectsAfterRedisRestartsOnTheSamePort) {
  ASSERT_TRUE(Run({"SET", "k", "v"}).ok());
  ASSERT_TRUE(redis_.Stop().ok());
  ASSERT_TRUE(PollUntil([&] { return !client_->Connected(); }, kDeadline));
  const absl::Status restarted = redis_.Start();
  ASSERT_TRUE(restarted.ok()) << restarted;

  EXPECT_TRUE(PollUntil([&] { return Run({"PING"}).ok(); }, kDeadline));
  EXPECT_TRUE(client_->Connected());
  EXPECT_TRUE(client_->WaitConnected(kDeadline).ok());
  absl::StatusOr<Reply> get = Run({"GET", "k"});
  ASSERT_TRUE(get.ok()) << get.status();
  EXPECT_TRUE(get->IsNil());  // A fresh server without persistence.
}

TEST_F(AsioClientTest, CommandPendingWhenTheConnectionDropsFailsWithUnavailable) {
  absl::StatusOr<Reply> id = Run({"CLIENT", "ID"});
  ASSERT_TRUE(id.ok()) << id.status();
  std::unique_ptr<AsioClient> admin = NewClient();
  ASSERT_TRUE(admin->WaitConnected(kDeadline).ok());

  Results results;
  client_->Command({"BLPOP", "queue", "30"}, 60s, results.Callback());
  ASSERT_TRUE(PollUntil(
      [&] {
        absl::StatusOr<Reply> info = CommandSync(*admin, {"INFO", "clients"}, kCommandTimeout);
        return info.ok() && InfoField(*info, "blocked_clients") == 1;
      },
      kDeadline));
  ASSERT_TRUE(
      CommandSync(*admin, {"CLIENT", "KILL", "ID", std::to_string(id->integer)}, kCommandTimeout)
          .ok());

  ASSERT_TRUE(results.WaitFor(1));
  EXPECT_EQ(results.at(0).status().code(), absl::StatusCode::kUnavailable)
      << results.at(0).status();
  // And the client comes back by itself.
  EXPECT_TRUE(PollUntil([&] { return Run({"PING"}).ok(); }, kDeadline));
}

TEST_F(AsioClientTest, TimeoutGivesDeadlineExceededAndResetsTheConnection) {
  Results results;
  const auto start = std::chrono::steady_clock::now();
  client_->Command({"BLPOP", "never-filled", "10"}, 100ms, results.Callback());
  // Queued behind the blocked BLPOP on the same connection.
  client_->Command({"GET", "k"}, results.Callback());

  ASSERT_TRUE(results.WaitFor(2));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(results.at(0).status().code(), absl::StatusCode::kDeadlineExceeded)
      << results.at(0).status();
  EXPECT_GE(elapsed, 100ms);
  EXPECT_LT(elapsed, kCommandTimeout);
  EXPECT_EQ(results.at(1).status().code(), absl::StatusCode::kUnavailable)
      << results.at(1).status();

  // A fresh connection replaces the suspect one.
  EXPECT_TRUE(PollUntil([&] { return Run({"PING"}).ok(); }, kDeadline));
}

TEST_F(AsioClientTest, DestructionCallsEveryInFlightCallbackOnceWithUnavailable) {
  constexpr int kCommands = 100;
  std::unique_ptr<AsioClient> admin = NewClient();
  ASSERT_TRUE(admin->WaitConnected(kDeadline).ok());

  std::array<std::atomic<int>, kCommands + 1> calls{};
  std::array<std::atomic<int>, kCommands + 1> unavailable{};
  auto callback = [&](int i) {
    return [&, i](absl::StatusOr<Reply> result) {
      calls[i].fetch_add(1);
      if (result.status().code() == absl::StatusCode::kUnavailable) {
        unavailable[i].fetch_add(1);
      }
    };
  };
  // A blocked BLPOP holds every later command in flight.
  client_->Command({"BLPOP", "queue", "30"}, 60s, callback(0));
  ASSERT_TRUE(PollUntil(
      [&] {
        absl::StatusOr<Reply> info = CommandSync(*admin, {"INFO", "clients"}, kCommandTimeout);
        return info.ok() && InfoField(*info, "blocked_clients") == 1;
      },
      kDeadline));
  for (int i = 1; i <= kCommands; ++i) {
    client_->Command({"GET", "k"}, callback(i));
  }

  client_.reset();

  // The destructor returns after the callbacks have run.
  for (int i = 0; i <= kCommands; ++i) {
    EXPECT_EQ(calls[i].load(), 1) << "callback " << i;
    EXPECT_EQ(unavailable[i].load(), 1) << "callback " << i;
  }
}

TEST_F(AsioClientTest, DestructionInAnotherHandlerOfTheIoContextDoesNotWaitForItself) {
  // With a one-thread io_context, waiting here for the strand would wait for this very thread.
  // Run this test's client on an io_context with a single thread to make that case real.
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::thread io_thread([&] { io.run(); });
  auto client = std::make_unique<AsioClient>(io, Options());
  client->Start();
  ASSERT_TRUE(client->WaitConnected(kDeadline).ok());

  Results results;
  client->Command({"BLPOP", "queue", "30"}, 60s, results.Callback());
  client->Command({"GET", "k"}, results.Callback());
  boost::asio::post(io, [&] { client.reset(); });

  ASSERT_TRUE(results.WaitFor(2));
  EXPECT_EQ(results.at(0).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(results.at(1).status().code(), absl::StatusCode::kUnavailable);
  work.reset();
  io_thread.join();
  EXPECT_EQ(results.size(), 2u);
}

TEST_F(AsioClientTest, StopFromInsideACallbackFailsTheRestOnce) {
  constexpr int kCommands = 20;
  std::array<std::atomic<int>, kCommands> calls{};
  std::atomic<int> unavailable{0};
  client_->Command({"PING"}, [&](absl::StatusOr<Reply> result) {
    EXPECT_TRUE(result.ok()) << result.status();
    calls[0].fetch_add(1);
    client_->Stop();
  });
  for (int i = 1; i < kCommands; ++i) {
    client_->Command({"BLPOP", "queue", "30"}, 60s, [&, i](absl::StatusOr<Reply> result) {
      calls[i].fetch_add(1);
      if (result.status().code() == absl::StatusCode::kUnavailable) {
        unavailable.fetch_add(1);
      }
    });
  }
  ASSERT_TRUE(PollUntil([&] { return unavailable.load() == kCommands - 1; }, kDeadline));
  for (int i = 0; i < kCommands; ++i) {
    EXPECT_EQ(calls[i].load(), 1) << "callback " << i;
  }
  EXPECT_FALSE(client_->Connected());
  absl::StatusOr<Reply> after = Run({"PING"});
  EXPECT_EQ(after.status().code(), absl::StatusCode::kUnavailable) << after.status();
}

TEST_F(AsioClientTest, CallbacksNeverRunInsideTheCallersCommand) {
  // Both outcomes: a reply, and a failure decided without the network.
  std::unique_ptr<AsioClient> never_started = std::make_unique<AsioClient>(io_, Options());
  std::atomic<bool> in_command{false};
  std::atomic<std::thread::id> caller{};
  std::atomic<int> inline_calls{0};
  std::atomic<int> calls{0};
  auto callback = [&](absl::StatusOr<Reply>) {
    if (in_command.load() && std::this_thread::get_id() == caller.load()) {
      inline_calls.fetch_add(1);
    }
    calls.fetch_add(1);
  };
  boost::asio::post(io_, [&] {
    caller = std::this_thread::get_id();
    in_command = true;
    client_->Command({"PING"}, callback);
    never_started->Command({"PING"}, callback);
    in_command = false;
  });
  ASSERT_TRUE(PollUntil([&] { return calls.load() == 2; }, kDeadline));
  EXPECT_EQ(inline_calls.load(), 0);
}

TEST_F(AsioClientTest, RejectsCommandsItCannotServe) {
  EXPECT_EQ(Run({}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Run({"subscribe", "events"}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CommandSync(*client_, {"PING"}, 0ms).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Run({"PING"}).ok());
}

TEST_F(AsioClientTest, ObserverSeesEveryCompletedCommand) {
  ASSERT_TRUE(Run({"SET", "k", "v"}).ok());
  ASSERT_TRUE(Run({"GET", "k"}).ok());
  ASSERT_TRUE(Run({"LPUSH", "k", "x"}).ok());  // WRONGTYPE: an error reply.
  EXPECT_THAT(Observed(), ElementsAre(Pair("SET", true), Pair("GET", true), Pair("LPUSH", false)));
}

TEST_F(AsioClientTest, WaitConnectedTimesOutWhenNothingListens) {
  RedisServer never_started;  // Reserves a port with nothing on it.
  AsioClient::Options options = Options();
  options.port = never_started.port();
  AsioClient client(io_, options);
  client.Start();
  EXPECT_EQ(client.WaitConnected(200ms).code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_FALSE(client.Connected());
  EXPECT_EQ(CommandSync(client, {"PING"}, kCommandTimeout).status().code(),
            absl::StatusCode::kUnavailable);
  client.Stop();
  EXPECT_EQ(client.WaitConnected(200ms).code(), absl::StatusCode::kUnavailable);
}

// Captures what the library logs, for the one behaviour only the log shows.
class LogCapture final {
 public:
  LogCapture()
      : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(256)),
        previous_(spdlog::default_logger()) {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink_));
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  bool Contains(std::string_view text) {
    for (const std::string& line : sink_->last_formatted()) {
      if (absl::StrContains(line, absl::string_view(text.data(), text.size()))) {
        return true;
      }
    }
    return false;
  }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
  std::shared_ptr<spdlog::logger> previous_;
};

TEST_F(AsioClientTest, ConnectThatHangsTimesOutAndIsRetried) {
  // A listener with a full accept queue: the kernel drops further SYNs, so connect() hangs.
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(listener, 0), 0);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  std::vector<int> fillers;
  for (int i = 0; i < 2; ++i) {
    fillers.push_back(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0));
    (void)::connect(fillers.back(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  }

  LogCapture log;
  AsioClient::Options options = Options();
  options.port = ntohs(addr.sin_port);
  options.connect_timeout = 100ms;
  {
    AsioClient client(io_, options);
    client.Start();
    // Only the log shows that our timer, not the kernel, ended the attempt.
    EXPECT_TRUE(PollUntil([&] { return log.Contains("connect timed out"); }, kDeadline));
    EXPECT_FALSE(client.Connected());
    EXPECT_EQ(CommandSync(client, {"PING"}, kCommandTimeout).status().code(),
              absl::StatusCode::kUnavailable);
  }
  for (int fd : fillers) {
    ::close(fd);
  }
  ::close(listener);
}

TEST_F(AsioClientTest, ACallersShortDeadlineFailsOnlyItsCommand) {
  Results results;
  const auto start = std::chrono::steady_clock::now();
  // The BLPOP holds the connection for a second; its caller stops waiting after 100 ms.
  client_->Command({"BLPOP", "never-filled", "1"}, start + 100ms, results.Callback());
  client_->Command({"SET", "after", "1"}, results.Callback());

  ASSERT_TRUE(results.WaitFor(2));
  EXPECT_EQ(results.at(0).status().code(), absl::StatusCode::kDeadlineExceeded)
      << results.at(0).status();
  // The connection was not reset for it: the command behind it is answered.
  ASSERT_TRUE(results.at(1).ok()) << results.at(1).status();
  EXPECT_EQ(*results.at(1), Reply::Status("OK"));
  // And the late BLPOP reply was dropped, not handed to the next caller.
  absl::StatusOr<Reply> get = Run({"GET", "after"});
  ASSERT_TRUE(get.ok()) << get.status();
  EXPECT_EQ(*get, Reply::String("1"));
}

TEST_F(AsioClientTest, ACallersLongDeadlineOutlastsTheDefaultTimeout) {
  AsioClient::Options options = Options();
  options.command_timeout = 200ms;
  AsioClient client(io_, options);
  client.Start();
  ASSERT_TRUE(client.WaitConnected(kDeadline).ok());

  Results results;
  const auto start = std::chrono::steady_clock::now();
  client.Command({"BLPOP", "never-filled", "1"}, start + 5s, results.Callback());
  ASSERT_TRUE(results.WaitFor(1));
  ASSERT_TRUE(results.at(0).ok()) << results.at(0).status();
  EXPECT_TRUE(results.at(0)->IsNil()) << "BLPOP timed out on the server after its second";
  EXPECT_GE(std::chrono::steady_clock::now() - start, 900ms);

  // Silent past the default timeout and past the first caller's deadline, the connection is
  // kept while a caller behind it still has time to spare: it is answered when the server is.
  Results late;
  const auto late_start = std::chrono::steady_clock::now();
  client.Command({"BLPOP", "never-filled", "2"}, late_start + 500ms, late.Callback());
  client.Command({"GET", "k"}, late_start + 5s, late.Callback());
  ASSERT_TRUE(late.WaitFor(2));
  EXPECT_EQ(late.at(0).status().code(), absl::StatusCode::kDeadlineExceeded);
  ASSERT_TRUE(late.at(1).ok()) << late.at(1).status();
  EXPECT_TRUE(late.at(1)->IsNil());
  EXPECT_GE(std::chrono::steady_clock::now() - late_start, 1500ms) << "behind the 2 s BLPOP";
}

// Holds the server (and so the connection) busy for ARGV[1] microseconds, then returns 1.
const Script& BusyScript() {
  static const Script script = Script::FromSource(R"(
local t = redis.call('TIME')
local start = tonumber(t[1]) * 1000000 + tonumber(t[2])
repeat
  local n = redis.call('TIME')
  local now = tonumber(n[1]) * 1000000 + tonumber(n[2])
until now - start >= tonumber(ARGV[1])
return 1)");
  return script;
}

TEST_F(AsioClientTest, ASlowReplyFailsOnlyTheCommandsThatTimedOut) {
  AsioClient::Options options = Options();
  options.command_timeout = 1s;
  AsioClient client(io_, options);
  client.Start();
  ASSERT_TRUE(client.WaitConnected(kDeadline).ok());
  // Loaded first, so that the busy calls below are one round trip each.
  ASSERT_TRUE(CommandSync(client, {"SCRIPT", "LOAD", BusyScript().source}, kDeadline).ok());
  absl::StatusOr<Reply> id = CommandSync(client, {"CLIENT", "ID"}, kDeadline);
  ASSERT_TRUE(id.ok()) << id.status();

  Results results;
  // Redis answers a pipeline only after running all of it, so the second call is staged apart:
  // the first (1.2 s, with a long caller's deadline) is answered at about 1.2 s; the second
  // (0.5 s, sent at 0.3 s with the 1 s default timeout) times out at 1.3 s while the connection
  // answered 0.1 s before, so the connection is slow, not dead, and is kept; the second's own
  // reply comes at 1.7 s and is dropped, and the command behind it is answered.
  const auto start = std::chrono::steady_clock::now();
  client.Eval(BusyScript(), {}, {"1200000"}, start + 5s, results.Callback());
  std::this_thread::sleep_for(300ms);  // Staging the scenario, not waiting for a result.
  client.Eval(BusyScript(), {}, {"500000"}, results.Callback());
  client.Command({"CLIENT", "ID"}, start + 5s, results.Callback());
  ASSERT_TRUE(results.WaitFor(3));
  ASSERT_TRUE(results.at(0).ok()) << results.at(0).status();
  EXPECT_EQ(results.at(1).status().code(), absl::StatusCode::kDeadlineExceeded)
      << results.at(1).status();
  // The command behind the slow one was not failed with it, and ran on the same connection.
  ASSERT_TRUE(results.at(2).ok()) << results.at(2).status();
  EXPECT_EQ(results.at(2)->integer, id->integer);
}

TEST_F(AsioClientTest, ASilentConnectionIsResetAndEveryCommandOnItFails) {
  AsioClient::Options options = Options();
  options.command_timeout = 300ms;
  AsioClient client(io_, options);
  client.Start();
  ASSERT_TRUE(client.WaitConnected(kDeadline).ok());
  ASSERT_TRUE(CommandSync(client, {"SCRIPT", "LOAD", BusyScript().source}, kDeadline).ok());

  Results results;
  const auto start = std::chrono::steady_clock::now();
  // Nothing comes back for a second: past the timeout, with no waiting caller willing to wait
  // longer than the silence has lasted (the PING, sent at 150 ms, allows 250 ms), the connection
  // is suspect.
  client.Eval(BusyScript(), {}, {"1000000"}, results.Callback());
  std::this_thread::sleep_for(150ms);  // Staging the scenario, not waiting for a result.
  client.Command({"PING"}, std::chrono::steady_clock::now() + 250ms, results.Callback());
  ASSERT_TRUE(results.WaitFor(2));
  EXPECT_EQ(results.at(0).status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(results.at(1).status().code(), absl::StatusCode::kUnavailable)
      << results.at(1).status();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s) << "reset before the script ended";
  EXPECT_TRUE(PollUntil([&] { return CommandSync(client, {"PING"}, 1s).ok(); }, kDeadline));
}

TEST_F(AsioClientTest, CommandsBeyondTheBoundAreRefusedAtOnce) {
  AsioClient::Options options = Options();
  options.max_pending = 3;
  options.max_pending_bytes = 4096;
  AsioClient client(io_, options);
  client.Start();
  ASSERT_TRUE(client.WaitConnected(kDeadline).ok());

  Results results;
  const auto start = std::chrono::steady_clock::now();
  // Three wait behind a BLPOP that holds the connection for a second.
  client.Command({"BLPOP", "never-filled", "1"}, start + 5s, results.Callback());
  client.Command({"GET", "a"}, results.Callback());
  client.Command({"GET", "b"}, results.Callback());
  client.Command({"GET", "c"}, results.Callback());
  // The refusal comes at once, long before the BLPOP lets the others through.
  ASSERT_TRUE(results.WaitFor(1));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 900ms);
  const absl::StatusOr<Reply> refused = results.at(0);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()), ::testing::HasSubstr("3 commands"));
  // Callers see a retryable code.
  const absl::Status mapped = StatusOf(refused);
  EXPECT_EQ(mapped.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(mapped.message()), ::testing::HasSubstr("retry later"));
  ASSERT_TRUE(results.WaitFor(4));
  for (size_t i = 1; i < 4; ++i) {
    EXPECT_TRUE(results.at(i).ok()) << i << " " << results.at(i).status();
  }

  // The bytes bound: one command larger than the client takes in flight is refused as well,
  // while small ones go on.
  absl::StatusOr<Reply> big =
      CommandSync(client, {"SET", "big", std::string(8192, 'x')}, kCommandTimeout);
  EXPECT_EQ(big.status().code(), absl::StatusCode::kResourceExhausted) << big.status();
  EXPECT_TRUE(CommandSync(client, {"SET", "small", "x"}, kCommandTimeout).ok());
}

TEST_F(AsioClientTest, EvalKeepsTheCallersDeadlineAndADeadlinePassedSendsNothing) {
  const Script script = Script::FromSource("return ARGV[1]");
  std::promise<absl::StatusOr<Reply>> promise;
  client_->Eval(script, {}, {"x"}, std::chrono::steady_clock::now() + 5s,
                [&promise](absl::StatusOr<Reply> result) { promise.set_value(std::move(result)); });
  absl::StatusOr<Reply> result = promise.get_future().get();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(*result, Reply::String("x"));

  Results results;
  client_->Command({"SET", "never-set", "1"}, std::chrono::steady_clock::now() - 1ms,
                   results.Callback());
  ASSERT_TRUE(results.WaitFor(1));
  EXPECT_EQ(results.at(0).status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(Run({"GET", "never-set"})->IsNil());
}

TEST_F(AsioClientTest, StatusMessagesNeverNameTheServersAddress) {
  const std::string port = std::to_string(redis_.port());
  Results results;
  client_->Command({"BLPOP", "never-filled", "10"}, 100ms, results.Callback());
  client_->Command({"GET", "k"}, results.Callback());
  ASSERT_TRUE(results.WaitFor(2));
  ASSERT_TRUE(redis_.Stop().ok());
  ASSERT_TRUE(PollUntil([&] { return !client_->Connected(); }, kDeadline));
  const absl::StatusOr<Reply> down = Run({"GET", "k"});
  for (const absl::Status& status :
       {results.at(0).status(), results.at(1).status(), down.status()}) {
    EXPECT_FALSE(status.ok());
    EXPECT_FALSE(absl::StrContains(status.message(), port)) << status;
    EXPECT_FALSE(absl::StrContains(status.message(), "127.0.0.1")) << status;
    EXPECT_TRUE(absl::StrContains(status.message(), "redis[test]")) << status;
  }
}

TEST(DeadlineTest, DeadlineBeforeLeavesTheAnswerTimeToGetHome) {
  using std::chrono::system_clock;
  EXPECT_EQ(DeadlineBefore(system_clock::time_point::max()), kNoDeadline);
  EXPECT_EQ(DeadlineBefore(system_clock::now() + std::chrono::hours(48)), kNoDeadline);
  const auto steady = std::chrono::steady_clock::now();
  const Deadline ten = DeadlineBefore(system_clock::now() + 10s);
  EXPECT_GT(ten, steady + 9600ms);
  EXPECT_LT(ten, steady + 9800ms);
  const Deadline one = DeadlineBefore(system_clock::now() + 1s);
  EXPECT_GT(one, steady + 850ms);
  EXPECT_LT(one, steady + 950ms);
  const Deadline past = DeadlineBefore(system_clock::now() - 1s);
  EXPECT_LE(past, std::chrono::steady_clock::now());
}

TEST(ReplyTest, TypedAccessors) {
  EXPECT_EQ(Reply::String("x").AsString().value_or(""), "x");
  EXPECT_EQ(Reply::Status("OK").AsString().value_or(""), "OK");
  EXPECT_EQ(Reply::Integer(7).AsInteger().value_or(0), 7);
  EXPECT_EQ(Reply::String("42").AsInteger().value_or(0), 42);
  EXPECT_EQ(Reply::String("4x").AsInteger().status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(Reply::Nil().AsString().status().code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(Reply::Array({}).Expect(Reply::Type::kArray).ok());
  EXPECT_EQ(Reply::Nil().Expect(Reply::Type::kArray).code(), absl::StatusCode::kInternal);
}

TEST(ReplyTest, ErrorReplies) {
  const Reply wrong_type = Reply::Error("WRONGTYPE Operation against a key");
  EXPECT_EQ(wrong_type.ErrorCode(), "WRONGTYPE");
  EXPECT_EQ(wrong_type.ErrorStatus().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(wrong_type.AsString().status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(Reply::Error("NOSCRIPT").ErrorCode(), "NOSCRIPT");
  EXPECT_TRUE(Reply::String("ERR not an error").ErrorStatus().ok());
  EXPECT_EQ(Reply::String("ERR").ErrorCode(), "");
}

// The one mapping of Redis's answers to what a store's caller sees (DESIGN.md, "Redis").
TEST(ReplyTest, StatusOfMapsEveryOutcomeInOnePlace) {
  struct Case {
    absl::StatusOr<Reply> outcome;
    absl::StatusCode code;
  };
  const std::vector<Case> cases = {
      {Reply::String("v"), absl::StatusCode::kOk},
      {Reply::Nil(), absl::StatusCode::kOk},
      {Reply::Error("LOADING Redis is loading the dataset in memory"),
       absl::StatusCode::kUnavailable},
      {Reply::Error("BUSY Redis is busy running a script"), absl::StatusCode::kUnavailable},
      {Reply::Error("MASTERDOWN Link with MASTER is down"), absl::StatusCode::kUnavailable},
      {Reply::Error("TRYAGAIN Multiple keys request during rehashing of slot"),
       absl::StatusCode::kUnavailable},
      {Reply::Error("READONLY You can't write against a read only replica."),
       absl::StatusCode::kUnavailable},
      {Reply::Error("CLUSTERDOWN The cluster is down"), absl::StatusCode::kUnavailable},
      {Reply::Error("OOM command not allowed when used memory > 'maxmemory'"),
       absl::StatusCode::kInternal},
      {Reply::Error("WRONGTYPE Operation against a key"), absl::StatusCode::kInternal},
      {Reply::Error("ERR Error running script"), absl::StatusCode::kInternal},
      {absl::UnavailableError("redis[intake]: not connected"), absl::StatusCode::kUnavailable},
      {absl::DeadlineExceededError("redis[intake]: GET: no reply within 2000 ms"),
       absl::StatusCode::kUnavailable},
      {absl::ResourceExhaustedError("redis[intake]: out of memory"),
       absl::StatusCode::kUnavailable},
      {absl::InvalidArgumentError("empty redis command"), absl::StatusCode::kInternal},
  };
  for (const Case& c : cases) {
    const absl::Status status = StatusOf(c.outcome);
    SCOPED_TRACE(c.outcome.ok() ? c.outcome->DebugString() : c.outcome.status().ToString());
    EXPECT_EQ(status.code(), c.code) << status;
    EXPECT_EQ(Checked(c.outcome).status().code(), c.code);
    if (status.code() == absl::StatusCode::kUnavailable) {
      // What is down and what to do, the same way every time, so the gateway can pass it on.
      EXPECT_TRUE(absl::StartsWith(status.message(), kStoreUnavailable)) << status;
      EXPECT_TRUE(absl::EndsWith(status.message(), "; retry later")) << status;
    }
  }
  EXPECT_EQ(Checked(Reply::Integer(3))->integer, 3);
}

TEST(ReplyTest, DebugStringAbbreviates) {
  EXPECT_EQ(Reply::Array({Reply::Nil(), Reply::Integer(1), Reply::String("a\n"),
                          Reply::Status("OK"), Reply::Error("ERR x")})
                .DebugString(),
            "[nil, :1, \"a\\n\", +OK, -ERR x]");
  EXPECT_LT(Reply::String(std::string(10000, 'x')).DebugString().size(), 100u);
}

TEST(ScriptTest, Sha1IsLowercaseHexOfTheSource) {
  EXPECT_EQ(Script::FromSource("abc").sha1, "a9993e364706816aba3e25717850c26c9cd0d89d");
}

TEST(ScriptTest, FromFile) {
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() /
      absl::StrCat("grid_script_test_", ::testing::UnitTest::GetInstance()->random_seed(), "_",
                   ::getpid(), ".lua");
  {
    std::ofstream out(path, std::ios::binary);
    out << "-- KEYS[1]: counter\nreturn redis.call('INCR', KEYS[1])\n";
  }
  absl::StatusOr<Script> script = Script::FromFile(path);
  std::filesystem::remove(path);
  ASSERT_TRUE(script.ok()) << script.status();
  EXPECT_EQ(*script,
            Script::FromSource("-- KEYS[1]: counter\nreturn redis.call('INCR', KEYS[1])\n"));
  EXPECT_EQ(Script::FromFile(path).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace grid::redis
