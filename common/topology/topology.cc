#include "common/topology/topology.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "common/config/json_file.h"

namespace grid::topology {
namespace {

bool ValidLevel(v1::Level level) { return level >= v1::LEVEL_GRID && level <= v1::LEVEL_PROVINCE; }

// A unit id goes into Redis keys (a subdistrict's as the hash tag "{id}"), watch cursors
// ("id=position,...") and URLs, so it keeps to letters, digits, '-' and '_'.
bool ValidUnitId(std::string_view id) {
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-' ||
           c == '_';
  });
}

}  // namespace

std::string_view LevelName(v1::Level level) {
  switch (level) {
    case v1::LEVEL_GRID:
      return "grid";
    case v1::LEVEL_COMMUNITY:
      return "community";
    case v1::LEVEL_ZONE:
      return "zone";
    case v1::LEVEL_SUBDISTRICT:
      return "subdistrict";
    case v1::LEVEL_DISTRICT:
      return "district";
    case v1::LEVEL_CITY:
      return "city";
    case v1::LEVEL_PROVINCE:
      return "province";
    default:
      return "unspecified";
  }
}

absl::StatusOr<std::shared_ptr<const Topology>> Topology::Build(v1::Topology data) {
  std::shared_ptr<Topology> topology(new Topology(std::move(data)));
  if (auto status = topology->Index(); !status.ok()) {
    return status;
  }
  return std::shared_ptr<const Topology>(std::move(topology));
}

absl::StatusOr<std::shared_ptr<const Topology>> Topology::Load(const std::string& path) {
  v1::Topology data;
  if (auto status = config::LoadJsonFile(path, data); !status.ok()) {
    return status;
  }
  auto built = Build(std::move(data));
  if (!built.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", built.status().message()));
  }
  return built;
}

absl::Status Topology::Index() {
  const int n = data_.units_size();
  if (data_.district_id().empty() == data_.root_id().empty()) {
    return absl::InvalidArgumentError(
        data_.district_id().empty() ? "district_id: required (or root_id, for several districts)"
                                    : "root_id: set together with district_id; set one");
  }
  nodes_.resize(n);
  by_id_.reserve(n);
  for (int i = 0; i < n; ++i) {
    const v1::Unit& unit = data_.units(i);
    const std::string field = absl::StrCat("units[", i, "]");
    if (unit.id().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".id: required"));
    }
    if (!ValidUnitId(unit.id())) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".id: \"", unit.id(), "\" has characters other than letters, digits, - and _"));
    }
    if (!ValidLevel(unit.level())) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".level: required (unit \"", unit.id(), "\")"));
    }
    if (!by_id_.emplace(unit.id(), i).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".id: duplicate unit \"", unit.id(), "\""));
    }
    nodes_[i].unit = &unit;
  }
  const int top = IndexOf(root_id());
  if (!data_.district_id().empty()) {
    if (top < 0 || data_.units(top).level() != v1::LEVEL_DISTRICT ||
        data_.units(top).kind() == v1::UNIT_KIND_DEPARTMENT) {
      return absl::InvalidArgumentError(absl::StrCat("district_id: \"", data_.district_id(),
                                                     "\" is not a district unit in units"));
    }
  } else if (top < 0 || data_.units(top).level() < v1::LEVEL_CITY) {
    return absl::InvalidArgumentError(
        absl::StrCat("root_id: \"", data_.root_id(), "\" is not a city or province unit in units"));
  }
  // Parents must exist and sit exactly one level up (departments: under a district, at its
  // level; a district: under a city or province), which also rules out cycles.
  for (int i = 0; i < n; ++i) {
    const v1::Unit& unit = data_.units(i);
    const std::string field = absl::StrCat("units[", i, "]");
    const bool department = unit.kind() == v1::UNIT_KIND_DEPARTMENT;
    if (i == top) {
      if (!unit.parent_id().empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, ".parent_id: the top unit \"", unit.id(), "\" has no parent"));
      }
      continue;
    }
    const int parent = IndexOf(unit.parent_id());
    if (parent < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".parent_id: unknown unit \"", unit.parent_id(), "\" (unit \"", unit.id(), "\")"));
    }
    const v1::Unit& parent_unit = data_.units(parent);
    const v1::Level parent_level = parent_unit.level();
    const bool parent_is_department = parent_unit.kind() == v1::UNIT_KIND_DEPARTMENT;
    if (department) {
      if (unit.level() != v1::LEVEL_DISTRICT || parent_level != v1::LEVEL_DISTRICT ||
          parent_is_department) {
        return absl::InvalidArgumentError(absl::StrCat(
            field, ": department \"", unit.id(), "\" must be at LEVEL_DISTRICT under a district"));
      }
      continue;
    }
    // A district may sit directly under a province (省直辖); every other unit one level down.
    const bool fits = !parent_is_department &&
                      (parent_level == unit.level() + 1 ||
                       (unit.level() == v1::LEVEL_DISTRICT && parent_level == v1::LEVEL_PROVINCE));
    if (!fits) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".parent_id: \"", unit.parent_id(),
                                                     "\" is not one level above unit \"", unit.id(),
                                                     "\""));
    }
  }
  // Ancestor tables: fill top-down by walking parents (depth is at most seven).
  for (int i = 0; i < n; ++i) {
    Node& node = nodes_[i];
    int cursor = i;
    while (cursor >= 0) {
      const v1::Unit& unit = data_.units(cursor);
      if (unit.kind() != v1::UNIT_KIND_DEPARTMENT || cursor == i) {
        node.ancestors[unit.level()] = cursor;
      }
      if (node.district < 0 && unit.level() == v1::LEVEL_DISTRICT &&
          unit.kind() != v1::UNIT_KIND_DEPARTMENT) {
        node.district = cursor;
      }
      cursor = unit.parent_id().empty() ? -1 : IndexOf(unit.parent_id());
    }
    const v1::Unit& unit = data_.units(i);
    if (unit.level() == v1::LEVEL_SUBDISTRICT) {
      subdistrict_ids_.push_back(unit.id());
    }
    if (unit.level() == v1::LEVEL_DISTRICT && unit.kind() != v1::UNIT_KIND_DEPARTMENT) {
      district_ids_.push_back(unit.id());
    }
  }
  for (int i = 0; i < data_.workers_size(); ++i) {
    const v1::Worker& worker = data_.workers(i);
    const std::string field = absl::StrCat("workers[", i, "]");
    if (worker.id().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".id: required"));
    }
    const v1::Unit* grid = Find(worker.grid_id());
    if (grid == nullptr || grid->level() != v1::LEVEL_GRID) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".grid_id: unknown grid \"", worker.grid_id(), "\""));
    }
    if (!workers_by_id_.emplace(worker.id(), i).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".id: duplicate worker \"", worker.id(), "\""));
    }
  }
  for (const v1::Unit& unit : data_.units()) {
    if (unit.level() == v1::LEVEL_GRID && unit.has_center()) {
      centres_.push_back(Centre{unit.center().lat(), unit.center().lng(), &unit});
    }
  }
  std::sort(centres_.begin(), centres_.end(),
            [](const Centre& a, const Centre& b) { return a.lat < b.lat; });
  return absl::OkStatus();
}

