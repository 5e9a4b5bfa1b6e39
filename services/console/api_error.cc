#include "services/console/api_error.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/telemetry/rpc_metrics.h"

namespace grid::console {

int HttpStatusOf(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return 200;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::OUT_OF_RANGE:
      return 400;
    case grpc::StatusCode::UNAUTHENTICATED:
      return 401;
    case grpc::StatusCode::PERMISSION_DENIED:
      return 403;
    case grpc::StatusCode::NOT_FOUND:
      return 404;
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::FAILED_PRECONDITION:
      return 409;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return 429;
    case grpc::StatusCode::CANCELLED:
      return 499;
    case grpc::StatusCode::UNIMPLEMENTED:
      return 501;
    case grpc::StatusCode::UNAVAILABLE:
      return 503;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return 504;
    default:
      return 500;
  }
}

ApiError MakeError(grpc::StatusCode code, std::string message) {
  return ApiError{code, HttpStatusOf(code), std::move(message), std::nullopt};
}

ApiError FromGrpc(const grpc::Status& status, std::optional<std::int64_t> retry_after_ms) {
  ApiError error = MakeError(status.error_code(), status.error_message());
  if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
    error.retry_after_ms = retry_after_ms;
  }
  return error;
}

std::string ErrorJson(const ApiError& error) {
  nlohmann::json body = {{"code", telemetry::StatusCodeName(error.code)},
                         {"http", error.http},
                         {"message", error.message}};
  if (error.retry_after_ms.has_value()) {
    body["retry_after_ms"] = *error.retry_after_ms;
  }
  // A message is the gateway's text: replace bytes that are not UTF-8 rather than throw.
  return nlohmann::json{{"error", body}}.dump(-1, ' ', false,
                                              nlohmann::json::error_handler_t::replace);
}

std::int64_t RetryAfterSeconds(std::int64_t retry_after_ms) {
  return std::max<std::int64_t>(1, (retry_after_ms + 999) / 1000);
}

}  // namespace grid::console
