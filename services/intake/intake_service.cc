#include "services/intake/intake_service.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/server/host.h"

namespace grid::intake {
namespace {

// Reads the upload, then files item after item; finishes once the last one is filed. Reads run
// on gRPC's threads, filing callbacks on the Redis thread: they never overlap (filing starts
// after the last read), so the state needs no lock.
class UploadReactor final : public grpc::ServerReadReactor<v1::UploadReportsRequest> {
 public:
  UploadReactor(Intake& intake, redis::Deadline deadline, v1::UploadReportsResponse* response)
      : intake_(intake), deadline_(deadline), response_(response) {
    StartRead(&item_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // The client half-closed: the batch is complete.
      FileNext();
      return;
    }
    if (static_cast<int>(items_.size()) == kMaxUploadBatch) {
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          absl::StrCat("upload: at most ", kMaxUploadBatch,
                                       " reports per batch; nothing was filed")));
      return;
    }
    items_.push_back(std::move(item_));
    item_.Clear();
    StartRead(&item_);
  }

  void OnDone() override { delete this; }

 private:
  void FileNext() {
    if (next_ == items_.size()) {
      Finish(grpc::Status::OK);
      return;
    }
    const size_t index = next_++;
    const v1::UploadReportsRequest& item = items_[index];
    intake_.Report(item.report(), item.actor(), deadline_,
                   [this, index](absl::StatusOr<v1::ReportEventResponse> filed) {
                     v1::UploadResult* result = response_->add_results();
                     result->set_index(static_cast<int32_t>(index));
                     result->set_client_request_id(items_[index].report().client_request_id());
                     if (filed.ok()) {
                       result->set_event_id(filed->event_id());
                       result->set_replayed(filed->replayed());
                     } else {
                       result->mutable_error()->set_code(static_cast<int>(filed.status().code()));
                       result->mutable_error()->set_message(std::string(filed.status().message()));
                       const std::string message(filed.status().message());
                       result->mutable_error()->set_field(message.substr(0, message.find(':')));
                     }
                     FileNext();
                   });
  }

  Intake& intake_;
  // The caller's, for the Redis work of every item.
  redis::Deadline deadline_;
  v1::UploadReportsResponse* response_;
  v1::UploadReportsRequest item_;
  std::vector<v1::UploadReportsRequest> items_;
  size_t next_ = 0;
};

}  // namespace

grpc::ServerUnaryReactor* IntakeServiceImpl::ReportEvent(grpc::CallbackServerContext* context,
                                                         const v1::ReportEventRequest* request,
                                                         v1::ReportEventResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // The Redis work runs on the Asio thread, under the caller's deadline; the reactor finishes
  // from its callback.
  intake_.Report(request->report(), request->actor(), redis::DeadlineBefore(context->deadline()),
                 [reactor, response](absl::StatusOr<v1::ReportEventResponse> result) {
                   if (result.ok()) {
                     *response = std::move(*result);
                   }
                   reactor->Finish(server::ToGrpc(result.status()));
                 });
  return reactor;
}

grpc::ServerReadReactor<v1::UploadReportsRequest>* IntakeServiceImpl::UploadReports(
    grpc::CallbackServerContext* context, v1::UploadReportsResponse* response) {
  return new UploadReactor(intake_, redis::DeadlineBefore(context->deadline()), response);
}

grpc::ServerUnaryReactor* IntakeServiceImpl::FileReports(grpc::CallbackServerContext* context,
                                                         const v1::FileReportsRequest* request,
                                                         v1::FileReportsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const int items = request->items_size();
  if (items > kMaxUploadBatch) {
    reactor->Finish(grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        absl::StrCat("items: at most ", kMaxUploadBatch, " reports per call; nothing was filed")));
    return reactor;
  }
  if (items == 0) {
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  for (int i = 0; i < items; ++i) {
    response->add_results();
  }
  // Callbacks come on the Redis thread, one at a time; the count needs no lock but is shared
  // with the calls still being made here, hence atomic.
  auto left = std::make_shared<std::atomic<int>>(items);
  const redis::Deadline deadline = redis::DeadlineBefore(context->deadline());
  for (int i = 0; i < items; ++i) {
    const v1::ReportEventRequest& item = request->items(i);
    v1::FiledReport* result = response->mutable_results(i);
    intake_.Report(item.report(), item.actor(), deadline,
                   [reactor, result, left](absl::StatusOr<v1::ReportEventResponse> filed) {
                     const grpc::Status status = server::ToGrpc(filed.status());
                     result->set_code(static_cast<int>(status.error_code()));
                     result->set_message(status.error_message());
                     if (filed.ok()) {
                       *result->mutable_response() = std::move(*filed);
                     }
                     if (left->fetch_sub(1) == 1) {
                       reactor->Finish(grpc::Status::OK);
                     }
                   });
  }
  return reactor;
}

}  // namespace grid::intake
