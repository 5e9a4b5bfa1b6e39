// Reading a histogram back from a service's Prometheus /metrics page, to cross-check what a
// benchmark measured against what the service measured itself.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace grid::loadgen {

struct Histogram {
  struct Bucket {
    // Upper bound (the `le` label); +infinity for the last bucket.
    double le = 0;
    // Observations at or below `le` (cumulative, as exposed).
    double count = 0;
  };
  // Ascending by `le`.
  std::vector<Bucket> buckets;
  double count = 0;
  double sum = 0;
};

// The unlabelled histogram `name` (its _bucket, _count and _sum series) from Prometheus text
// exposition format. NOT_FOUND when the page has no such histogram, INVALID_ARGUMENT when a line
// of it does not parse.
absl::StatusOr<Histogram> ParseHistogram(std::string_view text, std::string_view name);

// The q-quantile (0 < q < 1) estimated as Prometheus's histogram_quantile() does: linear
// interpolation within the bucket that holds it, the upper bound of the last finite bucket when
// it falls in +Inf. 0 for an empty histogram.
double EstimateQuantile(const Histogram& histogram, double q);

// GET http://host:port/target (HTTP/1.1); the body of a 200 answer. UNAVAILABLE when the server
// cannot be reached or answers otherwise, DEADLINE_EXCEEDED after `timeout`.
absl::StatusOr<std::string> HttpGet(const std::string& host, int port, const std::string& target,
                                    std::chrono::milliseconds timeout);

}  // namespace grid::loadgen
