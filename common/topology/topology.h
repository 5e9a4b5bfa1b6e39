// The five-level hierarchy, indexed for the hot path: unit look-up, ancestor at a level and
// subtree membership are a hash probe and an array read, with no allocation.
//
// One district, or several under a city or province (v1::Topology.root_id): each district keeps
// its own five levels and departments; events live and escalate within their grid's district,
// and a unit above the districts (a city's or province's command centre) only watches and counts.
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
  // The top unit: the district, or the city or province above several districts. Scopes that
  // name no unit (an ADMIN's) cover its subtree.
  const std::string& root_id() const {
    return data_.district_id().empty() ? data_.root_id() : data_.district_id();
  }
  // The district units, in topology order (one for a single district).
  const std::vector<std::string>& district_ids() const { return district_ids_; }
  // The district a unit belongs to: the unit itself for a district, a department's parent, a
  // geographic unit's ancestor at LEVEL_DISTRICT; nullptr for unknown units and those above
  // the districts.
  const v1::Unit* DistrictOf(std::string_view unit_id) const;

  // The unit with this id, or nullptr.
  const v1::Unit* Find(std::string_view id) const;
  // The grid worker with this id, or nullptr.
  const v1::Worker* FindWorker(std::string_view id) const;
  // The unit's ancestor at `level` (the unit itself at its own level); nullptr when the unit is
  // unknown, is a department, or sits above `level`.
  const v1::Unit* AncestorAt(std::string_view unit_id, v1::Level level) const;
  // True when `unit_id` is `root_id` or lies below it. A department lies below its district (and
  // the district's city and province), beside the district's subdistricts.
  bool InSubtree(std::string_view unit_id, std::string_view root_id) const;
  // The id of the subdistrict that a unit at or below SUBDISTRICT level belongs to; empty for the
  // districts, their departments and the units above them.
  std::string_view SubdistrictOf(std::string_view unit_id) const;
  // The ids of all subdistricts, in topology order.
  const std::vector<std::string>& subdistrict_ids() const { return subdistrict_ids_; }
  // The subdistricts whose shards can hold events in the subtree of `unit_id`, in topology
  // order: its own for a unit at or below SUBDISTRICT, those of its district for a department,
  // those below it for a district, city or province; all for an empty id, none for an unknown
  // one.
  std::vector<std::string> ShardsOf(std::string_view unit_id) const;

  // Unit counts per level (GRID first, up to the root's level) within the subtree of `root_id`
  // (empty: the top unit).
  std::vector<v1::LevelCount> CountLevels(std::string_view root_id) const;
  // Workers whose grid lies within the subtree of `root_id` (empty: the top unit).
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
    // A department has only itself at DISTRICT level; its district is `district`.
    std::array<int, v1::Level_ARRAYSIZE> ancestors;
    // The node index of the unit's district, or -1 (a unit above the districts).
    int district = -1;
    Node() { ancestors.fill(-1); }
  };

  explicit Topology(v1::Topology data) : data_(std::move(data)) {}
  absl::Status Index();
  int IndexOf(std::string_view id) const;

  v1::Topology data_;
  std::vector<Node> nodes_;
  absl::flat_hash_map<std::string, int> by_id_;
  absl::flat_hash_map<std::string, int> workers_by_id_;
  std::vector<std::string> subdistrict_ids_;
  std::vector<std::string> district_ids_;
  // The grids that have a centre, by latitude (NearestGrid).
  struct Centre {
    double lat = 0;
    double lng = 0;
    const v1::Unit* grid = nullptr;
  };
  std::vector<Centre> centres_;
};

using TopologyPtr = std::shared_ptr<const Topology>;

// The display name of a level: "grid", "community", "zone", "subdistrict", "district", "city",
// "province".
std::string_view LevelName(v1::Level level);

}  // namespace grid::topology
