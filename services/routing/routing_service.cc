#include "services/routing/routing_service.h"

#include "absl/strings/str_cat.h"
#include "common/input/text.h"
#include "common/lifecycle/moves.h"
#include "common/lifecycle/state_machine.h"
#include "common/policy/deadlines.h"
#include "common/server/host.h"

namespace grid::routing {

RoutingServiceImpl::RoutingServiceImpl(store::EventStore& store, EventQueries& queries,
                                       const topology::Topology& topology,
                                       const policy::Policy& policy, const Clock& clock)
    : store_(store),
      queries_(queries),
      topology_(topology),
      policy_(policy),
      clock_(clock),
      runner_(store, clock, policy.calendar()) {}

template <class Request, class Response, class Decide>
grpc::ServerUnaryReactor* RoutingServiceImpl::Move(grpc::CallbackServerContext* context,
                                                   const Request* request, Response* response,
                                                   Decide decide) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  runner_.Run(
      request->event_id(), request->expected_version(),
      [this, request, decide](const v1::Event& event, Millis now) -> absl::StatusOr<store::Move> {
        if (auto held = lifecycle::CheckHandlerHoldsEvent(request->actor(), event); !held.ok()) {
          return held;
        }
        const lifecycle::Context move_context{
            topology_, policy_.ForUnit(topology_, event.grid_id()), now, request->actor()};
        return decide(event, move_context);
      },
      [reactor, response](absl::StatusOr<v1::Event> event) {
        if (event.ok()) {
          *response->mutable_event() = *std::move(event);
        }
        reactor->Finish(server::ToGrpc(event.status()));
      });
  return reactor;
}

grpc::ServerUnaryReactor* RoutingServiceImpl::AcceptEvent(grpc::CallbackServerContext* context,
                                                          const v1::AcceptEventRequest* request,
                                                          v1::AcceptEventResponse* response) {
  return Move(context, request, response, [](const v1::Event& event, const lifecycle::Context& c) {
    return lifecycle::Accept(event, c);
  });
}

grpc::ServerUnaryReactor* RoutingServiceImpl::ResolveEvent(grpc::CallbackServerContext* context,
                                                           const v1::ResolveEventRequest* request,
                                                           v1::ResolveEventResponse* response) {
  return Move(
      context, request, response, [request](const v1::Event& event, const lifecycle::Context& c) {
        const std::vector<std::string> media(request->media().begin(), request->media().end());
        return lifecycle::Resolve(event, c, request->note(), media);
      });
}

grpc::ServerUnaryReactor* RoutingServiceImpl::VerifyEvent(grpc::CallbackServerContext* context,
                                                          const v1::VerifyEventRequest* request,
                                                          v1::VerifyEventResponse* response) {
  return Move(context, request, response,
              [request](const v1::Event& event, const lifecycle::Context& c) {
                return lifecycle::Verify(event, c, request->passed(), request->note());
              });
}

grpc::ServerUnaryReactor* RoutingServiceImpl::ReturnEvent(grpc::CallbackServerContext* context,
                                                          const v1::ReturnEventRequest* request,
                                                          v1::ReturnEventResponse* response) {
  return Move(context, request, response,
              [request](const v1::Event& event, const lifecycle::Context& c) {
                return lifecycle::Return(event, c, request->reason());
              });
}

grpc::ServerUnaryReactor* RoutingServiceImpl::SuspendEvent(grpc::CallbackServerContext* context,
                                                           const v1::SuspendEventRequest* request,
                                                           v1::SuspendEventResponse* response) {
  return Move(context, request, response,
              [request](const v1::Event& event, const lifecycle::Context& c) {
                return lifecycle::Suspend(event, c, request->reason(), request->approver_unit_id());
              });
}

grpc::ServerUnaryReactor* RoutingServiceImpl::ResumeEvent(grpc::CallbackServerContext* context,
                                                          const v1::ResumeEventRequest* request,
                                                          v1::ResumeEventResponse* response) {
  return Move(context, request, response, [](const v1::Event& event, const lifecycle::Context& c) {
    return lifecycle::Resume(event, c);
  });
}

