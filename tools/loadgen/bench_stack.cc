#include "tools/loadgen/bench_stack.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tests/support/paths.h"

namespace grid::loadgen {

absl::StatusOr<StackConfig> LoadStackConfig() {
  return LoadStackConfig(testing::Stack::Options().topology);
}

absl::StatusOr<StackConfig> LoadStackConfig(const std::string& topology_path,
                                            const std::string& district_policies) {
  const testing::Stack::Options defaults;
  auto topology = topology::Topology::Load(testing::SourcePath(topology_path));
  if (!topology.ok()) {
    return topology.status();
  }
  auto policy = district_policies.empty()
                    ? policy::Policy::Load(testing::SourcePath(defaults.policy), **topology)
                    : policy::Policy::LoadAll("", {district_policies}, **topology);
  if (!policy.ok()) {
    return policy.status();
  }
  return StackConfig{*std::move(topology), *std::move(policy)};
}

absl::Status StartStack(testing::Stack& stack, std::ostream& out) {
  const auto begin = std::chrono::steady_clock::now();
  if (auto status = stack.Start(); !status.ok()) {
    return absl::Status(
        status.code(), absl::StrCat("stack did not start: ", status.message(), "\n", stack.Logs()));
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  out << "stack: "
      << (stack.cluster() != nullptr
              ? absl::StrCat("a Redis Cluster of ", stack.cluster()->size(), " masters")
              : absl::StrCat("redis-server on 127.0.0.1:", stack.redis().port()))
      << " and the five services on free ports, up in " << absl::StrFormat("%.1f", seconds)
      << " s; gateway at " << stack.address("grid-gateway") << "\n";
  return absl::OkStatus();
}

unsigned Cores() { return std::max(1u, std::thread::hardware_concurrency()); }

}  // namespace grid::loadgen
