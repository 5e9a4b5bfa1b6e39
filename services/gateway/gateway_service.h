// The public API: forwards each call to the internal service that owns it, carrying the
// caller's deadline and cancellation, and answers topology questions itself.
#pragma once

#include <chrono>
#include <memory>

#include "common/topology/topology.h"
#include "grid/v1/escalation.grpc.pb.h"
#include "grid/v1/gateway.grpc.pb.h"
#include "grid/v1/intake.grpc.pb.h"
#include "grid/v1/metrics.grpc.pb.h"
#include "grid/v1/routing.grpc.pb.h"

namespace grid::gateway {

// Stubs of the internal services.
struct Backends {
  std::unique_ptr<v1::IntakeService::Stub> intake;
  std::unique_ptr<v1::RoutingService::Stub> routing;
  std::unique_ptr<v1::EscalationService::Stub> escalation;
  std::unique_ptr<v1::MetricsService::Stub> metrics;
};

// Channels to the internal services at the given addresses (plaintext; they listen on loopback
// or a private network).
Backends ConnectBackends(const std::string& intake, const std::string& routing,
                         const std::string& escalation, const std::string& metrics);

class GatewayServiceImpl final : public v1::GatewayService::CallbackService {
 public:
  // A call whose caller set no deadline gets `default_deadline` on its internal call, so that
  // nothing waits forever on a stuck backend. Borrows the topology.
  GatewayServiceImpl(Backends backends, const topology::Topology& topology,
                     std::chrono::milliseconds default_deadline);

  grpc::ServerUnaryReactor* ReportEvent(grpc::CallbackServerContext* context,
                                        const v1::ReportEventRequest* request,
                                        v1::ReportEventResponse* response) override;
  grpc::ServerUnaryReactor* GetEvent(grpc::CallbackServerContext* context,
                                     const v1::GetEventRequest* request,
                                     v1::GetEventResponse* response) override;
  grpc::ServerUnaryReactor* GetEventHistory(grpc::CallbackServerContext* context,
                                            const v1::GetEventHistoryRequest* request,
                                            v1::GetEventHistoryResponse* response) override;
  grpc::ServerUnaryReactor* GetTopology(grpc::CallbackServerContext* context,
                                        const v1::GetTopologyRequest* request,
                                        v1::GetTopologyResponse* response) override;

 private:
  // Runs `call(client_context, done)` against a backend and finishes the reactor with its status.
  template <class Call>
  grpc::ServerUnaryReactor* Forward(grpc::CallbackServerContext* context, Call call);

  Backends backends_;
  const topology::Topology& topology_;
  std::chrono::milliseconds default_deadline_;
};

}  // namespace grid::gateway
