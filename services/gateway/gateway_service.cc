#include "services/gateway/gateway_service.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <regex>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/input/text.h"
#include "common/redis/reply.h"
#include "services/gateway/watch_events.h"

namespace grid::gateway {
namespace {

using Intake = v1::IntakeService::StubInterface::async_interface;
using Routing = v1::RoutingService::StubInterface::async_interface;
using Escalation = v1::EscalationService::StubInterface::async_interface;
using Metrics = v1::MetricsService::StubInterface::async_interface;
using DeadLetters = v1::DeadLetterService::StubInterface::async_interface;
using Webhooks = v1::WebhooksService::StubInterface::async_interface;

template <class Async>
constexpr const char* ServiceName() {
  if constexpr (std::is_same_v<Async, Intake>) {
    return "intake";
  } else if constexpr (std::is_same_v<Async, Routing> || std::is_same_v<Async, DeadLetters>) {
    return "routing";
  } else if constexpr (std::is_same_v<Async, Escalation>) {
    return "escalation";
  } else if constexpr (std::is_same_v<Async, Webhooks>) {
    return "webhooks";
  } else {
    return "metrics";
  }
}

// Internal addresses in a message ("ipv4:127.0.0.1:7071", "10.0.0.5:6379", "[::1]:7072",
// "localhost:6390", "unix:/run/x.sock"), to be blanked before it leaves the gateway.
const std::regex& InternalAddress() {
  static const std::regex* const pattern =
      new std::regex(R"((ipv4|ipv6|unix|unix-abstract|dns|vsock):[^\s,;)]+)"
                     R"(|\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b|\[[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*\](:\d+)?)"
                     R"(|\blocalhost:\d+)");
  return *pattern;
}

// The status of an internal call as the public sees it. Nothing that names where an internal
// service or the store runs leaves the gateway, and UNAVAILABLE says what is down, so that a
// client knows what it waits for:
//   - the service answered that the event store (Redis) is unavailable: passed on as it is,
//     "the event store is unavailable (...); retry later";
//   - the gateway could not reach the service, or lost it mid-call: "the <service> service is
//     unreachable; retry later".
grpc::Status AtTheEdge(const grpc::Status& status, const char* service) {
  if (status.ok()) {
    return status;
  }
  const std::string message =
      std::regex_replace(status.error_message(), InternalAddress(), "<internal>");
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    if (absl::StartsWith(message, redis::kStoreUnavailable)) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, message);
    }
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        absl::StrCat("the ", service, " service is unreachable; retry later"));
  }
  if (message != status.error_message()) {
    // A transport failure of the gateway's own client (a reset, a refused stream): the address
    // was the message.
    return grpc::Status(status.error_code(),
                        absl::StrCat("the call to the ", service, " service failed"));
  }
  return status;
}

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
// intake's response and status. Items arrive as bytes: one that does not parse or breaks a bound
// stays here and gets its own result; intake's results are renumbered to the caller's positions
// and merged with them. Deletes itself in OnDone.
class UploadForward final : public grpc::ServerReadReactor<grpc::ByteBuffer> {
 public:
  // With `access`, the caller is authenticated and role-checked before anything is read, and
  // every item is authorised (and its actor replaced) before any reaches intake.
  UploadForward(grpc::CallbackServerContext* context, v1::UploadReportsResponse* response,
                Intake* intake, std::chrono::milliseconds default_deadline, Access* access)
      : context_(context),
        response_(response),
        intake_(intake),
        default_deadline_(default_deadline),
        access_(access) {
    if (access_ != nullptr) {
      grpc::Status admitted = access_->AdmitRole(*context_, auth::Rpc::kUploadReports, caller_);
      if (!admitted.ok()) {
        Finish(admitted);
        return;
      }
    }
    StartRead(&item_);
  }

