// gridctl stats: the field's scores and the backlog of a unit subtree, as a table.
#pragma once

#include <CLI/CLI.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grid/v1/gateway.grpc.pb.h"
#include "tools/gridctl/commands.h"

namespace grid::gridctl {

// The window is given one way at most: --since/--until (every local day they touch),
// --from-day/--to-day (local dates), --days or --today. Days are the policy calendar's local days
// (Beijing days for Laoshan), as GetStats counts them.
struct StatsArgs {
  std::string unit;
  std::string since;     // RFC 3339, inclusive.
  std::string until;     // RFC 3339, exclusive.
  std::string from_day;  // YYYY-MM-DD, local, inclusive.
  std::string to_day;    // YYYY-MM-DD, local, inclusive.
  int days = 0;          // The last N local days, today included.
  bool today = false;    // --days 1.
  std::vector<std::string> group_by;
};

// --unit, --since, --until, --from-day, --to-day, --days, --today, --group-by (repeatable) on
// `cmd`.
void AddStatsOptions(CLI::App* cmd, StatsArgs& args);

// The request the arguments say; INVALID_ARGUMENT naming the option at fault.
absl::StatusOr<v1::GetStatsRequest> MakeStatsRequest(const StatsArgs& args);

// The days the answer counted, e.g. "local days 2026-12-01 to 2026-12-01 (UTC+08:00), today
// 2026-12-01"; empty for an answer that does not say.
std::string FormatStatsWindow(const v1::GetStatsResponse& response);

// One line per row: the group's values, the counts, then the four rates as percentages.
std::string FormatStatsTable(const v1::GetStatsRequest& request,
                             const v1::GetStatsResponse& response);

// Calls GetStats and prints the window and the table (or the response as JSON). 0 on success, 1 on
// an error (printed to `err`).
int Stats(v1::GatewayService::StubInterface& gateway, const StatsArgs& args, bool json,
          const CallOptions& options, std::ostream& out, std::ostream& err);

}  // namespace grid::gridctl
