// Order statistics of latency samples, and the one table layout every benchmark prints.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace grid::loadgen {

// The figures quoted for a set of samples (milliseconds unless the caller says otherwise).
struct Summary {
  std::size_t count = 0;
  double min = 0;
  double median = 0;
  double p90 = 0;
  double p99 = 0;
  double max = 0;
};

// Nearest-rank percentiles: the p-th percentile is the smallest sample that has at least p% of
// the samples at or below it, so every figure is a sample that was measured. All zero when
// `samples` is empty.
Summary Summarize(std::vector<double> samples);

// The header of a summary table: label column, then count, median, p90, p99, max.
std::string SummaryHeader(std::string_view unit);
// One row of that table, the label padded to the header's width.
std::string SummaryRow(std::string_view label, const Summary& summary);

}  // namespace grid::loadgen
