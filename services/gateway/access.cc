#include "services/gateway/access.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace grid::gateway {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) {
    return grpc::Status::OK;
  }
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

Access::Access(const topology::Topology& topology, Options options, const Clock& clock)
    : verifier_(std::move(options.jwt_secret), topology, clock, std::move(options.verify)),
      authorizer_(topology),
      limiter_(options.rate, clock) {}

grpc::Status Access::Admit(grpc::CallbackServerContext& context, auth::Rpc rpc, v1::Actor& caller,
                           Millis* expires_at) {
  const auto& metadata = context.client_metadata();
  const auto found = metadata.find(kAuthorizationKey);
  if (found == metadata.end()) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "bearer token: missing (send metadata \"authorization: Bearer <JWT>\")");
  }
  const std::string value(found->second.data(), found->second.size());
  constexpr std::string_view kScheme = "bearer ";
  if (value.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(value.substr(0, kScheme.size()), "Bearer ")) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "bearer token: the authorization metadata must be \"Bearer <JWT>\"");
  }
  std::string token = value.substr(kScheme.size());
  absl::StripAsciiWhitespace(&token);
  absl::StatusOr<auth::TokenVerifier::Verified> verified = verifier_.VerifyToken(token);
  if (!verified.ok()) {
    return ToGrpcStatus(verified.status());
  }
  v1::Actor* actor = &verified->actor;
  const auth::RateLimiter::Decision decision = limiter_.Take(actor->subject());
  if (!decision.allowed) {
    context.AddTrailingMetadata(kRetryAfterKey, absl::StrCat(decision.retry_after_ms));
    return grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat("rate limit of ", limiter_.options().per_second, " calls/s (burst ",
                     limiter_.options().burst, ") for subject \"", actor->subject(),
                     "\" exceeded on ", auth::RpcName(rpc), "; retry after ",
                     decision.retry_after_ms, " ms"));
  }
  caller = std::move(*actor);
  if (expires_at != nullptr) {
    *expires_at = verified->expires_at;
  }
  return grpc::Status::OK;
}

grpc::Status Access::AdmitRole(grpc::CallbackServerContext& context, auth::Rpc rpc,
                               v1::Actor& caller, Millis* expires_at) {
  grpc::Status admitted = Admit(context, rpc, caller, expires_at);
  if (!admitted.ok()) {
    return admitted;
  }
  return ToGrpcStatus(authorizer_.CheckRole(caller, rpc));
}

}  // namespace grid::gateway
