#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "tools/loadgen/chaos.h"

namespace grid::loadgen {
namespace {

using Kind = ChaosAction::Kind;

TEST(ChaosScheduleTest, TheSameSeedGivesTheSameScheduleAndAnotherSeedAnother) {
  const auto a = ChaosSchedule(42, 60, 10);
  const auto b = ChaosSchedule(42, 60, 10);
  const auto c = ChaosSchedule(43, 60, 10);
  ASSERT_EQ(a.size(), b.size());
  bool differs = a.size() != c.size();
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(Describe(a[i]), Describe(b[i]));
    EXPECT_EQ(a[i].at_ms, b[i].at_ms);
    differs = differs || i >= c.size() || a[i].at_ms != c[i].at_ms;
  }
  EXPECT_TRUE(differs);
}

TEST(ChaosScheduleTest, KillsEveryServiceTwiceAndRedisThreeWaysWithinTheMiddleOfTheRun) {
  for (std::uint64_t seed = 1; seed <= 50; ++seed) {
    const auto schedule = ChaosSchedule(seed, 60, 4);  // Fewer than 10 asked: 10 all the same.
    std::map<std::string, int> kills;
    std::map<Kind, std::vector<int>> redis;
    int previous = 0;
    for (const ChaosAction& action : schedule) {
      EXPECT_GE(action.at_ms, 6000) << "seed " << seed;
      EXPECT_LE(action.at_ms, 48000) << "seed " << seed;
      EXPECT_GE(action.at_ms, previous) << "sorted, seed " << seed;
      previous = action.at_ms;
      if (action.kind == Kind::kKillService) {
        ++kills[action.service];
      } else {
        redis[action.kind].push_back(action.at_ms);
      }
    }
    EXPECT_EQ(kills.size(), 5U) << "seed " << seed;
    for (const auto& [service, count] : kills) {
      EXPECT_EQ(count, 2) << service << ", seed " << seed;
    }
    ASSERT_EQ(redis.size(), 3U);
    std::vector<int> times;
    for (const auto& [kind, at] : redis) {
      ASSERT_EQ(at.size(), 1U);
      times.push_back(at[0]);
    }
    std::sort(times.begin(), times.end());
    EXPECT_GE(times[1] - times[0], 8000) << "seed " << seed;
    EXPECT_GE(times[2] - times[1], 8000) << "seed " << seed;
  }
}

}  // namespace
}  // namespace grid::loadgen
