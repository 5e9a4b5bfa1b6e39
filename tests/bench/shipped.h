// The shipped topology and policy (Laoshan), loaded once for every benchmark of the binary.
#pragma once

#include <cstdlib>
#include <iostream>

#include "common/policy/policy.h"
#include "common/topology/topology.h"
#include "tests/support/paths.h"

namespace grid::bench {

inline const topology::Topology& ShippedTopology() {
  static const topology::TopologyPtr topology = [] {
    auto loaded =
        topology::Topology::Load(testing::SourcePath("deploy/config/laoshan-topology.json"));
    if (!loaded.ok()) {
      std::cerr << "topology: " << loaded.status() << "\n";
      std::abort();
    }
    return *loaded;
  }();
  return *topology;
}

inline const policy::Policy& ShippedPolicy() {
  static const policy::PolicyPtr policy = [] {
    auto loaded =
        policy::Policy::Load(testing::SourcePath("deploy/config/policy.json"), ShippedTopology());
    if (!loaded.ok()) {
      std::cerr << "policy: " << loaded.status() << "\n";
      std::abort();
    }
    return *loaded;
  }();
  return *policy;
}

}  // namespace grid::bench
