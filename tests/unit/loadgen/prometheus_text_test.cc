#include "tools/loadgen/prometheus_text.h"

#include <gtest/gtest.h>

#include <cmath>

namespace grid::loadgen {
namespace {

constexpr std::string_view kPage = R"(# HELP grid_dispatch_total Routing-stream entries handled
# TYPE grid_dispatch_total counter
grid_dispatch_total{level="grid",outcome="dispatched"} 10
# HELP grid_dispatch_latency_seconds Time from an event's filing to its dispatch
# TYPE grid_dispatch_latency_seconds histogram
grid_dispatch_latency_seconds_count 10
grid_dispatch_latency_seconds_sum 0.035
grid_dispatch_latency_seconds_bucket{le="0.001"} 2
grid_dispatch_latency_seconds_bucket{le="0.005"} 8
grid_dispatch_latency_seconds_bucket{le="0.01"} 10
grid_dispatch_latency_seconds_bucket{le="+Inf"} 10
grid_dispatch_latency_seconds_other 3
)";

TEST(ParseHistogramTest, ReadsBucketsCountAndSum) {
  auto histogram = ParseHistogram(kPage, "grid_dispatch_latency_seconds");
  ASSERT_TRUE(histogram.ok()) << histogram.status();
  EXPECT_EQ(histogram->count, 10);
  EXPECT_DOUBLE_EQ(histogram->sum, 0.035);
  ASSERT_EQ(histogram->buckets.size(), 4u);
  EXPECT_DOUBLE_EQ(histogram->buckets[1].le, 0.005);
  EXPECT_EQ(histogram->buckets[1].count, 8);
  EXPECT_TRUE(std::isinf(histogram->buckets[3].le));
}

TEST(ParseHistogramTest, MissingIsNotFound) {
  EXPECT_TRUE(absl::IsNotFound(ParseHistogram(kPage, "grid_nothing_seconds").status()));
}

TEST(ParseHistogramTest, GarbageIsInvalid) {
  EXPECT_TRUE(absl::IsInvalidArgument(ParseHistogram("h_bucket{le=\"x\"} 1\n", "h").status()));
}

TEST(EstimateQuantileTest, InterpolatesWithinTheBucket) {
  auto histogram = ParseHistogram(kPage, "grid_dispatch_latency_seconds");
  ASSERT_TRUE(histogram.ok());
  // Rank 5 of 10 lies 3 of 6 into (0.001, 0.005].
  EXPECT_DOUBLE_EQ(EstimateQuantile(*histogram, 0.5), 0.003);
  // Rank 1 of 10 lies half-way into [0, 0.001].
  EXPECT_DOUBLE_EQ(EstimateQuantile(*histogram, 0.1), 0.0005);
  EXPECT_EQ(EstimateQuantile(Histogram(), 0.5), 0);
}

TEST(EstimateQuantileTest, InfBucketGivesTheLastFiniteBound) {
  Histogram histogram;
  histogram.buckets = {{1, 1}, {std::numeric_limits<double>::infinity(), 2}};
  EXPECT_EQ(EstimateQuantile(histogram, 0.99), 1);
}

TEST(HttpGetTest, RefusedIsUnavailable) {
  // Port 1 on loopback: nothing listens there in a test environment.
  auto body = HttpGet("127.0.0.1", 1, "/metrics", std::chrono::seconds(2));
  EXPECT_FALSE(body.ok());
}

}  // namespace
}  // namespace grid::loadgen
