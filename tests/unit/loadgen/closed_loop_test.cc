#include "tools/loadgen/closed_loop.h"

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

namespace grid::loadgen {
namespace {

// Completes calls on a thread of its own, as gRPC's callback API does, in the order started.
class Completer {
 public:
  explicit Completer(std::function<absl::Status(int)> outcome) : outcome_(std::move(outcome)) {}
  ~Completer() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    ready_.notify_all();
    thread_.join();
  }

  void Start(int index, std::function<void(absl::Status)> done) {
    const int now = in_flight_.fetch_add(1) + 1;
    int seen = max_in_flight_.load();
    while (now > seen && !max_in_flight_.compare_exchange_weak(seen, now)) {
    }
    {
      std::lock_guard lock(mutex_);
      queue_.emplace_back(index, std::move(done));
      started_.insert(index);
    }
    ready_.notify_one();
  }

  int max_in_flight() const { return max_in_flight_.load(); }
  std::set<int> started() {
    std::lock_guard lock(mutex_);
    return started_;
  }

 private:
  void Run() {
    std::unique_lock lock(mutex_);
    while (true) {
      ready_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) {
        return;
      }
      auto [index, done] = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      in_flight_.fetch_sub(1);
      done(outcome_(index));
      lock.lock();
    }
  }

  std::function<absl::Status(int)> outcome_;
  std::atomic<int> in_flight_{0};
  std::atomic<int> max_in_flight_{0};
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::pair<int, std::function<void(absl::Status)>>> queue_;  // Guarded by mutex_.
  std::set<int> started_;                                                // Guarded by mutex_.
  bool stop_ = false;                                                    // Guarded by mutex_.
  std::thread thread_{[this] { Run(); }};
};

TEST(RunClosedLoopTest, KeepsTheOutstandingCallsInFlightUntilTheTimeIsUp) {
  Completer completer([](int) { return absl::OkStatus(); });
  ClosedLoopOptions options;
  options.outstanding = 8;
  options.duration = std::chrono::milliseconds(100);
  const ClosedLoopResult result = RunClosedLoop(
      options, [&](int index, auto done) { completer.Start(index, std::move(done)); });
  EXPECT_EQ(result.failed, 0);
  EXPECT_GT(result.started, 8);
  EXPECT_EQ(completer.max_in_flight(), 8);
  EXPECT_EQ(result.latency_ms.size(), static_cast<std::size_t>(result.started));
  EXPECT_GE(result.elapsed_seconds, 0.1);
  // Every index once, none skipped.
  const std::set<int> started = completer.started();
  EXPECT_EQ(started.size(), static_cast<std::size_t>(result.started));
  EXPECT_EQ(*started.rbegin(), result.started - 1);
  EXPECT_GT(result.PerSecond(), 0);
}

TEST(RunClosedLoopTest, AFailureStopsTheRunAndIsReported) {
  Completer completer(
      [](int index) { return index == 20 ? absl::UnavailableError("down") : absl::OkStatus(); });
  ClosedLoopOptions options;
  options.outstanding = 4;
  options.duration = std::chrono::seconds(60);  // Ends by the failure, not the clock.
  const ClosedLoopResult result = RunClosedLoop(
      options, [&](int index, auto done) { completer.Start(index, std::move(done)); });
  EXPECT_EQ(result.failed, 1);
  EXPECT_EQ(result.first_error.message(), "down");
  EXPECT_EQ(result.succeeded(), result.started - 1);
  EXPECT_LT(result.started, 30);
  EXPECT_LT(result.elapsed_seconds, 30);
}

}  // namespace
}  // namespace grid::loadgen
