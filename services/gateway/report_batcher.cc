#include "services/gateway/report_batcher.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace grid::gateway {

struct ReportBatcher::Batch {
  grpc::ClientContext context;
  v1::FileReportsRequest request;
  v1::FileReportsResponse response;
  std::vector<Waiting> members;
};

ReportBatcher::ReportBatcher(v1::IntakeService::StubInterface& intake, Options options)
    : intake_(intake), options_(options) {
  if (options_.registry != nullptr) {
    auto& forwarded = prometheus::BuildCounter()
                          .Name("grid_gateway_reports_forwarded_total")
                          .Help(
                              "Reports forwarded to intake, alone (ReportEvent) or batched "
                              "(FileReports, under load)")
                          .Register(*options_.registry);
    forwarded_alone_ = &forwarded.Add({{"how", "alone"}});
    forwarded_batched_ = &forwarded.Add({{"how", "batched"}});
    batches_ = &prometheus::BuildCounter()
                    .Name("grid_gateway_report_batches_total")
                    .Help("FileReports calls made to intake")
                    .Register(*options_.registry)
                    .Add({});
  }
}

ReportBatcher::Counts ReportBatcher::counts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counts_;
}

void ReportBatcher::File(grpc::CallbackServerContext& caller,
                         std::shared_ptr<v1::ReportEventRequest> request,
                         v1::ReportEventResponse* response, Done done) {
  const auto deadline =
      std::min(caller.deadline(), std::chrono::system_clock::now() + options_.default_deadline);
  {
    std::lock_guard<std::mutex> lock(mu_);
    const bool batching =
        options_.calls_before_batching > 0 && !batches_unsupported_.load(std::memory_order_relaxed);
    if (batching && in_flight_ >= options_.calls_before_batching) {
      waiting_.push_back(Waiting{std::move(request), response, std::move(done), deadline});
      return;
    }
    ++in_flight_;
    ++counts_.alone;
  }
  if (forwarded_alone_ != nullptr) {
    forwarded_alone_->Increment();
  }
  // Propagates the caller's deadline and cancellation; the earlier of it and ours applies.
  std::unique_ptr<grpc::ClientContext> context =
      grpc::ClientContext::FromCallbackServerContext(caller);
  context->set_deadline(deadline);
  SendAlone(std::move(context), std::move(request), response, std::move(done), true);
}

void ReportBatcher::SendAlone(std::unique_ptr<grpc::ClientContext> context,
                              std::shared_ptr<v1::ReportEventRequest> request,
                              v1::ReportEventResponse* response, Done done, bool holds_slot) {
  grpc::ClientContext* raw = context.release();
  const v1::ReportEventRequest* sent = request.get();
  intake_.async()->ReportEvent(raw, sent, response,
                               [this, raw, request = std::move(request), done = std::move(done),
                                holds_slot](grpc::Status status) {
                                 delete raw;
                                 done(status);
                                 if (holds_slot) {
                                   SlotFreed();
                                 }
                               });
}

void ReportBatcher::SlotFreed() {
  std::vector<Waiting> members;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (waiting_.empty()) {
      --in_flight_;
      return;
    }
    // The slot passes to the batch.
    const size_t n =
        std::min(waiting_.size(), static_cast<size_t>(std::max(options_.max_batch, 1)));
    members.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      members.push_back(std::move(waiting_.front()));
      waiting_.pop_front();
    }
    counts_.batched += static_cast<long long>(n);
    ++counts_.batches;
  }
  if (batches_ != nullptr) {
    forwarded_batched_->Increment(static_cast<double>(members.size()));
    batches_->Increment();
  }
  SendBatch(std::move(members));
}

void ReportBatcher::SendBatch(std::vector<Waiting> members) {
  auto batch = std::make_shared<Batch>();
  auto deadline = std::chrono::system_clock::time_point::min();
  for (Waiting& member : members) {
    deadline = std::max(deadline, member.deadline);
    // The request is ours (a copy made for forwarding): its contents move into the batch.
    batch->request.add_items()->Swap(member.request.get());
  }
  batch->members = std::move(members);
  batch->context.set_deadline(deadline);
  intake_.async()->FileReports(&batch->context, &batch->request, &batch->response,
                               [this, batch](grpc::Status status) {
                                 Answer(*batch, status);
                                 SlotFreed();
                               });
}

void ReportBatcher::Answer(Batch& batch, const grpc::Status& status) {
  std::vector<Waiting>& members = batch.members;
  if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
    // An intake without FileReports: every report again on its own, and no more batches.
    batches_unsupported_.store(true, std::memory_order_relaxed);
    for (size_t i = 0; i < members.size(); ++i) {
      members[i].request->Swap(batch.request.mutable_items(static_cast<int>(i)));
      auto context = std::make_unique<grpc::ClientContext>();
      context->set_deadline(members[i].deadline);
      SendAlone(std::move(context), std::move(members[i].request), members[i].response,
                std::move(members[i].done), false);
    }
    return;
  }
  if (!status.ok()) {
    for (Waiting& member : members) {
      member.done(status);
    }
    return;
  }
  if (batch.response.results_size() != static_cast<int>(members.size())) {
    const grpc::Status wrong(grpc::StatusCode::INTERNAL,
                             absl::StrCat("intake answered ", batch.response.results_size(),
                                          " results for ", members.size(), " reports"));
    for (Waiting& member : members) {
      member.done(wrong);
    }
    return;
  }
  for (size_t i = 0; i < members.size(); ++i) {
    v1::FiledReport* result = batch.response.mutable_results(static_cast<int>(i));
    if (result->code() == 0) {
      members[i].response->Swap(result->mutable_response());
    }
    const int code = result->code();
    members[i].done(grpc::Status(code >= 0 && code <= grpc::StatusCode::UNAUTHENTICATED
                                     ? static_cast<grpc::StatusCode>(code)
                                     : grpc::StatusCode::UNKNOWN,
                                 result->message()));
  }
}

}  // namespace grid::gateway
