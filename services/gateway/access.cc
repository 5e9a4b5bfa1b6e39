#include "services/gateway/access.h"

#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace grid::gateway {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) {
    return grpc::Status::OK;
  }
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

Access::Access(const topology::Topology& topology, Options options, const Clock& clock)
    : topology_(topology),
      api_clients_(std::move(options.api_clients)),
      verifier_(std::move(options.jwt_secret), topology, clock, std::move(options.verify)),
      authorizer_(topology),
      limiter_(options.rate, clock) {}

grpc::Status Access::TakeRate(grpc::CallbackServerContext& context, auth::Rpc rpc,
                              const std::string& subject) {
  const auth::RateLimiter::Decision decision = limiter_.Take(subject);
  if (decision.allowed) {
    return grpc::Status::OK;
  }
  context.AddTrailingMetadata(kRetryAfterKey, absl::StrCat(decision.retry_after_ms));
  return grpc::Status(
      grpc::StatusCode::RESOURCE_EXHAUSTED,
      absl::StrCat("rate limit of ", limiter_.options().per_second, " calls/s (burst ",
                   limiter_.options().burst, ") for subject \"", subject, "\" exceeded on ",
                   auth::RpcName(rpc), "; retry after ", decision.retry_after_ms, " ms"));
}

grpc::Status Access::AdmitApiKey(grpc::CallbackServerContext& context, auth::Rpc rpc,
                                 std::string_view key, v1::Actor& caller) {
  const v1::ApiClient* client = api_clients_ == nullptr ? nullptr : api_clients_->Find(key);
  if (client == nullptr) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "api key: not the key of a client system of this gateway (metadata "
                        "\"x-api-key\"), or its client is disabled");
  }
  v1::Actor actor = auth::ApiClients::ActorOf(*client);
  if (grpc::Status rate = TakeRate(context, rpc, actor.subject()); !rate.ok()) {
    return rate;
  }
  caller = std::move(actor);
  return grpc::Status::OK;
}

grpc::Status Access::Admit(grpc::CallbackServerContext& context, auth::Rpc rpc, v1::Actor& caller,
                           Millis* expires_at) {
  const auto& metadata = context.client_metadata();
  const auto found = metadata.find(kAuthorizationKey);
  if (found == metadata.end()) {
    if (const auto key = metadata.find(kApiKeyKey); key != metadata.end()) {
      if (expires_at != nullptr) {
        *expires_at = std::numeric_limits<Millis>::max();
      }
      return AdmitApiKey(context, rpc, std::string_view(key->second.data(), key->second.size()),
                         caller);
    }
    if (auth::GrantOf(v1::ROLE_UNSPECIFIED, rpc) != auth::Grant::kDenied) {
      if (grpc::Status rate = TakeRate(context, rpc, kAnonymousSubject); !rate.ok()) {
        return rate;
      }
      caller.Clear();
      caller.set_subject(kAnonymousSubject);
      if (expires_at != nullptr) {
        *expires_at = std::numeric_limits<Millis>::max();
      }
      return grpc::Status::OK;
    }
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "bearer token: missing (send metadata \"authorization: Bearer <JWT>\", or "
                        "a client system's \"x-api-key: <key>\")");
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
  if (grpc::Status rate = TakeRate(context, rpc, actor->subject()); !rate.ok()) {
    return rate;
  }
  caller = std::move(*actor);
  if (expires_at != nullptr) {
    *expires_at = verified->expires_at;
  }
  return grpc::Status::OK;
}

absl::Status Access::PrepareReport(const v1::Actor& caller, v1::Report& report) const {
  if (caller.role() == v1::ROLE_SYSTEM) {
    const std::string name(absl::StripPrefix(caller.subject(), "system:"));
    const v1::ApiClient* client =
        api_clients_ == nullptr ? nullptr : api_clients_->FindByName(name);
    const v1::Source source =
        client == nullptr ? v1::SOURCE_OPEN311 : auth::ApiClients::SourceOf(*client);
    if (report.source() != v1::SOURCE_UNSPECIFIED && report.source() != source) {
      return absl::PermissionDeniedError(absl::StrCat(
          "report.source: the client system \"", name, "\" files as ", v1::Source_Name(source),
          ", not as ",
          v1::Source_IsValid(report.source()) ? v1::Source_Name(report.source())
                                              : absl::StrCat(static_cast<int>(report.source()))));
    }
    report.set_source(source);
  }
  if (report.grid_id().empty() && report.has_location()) {
    const v1::Unit* grid = topology_.NearestGrid(report.location());
    if (grid == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "report.location: (", report.location().lat(), ", ", report.location().lng(),
          ") is not within the district, so no grid is near it; name report.grid_id or give a "
          "location inside the district"));
    }
    report.set_grid_id(grid->id());
  }
  return absl::OkStatus();
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
