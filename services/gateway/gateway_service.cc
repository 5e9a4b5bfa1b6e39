#include "services/gateway/gateway_service.h"

#include <grpcpp/grpcpp.h>

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace grid::gateway {
namespace {

using Intake = v1::IntakeService::StubInterface::async_interface;
using Routing = v1::RoutingService::StubInterface::async_interface;
using Escalation = v1::EscalationService::StubInterface::async_interface;
using Metrics = v1::MetricsService::StubInterface::async_interface;

// Streams the items of one upload to intake and hands intake's status to `done`. Deletes itself
// when the intake call is over, before calling `done`.
class IntakeUpload final : public grpc::ClientWriteReactor<v1::UploadReportsRequest> {
 public:
  IntakeUpload(std::unique_ptr<grpc::ClientContext> context,
               std::vector<v1::UploadReportsRequest> items,
               std::function<void(const grpc::Status&)> done)
      : context_(std::move(context)), items_(std::move(items)), done_(std::move(done)) {}

  // Intake's answer lands in `response`, which must outlive the call.
  void Start(Intake* intake, v1::UploadReportsResponse* response) {
    intake->UploadReports(context_.get(), response, this);
    NextWrite();
    StartCall();
  }

  void OnWriteDone(bool ok) override {
    // A failed write means the call is over; OnDone brings its status.
    if (ok) {
      NextWrite();
    }
  }

  void OnDone(const grpc::Status& status) override {
    std::function<void(const grpc::Status&)> done = std::move(done_);
    delete this;
    done(status);
  }

 private:
  void NextWrite() {
    if (next_ == items_.size()) {
      StartWritesDone();
      return;
    }
    StartWrite(&items_[next_++]);
  }

  std::unique_ptr<grpc::ClientContext> context_;
  std::vector<v1::UploadReportsRequest> items_;
  std::size_t next_ = 0;
  std::function<void(const grpc::Status&)> done_;
};

// The gateway's side of UploadReports: reads the caller's whole stream, then forwards it to intake
// in one call (so that a batch over the limit reaches intake not at all), and finishes with
// intake's response and status. Deletes itself in OnDone.
class UploadForward final : public grpc::ServerReadReactor<v1::UploadReportsRequest> {
 public:
  UploadForward(grpc::CallbackServerContext* context, v1::UploadReportsResponse* response,
                Intake* intake, std::chrono::milliseconds default_deadline)
      : context_(context),
        response_(response),
        intake_(intake),
        default_deadline_(default_deadline) {
    StartRead(&item_);
  }

  void OnReadDone(bool ok) override {
    if (ok) {
      if (items_.size() == kMaxUploadItems) {
        Finish(
            grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                         absl::StrCat("upload: at most ", kMaxUploadItems, " reports per batch")));
        return;
      }
      items_.push_back(std::move(item_));
      item_.Clear();
      StartRead(&item_);
      return;
    }
    // The caller half-closed, or went away.
    if (context_->IsCancelled()) {
      Finish(grpc::Status::CANCELLED);
      return;
    }
    // As in Forward: the caller's deadline and cancellation carry over to the intake call.
    std::unique_ptr<grpc::ClientContext> client =
        grpc::ClientContext::FromCallbackServerContext(*context_);
    client->set_deadline(std::chrono::system_clock::now() + default_deadline_);
    auto* upload = new IntakeUpload(std::move(client), std::move(items_),
                                    [this](const grpc::Status& status) { Finish(status); });
    upload->Start(intake_, response_);
  }

  void OnDone() override { delete this; }

 private:
  grpc::CallbackServerContext* context_;
  v1::UploadReportsResponse* response_;
  Intake* intake_;
  std::chrono::milliseconds default_deadline_;
  v1::UploadReportsRequest item_;
  std::vector<v1::UploadReportsRequest> items_;
};

}  // namespace

Backends ConnectBackends(const std::string& intake, const std::string& routing,
                         const std::string& escalation, const std::string& metrics) {
  auto channel = [](const std::string& address) {
    // Backends are near (loopback or a private network): after a restart, reconnect within a
    // second rather than gRPC's default back-off of up to two minutes.
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  };
  Backends backends;
  backends.intake = v1::IntakeService::NewStub(channel(intake));
  backends.routing = v1::RoutingService::NewStub(channel(routing));
  backends.escalation = v1::EscalationService::NewStub(channel(escalation));
  backends.metrics = v1::MetricsService::NewStub(channel(metrics));
  return backends;
}