  void OnReadDone(bool ok) override {
    if (ok) {
      if (read_ == kMaxUploadItems) {
        Finish(
            grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                         absl::StrCat("upload: at most ", kMaxUploadItems, " reports per batch")));
        return;
      }
      v1::UploadReportsRequest item;
      if (grpc::Status parsed = ParseRequest(item_, item); parsed.ok()) {
        items_.push_back(std::move(item));
        positions_.push_back(static_cast<int>(read_));
      } else {
        v1::UploadResult& refused = refused_.emplace_back();
        refused.set_index(static_cast<int>(read_));
        const std::string& message = parsed.error_message();
        refused.mutable_error()->set_code(parsed.error_code());
        refused.mutable_error()->set_message(message);
        refused.mutable_error()->set_field(message.substr(0, message.find(':')));
      }
      ++read_;
      item_.Clear();
      StartRead(&item_);
      return;
    }
    // The caller half-closed, or went away.
    if (context_->IsCancelled()) {
      Finish(grpc::Status::CANCELLED);
      return;
    }
    if (access_ != nullptr) {
      // A report whose location lies outside the district is refused on its own, as one that
      // breaks a field's bound; one the caller may not file ends the upload.
      std::vector<v1::UploadReportsRequest> prepared;
      std::vector<int> positions;
      for (std::size_t i = 0; i < items_.size(); ++i) {
        const absl::Status status = access_->PrepareReport(caller_, *items_[i].mutable_report());
        if (status.code() == absl::StatusCode::kInvalidArgument) {
          v1::UploadResult& refused = refused_.emplace_back();
          refused.set_index(positions_[i]);
          refused.set_client_request_id(items_[i].report().client_request_id());
          const std::string message(status.message());
          refused.mutable_error()->set_code(static_cast<int>(status.code()));
          refused.mutable_error()->set_message(message);
          refused.mutable_error()->set_field(message.substr(0, message.find(':')));
          continue;
        }
        if (!status.ok()) {
          Finish(grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                              absl::StrCat("reports[", positions_[i], "]: ", status.message())));
          return;
        }
        prepared.push_back(std::move(items_[i]));
        positions.push_back(positions_[i]);
      }
      items_ = std::move(prepared);
      positions_ = std::move(positions);
      for (std::size_t i = 0; i < items_.size(); ++i) {
        const absl::Status allowed = access_->authorizer().CheckReport(
            caller_, auth::Rpc::kUploadReports, items_[i].report());
        if (!allowed.ok()) {
          Finish(grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                              absl::StrCat("reports[", positions_[i], "]: ", allowed.message())));
          return;
        }
        *items_[i].mutable_actor() = caller_;
      }
    }
    if (items_.empty() && !refused_.empty()) {
      Answer(grpc::Status::OK);
      return;
    }
    // As in Forward: the caller's deadline and cancellation carry over to the intake call.
    std::unique_ptr<grpc::ClientContext> client =
        grpc::ClientContext::FromCallbackServerContext(*context_);
    client->set_deadline(std::chrono::system_clock::now() + default_deadline_);
    auto* upload = new IntakeUpload(
        std::move(client), std::move(items_),
        [this](const grpc::Status& status) { Answer(AtTheEdge(status, ServiceName<Intake>())); });
    upload->Start(intake_, response_);
  }

  void OnDone() override { delete this; }

 private:
  // Finishes with intake's `status`; when OK, with its results at the caller's positions and the
  // refused items' results among them, in order.
  void Answer(const grpc::Status& status) {
    if (status.ok() && !refused_.empty()) {
      for (v1::UploadResult& result : *response_->mutable_results()) {
        const int sent = result.index();
        if (sent >= 0 && static_cast<std::size_t>(sent) < positions_.size()) {
          result.set_index(positions_[sent]);
        }
      }
      for (v1::UploadResult& refused : refused_) {
        *response_->add_results() = std::move(refused);
      }
      std::stable_sort(response_->mutable_results()->begin(), response_->mutable_results()->end(),
                       [](const v1::UploadResult& a, const v1::UploadResult& b) {
                         return a.index() < b.index();
                       });
    }
    Finish(status);
  }

  grpc::CallbackServerContext* context_;
  v1::UploadReportsResponse* response_;
  Intake* intake_;
  std::chrono::milliseconds default_deadline_;
  Access* access_;
  v1::Actor caller_;
  grpc::ByteBuffer item_;
  std::size_t read_ = 0;
  // The items to forward, and each one's position in the caller's stream.
  std::vector<v1::UploadReportsRequest> items_;
  std::vector<int> positions_;
  // Results of the items that did not parse or broke a bound.
  std::vector<v1::UploadResult> refused_;
};

