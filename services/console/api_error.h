// One error surface for the JSON API: gRPC code → HTTP status, and the error body every refusal
// carries, the gateway's and the console's own (API.md, "Errors").
#pragma once

#include <grpcpp/support/status.h>

#include <cstdint>
#include <optional>
#include <string>

namespace grid::console {

struct ApiError {
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
  // The HTTP status; HttpStatusOf(code) unless the console says otherwise (405, 413, 415, 431).
  int http = 500;
  std::string message;
  // From the gateway's retry-after-ms trailer, on RESOURCE_EXHAUSTED.
  std::optional<std::int64_t> retry_after_ms;
};

// Google's mapping of google.rpc.Code to HTTP: INVALID_ARGUMENT 400, UNAUTHENTICATED 401, ...
int HttpStatusOf(grpc::StatusCode code);

// An error with the HTTP status of its code.
ApiError MakeError(grpc::StatusCode code, std::string message);
// The gateway's answer as an error.
ApiError FromGrpc(const grpc::Status& status, std::optional<std::int64_t> retry_after_ms = {});

// {"error":{"code":"PERMISSION_DENIED","http":403,"message":"...","retry_after_ms":250}}
std::string ErrorJson(const ApiError& error);

// Retry-After's value: whole seconds, rounded up, at least 1.
std::int64_t RetryAfterSeconds(std::int64_t retry_after_ms);

}  // namespace grid::console