GatewayServiceImpl::GatewayServiceImpl(Backends backends, const topology::Topology& topology,
                                       std::chrono::milliseconds default_deadline)
    : backends_(std::move(backends)), topology_(topology), default_deadline_(default_deadline) {}

template <class Async, class Request, class Response>
grpc::ServerUnaryReactor* GatewayServiceImpl::Forward(
    grpc::CallbackServerContext* context, std::type_identity_t<Async>* backend,
    void (Async::*method)(grpc::ClientContext*, const Request*, Response*,
                          std::function<void(grpc::Status)>),
    const Request* request, Response* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // Propagates the caller's deadline and cancellation to the internal call; the earlier of the
  // caller's deadline and ours applies.
  std::unique_ptr<grpc::ClientContext> client =
      grpc::ClientContext::FromCallbackServerContext(*context);
  client->set_deadline(std::chrono::system_clock::now() + default_deadline_);
  grpc::ClientContext* raw = client.release();
  (backend->*method)(raw, request, response, [reactor, raw](grpc::Status status) {
    delete raw;
    reactor->Finish(status);
  });
  return reactor;
}

grpc::ServerReadReactor<v1::UploadReportsRequest>* GatewayServiceImpl::UploadReports(
    grpc::CallbackServerContext* context, v1::UploadReportsResponse* response) {
  return new UploadForward(context, response, backends_.intake->async(), default_deadline_);
}

grpc::ServerUnaryReactor* GatewayServiceImpl::ReportEvent(grpc::CallbackServerContext* context,
                                                          const v1::ReportEventRequest* request,
                                                          v1::ReportEventResponse* response) {
  return Forward(context, backends_.intake->async(), &Intake::ReportEvent, request, response);
}

grpc::ServerUnaryReactor* GatewayServiceImpl::AcceptEvent(grpc::CallbackServerContext* context,
                                                          const v1::AcceptEventRequest* request,
                                                          v1::AcceptEventResponse* response) {
  return Forward(context, backends_.routing->async(), &Routing::AcceptEvent, request, response);
}

grpc::ServerUnaryReactor* GatewayServiceImpl::ResolveEvent(grpc::CallbackServerContext* context,
                                                           const v1::ResolveEventRequest* request,
                                                           v1::ResolveEventResponse* response) {
  return Forward(context, backends_.routing->async(), &Routing::ResolveEvent, request, response);
}

grpc::ServerUnaryReactor* GatewayServiceImpl::VerifyEvent(grpc::CallbackServerContext* context,
                                                          const v1::VerifyEventRequest* request,
                                                          v1::VerifyEventResponse* response) {
  return Forward(context, backends_.routing->async(), &Routing::VerifyEvent, request, response);
}

grpc::ServerUnaryReactor* GatewayServiceImpl::ReturnEvent(grpc::CallbackServerContext* context,
                                                          const v1::ReturnEventRequest* request,
                                                          v1::ReturnEventResponse* response) {
  return Forward(context, backends_.routing->async(), &Routing::ReturnEvent, request, response);
}

grpc::ServerUnaryReactor* GatewayServiceImpl::SuspendEvent(grpc::CallbackServerContext* context,
                                                           const v1::SuspendEventRequest* request,
                                                           v1::SuspendEventResponse* response) {
  return Forward(context, backends_.routing->async(), &Routing::SuspendEvent, request, response);
}

grpc::ServerUnaryReactor* GatewayServiceImpl::ResumeEvent(grpc::CallbackServerContext* context,
                                                          const v1::ResumeEventRequest* request,
                                                          v1::ResumeEventResponse* response) {
  return Forward(context, backends_.routing->async(), &Routing::ResumeEvent, request, response);
}

grpc::ServerUnaryReactor* GatewayServiceImpl::CancelEvent(grpc::CallbackServerContext* context,
                                                          const v1::CancelEventRequest* request,
                                                          v1::CancelEventResponse* response) {
  return Forward(context, backends_.routing->async(), &Routing::CancelEvent, request, response);
}

