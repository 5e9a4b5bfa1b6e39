// Loading a topology: JSON text through the parser and the checks the services start with
// (config::ParseJson, topology::Topology::Build, as Topology::Load does). A topology is either
// refused with INVALID_ARGUMENT, or built, and then every look-up the services make on it works.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/config/json_file.h"
#include "common/topology/topology.h"

namespace {

void Query(const grid::topology::Topology& topology) {
  (void)topology.CountLevels("");
  (void)topology.CountWorkers("");
  for (const grid::v1::Unit& unit : topology.data().units()) {
    for (int level = grid::v1::LEVEL_UNSPECIFIED; level <= grid::v1::LEVEL_DISTRICT + 1; ++level) {
      (void)topology.AncestorAt(unit.id(), static_cast<grid::v1::Level>(level));
    }
    (void)topology.SubdistrictOf(unit.id());
    (void)topology.InSubtree(unit.id(), topology.root_id());
    (void)topology.InSubtree(topology.root_id(), unit.id());
    (void)topology.CountLevels(unit.id());
    (void)topology.CountWorkers(unit.id());
  }
  for (const grid::v1::Worker& worker : topology.data().workers()) {
    if (topology.FindWorker(worker.id()) == nullptr) {
      std::abort();  // Every worker of a built topology is found by its id.
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  grid::v1::Topology parsed;
  if (absl::Status status = grid::config::ParseJson(json, "topology.json", parsed); !status.ok()) {
    if (status.code() != absl::StatusCode::kInvalidArgument) {
      std::abort();
    }
    return 0;
  }
  auto built = grid::topology::Topology::Build(std::move(parsed));
  if (!built.ok()) {
    if (built.status().code() != absl::StatusCode::kInvalidArgument) {
      std::abort();
    }
    return 0;
  }
  Query(**built);
  return 0;
}
