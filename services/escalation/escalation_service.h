// The gRPC face of escalation: manual escalation (上报), supervision (督办), overdue lists.
#pragma once

#include "common/clock/clock.h"
#include "common/lifecycle/runner.h"
#include "common/policy/policy.h"
#include "common/redis/client.h"
#include "common/store/event_store.h"
#include "common/topology/topology.h"
#include "grid/v1/escalation.grpc.pb.h"

namespace grid::escalation {

class EscalationServiceImpl final : public v1::EscalationService::CallbackService {
 public:
  // Borrows everything; all must outlive the service.
  EscalationServiceImpl(redis::Client& redis, store::EventStore& store,
                        const topology::Topology& topology, const policy::Policy& policy,
                        const Clock& clock);

  grpc::ServerUnaryReactor* EscalateEvent(grpc::CallbackServerContext* context,
                                          const v1::EscalateEventRequest* request,
                                          v1::EscalateEventResponse* response) override;
  grpc::ServerUnaryReactor* SuperviseEvent(grpc::CallbackServerContext* context,
                                           const v1::SuperviseEventRequest* request,
                                           v1::SuperviseEventResponse* response) override;
  // Events past their running limit in the subtree: those overdue at DISTRICT level and those
  // whose limit passed a moment ago and are about to move up. Most overdue first.
  grpc::ServerUnaryReactor* ListOverdueEvents(grpc::CallbackServerContext* context,
                                              const v1::ListOverdueEventsRequest* request,
                                              v1::ListOverdueEventsResponse* response) override;

 private:
  redis::Client& redis_;
  store::EventStore& store_;
  const topology::Topology& topology_;
  const policy::Policy& policy_;
  const Clock& clock_;
  lifecycle::MoveRunner runner_;
};

}  // namespace grid::escalation
