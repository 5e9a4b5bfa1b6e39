#include "tools/gridctl/commands.h"

#include <grpcpp/grpcpp.h>

#include <iomanip>

#include "absl/strings/str_cat.h"
#include "common/clock/clock.h"
#include "common/config/json_file.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tools/gridctl/enums.h"

namespace grid::gridctl {
namespace {

const char* CodeName(grpc::StatusCode code) {
  static const char* kNames[] = {"OK",
                                 "CANCELLED",
                                 "UNKNOWN",
                                 "INVALID_ARGUMENT",
                                 "DEADLINE_EXCEEDED",
                                 "NOT_FOUND",
                                 "ALREADY_EXISTS",
                                 "PERMISSION_DENIED",
                                 "RESOURCE_EXHAUSTED",
                                 "FAILED_PRECONDITION",
                                 "ABORTED",
                                 "OUT_OF_RANGE",
                                 "UNIMPLEMENTED",
                                 "INTERNAL",
                                 "UNAVAILABLE",
                                 "DATA_LOSS",
                                 "UNAUTHENTICATED"};
  const int index = static_cast<int>(code);
  return index >= 0 && index < 17 ? kNames[index] : "UNKNOWN";
}

void SetDeadline(grpc::ClientContext& context, const CallOptions& options) {
  context.set_deadline(std::chrono::system_clock::now() + options.timeout);
}

std::string FormatTime(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() == 0 && ts.nanos() == 0) {
    return "-";
  }
  const std::time_t seconds = ts.seconds();
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%S", &utc);
  return absl::StrCat(buffer, ".", absl::Dec(ts.nanos() / 1000000, absl::kZeroPad3), "Z");
}

template <class Enum>
std::string Short(Enum value, const google::protobuf::EnumDescriptor* type) {
  return ShortName(*type, static_cast<int>(value));
}

}  // namespace

void PrintStatus(const grpc::Status& status, std::ostream& err) {
  err << "error: " << CodeName(status.error_code()) << ": " << status.error_message() << "\n";
}

int Report(v1::GatewayService::StubInterface& gateway, const v1::Report& report,
           const CallOptions& options, std::ostream& out, std::ostream& err) {
  grpc::ClientContext context;
  SetDeadline(context, options);
  v1::ReportEventRequest request;
  *request.mutable_report() = report;
  v1::ReportEventResponse response;
  const grpc::Status status = gateway.ReportEvent(&context, request, &response);
  if (!status.ok()) {
    PrintStatus(status, err);
    return 1;
  }
  const v1::Event& event = response.event();
  out << "reported " << event.category() << " ("
      << Short(event.severity(), v1::Severity_descriptor()) << ") in grid " << event.grid_id()
      << (response.replayed() ? ", a replay of an earlier request" : "")
      << (response.duplicate_of().empty() ? "" : ", merged into " + response.duplicate_of())
      << "\n";
  out << response.event_id() << "\n";
  return 0;
}

int Get(v1::GatewayService::StubInterface& gateway, const std::string& event_id, bool json,
        const CallOptions& options, std::ostream& out, std::ostream& err) {
  grpc::ClientContext context;
  SetDeadline(context, options);
  v1::GetEventRequest request;
  request.set_event_id(event_id);
  v1::GetEventResponse response;
  const grpc::Status status = gateway.GetEvent(&context, request, &response);
  if (!status.ok()) {
    PrintStatus(status, err);
    return 1;
  }
  const v1::Event& e = response.event();
  if (json) {
    out << config::ToJson(e, true) << "\n";
    return 0;
  }
  const auto row = [&out](std::string_view key, const std::string& value) {
    out << std::left << std::setw(14) << key << value << "\n";
  };
  row("id", e.id());
  row("state", Short(e.state(), v1::EventState_descriptor()));
  row("level", Short(e.level(), v1::Level_descriptor()));
  row("unit", e.unit_id().empty() ? "-" : e.unit_id());
  row("category", e.category());
  row("severity", Short(e.severity(), v1::Severity_descriptor()));
  row("grid", e.grid_id());
  row("reporter", e.reporter_id().empty() ? "-" : e.reporter_id());
  row("description", e.description());
  if (!e.address().empty()) {
    row("address", e.address());
  }
  row("rule", e.rule_id().empty() ? "-" : e.rule_id());
  row("light", Short(e.traffic_light(), v1::TrafficLight_descriptor()));
  row("accept by", FormatTime(e.deadlines().accept_by()));
  row("resolve by", FormatTime(e.deadlines().resolve_by()));
  row("escalations", absl::StrCat(e.escalation_count()));
  row("reported at", FormatTime(e.reported_at()));
  row("dispatched", FormatTime(e.dispatched_at()));
  row("version", absl::StrCat(e.version()));
  return 0;
}

