// The gRPC face of routing: reads of events (lifecycle moves arrive with the closed loop).
#pragma once

#include "common/clock/clock.h"
#include "common/store/event_store.h"
#include "grid/v1/routing.grpc.pb.h"

namespace grid::routing {

class RoutingServiceImpl final : public v1::RoutingService::CallbackService {
 public:
  // Borrows both; they must outlive the service.
  RoutingServiceImpl(store::EventStore& store, const Clock& clock) : store_(store), clock_(clock) {}

  grpc::ServerUnaryReactor* GetEvent(grpc::CallbackServerContext* context,
                                     const v1::GetEventRequest* request,
                                     v1::GetEventResponse* response) override;
  grpc::ServerUnaryReactor* GetEventHistory(grpc::CallbackServerContext* context,
                                            const v1::GetEventHistoryRequest* request,
                                            v1::GetEventHistoryResponse* response) override;

 private:
  store::EventStore& store_;
  const Clock& clock_;
};

}  // namespace grid::routing
