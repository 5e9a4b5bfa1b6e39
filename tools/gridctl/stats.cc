#include "tools/gridctl/stats.h"

#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <sstream>
#include <utility>

#include "common/config/json_file.h"
#include "grid/v1/metrics.pb.h"
#include "tools/gridctl/enums.h"

namespace grid::gridctl {
namespace {

using google::protobuf::util::TimeUtil;

// The key GetStats uses in StatsRow.group for a dimension.
std::string GroupKey(int dimension) {
  return ShortName(*v1::StatsDimension_descriptor(), dimension);
}

// YYYY-MM-DD by shape; the service checks that it is a real date.
bool IsDateShaped(const std::string& date) {
  if (date.size() != 10) {
    return false;
  }
  for (size_t i = 0; i < date.size(); ++i) {
    const bool dash = i == 4 || i == 7;
    if (dash ? date[i] != '-' : (date[i] < '0' || date[i] > '9')) {
      return false;
    }
  }
  return true;
}

std::string Percent(double rate) {
  char buffer[16];
  std::snprintf(buffer, sizeof(buffer), "%.1f%%", rate * 100.0);
  return buffer;
}

// A mean time in seconds, "-" when nothing was timed (a 0 s mean is a real figure).
std::string MeanSeconds(double mean, int64_t count) {
  if (count == 0) {
    return "-";
  }
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.1fs", mean);
  return buffer;
}

}  // namespace

void AddStatsOptions(CLI::App* cmd, StatsArgs& args) {
  cmd->add_option("--unit", args.unit, "subtree root (default: the district)");
  cmd->add_option("--since", args.since,
                  "from this time, inclusive (RFC 3339; its whole local day counts)");
  cmd->add_option("--until", args.until,
                  "until this time, exclusive (RFC 3339; its whole local day counts)");
  cmd->add_option("--from-day", args.from_day, "from this local day, inclusive (YYYY-MM-DD)");
  cmd->add_option("--to-day", args.to_day, "to this local day, inclusive (YYYY-MM-DD)");
  cmd->add_option("--days", args.days, "the last N local days, today included");
  cmd->add_flag("--today", args.today,
                "today only: the policy calendar's local day (a Beijing day for Laoshan)");
  cmd->add_option("--group-by", args.group_by,
                  "group rows by: " + ShortNames(*v1::StatsDimension_descriptor()) + "; repeatable")
      ->allow_extra_args(false);
}

absl::StatusOr<v1::GetStatsRequest> MakeStatsRequest(const StatsArgs& args) {
  v1::GetStatsRequest request;
  request.set_unit_id(args.unit);
  const int ways = (!args.since.empty() || !args.until.empty()) +
                   (!args.from_day.empty() || !args.to_day.empty()) + (args.days != 0) + args.today;
  if (ways > 1) {
    return absl::InvalidArgumentError(
        std::string(args.today       ? "--today"
                    : args.days != 0 ? "--days"
                                     : "--from-day") +
        ": give the window one way: --since/--until, --from-day/--to-day, --days or --today");
  }
  for (const auto& [option, date] :
       {std::pair<const char*, const std::string&>{"--from-day", args.from_day},
        std::pair<const char*, const std::string&>{"--to-day", args.to_day}}) {
    if (!date.empty() && !IsDateShaped(date)) {
      return absl::InvalidArgumentError(std::string(option) + ": not a date like 2026-12-01: \"" +
                                        date + "\"");
    }
  }
  request.set_first_day(args.from_day);
  request.set_last_day(args.to_day);
  if (args.days < 0) {
    return absl::InvalidArgumentError("--days: must be at least 1");
  }
  request.set_last_days(args.today ? 1 : args.days);
  if (!args.since.empty() && !TimeUtil::FromString(args.since, request.mutable_from())) {
    return absl::InvalidArgumentError(
        "--since: not an RFC 3339 time like 2026-05-01T00:00:00Z: \"" + args.since + "\"");
  }
  if (!args.until.empty() && !TimeUtil::FromString(args.until, request.mutable_to())) {
    return absl::InvalidArgumentError(
        "--until: not an RFC 3339 time like 2026-05-01T00:00:00Z: \"" + args.until + "\"");
  }
  for (const std::string& name : args.group_by) {
    const std::optional<int> dimension = ParseEnum(*v1::StatsDimension_descriptor(), name);
    if (!dimension) {
      return absl::InvalidArgumentError("--group-by: unknown dimension \"" + name + "\" (one of " +
                                        ShortNames(*v1::StatsDimension_descriptor()) + ")");
    }
    request.add_group_by(static_cast<v1::StatsDimension>(*dimension));
  }
  return request;
}

std::string FormatStatsWindow(const v1::GetStatsResponse& response) {
  if (response.today().empty()) {
    return "";
  }
  const int offset = response.utc_offset_minutes();
  const int magnitude = offset < 0 ? -offset : offset;
  char zone[16];
  std::snprintf(zone, sizeof(zone), "UTC%c%02d:%02d", offset < 0 ? '-' : '+', magnitude / 60,
                magnitude % 60);
  const std::string first =
      response.first_day().empty() ? "the first day kept" : response.first_day();
  const std::string last = response.last_day().empty() ? "today" : response.last_day();
  return "local days " + first + " to " + last + " (" + zone + "), today " + response.today() +
         "\n";
}

std::string FormatStatsTable(const v1::GetStatsRequest& request,
                             const v1::GetStatsResponse& response) {
  std::vector<std::string> header;
  for (int dimension : request.group_by()) {
    header.push_back(GroupKey(dimension));
  }
  for (const char* name : {"reported", "dup", "closed", "on_time", "due", "deferred", "rework",
                           "returned", "escalated", "redisp", "open", "overdue", "on_time%",
                           "closure%", "rework%", "first_dispatch%", "accept_mean", "close_mean"}) {
    header.push_back(name);
  }
  std::vector<std::vector<std::string>> table = {header};
  for (const v1::StatsRow& row : response.rows()) {
    std::vector<std::string> line;
    for (int dimension : request.group_by()) {
      auto it = row.group().find(GroupKey(dimension));
      line.push_back(it == row.group().end() || it->second.empty() ? "-" : it->second);
    }
    for (int64_t count : {row.reported(), row.duplicates(), row.closed(), row.closed_on_time(),
                          row.due(), row.deferred(), row.reworked(), row.returned(),
                          row.escalated(), row.redispatched(), row.open(), row.overdue()}) {
      line.push_back(std::to_string(count));
    }
    for (double rate : {row.on_time_closure_rate(), row.closure_rate(), row.rework_rate(),
                        row.first_dispatch_accuracy()}) {
      line.push_back(Percent(rate));
    }
    line.push_back(MeanSeconds(row.accept_seconds_mean(), row.accepted()));
    line.push_back(MeanSeconds(row.close_seconds_mean(), row.closed_timed()));
    table.push_back(std::move(line));
  }
  std::vector<size_t> widths(header.size(), 0);
  for (const auto& line : table) {
    for (size_t i = 0; i < line.size(); ++i) {
      widths[i] = std::max(widths[i], line[i].size());
    }
  }
  std::ostringstream out;
  for (const auto& line : table) {
    for (size_t i = 0; i < line.size(); ++i) {
      const bool text = i < static_cast<size_t>(request.group_by_size());
      const std::string pad(widths[i] - line[i].size(), ' ');
      out << (text ? line[i] + pad : pad + line[i]) << (i + 1 < line.size() ? "  " : "\n");
    }
  }
  return out.str();
}

int Stats(v1::GatewayService::StubInterface& gateway, const StatsArgs& args, bool json,
          const CallOptions& options, std::ostream& out, std::ostream& err) {
  auto request = MakeStatsRequest(args);
  if (!request.ok()) {
    err << "INVALID_ARGUMENT: " << request.status().message() << "\n";
    return 1;
  }
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + options.timeout);
  if (!options.token.empty()) {
    context.AddMetadata("authorization", "Bearer " + options.token);
  }
  v1::GetStatsResponse response;
  const grpc::Status status = gateway.GetStats(&context, *request, &response);
  if (!status.ok()) {
    PrintStatus(status, err);
    return 1;
  }
  if (json) {
    out << config::ToJson(response, true) << "\n";
    return 0;
  }
  out << FormatStatsWindow(response) << FormatStatsTable(*request, response);
  return 0;
}

}  // namespace grid::gridctl
