// The gRPC side of WatchEvents: a ServerWriteReactor that adapts a Watcher to the call.
#pragma once

#include <grpcpp/grpcpp.h>

#include <string_view>

#include "common/topology/topology.h"
#include "services/gateway/watch_hub.h"

namespace grid::gateway {

// Starts one WatchEvents call: parses `request` (a serialized v1::WatchEventsRequest: the method
// is raw so that each change is serialized once for all watchers), builds the filter within
// `jurisdiction` (a unit id; the district for the whole district) and attaches a watcher to `hub`.
// Errors (a malformed request or cursor, a unit outside the jurisdiction, the hub not ready)
// finish the call at once. The reactor deletes itself in OnDone.
grpc::ServerWriteReactor<grpc::ByteBuffer>* StartWatch(grpc::CallbackServerContext* context,
                                                       const grpc::ByteBuffer& request,
                                                       WatchHub& hub,
                                                       const topology::Topology& topology,
                                                       std::string_view jurisdiction);

// A reactor that only finishes with `status` (a call refused before it starts).
grpc::ServerWriteReactor<grpc::ByteBuffer>* RefuseWatch(const grpc::Status& status);

}  // namespace grid::gateway
