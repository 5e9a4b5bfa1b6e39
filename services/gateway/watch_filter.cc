#include "services/gateway/watch_filter.h"

#include "absl/strings/str_cat.h"

namespace grid::gateway {

absl::StatusOr<WatchFilter> WatchFilter::FromRequest(const v1::WatchEventsRequest& request,
                                                     const topology::Topology& topology,
                                                     std::string_view jurisdiction) {
  WatchFilter filter;
  const std::string scope =
      jurisdiction.empty() ? topology.district_id() : std::string(jurisdiction);
  if (request.unit_id().empty()) {
    filter.root_ = scope;
  } else {
    if (topology.Find(request.unit_id()) == nullptr) {
      return absl::NotFoundError(absl::StrCat("unit_id: unknown unit \"", request.unit_id(), "\""));
    }
    if (!topology.InSubtree(request.unit_id(), scope)) {
      return absl::PermissionDeniedError(absl::StrCat(
          "unit_id: unit \"", request.unit_id(), "\" is outside your jurisdiction (", scope, ")"));
    }
    filter.root_ = request.unit_id();
  }
  for (int i = 0; i < request.levels_size(); ++i) {
    const int level = request.levels(i);
    if (level <= v1::LEVEL_UNSPECIFIED || level > v1::Level_MAX || !v1::Level_IsValid(level)) {
      return absl::InvalidArgumentError(absl::StrCat("levels[", i, "]: not a level"));
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
    return absl::InvalidArgumentError("min_severity: not a severity");
  }
  filter.min_severity_ = request.min_severity();
  return filter;
}

std::string_view WatchFilter::UnitOf(const v1::EventChange& change) {
  return change.to_unit_id().empty() ? std::string_view(change.grid_id())
                                     : std::string_view(change.to_unit_id());
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
  return topology.InSubtree(UnitOf(change), root_);
}

}  // namespace grid::gateway
