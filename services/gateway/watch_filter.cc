#include "services/gateway/watch_filter.h"

#include "absl/strings/str_cat.h"
#include "common/topology/jurisdiction.h"

namespace grid::gateway {

absl::StatusOr<WatchFilter> WatchFilter::FromRequest(const v1::WatchEventsRequest& request,
                                                     const topology::Topology& topology,
                                                     const auth::WatchScope& scope) {
  WatchFilter filter;
  filter.root_ = scope.unit_id.empty() ? topology.root_id() : scope.unit_id;
  filter.queue_only_ = scope.queue_only;
  if (topology.Find(filter.root_) == nullptr) {
    return absl::NotFoundError(absl::StrCat("unit_id: unknown unit \"", filter.root_, "\""));
  }
  for (int i = 0; i < request.levels_size(); ++i) {
    const int level = request.levels(i);
    // Events never sit above the district (LEVEL_CITY and LEVEL_PROVINCE only watch).
    if (level <= v1::LEVEL_UNSPECIFIED || level > v1::LEVEL_DISTRICT) {
      return absl::InvalidArgumentError(absl::StrCat(
          "levels[", i, "]: ", level, " is not a level of events (LEVEL_GRID to LEVEL_DISTRICT)"));
    }
    filter.levels_ |= 1u << level;
  }
  for (int i = 0; i < request.category_prefixes_size(); ++i) {
    if (request.category_prefixes(i).empty()) {
      return absl::InvalidArgumentError(absl::StrCat("category_prefixes[", i, "]: empty"));
    }
    filter.category_prefixes_.push_back(request.category_prefixes(i));
  }
  if (!v1::Severity_IsValid(request.min_severity())) {
    return absl::InvalidArgumentError(
        absl::StrCat("min_severity: ", request.min_severity(), " is not a severity"));
  }
  filter.min_severity_ = request.min_severity();
  return filter;
}

bool WatchFilter::Matches(const v1::EventChange& change, const topology::Topology& topology) const {
  if (levels_ != 0) {
    const int level = change.to_level();
    if (level < 0 || level > 31 || (levels_ & (1u << level)) == 0) {
      return false;
    }
  }
  if (change.severity() < min_severity_) {
    return false;
  }
  if (!category_prefixes_.empty()) {
    bool any = false;
    for (const std::string& prefix : category_prefixes_) {
      if (change.category().starts_with(prefix)) {
        any = true;
        break;
      }
    }
    if (!any) {
      return false;
    }
  }
  return queue_only_ ? topology::ChangeAtUnit(change, root_)
                     : topology::ChangeInSubtree(topology, change, root_);
}

}  // namespace grid::gateway
