// The bounds on a report: what intake accepts before anything is written.
#pragma once

#include "absl/status/status.h"
#include "common/clock/clock.h"
#include "common/input/fields.h"
#include "common/policy/policy.h"
#include "common/topology/topology.h"
#include "grid/v1/event.pb.h"

namespace grid::intake {

using input::kMaxAddressChars;
using input::kMaxDescriptionChars;
using input::kMaxIdBytes;
using input::kMaxMedia;
using input::kMaxMediaRefBytes;

// How far ahead of receipt a report's reported_at may be (the reporter's clock runs fast); within
// it, a later reported_at is taken as the receipt time.
inline constexpr Millis kMaxClockSkew = 5 * 60 * 1000;

// OK, or INVALID_ARGUMENT naming the field at fault ("report.grid_id: unknown grid ..."), for a
// report received at `now`. Checks: the bounds of every field (input::CheckFields: text lengths
// and UTF-8, ids, media references and their count, coordinates, the timestamp's range), a known
// grid and category, a known severity and source, a description, coordinates inside the
// topology's bounds when it has them, reported_at neither more than kMaxClockSkew after `now` nor
// older than the policy's offline window, and the reporter: a grid worker (actor role WORKER, or
// a reporter_id given without a role) must be a known worker whose grid lies in the same
// community as the reported grid; handlers, operators and admins may report anywhere.
absl::Status ValidateReport(const v1::Report& report, const v1::Actor& actor,
                            const topology::Topology& topology, const policy::Policy& policy,
                            Millis now);

// Who the report is from: report.reporter_id, or the actor's subject when it is empty.
std::string ReporterOf(const v1::Report& report, const v1::Actor& actor);

}  // namespace grid::intake