int Topology::IndexOf(std::string_view id) const {
  auto it = by_id_.find(absl::string_view(id.data(), id.size()));
  return it == by_id_.end() ? -1 : it->second;
}

const v1::Unit* Topology::Find(std::string_view id) const {
  const int i = IndexOf(id);
  return i < 0 ? nullptr : nodes_[i].unit;
}

const v1::Worker* Topology::FindWorker(std::string_view id) const {
  auto it = workers_by_id_.find(absl::string_view(id.data(), id.size()));
  return it == workers_by_id_.end() ? nullptr : &data_.workers(it->second);
}

const v1::Unit* Topology::AncestorAt(std::string_view unit_id, v1::Level level) const {
  const int i = IndexOf(unit_id);
  if (i < 0 || !ValidLevel(level)) {
    return nullptr;
  }
  const Node& node = nodes_[i];
  if (node.unit->kind() == v1::UNIT_KIND_DEPARTMENT) {
    return nullptr;
  }
  const int ancestor = node.ancestors[level];
  return ancestor < 0 ? nullptr : nodes_[ancestor].unit;
}

bool Topology::InSubtree(std::string_view unit_id, std::string_view root_id) const {
  const int i = IndexOf(unit_id);
  const int root = IndexOf(root_id);
  if (i < 0 || root < 0) {
    return false;
  }
  if (i == root) {
    return true;
  }
  const v1::Unit* root_unit = nodes_[root].unit;
  if (root_unit->kind() == v1::UNIT_KIND_DEPARTMENT) {
    return false;
  }
  if (nodes_[i].unit->kind() == v1::UNIT_KIND_DEPARTMENT) {
    // Below its district, and so below the district's city and province.
    const int district = nodes_[i].district;
    return district >= 0 && root_unit->level() >= v1::LEVEL_DISTRICT &&
           nodes_[district].ancestors[root_unit->level()] == root;
  }
  return nodes_[i].ancestors[root_unit->level()] == root;
}

