// The gateway's door: authenticates a call from its bearer token (or a client system's api key),
// applies the caller's rate limit and hands the caller (as v1::Actor) and the role × RPC table
// (auth::Authorizer) to the handler.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "common/auth/api_clients.h"
#include "common/auth/authorizer.h"
#include "common/auth/rate_limiter.h"
#include "common/auth/token.h"
#include "common/clock/clock.h"
#include "common/topology/topology.h"

namespace grid::gateway {

// The metadata keys of the bearer token, of a client system's api key and of the rate limiter's
// retry hint.
inline constexpr char kAuthorizationKey[] = "authorization";
inline constexpr char kApiKeyKey[] = "x-api-key";
// The subject whose rate limit callers without credentials share (ListCategories).
inline constexpr char kAnonymousSubject[] = "anonymous";
inline constexpr char kRetryAfterKey[] = "retry-after-ms";

// Thread-safe; borrows the topology and the clock, which must outlive it.
class Access final {
 public:
  struct Options {
    // The HS256 secret of the tokens.
    std::string jwt_secret;
    auth::RateLimiter::Options rate;
    // Leeway of nbf/iat, and the issuer and audience the tokens must name (empty: any).
    auth::VerifyOptions verify;
    // The client systems that may call with an api key (--api-keys); none when null.
    auth::ApiClientsPtr api_clients;
  };

  Access(const topology::Topology& topology, Options options, const Clock& clock);

  // Authenticates the call ("authorization: Bearer <JWT>", or without one "x-api-key: <key>" of
  // a client system, whose caller is auth::ApiClients::ActorOf) and takes one call from the
  // subject's rate limit. OK with `caller` set; else UNAUTHENTICATED, or RESOURCE_EXHAUSTED with
  // the retry hint in the message and in the trailing metadata "retry-after-ms" (added to
  // `context`). A call to an RPC open to anyone (ListCategories) without either is admitted as
  // the subject "anonymous" with no role. `expires_at`, when given, receives when the token
  // expires (UTC ms; never, for an api key): a long call (a watch) ends then.
  grpc::Status Admit(grpc::CallbackServerContext& context, auth::Rpc rpc, v1::Actor& caller,
                     Millis* expires_at = nullptr);

  // The same as Admit, followed by the role check of `rpc` (PERMISSION_DENIED): what every
  // handler does first.
  grpc::Status AdmitRole(grpc::CallbackServerContext& context, auth::Rpc rpc, v1::Actor& caller,
                         Millis* expires_at = nullptr);

  const auth::Authorizer& authorizer() const { return authorizer_; }

  // What the gateway does to a report before it checks and forwards it: a report of a client
  // system (ROLE_SYSTEM) gets the client's source (one that names another is PERMISSION_DENIED
  // naming report.source); a report without grid_id but with a location gets the grid whose centre
  // is nearest (topology::Topology::NearestGrid), and a location outside the district is
  // INVALID_ARGUMENT naming report.location.
  absl::Status PrepareReport(const v1::Actor& caller, v1::Report& report) const;

 private:
  grpc::Status AdmitApiKey(grpc::CallbackServerContext& context, auth::Rpc rpc,
                           std::string_view key, v1::Actor& caller);
  grpc::Status TakeRate(grpc::CallbackServerContext& context, auth::Rpc rpc,
                        const std::string& subject);

  const topology::Topology& topology_;
  auth::ApiClientsPtr api_clients_;
  auth::TokenVerifier verifier_;
  auth::Authorizer authorizer_;
  auth::RateLimiter limiter_;
};

using AccessPtr = std::unique_ptr<Access>;

// absl status → grpc status, same code and message.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace grid::gateway
