// Token buckets per subject, on a fake clock.
#include "common/auth/rate_limiter.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

namespace grid::auth {
namespace {

TEST(RateLimiterTest, ABurstIsServedThenRefusedWithARetryHint) {
  FakeClock clock(1000);
  RateLimiter limiter({.per_second = 10, .burst = 5, .max_subjects = 100}, clock);
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(limiter.Take("w1").allowed) << i;
  }
  const RateLimiter::Decision refused = limiter.Take("w1");
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_ms, 100) << "one token every 100 ms";
  clock.Advance(100);
  EXPECT_TRUE(limiter.Take("w1").allowed);
  EXPECT_FALSE(limiter.Take("w1").allowed);
}

TEST(RateLimiterTest, OneSubjectsBurstDoesNotTouchAnothersBucket) {
  FakeClock clock(1000);
  RateLimiter limiter({.per_second = 1, .burst = 2, .max_subjects = 100}, clock);
  while (limiter.Take("noisy").allowed) {
  }
  EXPECT_TRUE(limiter.Take("quiet").allowed);
  EXPECT_TRUE(limiter.Take("quiet").allowed);
}

TEST(RateLimiterTest, ZeroPerSecondTurnsLimitingOff) {
  FakeClock clock(1000);
  RateLimiter limiter({.per_second = 0, .burst = 1, .max_subjects = 1}, clock);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(limiter.Take("w1").allowed);
  }
  EXPECT_EQ(limiter.size(), 0u);
}

TEST(RateLimiterTest, MemoryStaysBoundedWhateverTheNumberOfSubjects) {
  FakeClock clock(1000);
  RateLimiter limiter({.per_second = 1, .burst = 3, .max_subjects = 160}, clock);
  for (int i = 0; i < 10000; ++i) {
    limiter.Take(absl::StrCat("subject-", i));
    if (i % 100 == 0) {
      clock.Advance(10);
    }
  }
  EXPECT_LE(limiter.size(), 160u);
  // A subject that is busy now keeps its (empty) bucket while idle ones are forgotten.
  while (limiter.Take("busy").allowed) {
  }
  for (int i = 0; i < 50; ++i) {
    limiter.Take(absl::StrCat("late-", i));
  }
  EXPECT_FALSE(limiter.Take("busy").allowed);
}

}  // namespace
}  // namespace grid::auth
