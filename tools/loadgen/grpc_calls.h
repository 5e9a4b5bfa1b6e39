// The gRPC calls several benchmarks make, and how their failures read.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "grid/v1/gateway.grpc.pb.h"
#include "grid/v1/intake.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace grid::loadgen {

// A gRPC status as an absl::Status of the same code, its message prefixed with `what` (the call).
absl::Status FromGrpc(const grpc::Status& status, const std::string& what);

// The health check's answer as a status: OK only for SERVING.
absl::Status HealthStatus(const grpc::Status& status,
                          const grpc::health::v1::HealthCheckResponse& response);

// One health check of the server as a whole (the bare gRPC round trip), within `timeout`.
absl::Status CheckHealth(grpc::health::v1::Health::Stub& health, std::chrono::milliseconds timeout);

// Reads every event back through the gateway (GetEvent, as the bearer of `token`, `concurrency`
// callers) until it is DISPATCHED, in rounds over those not yet there, at most for `within`. The
// events in the order of `ids`; nullopt for one that never got there, with the state it was last
// seen in in `last_state`.
std::vector<std::optional<v1::Event>> ReadBackDispatched(v1::GatewayService::Stub& gateway,
                                                         const std::string& token,
                                                         const std::vector<std::string>& ids,
                                                         int concurrency,
                                                         std::chrono::milliseconds within,
                                                         std::vector<std::string>& last_state);

// Files one report of a paced run (5 s deadline): through `gateway` with `token` when `gateway` is
// given, else into `intake` directly. A failure is UNAVAILABLE with gRPC's message.
absl::Status FileReport(v1::GatewayService::Stub* gateway, v1::IntakeService::Stub& intake,
                        const std::string& token, const v1::ReportEventRequest& request);

}  // namespace grid::loadgen
