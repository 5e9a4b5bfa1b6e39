// Routing's decision for a report: the policy rule that matches it, and the unit responsible at
// the rule's starting level.
#include <benchmark/benchmark.h>

#include "tests/bench/shipped.h"

namespace grid::bench {
namespace {

// Every small-class category of the policy, as reports carry them.
std::vector<std::string> Categories() {
  std::vector<std::string> categories;
  for (const v1::Category& category : ShippedPolicy().data().categories()) {
    if (category.code().size() == 4) {
      categories.push_back(category.code());
    }
  }
  return categories;
}

void BM_PolicyMatch(benchmark::State& state) {
  const policy::Policy& policy = ShippedPolicy();
  const std::vector<std::string> categories = Categories();
  std::size_t i = 0;
  for (auto _ : state) {
    const v1::Rule* rule = policy.Match(categories[i++ % categories.size()], v1::SEVERITY_NORMAL,
                                        v1::SOURCE_GRID_WORKER);
    benchmark::DoNotOptimize(rule);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PolicyMatch);

void BM_ResponsibleUnit(benchmark::State& state) {
  const policy::Policy& policy = ShippedPolicy();
  const topology::Topology& topology = ShippedTopology();
  const v1::Rule* rule = policy.Match("0102", v1::SEVERITY_NORMAL, v1::SOURCE_GRID_WORKER);
  if (rule == nullptr) {
    state.SkipWithError("no rule for 0102");
    return;
  }
  const auto& workers = topology.data().workers();
  int i = 0;
  for (auto _ : state) {
    const v1::Unit* unit = policy::ResponsibleUnit(
        topology, *rule, workers[i++ % workers.size()].grid_id(), rule->start_level());
    benchmark::DoNotOptimize(unit);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ResponsibleUnit);

}  // namespace
}  // namespace grid::bench