std::shared_ptr<grpc::Channel> BackendChannel(
    const std::string& address, const std::shared_ptr<grpc::ChannelCredentials>& credentials) {
  // Backends are near (loopback or a private network): after a restart, reconnect within a
  // second rather than gRPC's default back-off of up to two minutes.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  // A target of several replicas ("ipv4:127.0.0.1:7071,127.0.0.1:7271") spreads the calls
  // over those that are up.
  args.SetLoadBalancingPolicyName("round_robin");
  return grpc::CreateCustomChannel(
      address, credentials != nullptr ? credentials : grpc::InsecureChannelCredentials(), args);
}

}  // namespace

Backends ConnectBackends(const std::string& intake, const std::string& routing,
                         const std::string& escalation, const std::string& metrics,
                         std::shared_ptr<grpc::ChannelCredentials> credentials) {
  auto channel = [&credentials](const std::string& address) {
    return BackendChannel(address, credentials);
  };
  Backends backends;
  backends.channels = {{"intake", channel(intake)},
                       {"routing", channel(routing)},
                       {"escalation", channel(escalation)},
                       {"metrics", channel(metrics)}};
  backends.intake = v1::IntakeService::NewStub(backends.channels["intake"]);
  backends.routing = v1::RoutingService::NewStub(backends.channels["routing"]);
  backends.escalation = v1::EscalationService::NewStub(backends.channels["escalation"]);
  backends.metrics = v1::MetricsService::NewStub(backends.channels["metrics"]);
  backends.dead_letters = v1::DeadLetterService::NewStub(backends.channels["routing"]);
  return backends;
}

void ConnectWebhooks(Backends& backends, const std::string& address,
                     std::shared_ptr<grpc::ChannelCredentials> credentials) {
  backends.channels["webhooks"] = BackendChannel(address, credentials);
  backends.webhooks = v1::WebhooksService::NewStub(backends.channels["webhooks"]);
}

GatewayServiceImpl::GatewayServiceImpl(Backends backends, const topology::Topology& topology,
                                       std::chrono::milliseconds default_deadline, AccessPtr access)
    : backends_(std::move(backends)),
      topology_(topology),
      default_deadline_(default_deadline),
      access_(std::move(access)) {
  SetReportBatching({.default_deadline = default_deadline_});
  ParseRequestsOf(&GatewayServiceImpl::ReportEvent);
  ReadRequestBytesOf<v1::UploadReportsRequest>(&GatewayServiceImpl::UploadReportBytes);
  ParseRequestsOf(&GatewayServiceImpl::AcceptEvent);
  ParseRequestsOf(&GatewayServiceImpl::ResolveEvent);
  ParseRequestsOf(&GatewayServiceImpl::VerifyEvent);
  ParseRequestsOf(&GatewayServiceImpl::ReturnEvent);
  ParseRequestsOf(&GatewayServiceImpl::SuspendEvent);
  ParseRequestsOf(&GatewayServiceImpl::ResumeEvent);
  ParseRequestsOf(&GatewayServiceImpl::CancelEvent);
  ParseRequestsOf(&GatewayServiceImpl::VoidEvent);
  ParseRequestsOf(&GatewayServiceImpl::ReassignEvent);
  ParseRequestsOf(&GatewayServiceImpl::EscalateEvent);
  ParseRequestsOf(&GatewayServiceImpl::SuperviseEvent);
  ParseRequestsOf(&GatewayServiceImpl::GetEvent);
  ParseRequestsOf(&GatewayServiceImpl::ListEvents);
  ParseRequestsOf(&GatewayServiceImpl::GetEventHistory);
  ParseRequestsOf(&GatewayServiceImpl::ListUnitQueue);
  ParseRequestsOf(&GatewayServiceImpl::ListOverdueEvents);
  ParseRequestsOf(&GatewayServiceImpl::GetStats);
  ParseRequestsOf(&GatewayServiceImpl::GetTopology);
  ParseRequestsOf(&GatewayServiceImpl::ListCategories);
  ParseRequestsOf(&GatewayServiceImpl::GetWebhookStatus);
  ParseRequestsOf(&GatewayServiceImpl::TestWebhook);
  ParseRequestsOf(&GatewayServiceImpl::RedeliverWebhooks);
}

