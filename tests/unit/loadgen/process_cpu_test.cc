#include "tools/loadgen/process_cpu.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>

namespace grid::loadgen {
namespace {

TEST(CpuSecondsFromStatTest, AddsUserAndSystemTime) {
  // utime 250 and stime 50 ticks (fields 14 and 15) at 100 ticks a second.
  const std::string stat =
      "4242 (grid-gateway) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 9 0 100 "
      "1000000 500 18446744073709551615";
  auto seconds = CpuSecondsFromStat(stat, 100);
  ASSERT_TRUE(seconds.ok()) << seconds.status();
  EXPECT_DOUBLE_EQ(*seconds, 3.0);
}

TEST(CpuSecondsFromStatTest, CountsFieldsAfterACommandNameWithSpacesAndParentheses) {
  const std::string stat = "7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 1 1 1";
  auto seconds = CpuSecondsFromStat(stat, 10);
  ASSERT_TRUE(seconds.ok()) << seconds.status();
  EXPECT_DOUBLE_EQ(*seconds, 1.0);
}

TEST(CpuSecondsFromStatTest, RefusesWhatIsNotAStatLine) {
  EXPECT_EQ(CpuSecondsFromStat("no parenthesis here", 100).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CpuSecondsFromStat("1 (x) S 1 2", 100).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ProcessCpuTest, ThisProcessUsesCpuAndAGoneOneIsNotFound) {
  auto before = ProcessCpuSeconds(getpid());
  ASSERT_TRUE(before.ok()) << before.status();
  // Spin until the clock ticks over in this process's own CPU time.
  volatile double sink = 0;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  absl::StatusOr<double> after = before;
  while (*after <= *before && std::chrono::steady_clock::now() < give_up) {
    for (int i = 0; i < 100000; ++i) {
      sink = sink + i;
    }
    after = ProcessCpuSeconds(getpid());
    ASSERT_TRUE(after.ok());
  }
  EXPECT_GT(*after, *before);
  EXPECT_EQ(ProcessCpuSeconds(-1).status().code(), absl::StatusCode::kNotFound);
}

TEST(CpuBetweenTest, DifferencesOfTheProcessesInBoth) {
  const CpuSnapshot used = CpuBetween({{"a", 1.0}, {"b", 2.0}}, {{"a", 1.5}, {"c", 9.0}});
  ASSERT_EQ(used.size(), 1u);
  EXPECT_DOUBLE_EQ(used.at("a"), 0.5);
}

}  // namespace
}  // namespace grid::loadgen
