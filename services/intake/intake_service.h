// The gRPC face of intake.
#pragma once

#include "grid/v1/intake.grpc.pb.h"
#include "services/intake/intake.h"

namespace grid::intake {

class IntakeServiceImpl final : public v1::IntakeService::CallbackService {
 public:
  // `intake` must outlive the service.
  explicit IntakeServiceImpl(Intake& intake) : intake_(intake) {}

  grpc::ServerUnaryReactor* ReportEvent(grpc::CallbackServerContext* context,
                                        const v1::ReportEventRequest* request,
                                        v1::ReportEventResponse* response) override;

 private:
  Intake& intake_;
};

}  // namespace grid::intake
