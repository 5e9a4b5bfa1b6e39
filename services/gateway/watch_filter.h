// Which live changes a watcher gets: its unit subtree (within the caller's jurisdiction), levels,
// category prefixes and minimum severity. Pure logic over the topology, tested without a server.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/topology/topology.h"
#include "grid/v1/event.pb.h"
#include "grid/v1/gateway.pb.h"

namespace grid::gateway {

class WatchFilter final {
 public:
  // The filter of `request` for a caller whose jurisdiction is the subtree of `jurisdiction` (a
  // unit id; the district for the whole district). The request's unit_id (empty: the whole
  // jurisdiction) must be a known unit (NOT_FOUND) inside the jurisdiction (PERMISSION_DENIED);
  // levels must be set values and prefixes non-empty (INVALID_ARGUMENT, naming the field).
  static absl::StatusOr<WatchFilter> FromRequest(const v1::WatchEventsRequest& request,
                                                 const topology::Topology& topology,
                                                 std::string_view jurisdiction);

  // The unit a change is filed under for the subtree test: the unit that has the event after the
  // change, or its grid while nobody has it (a new report).
  static std::string_view UnitOf(const v1::EventChange& change);

  bool Matches(const v1::EventChange& change, const topology::Topology& topology) const;

  // The subtree's root.
  const std::string& root() const { return root_; }

 private:
  std::string root_;
  // Bit per v1::Level value; 0 for any level.
  unsigned levels_ = 0;
  std::vector<std::string> category_prefixes_;
  v1::Severity min_severity_ = v1::SEVERITY_UNSPECIFIED;
};

}  // namespace grid::gateway
