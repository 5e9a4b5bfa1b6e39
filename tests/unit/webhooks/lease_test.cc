// The webhooks lease against a scripted Redis: each script call waits for the test's answer, and
// the test runs the io_context itself, so every step is the test's to order.
#include "services/webhooks/lease.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <deque>

#include "tests/support/poll.h"

namespace grid::webhooks {
namespace {

using std::chrono::milliseconds;

class ScriptedRedis final : public redis::Client {
 public:
  struct Call {
    std::vector<std::string> keys;
    std::vector<std::string> args;
    redis::ReplyCallback done;
  };
  void Command(std::vector<std::string>, redis::ReplyCallback done) override {
    done(absl::InternalError("the lease sends no plain command"));
  }
  void Command(std::vector<std::string>, milliseconds, redis::ReplyCallback done) override {
    done(absl::InternalError("the lease sends no plain command"));
  }
  void Eval(const redis::Script&, std::vector<std::string> keys, std::vector<std::string> args,
            redis::ReplyCallback done) override {
    calls.push_back({std::move(keys), std::move(args), std::move(done)});
  }
  bool Connected() const override { return true; }

  std::deque<Call> calls;
};

class LeaseTest : public ::testing::Test {
 protected:
  LeaseTest()
      : lease_(std::make_shared<Lease>(
            io_, redis_,
            Lease::Options{.key = kLeaseKey,
                           .token = "host-1-abc",
                           .ttl = milliseconds(300),
                           .renew_every = milliseconds(100),
                           .retry_every = milliseconds(50)},
            [this] { ++acquired_; }, [this] { ++lost_; })) {}

  // Runs the io_context until the lease sends a script call (or a second passes); that call.
  ScriptedRedis::Call Next() {
    EXPECT_TRUE(testing::PollUntil(
        [this] {
          io_.poll();
          io_.restart();
          return !redis_.calls.empty();
        },
        std::chrono::seconds(1), milliseconds(5)))
        << "no script call";
    if (redis_.calls.empty()) {
      return {};
    }
    ScriptedRedis::Call call = std::move(redis_.calls.front());
    redis_.calls.pop_front();
    return call;
  }

  void Answer(ScriptedRedis::Call& call, absl::StatusOr<redis::Reply> reply) {
    call.done(std::move(reply));
    io_.poll();
    io_.restart();
  }

  boost::asio::io_context io_;
  ScriptedRedis redis_;
  int acquired_ = 0;
  int lost_ = 0;
  std::shared_ptr<Lease> lease_;
};

TEST_F(LeaseTest, TakesExtendsAndLosesTheLeaseAsRedisSays) {
  lease_->Start();
  ScriptedRedis::Call take = Next();
  EXPECT_EQ(take.keys, std::vector<std::string>{"wh:lease"});
  EXPECT_EQ(take.args, (std::vector<std::string>{"host-1-abc", "300"}));
  // Another holds it: standing by, and trying again.
  Answer(take, redis::Reply::Integer(0));
  EXPECT_FALSE(lease_->held());
  EXPECT_EQ(acquired_, 0);
  ScriptedRedis::Call again = Next();
  Answer(again, redis::Reply::Integer(1));
  EXPECT_TRUE(lease_->held());
  EXPECT_EQ(acquired_, 1);
  // Extended: still held, no second acquisition.
  ScriptedRedis::Call renew = Next();
  EXPECT_EQ(renew.args, (std::vector<std::string>{"host-1-abc", "300"}));
  Answer(renew, redis::Reply::Integer(1));
  EXPECT_EQ(acquired_, 1);
  EXPECT_EQ(lost_, 0);
  // Another took it (ours ran out in Redis): stepping down at once.
  ScriptedRedis::Call taken = Next();
  Answer(taken, redis::Reply::Integer(0));
  EXPECT_FALSE(lease_->held());
  EXPECT_EQ(lost_, 1);
}

TEST_F(LeaseTest, StepsDownWhenItCannotExtendBeforeTheLeaseRunsOut) {
  lease_->Start();
  ScriptedRedis::Call take = Next();
  Answer(take, redis::Reply::Integer(1));
  ASSERT_TRUE(lease_->held());
  // Redis out of reach: the renewals fail (or get no answer), and the lease it last extended
  // runs out 300 ms after that call was sent.
  const auto taken = std::chrono::steady_clock::now();
  EXPECT_TRUE(testing::PollUntil(
      [&] {
        io_.poll();
        io_.restart();
        while (!redis_.calls.empty()) {
          ScriptedRedis::Call call = std::move(redis_.calls.front());
          redis_.calls.pop_front();
          call.done(absl::UnavailableError("test: not connected"));
        }
        return lost_ == 1;
      },
      std::chrono::seconds(2), milliseconds(5)));
  EXPECT_FALSE(lease_->held());
  EXPECT_GE(std::chrono::steady_clock::now() - taken, milliseconds(250));
}

TEST_F(LeaseTest, StopGivesTheLeaseUp) {
  lease_->Start();
  ScriptedRedis::Call take = Next();
  Answer(take, redis::Reply::Integer(1));
  bool stopped = false;
  lease_->Stop([&stopped] { stopped = true; });
  ScriptedRedis::Call release = Next();
  EXPECT_EQ(release.keys, std::vector<std::string>{"wh:lease"});
  EXPECT_EQ(release.args, std::vector<std::string>{"host-1-abc"});
  EXPECT_EQ(lost_, 1) << "stopping steps down first";
  EXPECT_FALSE(stopped);
  Answer(release, redis::Reply::Integer(1));
  EXPECT_TRUE(stopped);
  // Nothing more is sent.
  io_.run_for(milliseconds(150));
  EXPECT_TRUE(redis_.calls.empty());
}

TEST(LeaseTokenTest, IsUniquePerProcessAndCall) {
  const std::string a = Lease::NewToken();
  const std::string b = Lease::NewToken();
  EXPECT_NE(a, b);
  EXPECT_NE(a.find(std::to_string(getpid())), std::string::npos);
}

}  // namespace
}  // namespace grid::webhooks
