// RPC count and duration for every gRPC method a server serves, by a server interceptor, so no
// handler has to remember to record them.
#pragma once

#include <grpcpp/support/server_interceptor.h>
#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>

namespace grid::telemetry {

// grid_rpc_server_handled_total{method, code} and grid_rpc_server_handling_seconds{method}.
// `method` is the full gRPC method name, a bounded set.
struct RpcMetrics {
  explicit RpcMetrics(prometheus::Registry& registry);

  prometheus::Family<prometheus::Counter>& handled;
  prometheus::Family<prometheus::Histogram>& handling_seconds;
};

// An interceptor factory for grpc::ServerBuilder::experimental().SetInterceptorCreators. The
// metrics must outlive the server.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> MakeRpcMetricsInterceptor(
    RpcMetrics& metrics);

// The canonical upper-case name of a gRPC status code ("OK", "INVALID_ARGUMENT"...).
const char* StatusCodeName(grpc::StatusCode code);

}  // namespace grid::telemetry
