// gridctl's commands, apart from argument parsing so that they can be tested against a stub.
// Each returns the process exit code: 0 on success, 1 when the call failed (the gRPC status code
// and message are printed to `err`).
#pragma once

#include <google/protobuf/duration.pb.h>
#include <grpcpp/security/credentials.h>

#include <chrono>
#include <istream>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "grid/v1/gateway.grpc.pb.h"

namespace grid::gridctl {

struct CallOptions {
  std::chrono::milliseconds timeout{10000};
  // The bearer token sent as "authorization: Bearer <token>" with every call; none when empty.
  // The gateway takes the caller (the requests' `actor`) from it.
  std::string token;
};

// The token gridctl sends: $GRID_TOKEN when set; else the file `token` of the state directory:
// $GRID_STATE_DIR when set, else the `.local/` of the repository, looked for beside the binary
// (<repo>/build/bin/gridctl → <repo>/.local/token) and then in the current directory and each one
// above it. Empty when there is none.
std::string FindToken();

// The path of `name` in the state directory as FindToken looks for it; empty if no such file.
std::string FindStateFile(const std::string& name);

// The credentials of gridctl's channels: plaintext with `insecure` (tests of a plaintext stack
// only); else TLS, verified against `ca_file` when given, else against the state directory's
// tls/ca.pem (the local CA deploy/local/up makes) when there is one, else the system's roots.
// INVALID_ARGUMENT naming --ca for an unreadable file.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> GatewayCredentials(
    bool insecure, const std::string& ca_file);

// Mints a token (`gridctl token issue`) with the HS256 secret of `secret_file` (empty: the
// state directory's jwt-secret, or $GRID_JWT_SECRET_FILE); prints it alone on a line.
int IssueToken(const std::string& subject, v1::Role role, const std::string& unit,
               std::chrono::seconds ttl, const std::string& secret_file, std::ostream& out,
               std::ostream& err);

// Files a report; prints a summary, then the new event id alone on the last line.
int Report(v1::GatewayService::StubInterface& gateway, const v1::Report& report,
           const CallOptions& options, std::ostream& out, std::ostream& err);

// Shows one event: a readable summary, or with `json` the Event in protobuf JSON (proto field
// names).
int Get(v1::GatewayService::StubInterface& gateway, const std::string& event_id, bool json,
        const CallOptions& options, std::ostream& out, std::ostream& err);

// Shows an event's history, one change a line, or as JSON.
int History(v1::GatewayService::StubInterface& gateway, const std::string& event_id, bool json,
            const CallOptions& options, std::ostream& out, std::ostream& err);

// Shows the hierarchy: one line per level with its unit count, one with the worker count.
int TopologySummary(v1::GatewayService::StubInterface& gateway, const std::string& unit_id,
                    bool json, const CallOptions& options, std::ostream& out, std::ostream& err);

// Shows a unit's work queue, one item a line (traffic light, time left, state, category, severity,
// event id), then "next page token: T" when there is a next page; or the response as JSON.
int Queue(v1::GatewayService::StubInterface& gateway, const v1::ListUnitQueueRequest& request,
          bool json, const CallOptions& options, std::ostream& out, std::ostream& err);

// Lists events, one a line (reported at, traffic light, state, level, unit, category, severity,
// event id), then "next page token: T" when there is a next page; or the response as JSON.
int List(v1::GatewayService::StubInterface& gateway, const v1::ListEventsRequest& request,
         bool json, const CallOptions& options, std::ostream& out, std::ostream& err);

// The lifecycle moves. Each sends `request` and prints the event after the move, "<id> <state> at
// <level> <unit> (version N)", or with `json` the Event.
int Move(v1::GatewayService::StubInterface& gateway, v1::AcceptEventRequest request, bool json,
         const CallOptions& options, std::ostream& out, std::ostream& err);
int Move(v1::GatewayService::StubInterface& gateway, v1::ResolveEventRequest request, bool json,
         const CallOptions& options, std::ostream& out, std::ostream& err);
int Move(v1::GatewayService::StubInterface& gateway, v1::VerifyEventRequest request, bool json,
         const CallOptions& options, std::ostream& out, std::ostream& err);
int Move(v1::GatewayService::StubInterface& gateway, v1::ReturnEventRequest request, bool json,
         const CallOptions& options, std::ostream& out, std::ostream& err);
int Move(v1::GatewayService::StubInterface& gateway, v1::SuspendEventRequest request, bool json,
         const CallOptions& options, std::ostream& out, std::ostream& err);
int Move(v1::GatewayService::StubInterface& gateway, v1::ResumeEventRequest request, bool json,
         const CallOptions& options, std::ostream& out, std::ostream& err);
int Move(v1::GatewayService::StubInterface& gateway, v1::CancelEventRequest request, bool json,
         const CallOptions& options, std::ostream& out, std::ostream& err);
int Move(v1::GatewayService::StubInterface& gateway, v1::VoidEventRequest request, bool json,
         const CallOptions& options, std::ostream& out, std::ostream& err);
int Move(v1::GatewayService::StubInterface& gateway, v1::ReassignEventRequest request, bool json,
         const CallOptions& options, std::ostream& out, std::ostream& err);
int Move(v1::GatewayService::StubInterface& gateway, v1::EscalateEventRequest request, bool json,
         const CallOptions& options, std::ostream& out, std::ostream& err);
int Move(v1::GatewayService::StubInterface& gateway, v1::SuperviseEventRequest request, bool json,
         const CallOptions& options, std::ostream& out, std::ostream& err);

// Uploads the reports of a JSON-lines stream (one grid.v1.Report a line in protobuf JSON; blank
// lines are skipped) in one UploadReports call. A malformed line
// fails the command before anything is sent, naming `name` and the line number. Prints one line
// per result, "<index> <client_request_id> <event id | error CODE: message>" (or the response as
// JSON), and fails if any item failed.
int Upload(v1::GatewayService::StubInterface& gateway, std::istream& in, const std::string& name,
           bool json, const CallOptions& options, std::ostream& out, std::ostream& err);

// A positive duration such as "90s", "30m", "2h" or "1h30m" (absl::ParseDuration's syntax: also
// "1.5h", "500ms"); nullopt for anything else, zero and negative durations included.
std::optional<google::protobuf::Duration> ParseDuration(std::string_view text);

// How a queue item stands against its limit, coarsely: "12m left", "1h30m left", "3h overdue",
// "2d4h overdue" (the two largest units, the smaller one dropped when zero).
std::string FormatTimeLeft(const google::protobuf::Duration& time_left, bool overdue);

// Checks the standard gRPC health service of each address; prints one line per address and
// fails unless all are SERVING.
int Health(const std::vector<std::string>& addresses,
           const std::shared_ptr<grpc::ChannelCredentials>& credentials, const CallOptions& options,
           std::ostream& out, std::ostream& err);

// Prints "error: CODE: message".
void PrintStatus(const grpc::Status& status, std::ostream& err);

}  // namespace grid::gridctl
