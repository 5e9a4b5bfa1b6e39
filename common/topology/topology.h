// The five-level hierarchy, indexed for the hot path: unit look-up, ancestor at a level and
// subtree membership are a hash probe and an array read, with no allocation.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "grid/v1/topology.pb.h"

namespace grid::topology {

// Immutable once built; safe to share between threads.
class Topology final {
 public:
  // Checks and indexes `data`. Errors name the field at fault, e.g.
  // "units[12].parent_id: unknown unit \"370212009\"".
  static absl::StatusOr<std::shared_ptr<const Topology>> Build(v1::Topology data);
  // Loads a JSON file (protobuf JSON of grid.v1.Topology) and builds it.
  static absl::StatusOr<std::shared_ptr<const Topology>> Load(const std::string& path);

  const v1::Topology& data() const { return data_; }
  const std::string& district_id() const { return data_.district_id(); }

  // The unit with this id, or nullptr.
  const v1::Unit* Find(std::string_view id) const;
  // The grid worker with this id, or nullptr.
  const v1::Worker* FindWorker(std::string_view id) const;
  // The unit's ancestor at `level` (the unit itself at its own level); nullptr when the unit is
  // unknown, is a department, or sits above `level`.
  const v1::Unit* AncestorAt(std::string_view unit_id, v1::Level level) const;
  // True when `unit_id` is `root_id` or lies below it. A department lies below the district.
  bool InSubtree(std::string_view unit_id, std::string_view root_id) const;
  // The id of the subdistrict that a unit at or below SUBDISTRICT level belongs to; empty for the
  // district and its departments.
  std::string_view SubdistrictOf(std::string_view unit_id) const;
  // The ids of all subdistricts, in topology order.
  const std::vector<std::string>& subdistrict_ids() const { return subdistrict_ids_; }

  // Unit counts per level (GRID first) within the subtree of `root_id` (empty: the district).
  std::vector<v1::LevelCount> CountLevels(std::string_view root_id) const;
  // Workers whose grid lies within the subtree of `root_id` (empty: the district).
  int CountWorkers(std::string_view root_id) const;

  // How far a location may be from the nearest grid centre when the topology has no bounds.
  static constexpr double kNearestGridMaxKm = 5.0;
  // The grid whose centre (Unit.center) is nearest to `location`, for a report that names no grid
  // (a citizen's or the hotline's). nullptr when `location` lies outside the district's bounds,
  // or, for a topology without bounds, further than kNearestGridMaxKm from every centre, or when
  // no grid has a centre. Distances on a local flat projection (good to a few metres within a
  // province); the search visits only the centres within the best distance's band of latitude.
  const v1::Unit* NearestGrid(const v1::Location& location) const;

 private:
  struct Node {
    const v1::Unit* unit = nullptr;
    // ancestors[level] = node index of the ancestor at that level, or -1. Indexed by v1::Level.
    std::array<int, 6> ancestors{-1, -1, -1, -1, -1, -1};
  };

  explicit Topology(v1::Topology data) : data_(std::move(data)) {}
  absl::Status Index();
  int IndexOf(std::string_view id) const;

  v1::Topology data_;
  std::vector<Node> nodes_;
  absl::flat_hash_map<std::string, int> by_id_;
  absl::flat_hash_map<std::string, int> workers_by_id_;
  std::vector<std::string> subdistrict_ids_;
  // The grids that have a centre, by latitude (NearestGrid).
  struct Centre {
    double lat = 0;
    double lng = 0;
    const v1::Unit* grid = nullptr;
  };
  std::vector<Centre> centres_;
};

using TopologyPtr = std::shared_ptr<const Topology>;

// The display name of a level: "grid", "community", "zone", "subdistrict", "district".
std::string_view LevelName(v1::Level level);

}  // namespace grid::topology
