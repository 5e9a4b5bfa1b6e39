// The gRPC face of routing: the lifecycle moves of the closed loop and the reads of events.
#pragma once

#include "common/clock/clock.h"
#include "common/lifecycle/runner.h"
#include "common/policy/policy.h"
#include "common/store/event_store.h"
#include "common/topology/topology.h"
#include "grid/v1/routing.grpc.pb.h"
#include "services/routing/queries.h"

namespace grid::routing {

class RoutingServiceImpl final : public v1::RoutingService::CallbackService {
 public:
  // Borrows everything; all must outlive the service.
  RoutingServiceImpl(store::EventStore& store, EventQueries& queries,
                     const topology::Topology& topology, const policy::Policy& policy,
                     const Clock& clock);

  grpc::ServerUnaryReactor* AcceptEvent(grpc::CallbackServerContext* context,
                                        const v1::AcceptEventRequest* request,
                                        v1::AcceptEventResponse* response) override;
  grpc::ServerUnaryReactor* ResolveEvent(grpc::CallbackServerContext* context,
                                         const v1::ResolveEventRequest* request,
                                         v1::ResolveEventResponse* response) override;
  grpc::ServerUnaryReactor* VerifyEvent(grpc::CallbackServerContext* context,
                                        const v1::VerifyEventRequest* request,
                                        v1::VerifyEventResponse* response) override;
  grpc::ServerUnaryReactor* ReturnEvent(grpc::CallbackServerContext* context,
                                        const v1::ReturnEventRequest* request,
                                        v1::ReturnEventResponse* response) override;
  grpc::ServerUnaryReactor* SuspendEvent(grpc::CallbackServerContext* context,
                                         const v1::SuspendEventRequest* request,
                                         v1::SuspendEventResponse* response) override;
  grpc::ServerUnaryReactor* ResumeEvent(grpc::CallbackServerContext* context,
                                        const v1::ResumeEventRequest* request,
                                        v1::ResumeEventResponse* response) override;
  grpc::ServerUnaryReactor* CancelEvent(grpc::CallbackServerContext* context,
                                        const v1::CancelEventRequest* request,
                                        v1::CancelEventResponse* response) override;
  grpc::ServerUnaryReactor* VoidEvent(grpc::CallbackServerContext* context,
                                      const v1::VoidEventRequest* request,
                                      v1::VoidEventResponse* response) override;
  grpc::ServerUnaryReactor* ReassignEvent(grpc::CallbackServerContext* context,
                                          const v1::ReassignEventRequest* request,
                                          v1::ReassignEventResponse* response) override;
  grpc::ServerUnaryReactor* GetEvent(grpc::CallbackServerContext* context,
                                     const v1::GetEventRequest* request,
                                     v1::GetEventResponse* response) override;
  grpc::ServerUnaryReactor* GetEventHistory(grpc::CallbackServerContext* context,
                                            const v1::GetEventHistoryRequest* request,
                                            v1::GetEventHistoryResponse* response) override;
  grpc::ServerUnaryReactor* ListEvents(grpc::CallbackServerContext* context,
                                       const v1::ListEventsRequest* request,
                                       v1::ListEventsResponse* response) override;
  grpc::ServerUnaryReactor* ListUnitQueue(grpc::CallbackServerContext* context,
                                          const v1::ListUnitQueueRequest* request,
                                          v1::ListUnitQueueResponse* response) override;

 private:
  // Runs a move decided by `decide` and finishes the reactor with the event after it.
  template <class Request, class Response, class Decide>
  grpc::ServerUnaryReactor* Move(grpc::CallbackServerContext* context, const Request* request,
                                 Response* response, Decide decide);

  store::EventStore& store_;
  EventQueries& queries_;
  const topology::Topology& topology_;
  const policy::Policy& policy_;
  const Clock& clock_;
  lifecycle::MoveRunner runner_;
};

}  // namespace grid::routing
