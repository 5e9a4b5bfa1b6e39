// Which changes a watcher gets: its scope (a unit subtree, or a handler's queue, as the
// authorizer granted it), levels, category prefixes and minimum severity. The one filter of a
// watch: the hub applies it to live changes and to the history a resumed watch catches up on
// alike. Pure logic over the topology, tested without a server.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/auth/authorizer.h"
#include "common/topology/topology.h"
#include "grid/v1/event.pb.h"
#include "grid/v1/gateway.pb.h"

namespace grid::gateway {

class WatchFilter final {
 public:
  // The filter of `request` within `scope` (auth::Authorizer::ScopeWatch, which has checked the
  // request's unit_id against the caller's reach; an empty scope unit is the whole district).
  // The scope's unit must be known (NOT_FOUND); levels must be set values, min_severity a
  // severity and prefixes non-empty (INVALID_ARGUMENT, naming the field).
  static absl::StatusOr<WatchFilter> FromRequest(const v1::WatchEventsRequest& request,
                                                 const topology::Topology& topology,
                                                 const auth::WatchScope& scope);

  // Whether the watcher gets `change`: in the scope (topology::ChangeInSubtree of the root, or
  // topology::ChangeAtUnit for a queue) and through every filter of the request.
  bool Matches(const v1::EventChange& change, const topology::Topology& topology) const;

  // The subtree's root (the queue's unit for a queue-only watch): the hub indexes watchers by it.
  const std::string& root() const { return root_; }
  bool queue_only() const { return queue_only_; }

 private:
  std::string root_;
  bool queue_only_ = false;
  // Bit per v1::Level value; 0 for any level.
  unsigned levels_ = 0;
  std::vector<std::string> category_prefixes_;
  v1::Severity min_severity_ = v1::SEVERITY_UNSPECIFIED;
};

}  // namespace grid::gateway
