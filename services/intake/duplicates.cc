#include "services/intake/duplicates.h"

#include <google/protobuf/util/time_util.h>

#include <cmath>
#include <cstdlib>

#include "common/clock/clock.h"
#include "common/lifecycle/state_machine.h"

namespace grid::intake {

double DistanceMeters(const v1::Location& a, const v1::Location& b) {
  constexpr double kEarthRadius = 6371008.8;
  constexpr double kRadians = M_PI / 180.0;
  const double dlat = (b.lat() - a.lat()) * kRadians;
  const double dlng = (b.lng() - a.lng()) * kRadians;
  const double h = std::sin(dlat / 2) * std::sin(dlat / 2) +
                   std::cos(a.lat() * kRadians) * std::cos(b.lat() * kRadians) *
                       std::sin(dlng / 2) * std::sin(dlng / 2);
  return 2 * kEarthRadius * std::asin(std::min(1.0, std::sqrt(h)));
}

bool IsDuplicateOf(const v1::Event& open, const v1::Event& report, const v1::DuplicateRule& rule) {
  if (!rule.enabled() || lifecycle::IsFinal(open.state()) || !open.duplicate_of().empty()) {
    return false;
  }
  if (open.grid_id() != report.grid_id() || open.category() != report.category()) {
    return false;
  }
  if (!open.has_location() || !report.has_location()) {
    return false;
  }
  if (DistanceMeters(open.location(), report.location()) > rule.radius_meters()) {
    return false;
  }
  const Millis window = google::protobuf::util::TimeUtil::DurationToMilliseconds(rule.window());
  const Millis apart = FromTimestamp(report.reported_at()) - FromTimestamp(open.reported_at());
  return std::llabs(apart) <= window;
}

}  // namespace grid::intake