void GatewayServiceImpl::SetReportBatching(ReportBatcher::Options options) {
  options.default_deadline = default_deadline_;
  reports_ = std::make_unique<ReportBatcher>(*backends_.intake, options);
}

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
    reactor->Finish(AtTheEdge(status, ServiceName<Async>()));
  });
  return reactor;
}

template <class Async, class Request, class Response>
grpc::ServerUnaryReactor* GatewayServiceImpl::Guarded(
    grpc::CallbackServerContext* context, auth::Rpc rpc, std::type_identity_t<Async>* backend,
    void (Async::*method)(grpc::ClientContext*, const Request*, Response*,
                          std::function<void(grpc::Status)>),
    const Request* request, Response* response) {
  if (access_ == nullptr) {
    return Forward(context, backend, method, request, response);
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  v1::Actor caller;
  if (grpc::Status admitted = access_->AdmitRole(*context, rpc, caller); !admitted.ok()) {
    reactor->Finish(admitted);
    return reactor;
  }
  // The forwarded copy: the caller's actor, the caller's scope. Shared by the callbacks below
  // until the internal call is over.
  auto owned = std::make_shared<Request>(*request);
  if constexpr (requires { owned->mutable_actor(); }) {
    *owned->mutable_actor() = caller;
  }
  const auto send = [this, context, reactor, backend, method,
                     response](std::shared_ptr<Request> forwarded) {
    std::unique_ptr<grpc::ClientContext> client =
        grpc::ClientContext::FromCallbackServerContext(*context);
    client->set_deadline(std::chrono::system_clock::now() + default_deadline_);
    grpc::ClientContext* raw = client.release();
    const Request* sent = forwarded.get();
    (backend->*method)(raw, sent, response,
                       [reactor, raw, forwarded = std::move(forwarded)](grpc::Status status) {
                         delete raw;
                         reactor->Finish(AtTheEdge(status, ServiceName<Async>()));
                       });
  };
  const auth::Authorizer& authorizer = access_->authorizer();

  if constexpr (std::is_same_v<Request, v1::ReportEventRequest>) {
    if (absl::Status prepared = access_->PrepareReport(caller, *owned->mutable_report());
        !prepared.ok()) {
      reactor->Finish(ToGrpcStatus(prepared));
      return reactor;
    }
    if (absl::Status allowed = authorizer.CheckReport(caller, rpc, owned->report());
        !allowed.ok()) {
      reactor->Finish(ToGrpcStatus(allowed));
      return reactor;
    }
    (void)send;
    reports_->File(*context, std::move(owned), response, [reactor](grpc::Status status) {
      reactor->Finish(AtTheEdge(status, ServiceName<Async>()));
    });
  } else if constexpr (requires { owned->event_id(); }) {
    // The event decides: read it (under the caller's deadline) to learn its grid and unit.
    struct Read {
      v1::GetEventRequest request;
      v1::GetEventResponse response;
      std::unique_ptr<grpc::ClientContext> client;
    };
    auto read = std::make_shared<Read>();
    read->request.set_event_id(owned->event_id());
    read->client = grpc::ClientContext::FromCallbackServerContext(*context);
    read->client->set_deadline(std::chrono::system_clock::now() + default_deadline_);
    std::string unit_id;
    if constexpr (requires { owned->unit_id(); }) {
      unit_id = owned->unit_id();  // A reassignment's destination.
    }
    backends_.routing->async()->GetEvent(
        read->client.get(), &read->request, &read->response,
        [reactor, read, owned, caller, rpc, unit_id, authorizer = &authorizer, send,
         response](grpc::Status status) mutable {
          if (!status.ok()) {
            reactor->Finish(AtTheEdge(status, ServiceName<Routing>()));
            return;
          }
          if (absl::Status allowed =
                  authorizer->CheckTarget(caller, rpc, unit_id, &read->response.event());
              !allowed.ok()) {
            reactor->Finish(ToGrpcStatus(allowed));
            return;
          }
          if constexpr (std::is_same_v<Response, v1::GetEventResponse>) {
            // GetEvent itself: the read is the answer.
            (void)send;
            *response = std::move(read->response);
            reactor->Finish(grpc::Status::OK);
          } else {
            (void)response;
            send(std::move(owned));
          }
        });
  } else if constexpr (!requires { owned->unit_id(); }) {
    // A call that names neither an event nor a unit (the webhooks' administration): the role's
    // grant alone decides, anywhere for an ADMIN; a grant bounded by a subtree denies it.
    if (absl::Status allowed = authorizer.CheckTarget(caller, rpc, "", nullptr); !allowed.ok()) {
      reactor->Finish(ToGrpcStatus(allowed));
      return reactor;
    }
    send(std::move(owned));
  } else {
    owned->set_unit_id(auth::Authorizer::Scope(caller, owned->unit_id()));
    if (absl::Status allowed = authorizer.CheckTarget(caller, rpc, owned->unit_id(), nullptr);
        !allowed.ok()) {
      reactor->Finish(ToGrpcStatus(allowed));
      return reactor;
    }
    send(std::move(owned));
  }
  return reactor;
}

grpc::ServerReadReactor<grpc::ByteBuffer>* GatewayServiceImpl::UploadReportBytes(
    grpc::CallbackServerContext* context, v1::UploadReportsResponse* response) {
  return new UploadForward(context, response, backends_.intake->async(), default_deadline_,
                           access_.get());
}

grpc::ServerUnaryReactor* GatewayServiceImpl::ReportEvent(grpc::CallbackServerContext* context,
                                                          const v1::ReportEventRequest* request,
                                                          v1::ReportEventResponse* response) {
  return Guarded(context, auth::Rpc::kReportEvent, backends_.intake->async(), &Intake::ReportEvent,
                 request, response);
}

grpc::ServerUnaryReactor* GatewayServiceImpl::AcceptEvent(grpc::CallbackServerContext* context,
                                                          const v1::AcceptEventRequest* request,
                                                          v1::AcceptEventResponse* response) {
  return Guarded(context, auth::Rpc::kAcceptEvent, backends_.routing->async(),
                 &Routing::AcceptEvent, request, response);
}

grpc::ServerUnaryReactor* GatewayServiceImpl::ResolveEvent(grpc::CallbackServerContext* context,
                                                           const v1::ResolveEventRequest* request,
                                                           v1::ResolveEventResponse* response) {
  return Guarded(context, auth::Rpc::kResolveEvent, backends_.routing->async(),
                 &Routing::ResolveEvent, request, response);
}

grpc::ServerUnaryReactor* GatewayServiceImpl::VerifyEvent(grpc::CallbackServerContext* context,
                                                          const v1::VerifyEventRequest* request,
                                                          v1::VerifyEventResponse* response) {
  return Guarded(context, auth::Rpc::kVerifyEvent, backends_.routing->async(),
                 &Routing::VerifyEvent, request, response);
}

grpc::ServerUnaryReactor* GatewayServiceImpl::ReturnEvent(grpc::CallbackServerContext* context,
                                                          const v1::ReturnEventRequest* request,
                                                          v1::ReturnEventResponse* response) {
  return Guarded(context, auth::Rpc::kReturnEvent, backends_.routing->async(),
                 &Routing::ReturnEvent, request, response);
}

grpc::ServerUnaryReactor* GatewayServiceImpl::SuspendEvent(grpc::CallbackServerContext* context,
                                                           const v1::SuspendEventRequest* request,
                                                           v1::SuspendEventResponse* response) {
  return Guarded(context, auth::Rpc::kSuspendEvent, backends_.routing->async(),
                 &Routing::SuspendEvent, request, response);
}

grpc::ServerUnaryReactor* GatewayServiceImpl::ResumeEvent(grpc::CallbackServerContext* context,
                                                          const v1::ResumeEventRequest* request,
                                                          v1::ResumeEventResponse* response) {
  return Guarded(context, auth::Rpc::kResumeEvent, backends_.routing->async(),
                 &Routing::ResumeEvent, request, response);
}

grpc::ServerUnaryReactor* GatewayServiceImpl::CancelEvent(grpc::CallbackServerContext* context,
                                                          const v1::CancelEventRequest* request,
                                                          v1::CancelEventResponse* response) {
  return Guarded(context, auth::Rpc::kCancelEvent, backends_.routing->async(),
                 &Routing::CancelEvent, request, response);
}

grpc::ServerUnaryReactor* GatewayServiceImpl::VoidEvent(grpc::CallbackServerContext* context,
                                                        const v1::VoidEventRequest* request,
                                                        v1::VoidEventResponse* response) {
  return Guarded(context, auth::Rpc::kVoidEvent, backends_.routing->async(), &Routing::VoidEvent,
                 request, response);
}

grpc::ServerUnaryReactor* GatewayServiceImpl::ReassignEvent(grpc::CallbackServerContext* context,
                                                            const v1::ReassignEventRequest* request,
                                                            v1::ReassignEventResponse* response) {
  return Guarded(context, auth::Rpc::kReassignEvent, backends_.routing->async(),
                 &Routing::ReassignEvent, request, response);
}

grpc::ServerUnaryReactor* GatewayServiceImpl::GetEvent(grpc::CallbackServerContext* context,
                                                       const v1::GetEventRequest* request,
                                                       v1::GetEventResponse* response) {
  return Guarded(context, auth::Rpc::kGetEvent, backends_.routing->async(), &Routing::GetEvent,
                 request, response);
}

grpc::ServerUnaryReactor* GatewayServiceImpl::ListEvents(grpc::CallbackServerContext* context,
                                                         const v1::ListEventsRequest* request,
                                                         v1::ListEventsResponse* response) {
  return Guarded(context, auth::Rpc::kListEvents, backends_.routing->async(), &Routing::ListEvents,
                 request, response);
}

grpc::ServerUnaryReactor* GatewayServiceImpl::GetEventHistory(
    grpc::CallbackServerContext* context, const v1::GetEventHistoryRequest* request,
    v1::GetEventHistoryResponse* response) {
  return Guarded(context, auth::Rpc::kGetEventHistory, backends_.routing->async(),
                 &Routing::GetEventHistory, request, response);
}

grpc::ServerUnaryReactor* GatewayServiceImpl::ListUnitQueue(grpc::CallbackServerContext* context,
                                                            const v1::ListUnitQueueRequest* request,
                                                            v1::ListUnitQueueResponse* response) {
  return Guarded(context, auth::Rpc::kListUnitQueue, backends_.routing->async(),
                 &Routing::ListUnitQueue, request, response);
}

grpc::ServerUnaryReactor* GatewayServiceImpl::EscalateEvent(grpc::CallbackServerContext* context,
                                                            const v1::EscalateEventRequest* request,
                                                            v1::EscalateEventResponse* response) {
  return Guarded(context, auth::Rpc::kEscalateEvent, backends_.escalation->async(),
                 &Escalation::EscalateEvent, request, response);
}

grpc::ServerUnaryReactor* GatewayServiceImpl::SuperviseEvent(
    grpc::CallbackServerContext* context, const v1::SuperviseEventRequest* request,
    v1::SuperviseEventResponse* response) {
  return Guarded(context, auth::Rpc::kSuperviseEvent, backends_.escalation->async(),
                 &Escalation::SuperviseEvent, request, response);
}

grpc::ServerUnaryReactor* GatewayServiceImpl::ListOverdueEvents(
    grpc::CallbackServerContext* context, const v1::ListOverdueEventsRequest* request,
    v1::ListOverdueEventsResponse* response) {
  return Guarded(context, auth::Rpc::kListOverdueEvents, backends_.escalation->async(),
                 &Escalation::ListOverdueEvents, request, response);
}

grpc::ServerUnaryReactor* GatewayServiceImpl::GetStats(grpc::CallbackServerContext* context,
                                                       const v1::GetStatsRequest* request,
                                                       v1::GetStatsResponse* response) {
  return Guarded(context, auth::Rpc::kGetStats, backends_.metrics->async(), &Metrics::GetStats,
                 request, response);
}

grpc::ServerUnaryReactor* GatewayServiceImpl::ListCategories(
    grpc::CallbackServerContext* context, const v1::ListCategoriesRequest* /*request*/,
    v1::ListCategoriesResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  v1::Actor caller;
  if (access_ != nullptr) {
    if (grpc::Status admitted = access_->AdmitRole(*context, auth::Rpc::kListCategories, caller);
        !admitted.ok()) {
      reactor->Finish(admitted);
      return reactor;
    }
  }
  if (policy_ != nullptr) {
    *response->mutable_categories() =
        policy_->ForUnit(topology_, caller.unit_id()).data().categories();
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* GatewayServiceImpl::GetTopology(grpc::CallbackServerContext* context,
                                                          const v1::GetTopologyRequest* request,
                                                          v1::GetTopologyResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::string root = request->unit_id();
  if (access_ != nullptr) {
    v1::Actor caller;
    grpc::Status allowed = access_->AdmitRole(*context, auth::Rpc::kGetTopology, caller);
    if (allowed.ok()) {
      root = auth::Authorizer::Scope(caller, root);
      allowed = ToGrpcStatus(
          access_->authorizer().CheckTarget(caller, auth::Rpc::kGetTopology, root, nullptr));
    }
    if (!allowed.ok()) {
      reactor->Finish(allowed);
      return reactor;
    }
  }
  if (!root.empty() && topology_.Find(root) == nullptr) {
    reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND,
                                 absl::StrCat("unit_id: unknown unit ", input::Quote(root))));
    return reactor;
  }
  for (const v1::LevelCount& count : topology_.CountLevels(root)) {
    *response->add_level_counts() = count;
  }
  response->set_worker_count(topology_.CountWorkers(root));
  response->set_version(topology_.data().version());
  if (request->include_units()) {
    const std::string& scope = root.empty() ? topology_.root_id() : root;
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

grpc::ServerUnaryReactor* GatewayServiceImpl::ListDeadLetters(
    grpc::CallbackServerContext* context, const v1::ListDeadLettersRequest* request,
    v1::ListDeadLettersResponse* response) {
  return Guarded(context, auth::Rpc::kListDeadLetters, backends_.dead_letters->async(),
                 &DeadLetters::ListDeadLetters, request, response);
}

grpc::ServerUnaryReactor* GatewayServiceImpl::ReplayDeadLetters(
    grpc::CallbackServerContext* context, const v1::ReplayDeadLettersRequest* request,
    v1::ReplayDeadLettersResponse* response) {
  return Guarded(context, auth::Rpc::kReplayDeadLetters, backends_.dead_letters->async(),
                 &DeadLetters::ReplayDeadLetters, request, response);
}

template <class Request, class Response>
grpc::ServerUnaryReactor* GatewayServiceImpl::ToWebhooks(
    grpc::CallbackServerContext* context, auth::Rpc rpc,
    void (Webhooks::*method)(grpc::ClientContext*, const Request*, Response*,
                             std::function<void(grpc::Status)>),
    const Request* request, Response* response) {
  if (backends_.webhooks == nullptr) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    v1::Actor caller;
    grpc::Status admitted =
        access_ != nullptr ? access_->AdmitRole(*context, rpc, caller) : grpc::Status::OK;
    reactor->Finish(admitted.ok() ? grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                                 "webhooks service: not configured")
                                  : admitted);
    return reactor;
  }
  return Guarded(context, rpc, backends_.webhooks->async(), method, request, response);
}

grpc::ServerUnaryReactor* GatewayServiceImpl::GetWebhookStatus(
    grpc::CallbackServerContext* context, const v1::GetWebhookStatusRequest* request,
    v1::GetWebhookStatusResponse* response) {
  return ToWebhooks(context, auth::Rpc::kGetWebhookStatus, &Webhooks::GetWebhookStatus, request,
                    response);
}

grpc::ServerUnaryReactor* GatewayServiceImpl::TestWebhook(grpc::CallbackServerContext* context,
                                                          const v1::TestWebhookRequest* request,
                                                          v1::TestWebhookResponse* response) {
  return ToWebhooks(context, auth::Rpc::kTestWebhook, &Webhooks::TestWebhook, request, response);
}

grpc::ServerUnaryReactor* GatewayServiceImpl::RedeliverWebhooks(
    grpc::CallbackServerContext* context, const v1::RedeliverWebhooksRequest* request,
    v1::RedeliverWebhooksResponse* response) {
  return ToWebhooks(context, auth::Rpc::kRedeliverWebhooks, &Webhooks::RedeliverWebhooks, request,
                    response);
}

grpc::Status GatewayServiceImpl::WatchJurisdiction(grpc::CallbackServerContext* context,
                                                   WatchGrant& grant) {
  if (access_ == nullptr) {
    grant.scope = [](std::string_view unit_id) -> absl::StatusOr<auth::WatchScope> {
      return auth::WatchScope{std::string(unit_id), false};
    };
    return grpc::Status::OK;
  }
  // Authenticated, rate limited and role-checked like every call; the authorizer's table decides
  // the reach (the subtree of the home unit, a handler's queue, the district for an ADMIN).
  v1::Actor caller;
  if (grpc::Status admitted =
          access_->AdmitRole(*context, auth::Rpc::kWatchEvents, caller, &grant.expires_at);
      !admitted.ok()) {
    return admitted;
  }
  absl::StatusOr<WatchQuota::Lease> lease = watch_quota_->Acquire(caller.subject());
  if (!lease.ok()) {
    return ToGrpcStatus(lease.status());
  }
  grant.lease = *std::move(lease);
  grant.scope = [authorizer = &access_->authorizer(), caller](std::string_view unit_id) {
    return authorizer->ScopeWatch(caller, unit_id);
  };
  return grpc::Status::OK;
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* GatewayServiceImpl::WatchEvents(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request) {
  if (watch_hub_ == nullptr) {
    return RefuseWatch(
        grpc::Status(grpc::StatusCode::UNAVAILABLE, "watch: the live stream is not served here"));
  }
  WatchGrant grant;
  if (grpc::Status allowed = WatchJurisdiction(context, grant); !allowed.ok()) {
    return RefuseWatch(allowed);
  }
  return StartWatch(context, *request, *watch_hub_, topology_, std::move(grant));
}

}  // namespace grid::gateway
