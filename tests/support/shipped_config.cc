#include "tests/support/shipped_config.h"

#include <cstdio>
#include <cstdlib>

#include "tests/support/paths.h"

namespace grid::testing {
namespace {

template <class T>
T OrDie(absl::StatusOr<T> loaded) {
  if (!loaded.ok()) {
    std::fprintf(stderr, "shipped configuration does not load: %s\n",
                 loaded.status().ToString().c_str());
    std::abort();
  }
  return *std::move(loaded);
}

}  // namespace

const topology::Topology& ShippedTopology() {
  static const topology::TopologyPtr topology =
      OrDie(topology::Topology::Load(SourcePath("deploy/config/laoshan-topology.json")));
  return *topology;
}

const policy::Policy& ShippedPolicy() {
  static const policy::PolicyPtr policy =
      OrDie(policy::Policy::Load(SourcePath("deploy/config/policy.json"), ShippedTopology()));
  return *policy;
}

}  // namespace grid::testing
