#include "tools/loadgen/summary.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"

namespace grid::loadgen {
namespace {

constexpr int kLabelWidth = 34;

// The nearest-rank percentile of sorted, non-empty samples.
double Percentile(const std::vector<double>& sorted, double percent) {
  const auto rank =
      static_cast<std::size_t>(std::ceil(percent / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

}  // namespace

Summary Summarize(std::vector<double> samples) {
  Summary summary;
  if (samples.empty()) {
    return summary;
  }
  std::sort(samples.begin(), samples.end());
  summary.count = samples.size();
  summary.min = samples.front();
  summary.median = Percentile(samples, 50);
  summary.p90 = Percentile(samples, 90);
  summary.p99 = Percentile(samples, 99);
  summary.max = samples.back();
  return summary;
}

std::string SummaryHeader(std::string_view unit) {
  char line[160];
  std::snprintf(line, sizeof(line), "%-*s %7s %9s %9s %9s %9s", kLabelWidth,
                absl::StrCat("(", std::string(unit), ")").c_str(), "count", "median", "p90", "p99",
                "max");
  return line;
}

std::string SummaryRow(std::string_view label, const Summary& summary) {
  char line[160];
  std::snprintf(line, sizeof(line), "%-*s %7zu %9.2f %9.2f %9.2f %9.2f", kLabelWidth,
                std::string(label).c_str(), summary.count, summary.median, summary.p90, summary.p99,
                summary.max);
  return line;
}

}  // namespace grid::loadgen
