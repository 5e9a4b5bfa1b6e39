// The duplicate rule: a new report of the same category in the same grid, near an open event
// and soon after it, is the same matter reported twice. Pure geometry and time.
#pragma once

#include "grid/v1/event.pb.h"
#include "grid/v1/policy.pb.h"

namespace grid::intake {

// Great-circle distance in metres (haversine, mean earth radius).
double DistanceMeters(const v1::Location& a, const v1::Location& b);

// True when `report` (a new event, not yet stored) duplicates `open` under `rule`: the rule is
// on; `open` is still open and not itself a duplicate; same grid and category; both located,
// within rule.radius_meters of each other; reported within rule.window of each other.
bool IsDuplicateOf(const v1::Event& open, const v1::Event& report, const v1::DuplicateRule& rule);

}  // namespace grid::intake
