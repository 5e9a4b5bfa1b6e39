// The gRPC face of intake.
#pragma once

#include "grid/v1/intake.grpc.pb.h"
#include "services/intake/intake.h"

namespace grid::intake {

// An offline upload holds at most this many reports.
inline constexpr int kMaxUploadBatch = 1000;

class IntakeServiceImpl final : public v1::IntakeService::CallbackService {
 public:
  // `intake` must outlive the service.
  explicit IntakeServiceImpl(Intake& intake) : intake_(intake) {}

  grpc::ServerUnaryReactor* ReportEvent(grpc::CallbackServerContext* context,
                                        const v1::ReportEventRequest* request,
                                        v1::ReportEventResponse* response) override;
  // Reads the whole batch, then files the reports one after another in upload order (so that a
  // later report of the batch can be merged into an earlier one), answering per item.
  grpc::ServerReadReactor<v1::UploadReportsRequest>* UploadReports(
      grpc::CallbackServerContext* context, v1::UploadReportsResponse* response) override;
  // Files every item at once, each as ReportEvent does; finishes when the last is filed.
  grpc::ServerUnaryReactor* FileReports(grpc::CallbackServerContext* context,
                                        const v1::FileReportsRequest* request,
                                        v1::FileReportsResponse* response) override;

 private:
  Intake& intake_;
};

}  // namespace grid::intake