int History(v1::GatewayService::StubInterface& gateway, const std::string& event_id, bool json,
            const CallOptions& options, std::ostream& out, std::ostream& err) {
  grpc::ClientContext context;
  SetDeadline(context, options);
  v1::GetEventHistoryRequest request;
  request.set_event_id(event_id);
  v1::GetEventHistoryResponse response;
  const grpc::Status status = gateway.GetEventHistory(&context, request, &response);
  if (!status.ok()) {
    PrintStatus(status, err);
    return 1;
  }
  if (json) {
    out << config::ToJson(response, true) << "\n";
    return 0;
  }
  for (const v1::EventChange& c : response.changes()) {
    out << FormatTime(c.at()) << "  " << std::left << std::setw(12)
        << Short(c.kind(), v1::ChangeKind_descriptor()) << std::setw(12)
        << Short(c.to_state(), v1::EventState_descriptor()) << std::setw(12)
        << Short(c.to_level(), v1::Level_descriptor()) << std::setw(16)
        << (c.to_unit_id().empty() ? "-" : c.to_unit_id())
        << (c.reason().empty() ? "" : "  " + c.reason()) << "\n";
  }
  return 0;
}

int TopologySummary(v1::GatewayService::StubInterface& gateway, const std::string& unit_id,
                    bool json, const CallOptions& options, std::ostream& out, std::ostream& err) {
  grpc::ClientContext context;
  SetDeadline(context, options);
  v1::GetTopologyRequest request;
  request.set_unit_id(unit_id);
  v1::GetTopologyResponse response;
  const grpc::Status status = gateway.GetTopology(&context, request, &response);
  if (!status.ok()) {
    PrintStatus(status, err);
    return 1;
  }
  if (json) {
    out << config::ToJson(response, true) << "\n";
    return 0;
  }
  // Highest level first, as an operator reads a hierarchy.
  for (auto it = response.level_counts().rbegin(); it != response.level_counts().rend(); ++it) {
    out << std::left << std::setw(14) << Short(it->level(), v1::Level_descriptor()) << it->units();
    if (it->departments() > 0) {
      out << " (+" << it->departments() << " departments)";
    }
    out << "\n";
  }
  out << std::left << std::setw(14) << "workers" << response.worker_count() << "\n";
  return 0;
}

int Health(const std::vector<std::string>& addresses, const CallOptions& options, std::ostream& out,
           std::ostream& err) {
  int failed = 0;
  for (const std::string& address : addresses) {
    auto stub = grpc::health::v1::Health::NewStub(
        grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    SetDeadline(context, options);
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    const grpc::Status status = stub->Check(&context, request, &response);
    if (!status.ok()) {
      err << address << ": ";
      PrintStatus(status, err);
      ++failed;
      continue;
    }
    const bool serving = response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
    out << address << ": "
        << grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status()) << "\n";
    failed += serving ? 0 : 1;
  }
  return failed == 0 ? 0 : 1;
}

}  // namespace grid::gridctl
