// gridctl's commands, apart from argument parsing so that they can be tested against a stub.
// Each returns the process exit code: 0 on success, 1 when the call failed (the gRPC status code
// and message are printed to `err`).
#pragma once

#include <chrono>
#include <ostream>
#include <string>
#include <vector>

#include "grid/v1/gateway.grpc.pb.h"

namespace grid::gridctl {

struct CallOptions {
  std::chrono::milliseconds timeout{10000};
};

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

// Checks the standard gRPC health service of each address; prints one line per address and
// fails unless all are SERVING.
int Health(const std::vector<std::string>& addresses, const CallOptions& options, std::ostream& out,
           std::ostream& err);

// Prints "error: CODE: message".
void PrintStatus(const grpc::Status& status, std::ostream& err);

}  // namespace grid::gridctl
