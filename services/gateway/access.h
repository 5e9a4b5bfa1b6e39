// The gateway's door: authenticates a call from its bearer token, applies the caller's rate limit
// and hands the caller (as v1::Actor) and the role × RPC table (auth::Authorizer) to the handler.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "common/auth/authorizer.h"
#include "common/auth/rate_limiter.h"
#include "common/auth/token.h"
#include "common/clock/clock.h"
#include "common/topology/topology.h"

namespace grid::gateway {

// The metadata key of the bearer token and of the rate limiter's retry hint.
inline constexpr char kAuthorizationKey[] = "authorization";
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
  };

  Access(const topology::Topology& topology, Options options, const Clock& clock);

  // Authenticates the call ("authorization: Bearer <JWT>") and takes one call from the subject's
  // rate limit. OK with `caller` set; else UNAUTHENTICATED, or RESOURCE_EXHAUSTED with the retry
  // hint in the message and in the trailing metadata "retry-after-ms" (added to `context`).
  // `expires_at`, when given, receives when the token expires (UTC ms): a long call (a watch)
  // ends then.
  grpc::Status Admit(grpc::CallbackServerContext& context, auth::Rpc rpc, v1::Actor& caller,
                     Millis* expires_at = nullptr);

  // The same as Admit, followed by the role check of `rpc` (PERMISSION_DENIED): what every
  // handler does first.
  grpc::Status AdmitRole(grpc::CallbackServerContext& context, auth::Rpc rpc, v1::Actor& caller,
                         Millis* expires_at = nullptr);

  const auth::Authorizer& authorizer() const { return authorizer_; }

 private:
  auth::TokenVerifier verifier_;
  auth::Authorizer authorizer_;
  auth::RateLimiter limiter_;
};

using AccessPtr = std::unique_ptr<Access>;

// absl status → grpc status, same code and message.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace grid::gateway
