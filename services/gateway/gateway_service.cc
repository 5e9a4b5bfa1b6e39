#include "services/gateway/gateway_service.h"

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"

namespace grid::gateway {

Backends ConnectBackends(const std::string& intake, const std::string& routing,
                         const std::string& escalation, const std::string& metrics) {
  auto channel = [](const std::string& address) {
    // Backends are near (loopback or a private network): after a restart, reconnect within a
    // second rather than gRPC's default back-off of up to two minutes.
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  };
  Backends backends;
  backends.intake = v1::IntakeService::NewStub(channel(intake));
  backends.routing = v1::RoutingService::NewStub(channel(routing));
  backends.escalation = v1::EscalationService::NewStub(channel(escalation));
  backends.metrics = v1::MetricsService::NewStub(channel(metrics));
  return backends;
}

GatewayServiceImpl::GatewayServiceImpl(Backends backends, const topology::Topology& topology,
                                       std::chrono::milliseconds default_deadline)
    : backends_(std::move(backends)), topology_(topology), default_deadline_(default_deadline) {}

template <class Call>
grpc::ServerUnaryReactor* GatewayServiceImpl::Forward(grpc::CallbackServerContext* context,
                                                      Call call) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // Propagates the caller's deadline and cancellation to the internal call; the earlier of the
  // caller's deadline and ours applies.
  std::unique_ptr<grpc::ClientContext> client =
      grpc::ClientContext::FromCallbackServerContext(*context);
  client->set_deadline(std::chrono::system_clock::now() + default_deadline_);
  grpc::ClientContext* raw = client.release();
  call(raw, [reactor, raw](grpc::Status status) {
    delete raw;
    reactor->Finish(status);
  });
  return reactor;
}

grpc::ServerUnaryReactor* GatewayServiceImpl::ReportEvent(grpc::CallbackServerContext* context,
                                                          const v1::ReportEventRequest* request,
                                                          v1::ReportEventResponse* response) {
  return Forward(context, [&](grpc::ClientContext* client, auto done) {
    backends_.intake->async()->ReportEvent(client, request, response, std::move(done));
  });
}

grpc::ServerUnaryReactor* GatewayServiceImpl::GetEvent(grpc::CallbackServerContext* context,
                                                       const v1::GetEventRequest* request,
                                                       v1::GetEventResponse* response) {
  return Forward(context, [&](grpc::ClientContext* client, auto done) {
    backends_.routing->async()->GetEvent(client, request, response, std::move(done));
  });
}

grpc::ServerUnaryReactor* GatewayServiceImpl::GetEventHistory(
    grpc::CallbackServerContext* context, const v1::GetEventHistoryRequest* request,
    v1::GetEventHistoryResponse* response) {
  return Forward(context, [&](grpc::ClientContext* client, auto done) {
    backends_.routing->async()->GetEventHistory(client, request, response, std::move(done));
  });
}

grpc::ServerUnaryReactor* GatewayServiceImpl::GetTopology(grpc::CallbackServerContext* context,
                                                          const v1::GetTopologyRequest* request,
                                                          v1::GetTopologyResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const std::string& root = request->unit_id();
  if (!root.empty() && topology_.Find(root) == nullptr) {
    reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND,
                                 absl::StrCat("unit_id: unknown unit \"", root, "\"")));
    return reactor;
  }
  for (const v1::LevelCount& count : topology_.CountLevels(root)) {
    *response->add_level_counts() = count;
  }
  response->set_worker_count(topology_.CountWorkers(root));
  response->set_version(topology_.data().version());
  if (request->include_units()) {
    const std::string& scope = root.empty() ? topology_.district_id() : root;
    for (const v1::Unit& unit : topology_.data().units()) {
      if (topology_.InSubtree(unit.id(), scope)) {
        *response->add_units() = unit;
      }
    }
    for (const v1::Worker& worker : topology_.data().workers()) {
      if (topology_.InSubtree(worker.grid_id(), scope)) {
        *response->add_workers() = worker;
      }
    }
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace grid::gateway
