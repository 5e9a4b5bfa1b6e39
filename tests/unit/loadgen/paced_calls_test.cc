#include "tools/loadgen/paced_calls.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

namespace grid::loadgen {
namespace {

TEST(RunPacedTest, CallsEveryIndexOnce) {
  std::mutex mutex;
  std::multiset<int> seen;
  PacedOptions options;
  options.count = 200;
  options.concurrency = 4;
  const PacedResult result = RunPaced(options, [&](int index) {
    std::lock_guard lock(mutex);
    seen.insert(index);
    return absl::OkStatus();
  });
  EXPECT_EQ(result.issued, 200);
  EXPECT_EQ(result.failed, 0);
  ASSERT_EQ(seen.size(), 200u);
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(seen.count(i), 1u) << i;
  }
  EXPECT_EQ(result.Succeeded().size(), 200u);
}

TEST(RunPacedTest, UnpacedCallsStopAtTheTimeLimit) {
  // As fast as the callers go, far more calls than fit: the clock ends the run.
  PacedOptions options;
  options.count = 1'000'000;
  options.rate = 0;
  options.concurrency = 2;
  options.time_limit = std::chrono::milliseconds(50);
  std::atomic<int> calls{0};
  const PacedResult result = RunPaced(options, [&](int) {
    calls.fetch_add(1);
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    return absl::OkStatus();
  });
  EXPECT_GT(result.issued, 0);
  EXPECT_LT(result.issued, options.count);
  EXPECT_EQ(result.issued, calls.load());
}

TEST(RunPacedTest, FailuresAreCountedAndLeftOutOfTheLatencies) {
  PacedOptions options;
  options.count = 10;
  options.concurrency = 2;
  const PacedResult result = RunPaced(options, [](int index) {
    return index % 2 == 0 ? absl::OkStatus() : absl::UnavailableError("odd");
  });
  EXPECT_EQ(result.failed, 5);
  EXPECT_EQ(result.first_error.message(), "odd");
  EXPECT_EQ(result.Succeeded().size(), 5u);
  EXPECT_LT(result.latency_ms[1], 0);
}

TEST(RunPacedTest, StopsIssuingAtTheTimeLimit) {
  PacedOptions options;
  options.count = 1000;
  options.rate = 10;  // Call i is due at i / 10 s: only the first few fit in the limit.
  options.concurrency = 2;
  options.time_limit = std::chrono::milliseconds(250);
  std::atomic<int> calls{0};
  const PacedResult result = RunPaced(options, [&](int) {
    calls.fetch_add(1);
    return absl::OkStatus();
  });
  EXPECT_EQ(result.issued, calls.load());
  EXPECT_LE(result.issued, 3);
}

}  // namespace
}  // namespace grid::loadgen
