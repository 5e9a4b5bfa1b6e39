#include "common/topology/jurisdiction.h"

#include <algorithm>

namespace grid::topology {

bool EventInSubtree(const Topology& topology, std::string_view grid_id, std::string_view unit_id,
                    std::string_view root_id) {
  return topology.InSubtree(grid_id, root_id) ||
         (!unit_id.empty() && topology.InSubtree(unit_id, root_id));
}

bool EventInSubtree(const Topology& topology, const v1::Event& event, std::string_view root_id) {
  return EventInSubtree(topology, event.grid_id(), event.unit_id(), root_id);
}

bool ChangeInSubtree(const Topology& topology, const v1::EventChange& change,
                     std::string_view root_id) {
  return EventInSubtree(topology, change.grid_id(), change.from_unit_id(), root_id) ||
         EventInSubtree(topology, change.grid_id(), change.to_unit_id(), root_id);
}

bool EventAtUnit(const v1::Event& event, std::string_view unit_id) {
  return !unit_id.empty() && event.unit_id() == unit_id;
}

bool ChangeAtUnit(const v1::EventChange& change, std::string_view unit_id) {
  return !unit_id.empty() && (change.from_unit_id() == unit_id || change.to_unit_id() == unit_id);
}

Roots RootsOfChange(const Topology& topology, const v1::EventChange& change) {
  Roots roots;
  const auto add = [&roots](std::string_view root) {
    if (std::find(roots.begin(), roots.end(), root) == roots.end()) {
      roots.push_back(root);
    }
  };
  for (const std::string* id : {&change.grid_id(), &change.from_unit_id(), &change.to_unit_id()}) {
    const v1::Unit* unit = topology.Find(*id);
    if (unit == nullptr) {
      continue;  // Unknown units are in no subtree.
    }
    add(unit->id());
    // A department has no ancestors by level but lies below its district, and so below the
    // district's city and province.
    const v1::Unit* district = topology.DistrictOf(unit->id());
    const std::string_view chain = district != nullptr ? district->id() : unit->id();
    for (int level = v1::LEVEL_GRID; level <= v1::LEVEL_PROVINCE; ++level) {
      if (const v1::Unit* ancestor =
              topology.AncestorAt(unit->id(), static_cast<v1::Level>(level))) {
        add(ancestor->id());
      }
      if (const v1::Unit* ancestor = topology.AncestorAt(chain, static_cast<v1::Level>(level))) {
        add(ancestor->id());
      }
    }
  }
  return roots;
}

}  // namespace grid::topology
