#include "common/log/throttle.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <sstream>

namespace grid::log {
namespace {

// Captures what the default logger writes, one message a line.
class ThrottleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    previous_ = spdlog::default_logger();
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    sink->set_pattern("%l %v");
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));
  }
  void TearDown() override { spdlog::set_default_logger(previous_); }

  std::vector<std::string> Lines() const {
    std::vector<std::string> lines;
    std::istringstream in(out_.str());
    for (std::string line; std::getline(in, line);) {
      lines.push_back(line);
    }
    return lines;
  }

  std::chrono::steady_clock::time_point now_{};
  Throttle::Now clock_ = [this] { return now_; };
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

TEST_F(ThrottleTest, LogsTheFirstThenOneLineAnIntervalWithTheCountHeldBack) {
  Throttle throttle(std::chrono::seconds(10), clock_);
  // 100 a second for 25 seconds: the escalator's rate while Redis was down.
  int logged = 0;
  for (int i = 0; i < 2500; ++i) {
    logged += throttle.Warn("claiming escalation timers: redis unavailable") ? 1 : 0;
    now_ += std::chrono::milliseconds(10);
  }
  EXPECT_EQ(logged, 3);
  const auto lines = Lines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "warning claiming escalation timers: redis unavailable");
  EXPECT_EQ(lines[1],
            "warning claiming escalation timers: redis unavailable (999 more like it not logged)");
  EXPECT_EQ(throttle.occurrences(), 2500);
}

TEST_F(ThrottleTest, ClearSaysTheRunIsOverOnceAndStartsAfresh) {
  Throttle throttle(std::chrono::seconds(10), clock_);
  throttle.Warn("down");
  throttle.Warn("down");
  throttle.Clear("redis");
  throttle.Clear("redis");
  EXPECT_TRUE(throttle.Warn("down again")) << "a new run logs its first occurrence at once";
  const auto lines = Lines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1], "info redis: fine again after 2 failures");
  EXPECT_EQ(lines[2], "warning down again");
}

TEST_F(ThrottleTest, ClearWithoutAnythingLoggedIsSilent) {
  Throttle throttle(std::chrono::seconds(10), clock_);
  throttle.Clear("redis");
  EXPECT_TRUE(Lines().empty());
}

}  // namespace
}  // namespace grid::log
