// The bounds on a report: what intake accepts before anything is written.
#pragma once

#include "absl/status/status.h"
#include "common/policy/policy.h"
#include "common/topology/topology.h"
#include "grid/v1/event.pb.h"

namespace grid::intake {

inline constexpr int kMaxDescriptionChars = 4000;
inline constexpr int kMaxAddressChars = 500;
inline constexpr int kMaxMedia = 9;
inline constexpr int kMaxMediaRefBytes = 2048;
inline constexpr int kMaxIdBytes = 128;

// OK, or INVALID_ARGUMENT naming the field at fault ("report.grid_id: unknown grid ...").
// Checks: a known grid and category, a severity, text lengths in characters and valid UTF-8,
// the media count, coordinates in range and inside the topology's bounds when it has them, and
// the reporter: a grid worker (actor role WORKER, or a reporter_id given without a role) must be
// a known worker whose grid lies in the same community as the reported grid; handlers,
// operators and admins may report anywhere.
absl::Status ValidateReport(const v1::Report& report, const v1::Actor& actor,
                            const topology::Topology& topology, const policy::Policy& policy);

// Who the report is from: report.reporter_id, or the actor's subject when it is empty.
std::string ReporterOf(const v1::Report& report, const v1::Actor& actor);

// The number of Unicode code points in `text`, or -1 when it is not valid UTF-8.
int Utf8Length(std::string_view text);

}  // namespace grid::intake
