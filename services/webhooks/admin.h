// The webhooks service's administration (grid.v1.WebhooksService, fronted by the gateway for
// ADMINs): how each receiver stands, a signed ping sent now, and dead letters moved back onto
// their queues. WebhookAdmin decides and reads or writes Redis; WebhooksServiceImpl adapts it to
// gRPC.
//
// Redelivery moves a receiver's dead letters of one subdistrict onto its queue in one Lua step
// per batch of up to kRedeliverBatch (webhook_redeliver.lua): each dead letter is either moved
// (a new queue entry, gone from the dead letters) or not, whatever happens to the process, so
// nothing is lost or doubled. A redelivered change goes behind what the queue holds: it reaches
// the receiver after newer changes of its event, which the receiver orders by the event's
// version (in the body) and drops if it has seen it (X-Grid-Idempotency-Key).
//
// Threading: the methods may be called from any thread; the work is posted to the io_context's
// thread (where Webhooks and the Redis client's callbacks run), and `done` is called there,
// exactly once.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/clock/clock.h"
#include "common/redis/client.h"
#include "common/redis/script.h"
#include "common/topology/topology.h"
#include "grid/v1/webhooks.grpc.pb.h"
#include "services/webhooks/receivers.h"
#include "services/webhooks/webhooks.h"

namespace grid::webhooks {

// Dead letters moved per Lua step.
inline constexpr int kRedeliverBatch = 1000;

// `url` with any user information ("user:password@") taken out of its authority.
std::string RedactedUrl(std::string_view url);

// The body of TestWebhook's ping: {"ping": {"receiver": ..., "unit_id": ..., "at": RFC 3339}}.
std::string PingBody(const v1::WebhookReceiver& receiver, Millis at);

// The checks of a RedeliverWebhooks request that need no configuration: INVALID_ARGUMENT naming
// the field (receiver required, limit not negative, subdistrict_id a subdistrict of the
// topology).
absl::Status CheckRedeliver(const v1::RedeliverWebhooksRequest& request,
                            const topology::Topology& topology);

class WebhookAdmin final {
 public:
  template <class T>
  using Callback = std::function<void(absl::StatusOr<T>)>;

  // Borrows everything; it outlives every call (Runtime::Serve returns after the calls end).
  WebhookAdmin(boost::asio::io_context& io, redis::Client& redis,
               const topology::Topology& topology, const Clock& clock, Webhooks& webhooks);

  // Every configured receiver, or the one named (NOT_FOUND naming it). Queue and dead-letter
  // figures from Redis (XLEN, and the oldest queued change's time); UNAVAILABLE when it fails.
  void Status(const v1::GetWebhookStatusRequest& request,
              Callback<v1::GetWebhookStatusResponse> done);
  // One signed POST to the receiver (X-Grid-Event: ping), under the service's HTTP rules.
  void Test(const v1::TestWebhookRequest& request, Callback<v1::TestWebhookResponse> done);
  void Redeliver(const v1::RedeliverWebhooksRequest& request,
                 Callback<v1::RedeliverWebhooksResponse> done);

 private:
  boost::asio::io_context& io_;
  redis::Client& redis_;
  const topology::Topology& topology_;
  const Clock& clock_;
  Webhooks& webhooks_;
  const redis::Script redeliver_;
};

class WebhooksServiceImpl final : public v1::WebhooksService::CallbackService {
 public:
  explicit WebhooksServiceImpl(WebhookAdmin& admin) : admin_(admin) {}

  grpc::ServerUnaryReactor* GetWebhookStatus(grpc::CallbackServerContext* context,
                                             const v1::GetWebhookStatusRequest* request,
                                             v1::GetWebhookStatusResponse* response) override;
  grpc::ServerUnaryReactor* TestWebhook(grpc::CallbackServerContext* context,
                                        const v1::TestWebhookRequest* request,
                                        v1::TestWebhookResponse* response) override;
  grpc::ServerUnaryReactor* RedeliverWebhooks(grpc::CallbackServerContext* context,
                                              const v1::RedeliverWebhooksRequest* request,
                                              v1::RedeliverWebhooksResponse* response) override;

 private:
  WebhookAdmin& admin_;
};

}  // namespace grid::webhooks