grpc::ServerUnaryReactor* GatewayServiceImpl::VoidEvent(grpc::CallbackServerContext* context,
                                                        const v1::VoidEventRequest* request,
                                                        v1::VoidEventResponse* response) {
  return Forward(context, backends_.routing->async(), &Routing::VoidEvent, request, response);
}

grpc::ServerUnaryReactor* GatewayServiceImpl::ReassignEvent(grpc::CallbackServerContext* context,
                                                            const v1::ReassignEventRequest* request,
                                                            v1::ReassignEventResponse* response) {
  return Forward(context, backends_.routing->async(), &Routing::ReassignEvent, request, response);
}

grpc::ServerUnaryReactor* GatewayServiceImpl::GetEvent(grpc::CallbackServerContext* context,
                                                       const v1::GetEventRequest* request,
                                                       v1::GetEventResponse* response) {
  return Forward(context, backends_.routing->async(), &Routing::GetEvent, request, response);
}

grpc::ServerUnaryReactor* GatewayServiceImpl::ListEvents(grpc::CallbackServerContext* context,
                                                         const v1::ListEventsRequest* request,
                                                         v1::ListEventsResponse* response) {
  return Forward(context, backends_.routing->async(), &Routing::ListEvents, request, response);
}

grpc::ServerUnaryReactor* GatewayServiceImpl::GetEventHistory(
    grpc::CallbackServerContext* context, const v1::GetEventHistoryRequest* request,
    v1::GetEventHistoryResponse* response) {
  return Forward(context, backends_.routing->async(), &Routing::GetEventHistory, request, response);
}

grpc::ServerUnaryReactor* GatewayServiceImpl::ListUnitQueue(grpc::CallbackServerContext* context,
                                                            const v1::ListUnitQueueRequest* request,
                                                            v1::ListUnitQueueResponse* response) {
  return Forward(context, backends_.routing->async(), &Routing::ListUnitQueue, request, response);
}

grpc::ServerUnaryReactor* GatewayServiceImpl::EscalateEvent(grpc::CallbackServerContext* context,
                                                            const v1::EscalateEventRequest* request,
                                                            v1::EscalateEventResponse* response) {
  return Forward(context, backends_.escalation->async(), &Escalation::EscalateEvent, request,
                 response);
}

grpc::ServerUnaryReactor* GatewayServiceImpl::SuperviseEvent(
    grpc::CallbackServerContext* context, const v1::SuperviseEventRequest* request,
    v1::SuperviseEventResponse* response) {
  return Forward(context, backends_.escalation->async(), &Escalation::SuperviseEvent, request,
                 response);
}

grpc::ServerUnaryReactor* GatewayServiceImpl::ListOverdueEvents(
    grpc::CallbackServerContext* context, const v1::ListOverdueEventsRequest* request,
    v1::ListOverdueEventsResponse* response) {
  return Forward(context, backends_.escalation->async(), &Escalation::ListOverdueEvents, request,
                 response);
}

grpc::ServerUnaryReactor* GatewayServiceImpl::GetStats(grpc::CallbackServerContext* context,
                                                       const v1::GetStatsRequest* request,
                                                       v1::GetStatsResponse* response) {
  return Forward(context, backends_.metrics->async(), &Metrics::GetStats, request, response);
}

grpc::ServerUnaryReactor* GatewayServiceImpl::GetTopology(grpc::CallbackServerContext* context,
                                                          const v1::GetTopologyRequest* request,
                                                          v1::GetTopologyResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const std::string& root = request->unit_id();
  if (!root.empty() && topology_.Find(root) == nullptr) {
    reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND,
                                 absl::StrCat("unit_id: unknown unit \"", root, "\"")));
    return reactor;
  }
  for (const v1::LevelCount& count : topology_.CountLevels(root)) {
    *response->add_level_counts() = count;
  }
  response->set_worker_count(topology_.CountWorkers(root));
  response->set_version(topology_.data().version());
  if (request->include_units()) {
    const std::string& scope = root.empty() ? topology_.district_id() : root;
    for (const v1::Unit& unit : topology_.data().units()) {
      if (topology_.InSubtree(unit.id(), scope)) {
        *response->add_units() = unit;
      }
    }
    for (const v1::Worker& worker : topology_.data().workers()) {
      if (topology_.InSubtree(worker.grid_id(), scope)) {
        *response->add_workers() = worker;
      }
    }
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace grid::gateway
