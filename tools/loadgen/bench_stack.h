// What both benchmarks start from: the configuration the stack runs with, and the stack itself.
#pragma once

#include <memory>
#include <ostream>

#include "absl/status/statusor.h"
#include "common/policy/policy.h"
#include "common/topology/topology.h"
#include "tests/support/stack.h"

namespace grid::loadgen {

// The topology and policy files of testing::Stack's default options, loaded as the services load
// them.
struct StackConfig {
  topology::TopologyPtr topology;
  policy::PolicyPtr policy;
};
absl::StatusOr<StackConfig> LoadStackConfig();

// Starts `stack` and prints a line saying where and how long it took; on failure the status
// carries the services' logs.
absl::Status StartStack(testing::Stack& stack, std::ostream& out);

// The machine's core count, as the benchmarks print it.
unsigned Cores();

}  // namespace grid::loadgen
