#include "services/routing/routing_service.h"

#include "absl/strings/str_cat.h"
#include "common/policy/deadlines.h"
#include "common/server/host.h"

namespace grid::routing {

grpc::ServerUnaryReactor* RoutingServiceImpl::GetEvent(grpc::CallbackServerContext* context,
                                                       const v1::GetEventRequest* request,
                                                       v1::GetEventResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (request->event_id().empty()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "event_id: required"));
    return reactor;
  }
  store_.Get(request->event_id(), [this, reactor, response, id = request->event_id()](
                                      absl::StatusOr<std::optional<v1::Event>> event) {
    if (!event.ok()) {
      reactor->Finish(server::ToGrpc(event.status()));
      return;
    }
    if (!event->has_value()) {
      reactor->Finish(
          grpc::Status(grpc::StatusCode::NOT_FOUND, absl::StrCat("event \"", id, "\" not found")));
      return;
    }
    v1::Event& found = **event;
    // The stored light is the one at the last move; the caller wants it as of now.
    found.set_traffic_light(policy::TrafficLightAt(found.deadlines(), found.state(), clock_.Now()));
    *response->mutable_event() = std::move(found);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* RoutingServiceImpl::GetEventHistory(
    grpc::CallbackServerContext* context, const v1::GetEventHistoryRequest* request,
    v1::GetEventHistoryResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (request->event_id().empty()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "event_id: required"));
    return reactor;
  }
  store_.History(request->event_id(), [reactor, response, id = request->event_id()](
                                          absl::StatusOr<std::vector<v1::EventChange>> changes) {
    if (!changes.ok()) {
      reactor->Finish(server::ToGrpc(changes.status()));
      return;
    }
    if (changes->empty()) {
      reactor->Finish(
          grpc::Status(grpc::StatusCode::NOT_FOUND, absl::StrCat("event \"", id, "\" not found")));
      return;
    }
    for (auto& change : *changes) {
      *response->add_changes() = std::move(change);
    }
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

}  // namespace grid::routing