const v1::Unit* Topology::DistrictOf(std::string_view unit_id) const {
  const int i = IndexOf(unit_id);
  if (i < 0 || nodes_[i].district < 0) {
    return nullptr;
  }
  return nodes_[nodes_[i].district].unit;
}

std::string_view Topology::SubdistrictOf(std::string_view unit_id) const {
  const v1::Unit* subdistrict = AncestorAt(unit_id, v1::LEVEL_SUBDISTRICT);
  return subdistrict == nullptr ? std::string_view() : std::string_view(subdistrict->id());
}

std::vector<std::string> Topology::ShardsOf(std::string_view unit_id) const {
  if (unit_id.empty()) {
    return subdistrict_ids_;
  }
  const v1::Unit* unit = Find(unit_id);
  if (unit == nullptr) {
    return {};
  }
  if (const std::string_view own = SubdistrictOf(unit_id); !own.empty()) {
    return {std::string(own)};
  }
  if (unit_id == root_id()) {
    return subdistrict_ids_;
  }
  const v1::Unit* district = DistrictOf(unit_id);
  const std::string_view root = district != nullptr ? std::string_view(district->id()) : unit_id;
  std::vector<std::string> shards;
  for (const std::string& sd : subdistrict_ids_) {
    if (InSubtree(sd, root)) {
      shards.push_back(sd);
    }
  }
  return shards;
}

std::vector<v1::LevelCount> Topology::CountLevels(std::string_view root_id) const {
  const std::string_view root = root_id.empty() ? std::string_view(this->root_id()) : root_id;
  const v1::Unit* root_unit = Find(root);
  // Up to the root's level, and at least the five levels of a district.
  const int top = std::max<int>(v1::LEVEL_DISTRICT, root_unit == nullptr ? 0 : root_unit->level());
  std::vector<v1::LevelCount> counts(top);
  for (int level = v1::LEVEL_GRID; level <= top; ++level) {
    counts[level - 1].set_level(static_cast<v1::Level>(level));
  }
  for (const Node& node : nodes_) {
    if (!InSubtree(node.unit->id(), root)) {
      continue;
    }
    v1::LevelCount& count = counts[node.unit->level() - 1];
    if (node.unit->kind() == v1::UNIT_KIND_DEPARTMENT) {
      count.set_departments(count.departments() + 1);
    } else {
      count.set_units(count.units() + 1);
    }
  }
  return counts;
}

int Topology::CountWorkers(std::string_view root_id) const {
  const std::string_view root = root_id.empty() ? std::string_view(this->root_id()) : root_id;
  int count = 0;
  for (const v1::Worker& worker : data_.workers()) {
    count += InSubtree(worker.grid_id(), root) ? 1 : 0;
  }
  return count;
}

const v1::Unit* Topology::NearestGrid(const v1::Location& location) const {
  const double lat = location.lat();
  const double lng = location.lng();
  if (!std::isfinite(lat) || !std::isfinite(lng) || centres_.empty()) {
    return nullptr;
  }
  const bool bounded = data_.has_bounds();
  if (bounded) {
    const v1::BoundingBox& box = data_.bounds();
    if (lat < box.south_west().lat() || lat > box.north_east().lat() ||
        lng < box.south_west().lng() || lng > box.north_east().lng()) {
      return nullptr;
    }
  }
  // Kilometres per degree of latitude, and of longitude at this latitude.
  constexpr double kKmPerDegree = 111.2;
  const double km_per_lng = kKmPerDegree * std::cos(lat * M_PI / 180.0);
  const auto squared_km = [&](const Centre& c) {
    const double dy = (c.lat - lat) * kKmPerDegree;
    const double dx = (c.lng - lng) * km_per_lng;
    return dx * dx + dy * dy;
  };
  double best =
      bounded ? std::numeric_limits<double>::infinity() : kNearestGridMaxKm * kNearestGridMaxKm;
  const v1::Unit* nearest = nullptr;
  const auto start = std::lower_bound(centres_.begin(), centres_.end(), lat,
                                      [](const Centre& c, double value) { return c.lat < value; });
  // Outwards from `lat` in both directions, each side until its latitude alone is too far.
  for (auto it = start; it != centres_.end(); ++it) {
    const double dy = (it->lat - lat) * kKmPerDegree;
    if (dy * dy > best) {
      break;
    }
    if (const double d = squared_km(*it); d < best) {
      best = d;
      nearest = it->grid;
    }
  }
  for (auto it = start; it != centres_.begin();) {
    --it;
    const double dy = (lat - it->lat) * kKmPerDegree;
    if (dy * dy > best) {
      break;
    }
    if (const double d = squared_km(*it); d < best) {
      best = d;
      nearest = it->grid;
    }
  }
  return nearest;
}

}  // namespace grid::topology
