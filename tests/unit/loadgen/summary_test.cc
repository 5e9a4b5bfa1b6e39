#include "tools/loadgen/summary.h"

#include <gtest/gtest.h>

namespace grid::loadgen {
namespace {

TEST(SummarizeTest, NearestRankPercentilesAreSamples) {
  std::vector<double> samples;
  for (int i = 100; i >= 1; --i) {
    samples.push_back(i);
  }
  const Summary summary = Summarize(samples);
  EXPECT_EQ(summary.count, 100u);
  EXPECT_EQ(summary.min, 1);
  EXPECT_EQ(summary.median, 50);
  EXPECT_EQ(summary.p90, 90);
  EXPECT_EQ(summary.p99, 99);
  EXPECT_EQ(summary.max, 100);
}

TEST(SummarizeTest, SmallSetsTakeTheHighSample) {
  const Summary summary = Summarize({3, 1});
  EXPECT_EQ(summary.median, 1);
  EXPECT_EQ(summary.p99, 3);
  EXPECT_EQ(Summarize({7}).p99, 7);
}

TEST(SummarizeTest, EmptyIsAllZero) {
  const Summary summary = Summarize({});
  EXPECT_EQ(summary.count, 0u);
  EXPECT_EQ(summary.max, 0);
}

TEST(SummaryRowTest, LinesUpWithTheHeader) {
  Summary summary;
  summary.count = 12;
  summary.median = 1.5;
  EXPECT_EQ(SummaryRow("x", summary).size(), SummaryHeader("ms").size());
}

}  // namespace
}  // namespace grid::loadgen
