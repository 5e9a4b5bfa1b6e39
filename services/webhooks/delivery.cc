#include "services/webhooks/delivery.h"

#include <google/protobuf/util/json_util.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "absl/strings/str_cat.h"
#include "common/server/stream_groups.h"
#include "services/webhooks/signature.h"
#include "services/webhooks/webhook_keys.h"

namespace grid::webhooks {

namespace {

prometheus::Histogram::BucketBoundaries LatencyBuckets() {
  return {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 21600, 86400};
}

std::string Json(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

}  // namespace

WebhookMetrics::WebhookMetrics(prometheus::Registry& registry)
    : delivered(prometheus::BuildCounter()
                    .Name("grid_webhook_delivered_total")
                    .Help("Changes a webhook receiver answered with a 2xx")
                    .Register(registry)),
      failed(prometheus::BuildCounter()
                 .Name("grid_webhook_failed_total")
                 .Help("Webhook delivery attempts that failed, by reason")
                 .Register(registry)),
      dead_letters(prometheus::BuildCounter()
                       .Name("grid_webhook_dead_letters_total")
                       .Help("Changes given up on (max_age) or refused (queue_full)")
                       .Register(registry)),
      queued_total(prometheus::BuildCounter()
                       .Name("grid_webhook_queued_total")
                       .Help("Changes handed over to a receiver's queues")
                       .Register(registry)),
      retrying(prometheus::BuildGauge()
                   .Name("grid_webhook_retrying")
                   .Help("Changes waiting for a retry after a failed attempt")
                   .Register(registry)),
      queued(prometheus::BuildGauge()
                 .Name("grid_webhook_queued")
                 .Help("Changes waiting for delivery, retrying ones included")
                 .Register(registry)),
      oldest_undelivered(prometheus::BuildGauge()
                             .Name("grid_webhook_oldest_undelivered_seconds")
                             .Help("Age of the oldest change not yet delivered (0: none)")
                             .Register(registry)),
      delivery_seconds(prometheus::BuildHistogram()
                           .Name("grid_webhook_delivery_seconds")
                           .Help("From a change's time to the receiver's 2xx")
                           .Register(registry)) {}

std::string DeliveryBody(const v1::EventChange& change, const v1::Event* event) {
  return absl::StrCat("{\"change\":", Json(change),
                      ",\"event\":", event != nullptr ? Json(*event) : "null", "}");
}

QueueDelivery::QueueDelivery(boost::asio::io_context& io, redis::Client& redis, HttpPoster& poster,
                             const Clock& clock, WebhookMetrics& metrics,
                             const redis::Script& dead_letter, std::string subdistrict,
                             std::string receiver, ReceiversPtr receivers, Options options)
    : io_(io),
      redis_(redis),
      poster_(poster),
      clock_(clock),
      metrics_(metrics),
      dead_letter_(dead_letter),
      subdistrict_(std::move(subdistrict)),
      receiver_(std::move(receiver)),
      queue_(QueueKey(subdistrict_, receiver_)),
      dead_(DeadLetterKey(subdistrict_, receiver_)),
      receivers_(std::move(receivers)),
      options_(options),
      timer_(io),
      random_(std::random_device()()) {
  const prometheus::Labels labels{{"receiver", receiver_}};
  metrics_.delivered.Add(labels);
  metrics_.retrying.Add(labels);
  metrics_.delivery_seconds.Add(labels, LatencyBuckets());
}

void QueueDelivery::Start() {
  boost::asio::post(io_, [self = shared_from_this()] { self->Fetch(); });
}

void QueueDelivery::Stop() {
  boost::asio::post(io_, [self = shared_from_this()] {
    self->stopped_ = true;
    self->timer_.cancel();
    self->SetRetrying(false);
  });
}

void QueueDelivery::Notify() {
  if (idle_) {
    timer_.cancel();
  }
}

void QueueDelivery::After(std::chrono::milliseconds wait, void (QueueDelivery::*next)()) {
  timer_.expires_after(wait);
  timer_.async_wait([self = shared_from_this(), next](boost::system::error_code) {
    self->idle_ = false;
    if (!self->stopped_) {
      ((*self).*next)();
    }
  });
}

void QueueDelivery::Fetch() {
  if (stopped_) {
    return;
  }
  redis_.Command({"XRANGE", queue_, "-", "+", "COUNT", "1"},
                 [self = shared_from_this()](absl::StatusOr<redis::Reply> reply) {
                   self->OnFetched(std::move(reply));
                 });
}

void QueueDelivery::OnFetched(absl::StatusOr<redis::Reply> reply) {
  if (stopped_) {
    return;
  }
  if (!reply.ok() || !reply->IsArray()) {
    spdlog::warn("webhook {} {}: reading the queue: {}", receiver_, subdistrict_,
                 reply.ok() ? reply->DebugString() : reply.status().ToString());
    return After(options_.idle_poll, &QueueDelivery::Fetch);
  }
  if (reply->elements.empty()) {
    head_at_ = 0;
    head_id_.clear();
    SetRetrying(false);
    idle_ = true;
    return After(options_.idle_poll, &QueueDelivery::Fetch);
  }
  const redis::Reply& entry = reply->elements[0];
  if (!entry.IsArray() || entry.elements.size() != 2 || !entry.elements[1].IsArray()) {
    spdlog::error("webhook {} {}: unexpected queue entry {}", receiver_, subdistrict_,
                  entry.DebugString());
    return After(options_.idle_poll, &QueueDelivery::Fetch);
  }
  const std::string& id = entry.elements[0].str;
  if (id == head_id_) {
    return Send();
  }
  head_id_ = id;
  attempts_ = 0;
  std::string change_bytes;
  std::string event_bytes;
  const auto& fields = entry.elements[1].elements;
  for (size_t i = 0; i + 1 < fields.size(); i += 2) {
    if (fields[i].str == "c") {
      change_bytes = fields[i + 1].str;
    } else if (fields[i].str == "e") {
      event_bytes = fields[i + 1].str;
    }
  }
  v1::EventChange change;
  if (change_bytes.empty() || !change.ParseFromString(change_bytes)) {
    // Not ours to deliver: only handoff writes here. Keep it for inspection and move on.
    spdlog::error("webhook {} {}: queue entry {} holds no change; moved to the dead letters",
                  receiver_, subdistrict_, id);
    redis_.Eval(dead_letter_, {queue_, dead_},
                {id, "not a change", "0", std::to_string(clock_.Now()),
                 std::to_string(options_.dead_letter_max_length)},
                [self = shared_from_this()](absl::StatusOr<redis::Reply>) { self->Fetch(); });
    return;
  }
  v1::Event event;
  const bool has_event = !event_bytes.empty() && event.ParseFromString(event_bytes);
  body_ = DeliveryBody(change, has_event ? &event : nullptr);
  idempotency_key_ = absl::StrCat(change.event_id(), ":", change.version());
  head_at_ = change.has_at() ? FromTimestamp(change.at())
                             : server::StreamIdMillis(id).value_or(clock_.Now());
  Send();
}

void QueueDelivery::Send() {
  const Receiver* receiver = receivers_->Find(receiver_);
  if (receiver == nullptr) {
    // Removed or disabled by a reload; the owner stops this loop.
    return;
  }
  const std::int64_t t = clock_.Now() / 1000;
  HttpPoster::Headers headers = {
      {"X-Grid-Signature", SignatureHeader(receiver->config.secret(), t, body_)},
      {"X-Grid-Idempotency-Key", idempotency_key_},
      {"X-Grid-Receiver", receiver_},
  };
  ++attempts_;
  poster_.Post(receiver->url, receiver->config.allow_private(), headers, body_,
               [self = shared_from_this()](PostResult result) { self->OnSent(std::move(result)); });
}

void QueueDelivery::OnSent(PostResult result) {
  if (stopped_) {
    return;
  }
  const prometheus::Labels labels{{"receiver", receiver_}};
  const Millis now = clock_.Now();
  if (result.ok()) {
    metrics_.delivered.Add(labels).Increment();
    metrics_.delivery_seconds.Add(labels, LatencyBuckets())
        .Observe(static_cast<double>(std::max<Millis>(0, now - head_at_)) / 1000.0);
    SetRetrying(false);
    redis_.Command({"XDEL", queue_, head_id_},
                   [self = shared_from_this()](absl::StatusOr<redis::Reply> reply) {
                     if (!reply.ok() || reply->IsError()) {
                       // It stays at the head and goes again: at least once.
                       spdlog::warn("webhook {} {}: deleting a delivered change: {}",
                                    self->receiver_, self->subdistrict_,
                                    reply.ok() ? reply->DebugString() : reply.status().ToString());
                       return self->After(self->options_.idle_poll, &QueueDelivery::Fetch);
                     }
                     self->head_id_.clear();
                     self->Fetch();
                   });
    return;
  }
  metrics_.failed.Add({{"receiver", receiver_}, {"reason", result.reason}}).Increment();
  const Millis queued_at = server::StreamIdMillis(head_id_).value_or(now);
  if (now - queued_at >= options_.max_age.count()) {
    spdlog::warn("webhook {} {}: giving up on {} after {} attempts over {} s: {}", receiver_,
                 subdistrict_, idempotency_key_, attempts_, (now - queued_at) / 1000, result.error);
    metrics_.dead_letters.Add({{"receiver", receiver_}, {"reason", "max_age"}}).Increment();
    SetRetrying(false);
    redis_.Eval(dead_letter_, {queue_, dead_},
                {head_id_, result.error, std::to_string(attempts_), std::to_string(now),
                 std::to_string(options_.dead_letter_max_length)},
                [self = shared_from_this()](absl::StatusOr<redis::Reply> reply) {
                  if (!reply.ok() || reply->IsError()) {
                    return self->After(self->options_.idle_poll, &QueueDelivery::Fetch);
                  }
                  self->Fetch();
                });
    return;
  }
  std::uniform_real_distribution<double> jitter(0.0, 1.0);
  const auto wait = RetryDelay(attempts_, options_.retry_base, options_.retry_cap, jitter(random_));
  if (attempts_ == 1 || attempts_ % 10 == 0) {
    spdlog::info("webhook {} {}: {} attempt {} failed ({}); next in {} ms", receiver_, subdistrict_,
                 idempotency_key_, attempts_, result.error, wait.count());
  }
  SetRetrying(true);
  // Fetch again rather than Send: the head may have gone meanwhile (another replica).
  After(wait, &QueueDelivery::Fetch);
}

void QueueDelivery::SetRetrying(bool retrying) {
  if (retrying == retrying_) {
    return;
  }
  retrying_ = retrying;
  auto& gauge = metrics_.retrying.Add({{"receiver", receiver_}});
  if (retrying) {
    gauge.Increment();
  } else {
    gauge.Decrement();
  }
}

}  // namespace grid::webhooks
