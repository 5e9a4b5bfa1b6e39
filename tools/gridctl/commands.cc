#include "tools/gridctl/commands.h"

#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/auth/token.h"
#include "common/clock/clock.h"
#include "common/config/json_file.h"
#include "common/server/tls.h"
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

// The deadline and the bearer token of every call.
void SetDeadline(grpc::ClientContext& context, const CallOptions& options) {
  context.set_deadline(std::chrono::system_clock::now() + options.timeout);
  if (!options.token.empty()) {
    context.AddMetadata("authorization", "Bearer " + options.token);
  }
}

// Makes one unary call with the options' deadline and token; prints the status on failure.
template <class Invoke>
bool Call(const CallOptions& options, std::ostream& err, Invoke invoke) {
  grpc::ClientContext context;
  SetDeadline(context, options);
  const grpc::Status status = invoke(&context);
  if (!status.ok()) {
    PrintStatus(status, err);
    return false;
  }
  return true;
}

bool IsFile(const std::filesystem::path& path) {
  std::error_code ignored;
  return std::filesystem::is_regular_file(path, ignored);
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

// The traffic light's short name, "-" when no clock runs.
std::string Light(v1::TrafficLight light) {
  return light == v1::TRAFFIC_LIGHT_UNSPECIFIED ? "-" : Short(light, v1::TrafficLight_descriptor());
}

std::string OrDash(const std::string& text) { return text.empty() ? "-" : text; }

// "<id> <state> at <level> <unit> (version N)".
std::string Summary(const v1::Event& e) {
  return absl::StrCat(e.id(), " ", Short(e.state(), v1::EventState_descriptor()), " at ",
                      Short(e.level(), v1::Level_descriptor()), " ", OrDash(e.unit_id()),
                      " (version ", e.version(), ")");
}

void PrintNextPage(const std::string& token, std::ostream& out) {
  if (!token.empty()) {
    out << "next page token: " << token << "\n";
  }
}

// Sends one move and prints the event after it.
template <class Request, class Response>
int RunMove(grpc::Status (v1::GatewayService::StubInterface::*call)(grpc::ClientContext*,
                                                                    const Request&, Response*),
            v1::GatewayService::StubInterface& gateway, Request& request, bool json,
            const CallOptions& options, std::ostream& out, std::ostream& err) {
  Response response;
  if (!Call(options, err, [&](grpc::ClientContext* context) {
        return (gateway.*call)(context, request, &response);
      })) {
    return 1;
  }
  out << (json ? config::ToJson(response.event(), true) : Summary(response.event())) << "\n";
  return 0;
}

}  // namespace

std::string FindStateFile(const std::string& name) {
  if (const char* state = std::getenv("GRID_STATE_DIR"); state != nullptr && *state != '\0') {
    const std::filesystem::path path = std::filesystem::path(state) / name;
    return IsFile(path) ? path.string() : "";
  }
  std::error_code error;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", error);
  if (!error) {
    // <repo>/build/bin/gridctl
    const std::filesystem::path path =
        exe.parent_path().parent_path().parent_path() / ".local" / name;
    if (IsFile(path)) {
      return path.string();
    }
  }
  std::filesystem::path dir = std::filesystem::current_path(error);
  while (!error && !dir.empty()) {
    if (IsFile(dir / ".local" / name)) {
      return (dir / ".local" / name).string();
    }
    if (dir == dir.parent_path()) {
      break;
    }
    dir = dir.parent_path();
  }
  return "";
}

