#include "services/intake/intake_service.h"

#include "common/server/host.h"

namespace grid::intake {

grpc::ServerUnaryReactor* IntakeServiceImpl::ReportEvent(grpc::CallbackServerContext* context,
                                                         const v1::ReportEventRequest* request,
                                                         v1::ReportEventResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // The Redis work runs on the Asio thread; the reactor finishes from its callback.
  intake_.Report(request->report(),
                 [reactor, response](absl::StatusOr<v1::ReportEventResponse> result) {
                   if (result.ok()) {
                     *response = std::move(*result);
                   }
                   reactor->Finish(server::ToGrpc(result.status()));
                 });
  return reactor;
}

}  // namespace grid::intake
