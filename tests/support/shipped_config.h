// The shipped configuration (deploy/config/laoshan-topology.json and policy.json), loaded once
// per test binary for the tests of logic that runs on it.
#pragma once

#include "common/policy/policy.h"
#include "common/topology/topology.h"

namespace grid::testing {

// Abort the test binary with the loader's message if the shipped files do not load: every test
// that uses them would fail for that one reason, and config_test names it.
const topology::Topology& ShippedTopology();
const policy::Policy& ShippedPolicy();

}  // namespace grid::testing
