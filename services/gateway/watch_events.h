// The gRPC side of WatchEvents: a ServerWriteReactor that adapts a Watcher to the call.
#pragma once

#include <grpcpp/grpcpp.h>

#include <string>

#include "common/clock/clock.h"
#include "common/topology/topology.h"
#include "services/gateway/watch_hub.h"
#include "services/gateway/watch_quota.h"

namespace grid::gateway {

// What the door granted one watch call.
struct WatchGrant {
  // The root of the unit subtree the caller may watch (the district for the whole district).
  std::string jurisdiction;
  // When the caller's token expires (UTC ms; 0: never): the watch ends then, UNAUTHENTICATED.
  Millis expires_at = 0;
  // The caller's slot among its subject's watches, held until the call ends.
  WatchQuota::Lease lease;
};

// Starts one WatchEvents call: parses `request` (a serialized v1::WatchEventsRequest: the method
// is raw so that each change is serialized once for all watchers), builds the filter within
// `grant`'s jurisdiction and attaches a watcher to `hub`, to end at `grant`'s expiry.
// Errors (a malformed request or cursor, a unit outside the jurisdiction, the hub not ready)
// finish the call at once. The reactor deletes itself in OnDone.
grpc::ServerWriteReactor<grpc::ByteBuffer>* StartWatch(grpc::CallbackServerContext* context,
                                                       const grpc::ByteBuffer& request,
                                                       WatchHub& hub,
                                                       const topology::Topology& topology,
                                                       WatchGrant grant);

// A reactor that only finishes with `status` (a call refused before it starts).
grpc::ServerWriteReactor<grpc::ByteBuffer>* RefuseWatch(const grpc::Status& status);

}  // namespace grid::gateway
