// The gRPC side of WatchEvents: a ServerWriteReactor that adapts a Watcher to the call.
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/auth/authorizer.h"
#include "common/clock/clock.h"
#include "common/topology/topology.h"
#include "services/gateway/watch_hub.h"
#include "services/gateway/watch_quota.h"

namespace grid::gateway {

// What the caller may watch when the request names `unit_id` (empty: none): the authorizer's
// ScopeWatch for the caller, or a status that refuses the call (PERMISSION_DENIED).
using WatchScoper = std::function<absl::StatusOr<auth::WatchScope>(std::string_view unit_id)>;

// What the door granted one watch call.
struct WatchGrant {
  // What the caller may watch, asked once the request is parsed.
  WatchScoper scope;
  // When the caller's token expires (UTC ms; 0: never): the watch ends then, UNAUTHENTICATED.
  Millis expires_at = 0;
  // The caller's slot among its subject's watches, held until the call ends.
  WatchQuota::Lease lease;
};

// Starts one WatchEvents call: parses `request` (a serialized v1::WatchEventsRequest: the method
// is raw so that each change is serialized once for all watchers), asks `grant.scope` what the
// caller may watch, builds the filter within it and attaches a watcher to `hub`, to end at
// `grant`'s expiry. Errors (a malformed request or cursor, a unit outside the caller's reach,
// the hub not ready) finish the call at once. The reactor deletes itself in OnDone.
grpc::ServerWriteReactor<grpc::ByteBuffer>* StartWatch(grpc::CallbackServerContext* context,
                                                       const grpc::ByteBuffer& request,
                                                       WatchHub& hub,
                                                       const topology::Topology& topology,
                                                       WatchGrant grant);

// A reactor that only finishes with `status` (a call refused before it starts).
grpc::ServerWriteReactor<grpc::ByteBuffer>* RefuseWatch(const grpc::Status& status);

}  // namespace grid::gateway
