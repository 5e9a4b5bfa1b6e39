// The topology look-ups every report and every authorized call make: the unit by id, a grid's
// ancestor at a level and its subdistrict, and the jurisdiction check.
#include <benchmark/benchmark.h>

#include <vector>

#include "common/topology/jurisdiction.h"
#include "tests/bench/shipped.h"

namespace grid::bench {
namespace {

const std::string& GridOf(int i) {
  const auto& workers = ShippedTopology().data().workers();
  return workers[i % workers.size()].grid_id();
}

void BM_TopologyFind(benchmark::State& state) {
  const topology::Topology& topology = ShippedTopology();
  int i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(topology.Find(GridOf(i++)));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TopologyFind);

void BM_TopologyAncestorAt(benchmark::State& state) {
  const topology::Topology& topology = ShippedTopology();
  int i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(topology.AncestorAt(GridOf(i++), v1::LEVEL_COMMUNITY));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TopologyAncestorAt);

void BM_TopologySubdistrictOf(benchmark::State& state) {
  const topology::Topology& topology = ShippedTopology();
  int i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(topology.SubdistrictOf(GridOf(i++)));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TopologySubdistrictOf);

// A worker reporting: is the grid within the worker's own grid's community?
void BM_EventInSubtree(benchmark::State& state) {
  const topology::Topology& topology = ShippedTopology();
  int i = 0;
  for (auto _ : state) {
    const std::string& grid = GridOf(i++);
    const v1::Unit* community = topology.AncestorAt(grid, v1::LEVEL_COMMUNITY);
    benchmark::DoNotOptimize(topology::EventInSubtree(topology, grid, "", community->id()));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EventInSubtree);

// A citizen's or the hotline's report without a grid: the grid nearest to a point, over
// Laoshan's 654 grid centres (points on a walk across the district's box).
void BM_TopologyNearestGrid(benchmark::State& state) {
  const topology::Topology& topology = ShippedTopology();
  const v1::BoundingBox& box = topology.data().bounds();
  std::vector<v1::Location> points;
  for (int i = 0; i < 997; ++i) {
    v1::Location& at = points.emplace_back();
    at.set_lat(box.south_west().lat() +
               (box.north_east().lat() - box.south_west().lat()) * ((i * 37) % 997) / 997.0);
    at.set_lng(box.south_west().lng() +
               (box.north_east().lng() - box.south_west().lng()) * ((i * 91) % 997) / 997.0);
  }
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(topology.NearestGrid(points[i++ % points.size()]));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TopologyNearestGrid);

}  // namespace
}  // namespace grid::bench