std::string FindToken() {
  if (const char* token = std::getenv("GRID_TOKEN"); token != nullptr && *token != '\0') {
    return std::string(absl::StripAsciiWhitespace(token));
  }
  const std::string path = FindStateFile("token");
  if (path.empty()) {
    return "";
  }
  std::ifstream file(path);
  std::string token;
  std::getline(file, token);
  return std::string(absl::StripAsciiWhitespace(token));
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> GatewayCredentials(
    bool insecure, const std::string& ca_file) {
  if (insecure) {
    return grpc::InsecureChannelCredentials();
  }
  server::ClientTls tls{.ca_file = ca_file, .tls = true};
  if (tls.ca_file.empty()) {
    tls.ca_file = FindStateFile("tls/ca.pem");
  }
  return server::MakeChannelCredentials(tls, "--");
}

int IssueToken(const std::string& subject, v1::Role role, const std::string& unit,
               std::chrono::seconds ttl, const std::string& secret_file, std::ostream& out,
               std::ostream& err) {
  std::string path = secret_file;
  if (path.empty()) {
    const char* env = std::getenv("GRID_JWT_SECRET_FILE");
    path = env != nullptr && *env != '\0' ? env : FindStateFile("jwt-secret");
  }
  if (path.empty()) {
    PrintStatus(grpc::Status(grpc::StatusCode::NOT_FOUND,
                             "no secret: pass --secret-file, set GRID_JWT_SECRET_FILE, or run "
                             "deploy/local/up (it writes .local/jwt-secret)"),
                err);
    return 1;
  }
  const absl::StatusOr<std::string> secret = auth::ReadSecretFile(path);
  if (!secret.ok()) {
    PrintStatus(grpc::Status(static_cast<grpc::StatusCode>(secret.status().code()),
                             std::string(secret.status().message())),
                err);
    return 1;
  }
  const std::int64_t now = SystemClock().Now() / 1000;
  const absl::StatusOr<std::string> token =
      auth::IssueToken({subject, role, unit, now, now + ttl.count()}, *secret);
  if (!token.ok()) {
    PrintStatus(grpc::Status(static_cast<grpc::StatusCode>(token.status().code()),
                             std::string(token.status().message())),
                err);
    return 1;
  }
  out << *token << "\n";
  return 0;
}

void PrintStatus(const grpc::Status& status, std::ostream& err) {
  err << "error: " << CodeName(status.error_code()) << ": " << status.error_message() << "\n";
}

int Report(v1::GatewayService::StubInterface& gateway, const v1::Report& report,
           const CallOptions& options, std::ostream& out, std::ostream& err) {
  v1::ReportEventRequest request;
  *request.mutable_report() = report;
  v1::ReportEventResponse response;
  if (!Call(options, err, [&](grpc::ClientContext* context) {
        return gateway.ReportEvent(context, request, &response);
      })) {
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
  v1::GetEventRequest request;
  request.set_event_id(event_id);
  v1::GetEventResponse response;
  if (!Call(options, err, [&](grpc::ClientContext* context) {
        return gateway.GetEvent(context, request, &response);
      })) {
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
  v1::GetEventHistoryRequest request;
  request.set_event_id(event_id);
  v1::GetEventHistoryResponse response;
  if (!Call(options, err, [&](grpc::ClientContext* context) {
        return gateway.GetEventHistory(context, request, &response);
      })) {
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
  v1::GetTopologyRequest request;
  request.set_unit_id(unit_id);
  v1::GetTopologyResponse response;
  if (!Call(options, err, [&](grpc::ClientContext* context) {
        return gateway.GetTopology(context, request, &response);
      })) {
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

int Queue(v1::GatewayService::StubInterface& gateway, const v1::ListUnitQueueRequest& request,
          bool json, const CallOptions& options, std::ostream& out, std::ostream& err) {
  v1::ListUnitQueueResponse response;
  if (!Call(options, err, [&](grpc::ClientContext* context) {
        return gateway.ListUnitQueue(context, request, &response);
      })) {
    return 1;
  }
  if (json) {
    out << config::ToJson(response, true) << "\n";
    return 0;
  }
  for (const v1::QueueItem& item : response.items()) {
    const v1::Event& e = item.event();
    out << std::left << std::setw(8) << Light(item.traffic_light()) << std::setw(16)
        << (item.has_time_left() ? FormatTimeLeft(item.time_left(), item.overdue()) : "-")
        << std::setw(12) << Short(e.state(), v1::EventState_descriptor()) << std::setw(6)
        << e.category() << std::setw(10) << Short(e.severity(), v1::Severity_descriptor()) << e.id()
        << "\n";
  }
  PrintNextPage(response.next_page_token(), out);
  return 0;
}

int List(v1::GatewayService::StubInterface& gateway, const v1::ListEventsRequest& request,
         bool json, const CallOptions& options, std::ostream& out, std::ostream& err) {
  v1::ListEventsResponse response;
  if (!Call(options, err, [&](grpc::ClientContext* context) {
        return gateway.ListEvents(context, request, &response);
      })) {
    return 1;
  }
  if (json) {
    out << config::ToJson(response, true) << "\n";
    return 0;
  }
  for (const v1::Event& e : response.events()) {
    out << FormatTime(e.reported_at()) << "  " << std::left << std::setw(8)
        << Light(e.traffic_light()) << std::setw(12)
        << Short(e.state(), v1::EventState_descriptor()) << std::setw(13)
        << Short(e.level(), v1::Level_descriptor()) << std::setw(16) << OrDash(e.unit_id())
        << std::setw(6) << e.category() << std::setw(10)
        << Short(e.severity(), v1::Severity_descriptor()) << e.id() << "\n";
  }
  PrintNextPage(response.next_page_token(), out);
  return 0;
}

using Gateway = v1::GatewayService::StubInterface;

int Move(Gateway& gateway, v1::AcceptEventRequest request, bool json, const CallOptions& options,
         std::ostream& out, std::ostream& err) {
  return RunMove(&Gateway::AcceptEvent, gateway, request, json, options, out, err);
}

int Move(Gateway& gateway, v1::ResolveEventRequest request, bool json, const CallOptions& options,
         std::ostream& out, std::ostream& err) {
  return RunMove(&Gateway::ResolveEvent, gateway, request, json, options, out, err);
}

int Move(Gateway& gateway, v1::VerifyEventRequest request, bool json, const CallOptions& options,
         std::ostream& out, std::ostream& err) {
  return RunMove(&Gateway::VerifyEvent, gateway, request, json, options, out, err);
}

int Move(Gateway& gateway, v1::ReturnEventRequest request, bool json, const CallOptions& options,
         std::ostream& out, std::ostream& err) {
  return RunMove(&Gateway::ReturnEvent, gateway, request, json, options, out, err);
}

int Move(Gateway& gateway, v1::SuspendEventRequest request, bool json, const CallOptions& options,
         std::ostream& out, std::ostream& err) {
  return RunMove(&Gateway::SuspendEvent, gateway, request, json, options, out, err);
}

int Move(Gateway& gateway, v1::ResumeEventRequest request, bool json, const CallOptions& options,
         std::ostream& out, std::ostream& err) {
  return RunMove(&Gateway::ResumeEvent, gateway, request, json, options, out, err);
}

int Move(Gateway& gateway, v1::CancelEventRequest request, bool json, const CallOptions& options,
         std::ostream& out, std::ostream& err) {
  return RunMove(&Gateway::CancelEvent, gateway, request, json, options, out, err);
}

int Move(Gateway& gateway, v1::VoidEventRequest request, bool json, const CallOptions& options,
         std::ostream& out, std::ostream& err) {
  return RunMove(&Gateway::VoidEvent, gateway, request, json, options, out, err);
}

int Move(Gateway& gateway, v1::ReassignEventRequest request, bool json, const CallOptions& options,
         std::ostream& out, std::ostream& err) {
  return RunMove(&Gateway::ReassignEvent, gateway, request, json, options, out, err);
}

int Move(Gateway& gateway, v1::EscalateEventRequest request, bool json, const CallOptions& options,
         std::ostream& out, std::ostream& err) {
  return RunMove(&Gateway::EscalateEvent, gateway, request, json, options, out, err);
}

int Move(Gateway& gateway, v1::SuperviseEventRequest request, bool json, const CallOptions& options,
         std::ostream& out, std::ostream& err) {
  return RunMove(&Gateway::SuperviseEvent, gateway, request, json, options, out, err);
}

int Upload(Gateway& gateway, std::istream& in, const std::string& name, bool json,
           const CallOptions& options, std::ostream& out, std::ostream& err) {
  // Everything is read and checked first: a bad line must not leave half a batch filed.
  std::vector<v1::UploadReportsRequest> items;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (absl::StripAsciiWhitespace(line).empty()) {
      continue;
    }
    v1::UploadReportsRequest item;
    const absl::Status parsed =
        config::ParseJson(line, absl::StrCat(name, ":", number), *item.mutable_report());
    if (!parsed.ok()) {
      PrintStatus(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string(parsed.message())),
                  err);
      return 1;
    }
    items.push_back(std::move(item));
  }
  if (in.bad()) {
    PrintStatus(grpc::Status(grpc::StatusCode::DATA_LOSS, absl::StrCat(name, ": read error")), err);
    return 1;
  }

  grpc::ClientContext context;
  SetDeadline(context, options);
  v1::UploadReportsResponse response;
  std::unique_ptr<grpc::ClientWriterInterface<v1::UploadReportsRequest>> writer =
      gateway.UploadReports(&context, &response);
  for (const v1::UploadReportsRequest& item : items) {
    if (!writer->Write(item)) {
      break;  // The call is over; Finish says why.
    }
  }
  writer->WritesDone();
  const grpc::Status status = writer->Finish();
  if (!status.ok()) {
    PrintStatus(status, err);
    return 1;
  }
  int failed = 0;
  for (const v1::UploadResult& result : response.results()) {
    failed += result.has_error() ? 1 : 0;
  }
  if (json) {
    out << config::ToJson(response, true) << "\n";
  } else {
    for (const v1::UploadResult& result : response.results()) {
      out << result.index() << " " << OrDash(result.client_request_id()) << " ";
      if (result.has_error()) {
        out << "error " << CodeName(static_cast<grpc::StatusCode>(result.error().code())) << ": "
            << result.error().message() << "\n";
      } else {
        out << result.event_id() << "\n";
      }
    }
  }
  if (failed > 0) {
    err << "upload: " << failed << " of " << response.results_size() << " reports failed\n";
    return 1;
  }
  return 0;
}

std::optional<google::protobuf::Duration> ParseDuration(std::string_view text) {
  absl::Duration duration;
  if (!absl::ParseDuration(absl::string_view(text.data(), text.size()), &duration) ||
      duration <= absl::ZeroDuration() || duration == absl::InfiniteDuration()) {
    return std::nullopt;
  }
  return google::protobuf::util::TimeUtil::NanosecondsToDuration(
      absl::ToInt64Nanoseconds(duration));
}

std::string FormatTimeLeft(const google::protobuf::Duration& time_left, bool overdue) {
  const int64_t seconds = std::abs(time_left.seconds());
  const int64_t days = seconds / 86400;
  const int64_t hours = seconds % 86400 / 3600;
  const int64_t minutes = seconds % 3600 / 60;
  const auto unit = [](int64_t n, const char* suffix) {
    return n == 0 ? std::string() : absl::StrCat(n, suffix);
  };
  std::string text;
  if (days > 0) {
    text = absl::StrCat(days, "d", unit(hours, "h"));
  } else if (hours > 0) {
    text = absl::StrCat(hours, "h", unit(minutes, "m"));
  } else if (minutes > 0) {
    text = absl::StrCat(minutes, "m");
  } else {
    text = absl::StrCat(seconds, "s");
  }
  return absl::StrCat(text, overdue || time_left.seconds() < 0 ? " overdue" : " left");
}

int Health(const std::vector<std::string>& addresses,
           const std::shared_ptr<grpc::ChannelCredentials>& credentials, const CallOptions& options,
           std::ostream& out, std::ostream& err) {
  int failed = 0;
  for (const std::string& address : addresses) {
    auto stub = grpc::health::v1::Health::NewStub(grpc::CreateChannel(address, credentials));
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
