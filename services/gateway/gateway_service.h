// The public API: forwards each call to the internal service that owns it, carrying the
// caller's deadline and cancellation, and answers topology questions itself.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <type_traits>

#include "common/auth/authorizer.h"
#include "common/policy/policy.h"
#include "common/topology/topology.h"
#include "grid/v1/deadletters.grpc.pb.h"
#include "grid/v1/escalation.grpc.pb.h"
#include "grid/v1/gateway.grpc.pb.h"
#include "grid/v1/intake.grpc.pb.h"
#include "grid/v1/metrics.grpc.pb.h"
#include "grid/v1/routing.grpc.pb.h"
#include "grid/v1/webhooks.grpc.pb.h"
#include "services/gateway/access.h"
#include "services/gateway/parsed_requests.h"
#include "services/gateway/report_batcher.h"
#include "services/gateway/watch_events.h"
#include "services/gateway/watch_hub.h"
#include "services/gateway/watch_quota.h"

namespace grid::gateway {

// Stubs of the internal services, and their channels (for readiness probes).
struct Backends {
  std::unique_ptr<v1::IntakeService::Stub> intake;
  std::unique_ptr<v1::RoutingService::Stub> routing;
  std::unique_ptr<v1::EscalationService::Stub> escalation;
  std::unique_ptr<v1::MetricsService::Stub> metrics;
  // Served by the routing process.
  std::unique_ptr<v1::DeadLetterService::Stub> dead_letters;
  // grid-webhooks' administration; null when the gateway is not given its address.
  std::unique_ptr<v1::WebhooksService::Stub> webhooks;
  // "intake", "routing", "escalation", "metrics" -> channel.
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels;
};

// Channels to the internal services at the given addresses, with `credentials` (nullptr:
// plaintext, for services on loopback; TLS with the gateway's client certificate where they
// require mutual TLS).
Backends ConnectBackends(const std::string& intake, const std::string& routing,
                         const std::string& escalation, const std::string& metrics,
                         std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr);

// Adds the webhooks service at `address` to `backends` (a "webhooks" channel and stub), with the
// same credentials rules as ConnectBackends. It is not among the readiness backends: the public
// API does not depend on it.
void ConnectWebhooks(Backends& backends, const std::string& address,
                     std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr);

// Concurrent watches per subject unless the gateway is told otherwise: a screen or two per
// operator with room to spare, far below what a leaked token could otherwise pile up.
inline constexpr std::size_t kDefaultWatchesPerSubject = 32;

// The most reports one UploadReports call may carry (intake's limit too).
inline constexpr std::size_t kMaxUploadItems = 1000;

// Thread-safe: every call runs on gRPC's callback threads and only reads the members (Access
// locks what it changes).
//
// With `access` (the deployed case), every call is authenticated from its bearer token, rate
// limited per subject and authorised by auth::Authorizer (authorizer.h holds the role × RPC
// table): a call that names an event reads it first (routing's GetEvent, under the caller's
// deadline) to learn its grid and unit. The request's `actor` is replaced by the token's caller;
// a list, queue, stats or topology call without a unit is scoped to the caller's home unit.
// Without `access` (--insecure-no-auth, forwarding tests) requests go through as the client sent
// them. Either way an internal service that is down gives UNAVAILABLE at once, with a message that
// names the service, not its address.
//
// WatchEvents is a raw method (its messages are ByteBuffers) so that the watch hub serializes each
// change once for all of its watchers; see watch_events.h. Every other method parses its own
// request (parsed_requests.h): a request that does not parse or breaks a field's bound gets
// INVALID_ARGUMENT naming the field before anything else happens.
class GatewayServiceImpl final
    : public ParsingService<v1::GatewayService,
                            v1::GatewayService::WithRawCallbackMethod_WatchEvents<
                                v1::GatewayService::CallbackService>> {
 public:
  // A call whose caller set no deadline gets `default_deadline` on its internal call, so that
  // nothing waits forever on a stuck backend. Borrows the topology.
  GatewayServiceImpl(Backends backends, const topology::Topology& topology,
                     std::chrono::milliseconds default_deadline, AccessPtr access = nullptr);

  // Authentication, rate limits and the authoriser; nullptr when calls are not authenticated.
  Access* access() const { return access_.get(); }

  grpc::ServerUnaryReactor* ReportEvent(grpc::CallbackServerContext* context,
                                        const v1::ReportEventRequest* request,
                                        v1::ReportEventResponse* response) override;
  // UploadReports: buffers the caller's stream (at most kMaxUploadItems), then streams it to
  // intake. Items arrive as bytes, each parsed as a unary request is: one that does not parse or
  // breaks a bound is not sent on, and gets its own result with the error (code, message, field),
  // as an item intake refuses does; the others are filed.
  grpc::ServerReadReactor<grpc::ByteBuffer>* UploadReportBytes(grpc::CallbackServerContext* context,
                                                               v1::UploadReportsResponse* response);
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
  grpc::ServerUnaryReactor* EscalateEvent(grpc::CallbackServerContext* context,
                                          const v1::EscalateEventRequest* request,
                                          v1::EscalateEventResponse* response) override;
  grpc::ServerUnaryReactor* SuperviseEvent(grpc::CallbackServerContext* context,
                                           const v1::SuperviseEventRequest* request,
                                           v1::SuperviseEventResponse* response) override;
  grpc::ServerUnaryReactor* GetEvent(grpc::CallbackServerContext* context,
                                     const v1::GetEventRequest* request,
                                     v1::GetEventResponse* response) override;
  grpc::ServerUnaryReactor* ListEvents(grpc::CallbackServerContext* context,
                                       const v1::ListEventsRequest* request,
                                       v1::ListEventsResponse* response) override;
  grpc::ServerUnaryReactor* GetEventHistory(grpc::CallbackServerContext* context,
                                            const v1::GetEventHistoryRequest* request,
                                            v1::GetEventHistoryResponse* response) override;
  grpc::ServerUnaryReactor* ListUnitQueue(grpc::CallbackServerContext* context,
                                          const v1::ListUnitQueueRequest* request,
                                          v1::ListUnitQueueResponse* response) override;
  grpc::ServerUnaryReactor* ListOverdueEvents(grpc::CallbackServerContext* context,
                                              const v1::ListOverdueEventsRequest* request,
                                              v1::ListOverdueEventsResponse* response) override;
  grpc::ServerUnaryReactor* GetStats(grpc::CallbackServerContext* context,
                                     const v1::GetStatsRequest* request,
                                     v1::GetStatsResponse* response) override;
  grpc::ServerUnaryReactor* GetTopology(grpc::CallbackServerContext* context,
                                        const v1::GetTopologyRequest* request,
                                        v1::GetTopologyResponse* response) override;
  // ADMIN only (the table of authorizer.h); forwarded to routing's DeadLetterService.
  grpc::ServerUnaryReactor* ListDeadLetters(grpc::CallbackServerContext* context,
                                            const v1::ListDeadLettersRequest* request,
                                            v1::ListDeadLettersResponse* response) override;
  grpc::ServerUnaryReactor* ReplayDeadLetters(grpc::CallbackServerContext* context,
                                              const v1::ReplayDeadLettersRequest* request,
                                              v1::ReplayDeadLettersResponse* response) override;
  // The categories of the caller's district's policy (SetPolicy); any caller (Access::Admit).
  grpc::ServerUnaryReactor* ListCategories(grpc::CallbackServerContext* context,
                                           const v1::ListCategoriesRequest* request,
                                           v1::ListCategoriesResponse* response) override;
  // ADMIN only; forwarded to grid-webhooks' WebhooksService, or UNAVAILABLE "webhooks service:
  // not configured" when the gateway has no address for it (after the role check).
  grpc::ServerUnaryReactor* GetWebhookStatus(grpc::CallbackServerContext* context,
                                             const v1::GetWebhookStatusRequest* request,
                                             v1::GetWebhookStatusResponse* response) override;
  grpc::ServerUnaryReactor* TestWebhook(grpc::CallbackServerContext* context,
                                        const v1::TestWebhookRequest* request,
                                        v1::TestWebhookResponse* response) override;
  grpc::ServerUnaryReactor* RedeliverWebhooks(grpc::CallbackServerContext* context,
                                              const v1::RedeliverWebhooksRequest* request,
                                              v1::RedeliverWebhooksResponse* response) override;
  // The live stream (watch_hub.h); UNAVAILABLE until SetWatchHub.
  grpc::ServerWriteReactor<grpc::ByteBuffer>* WatchEvents(grpc::CallbackServerContext* context,
                                                          const grpc::ByteBuffer* request) override;

  // The hub that serves WatchEvents; borrowed, it must outlive the service.
  void SetWatchHub(WatchHub& hub) { watch_hub_ = &hub; }
  // Watches one subject may hold at once (0: no cap); kDefaultWatchesPerSubject until set.
  // Call before serving.
  void SetWatchesPerSubject(std::size_t cap) { watch_quota_ = std::make_unique<WatchQuota>(cap); }
  // What ListCategories answers: the categories of the caller's district's policy (the default
  // policy's for a caller above the districts, or without authentication). Borrowed; set before
  // the server starts.
  void SetPolicy(const policy::Policy& policy) { policy_ = &policy; }
  // How reports are forwarded to intake under load (report_batcher.h); the defaults unless set.
  // Before the server starts.
  void SetReportBatching(ReportBatcher::Options options);

 private:
  // Calls `method` of a backend's async stub with a client context that carries the caller's
  // deadline (or the default one, whichever is earlier) and cancellation, and finishes the
  // reactor with the backend's status; the backend writes straight into `response`.
  template <class Async, class Request, class Response>
  grpc::ServerUnaryReactor* Forward(grpc::CallbackServerContext* context,
                                    std::type_identity_t<Async>* backend,
                                    void (Async::*method)(grpc::ClientContext*, const Request*,
                                                          Response*,
                                                          std::function<void(grpc::Status)>),
                                    const Request* request, Response* response);

  // Forward behind the door: authenticates, rate limits and authorises the call as `rpc` (reading
  // the event first when the request names one), replaces the request's actor with the caller,
  // then forwards a copy. The same as Forward when there is no `access_`.
  template <class Async, class Request, class Response>
  grpc::ServerUnaryReactor* Guarded(grpc::CallbackServerContext* context, auth::Rpc rpc,
                                    std::type_identity_t<Async>* backend,
                                    void (Async::*method)(grpc::ClientContext*, const Request*,
                                                          Response*,
                                                          std::function<void(grpc::Status)>),
                                    const Request* request, Response* response);

  // The authorisation hook of WatchEvents: after authentication and the role check,
  // `grant.scope` decides from the request's unit_id what the caller may watch
  // (auth::Authorizer::ScopeWatch); without access_, any unit of the district. With access_, also
  // the token's expiry and a slot of the caller's watch quota (RESOURCE_EXHAUSTED when the
  // subject holds them all). A status that refuses the call otherwise.
  grpc::Status WatchJurisdiction(grpc::CallbackServerContext* context, WatchGrant& grant);

  // Guarded to the webhooks service, or the role check and UNAVAILABLE when it is not configured.
  template <class Request, class Response>
  grpc::ServerUnaryReactor* ToWebhooks(
      grpc::CallbackServerContext* context, auth::Rpc rpc,
      void (v1::WebhooksService::StubInterface::async_interface::*method)(
          grpc::ClientContext*, const Request*, Response*, std::function<void(grpc::Status)>),
      const Request* request, Response* response);

  Backends backends_;
  const topology::Topology& topology_;
  std::chrono::milliseconds default_deadline_;
  AccessPtr access_;
  // Forwards ReportEvent (with access_) to backends_.intake.
  std::unique_ptr<ReportBatcher> reports_;
  WatchHub* watch_hub_ = nullptr;
  const policy::Policy* policy_ = nullptr;
  std::unique_ptr<WatchQuota> watch_quota_ =
      std::make_unique<WatchQuota>(kDefaultWatchesPerSubject);
};

}  // namespace grid::gateway