grpc::ServerUnaryReactor* RoutingServiceImpl::CancelEvent(grpc::CallbackServerContext* context,
                                                          const v1::CancelEventRequest* request,
                                                          v1::CancelEventResponse* response) {
  return Move(context, request, response,
              [request](const v1::Event& event, const lifecycle::Context& c) {
                return lifecycle::Cancel(event, c, request->reason());
              });
}

grpc::ServerUnaryReactor* RoutingServiceImpl::VoidEvent(grpc::CallbackServerContext* context,
                                                        const v1::VoidEventRequest* request,
                                                        v1::VoidEventResponse* response) {
  return Move(context, request, response,
              [request](const v1::Event& event, const lifecycle::Context& c) {
                return lifecycle::Void(event, c, request->reason());
              });
}

grpc::ServerUnaryReactor* RoutingServiceImpl::ReassignEvent(grpc::CallbackServerContext* context,
                                                            const v1::ReassignEventRequest* request,
                                                            v1::ReassignEventResponse* response) {
  return Move(context, request, response,
              [request](const v1::Event& event, const lifecycle::Context& c) {
                return lifecycle::Reassign(event, c, request->unit_id(), request->reason());
              });
}

grpc::ServerUnaryReactor* RoutingServiceImpl::GetEvent(grpc::CallbackServerContext* context,
                                                       const v1::GetEventRequest* request,
                                                       v1::GetEventResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (request->event_id().empty()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "event_id: required"));
    return reactor;
  }
  // Under the caller's deadline, not the Redis client's default timeout.
  store_.Get(
      request->event_id(), redis::DeadlineBefore(context->deadline()),
      [this, reactor, response,
       id = request->event_id()](absl::StatusOr<std::optional<v1::Event>> event) {
        if (!event.ok()) {
          reactor->Finish(server::ToGrpc(event.status()));
          return;
        }
        if (!event->has_value()) {
          reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND,
                                       absl::StrCat("event ", input::Quote(id), " not found")));
          return;
        }
        v1::Event& found = **event;
        // The stored light is the one at the last move; the caller wants it as of now.
        found.set_traffic_light(policy::TrafficLightAt(found.deadlines(), found.state(),
                                                       clock_.Now(), policy_.calendar()));
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
  store_.History(
      request->event_id(), redis::DeadlineBefore(context->deadline()),
      [reactor, response,
       id = request->event_id()](absl::StatusOr<std::vector<v1::EventChange>> changes) {
        if (!changes.ok()) {
          reactor->Finish(server::ToGrpc(changes.status()));
          return;
        }
        if (changes->empty()) {
          reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND,
                                       absl::StrCat("event ", input::Quote(id), " not found")));
          return;
        }
        for (auto& change : *changes) {
          *response->add_changes() = std::move(change);
        }
        reactor->Finish(grpc::Status::OK);
      });
  return reactor;
}

grpc::ServerUnaryReactor* RoutingServiceImpl::ListEvents(grpc::CallbackServerContext* context,
                                                         const v1::ListEventsRequest* request,
                                                         v1::ListEventsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  queries_.ListEvents(*request, [reactor, response](absl::StatusOr<v1::ListEventsResponse> page) {
    if (page.ok()) {
      *response = *std::move(page);
    }
    reactor->Finish(server::ToGrpc(page.status()));
  });
  return reactor;
}

grpc::ServerUnaryReactor* RoutingServiceImpl::ListUnitQueue(grpc::CallbackServerContext* context,
                                                            const v1::ListUnitQueueRequest* request,
                                                            v1::ListUnitQueueResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  queries_.ListUnitQueue(*request,
                         [reactor, response](absl::StatusOr<v1::ListUnitQueueResponse> page) {
                           if (page.ok()) {
                             *response = *std::move(page);
                           }
                           reactor->Finish(server::ToGrpc(page.status()));
                         });
  return reactor;
}

}  // namespace grid::routing
