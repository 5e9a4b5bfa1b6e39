// What both benchmarks start from: the configuration the stack runs with, and the stack itself.
#pragma once

#include <memory>
#include <ostream>

#include "absl/status/statusor.h"
#include "common/policy/policy.h"
#include "common/topology/topology.h"
#include "tests/support/stack.h"
#include "tools/loadgen/summary.h"

namespace grid::loadgen {

// The topology and policy files of testing::Stack's default options, loaded as the services load
// them.
struct StackConfig {
  topology::TopologyPtr topology;
  policy::PolicyPtr policy;
};
absl::StatusOr<StackConfig> LoadStackConfig();
// The same with another topology file (absolute, or relative to the source), and with a
// directory of district policies (--district-policy) instead of the default policy when given.
absl::StatusOr<StackConfig> LoadStackConfig(const std::string& topology_path,
                                            const std::string& district_policies = "");

// Starts `stack` and prints a line saying where and how long it took; on failure the status
// carries the services' logs.
absl::Status StartStack(testing::Stack& stack, std::ostream& out);

// What grid-loadgen dispatch measures (benchmarks.h): printed to `out` as it goes, returned for
// benchmarks that compare several runs.
struct DispatchOptions;
struct DispatchFigures {
  Summary health;
  Summary report;
  Summary dispatched;
  double reports_per_s = 0;
  // Routing's own grid_dispatch_latency_seconds: its mean (exact: sum / count) and
  // bucket-interpolated p99, in ms; 0 when its page could not be read.
  double routing_mean_ms = 0;
  double routing_p99_ms = 0;
};
// Starts `stack` (its options set by the caller) and runs the dispatch benchmark's workload on
// it with `config`'s topology and policy.
absl::StatusOr<DispatchFigures> MeasureDispatch(testing::Stack& stack, const StackConfig& config,
                                                const DispatchOptions& options, std::ostream& out);

// The machine's core count, as the benchmarks print it.
unsigned Cores();

}  // namespace grid::loadgen
