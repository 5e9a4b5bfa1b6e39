// Readiness follows its probes: NOT ready when one fails or does not answer within the round,
// ready again when all pass; it reports changes only.
#include "common/server/readiness.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <mutex>
#include <thread>

#include "tests/support/poll.h"

namespace grid::server {
namespace {

using testing::PollUntil;

class ReadinessTest : public ::testing::Test {
 protected:
  ~ReadinessTest() override {
    guard_.reset();
    io_.stop();
    thread_.join();
  }

  std::vector<bool> Changes() {
    std::lock_guard lock(mu_);
    return changes_;
  }

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_{
      io_.get_executor()};
  std::thread thread_{[this] { io_.run(); }};
  std::mutex mu_;
  std::vector<bool> changes_;
  std::string why_;
};

TEST_F(ReadinessTest, FollowsTheProbesAndReportsOnlyChanges) {
  std::atomic<int> redis_state{0};  // 0 up, 1 refusing, 2 not answering
  std::atomic<int> routing_rounds{0};
  Readiness readiness(io_, std::chrono::milliseconds(50),
                      [this](bool ready, const std::string& why) {
                        std::lock_guard lock(mu_);
                        changes_.push_back(ready);
                        why_ = why;
                      });
  std::function<void(absl::Status)> hung;
  readiness.Add("redis", [&](std::function<void(absl::Status)> done) {
    switch (redis_state.load()) {
      case 0:
        done(absl::OkStatus());
        break;
      case 1:
        done(absl::UnavailableError("connection refused"));
        break;
      default:
        hung = std::move(done);  // Answers late, if ever.
    }
  });
  readiness.Add("routing", [&](std::function<void(absl::Status)> done) {
    ++routing_rounds;
    done(absl::OkStatus());
  });
  readiness.Start();
  ASSERT_TRUE(
      PollUntil([&] { return Changes() == std::vector<bool>{true}; }, std::chrono::seconds(5)));
  ASSERT_TRUE(PollUntil([&] { return routing_rounds >= 5; }, std::chrono::seconds(5)));
  EXPECT_EQ(Changes(), std::vector<bool>{true}) << "unchanged rounds report nothing";

  redis_state = 1;
  ASSERT_TRUE(PollUntil([&] { return Changes().size() == 2; }, std::chrono::seconds(5)));
  EXPECT_FALSE(Changes()[1]);
  {
    std::lock_guard lock(mu_);
    EXPECT_EQ(why_, "redis: connection refused");
  }
  redis_state = 0;
  ASSERT_TRUE(PollUntil([&] { return Changes().size() == 3; }, std::chrono::seconds(5)));
  EXPECT_TRUE(Changes()[2]);

  // A frozen dependency: no answer within the round counts as a failure.
  redis_state = 2;
  ASSERT_TRUE(PollUntil([&] { return Changes().size() == 4; }, std::chrono::seconds(5)));
  EXPECT_FALSE(Changes()[3]);
  {
    std::lock_guard lock(mu_);
    EXPECT_EQ(why_, "redis: no answer within 50 ms");
  }
  redis_state = 0;
  ASSERT_TRUE(PollUntil([&] { return Changes().size() == 5; }, std::chrono::seconds(5)));
  readiness.Stop();
}

}  // namespace
}  // namespace grid::server
