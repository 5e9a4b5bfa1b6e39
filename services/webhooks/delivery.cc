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
                           .Register(registry)),
      lease_held(prometheus::BuildGauge()
                     .Name("grid_webhook_lease_held")
                     .Help("1 while this process holds the webhooks lease and delivers, 0 on "
                           "standby")
                     .Register(registry)
                     .Add({})) {}

std::string DeliveryBody(const v1::EventChange& change, const v1::Event* event) {
  return absl::StrCat("{\"change\":", Json(change),
                      ",\"event\":", event != nullptr ? Json(*event) : "null", "}");
}

QueueDelivery::QueueDelivery(boost::asio::io_context& io, redis::Client& redis, HttpPoster& poster,
                             const Clock& clock, WebhookMetrics& metrics,
                             ReceiverActivity& activity, const redis::Script& dead_letter,
                             std::string subdistrict, std::string receiver, ReceiversPtr receivers,
                             Options options)
    : io_(io),
      redis_(redis),
      poster_(poster),
      clock_(clock),
      metrics_(metrics),
      activity_(activity),
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
  boost::asio::post(io_, [self = shared_from_this()] { self->Fill(); });
}

void QueueDelivery::Stop() {
  boost::asio::post(io_, [self = shared_from_this()] {
    self->stopped_ = true;
    self->timer_.cancel();
    self->window_.clear();
    self->UpdateRetrying();
  });
}

void QueueDelivery::Notify() {
  if (!stopped_) {
    Fill();
  }
}

void QueueDelivery::Wake(std::chrono::steady_clock::time_point when) {
  if (stopped_ || when >= timer_at_) {
    return;
  }
  timer_at_ = when;
  timer_.expires_at(when);
  timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || self->stopped_) {
      return;
    }
    self->timer_at_ = std::chrono::steady_clock::time_point::max();
    self->Fill();
    self->Dispatch();
  });
}

QueueDelivery::Item* QueueDelivery::Find(const std::string& id) {
  for (Item& item : window_) {
    if (item.id == id) {
      return &item;
    }
  }
  return nullptr;
}

void QueueDelivery::Fill() {
  if (stopped_) {
    return;
  }
  if (filling_) {
    refill_ = true;
    return;
  }
  const int room = options_.max_window - static_cast<int>(window_.size());
  if (room <= 0) {
    return;
  }
  filling_ = true;
  refill_ = false;
  redis_.Command({"XRANGE", queue_, last_read_ == "-" ? "-" : "(" + last_read_, "+", "COUNT",
                  std::to_string(room)},
                 [self = shared_from_this()](absl::StatusOr<redis::Reply> reply) {
                   self->OnFilled(std::move(reply));
                 });
}

void QueueDelivery::OnFilled(absl::StatusOr<redis::Reply> reply) {
  filling_ = false;
  if (stopped_) {
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (!reply.ok() || !reply->IsArray()) {
    spdlog::warn("webhook {} {}: reading the queue: {}", receiver_, subdistrict_,
                 reply.ok() ? reply->DebugString() : reply.status().ToString());
    return Wake(now + options_.idle_poll);
  }
  for (const redis::Reply& entry : reply->elements) {
    if (!entry.IsArray() || entry.elements.size() != 2 || !entry.elements[1].IsArray()) {
      continue;
    }
    const std::string& id = entry.elements[0].str;
    last_read_ = id;
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
      // Not ours to deliver: only the handoff writes here. Kept for inspection.
      spdlog::error("webhook {} {}: queue entry {} holds no change; moved to the dead letters",
                    receiver_, subdistrict_, id);
      redis_.Eval(dead_letter_, {queue_, dead_},
                  {id, "not a change", "0", std::to_string(clock_.Now()),
                   std::to_string(options_.dead_letter_max_length)},
                  [](absl::StatusOr<redis::Reply>) {});
      continue;
    }
    v1::Event event;
    const bool has_event = !event_bytes.empty() && event.ParseFromString(event_bytes);
    Item item;
    item.id = id;
    item.event_id = change.event_id();
    item.key = absl::StrCat(change.event_id(), ":", change.version());
    item.body = DeliveryBody(change, has_event ? &event : nullptr);
    item.queued_at = server::StreamIdMillis(id).value_or(clock_.Now());
    item.at = change.has_at() ? FromTimestamp(change.at()) : item.queued_at;
    window_.push_back(std::move(item));
  }
  if (refill_) {
    Fill();
  }
  Dispatch();
  // Look again in a while, in case a change was queued without a notification (a restart).
  Wake(now + options_.idle_poll);
}

void QueueDelivery::Dispatch() {
  if (stopped_) {
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  auto next = std::chrono::steady_clock::time_point::max();
  // An event's oldest change in the window is the only one of it that may go.
  std::vector<std::string_view> seen;
  for (Item& item : window_) {
    if (std::find(seen.begin(), seen.end(), item.event_id) != seen.end()) {
      continue;
    }
    seen.push_back(item.event_id);
    if (item.in_flight) {
      continue;
    }
    if (item.delivered) {
      Delete(item);
      continue;
    }
    if (item.retry_at > now) {
      next = std::min(next, item.retry_at);
      continue;
    }
    if (in_flight_ >= options_.max_in_flight) {
      break;
    }
    Send(item);
  }
  if (next != std::chrono::steady_clock::time_point::max()) {
    Wake(next);
  }
  UpdateRetrying();
}

void QueueDelivery::Send(Item& item) {
  const Receiver* receiver = receivers_->Find(receiver_);
  if (receiver == nullptr) {
    // Removed or disabled by a reload; the owner stops this loop.
    return;
  }
  const std::int64_t t = clock_.Now() / 1000;
  HttpPoster::Headers headers = {
      {"X-Grid-Event", "change"},
      {"X-Grid-Signature", SignatureHeader(receiver->config.secret(), t, item.body)},
      {"X-Grid-Idempotency-Key", item.key},
      {"X-Grid-Receiver", receiver_},
  };
  ++item.attempts;
  item.in_flight = true;
  ++in_flight_;
  poster_.Post(receiver->url, receiver->config.allow_private(), headers, item.body,
               [self = shared_from_this(), id = item.id](PostResult result) {
                 self->OnSent(id, std::move(result));
               });
}

void QueueDelivery::OnSent(const std::string& id, PostResult result) {
  --in_flight_;
  Item* item = stopped_ ? nullptr : Find(id);
  if (item == nullptr) {
    return;
  }
  item->in_flight = false;
  const prometheus::Labels labels{{"receiver", receiver_}};
  const Millis now = clock_.Now();
  if (result.ok()) {
    ++activity_.delivered;
    activity_.last_success_at = now;
    metrics_.delivered.Add(labels).Increment();
    metrics_.delivery_seconds.Add(labels, LatencyBuckets())
        .Observe(static_cast<double>(std::max<Millis>(0, now - item->at)) / 1000.0);
    item->delivered = true;
    Delete(*item);
    return Dispatch();
  }
  metrics_.failed.Add({{"receiver", receiver_}, {"reason", result.reason}}).Increment();
  ++activity_.failed;
  activity_.last_error = result.error;
  activity_.last_error_at = now;
  if (now - item->queued_at >= options_.max_age.count()) {
    spdlog::warn("webhook {} {}: giving up on {} after {} attempts over {} s: {}", receiver_,
                 subdistrict_, item->key, item->attempts, (now - item->queued_at) / 1000,
                 result.error);
    metrics_.dead_letters.Add({{"receiver", receiver_}, {"reason", "max_age"}}).Increment();
    item->in_flight = true;
    ++in_flight_;
    redis_.Eval(dead_letter_, {queue_, dead_},
                {id, result.error, std::to_string(item->attempts), std::to_string(now),
                 std::to_string(options_.dead_letter_max_length)},
                [self = shared_from_this(), id](absl::StatusOr<redis::Reply> reply) {
                  --self->in_flight_;
                  Item* item = self->stopped_ ? nullptr : self->Find(id);
                  if (item == nullptr) {
                    return;
                  }
                  item->in_flight = false;
                  if (!reply.ok() || reply->IsError()) {
                    // Tried again at the next attempt's failure.
                    item->retry_at = std::chrono::steady_clock::now() + self->options_.idle_poll;
                  } else {
                    self->Remove(id);
                  }
                  self->Dispatch();
                  self->Fill();
                });
    return Dispatch();
  }
  std::uniform_real_distribution<double> jitter(0.0, 1.0);
  const auto wait =
      RetryDelay(item->attempts, options_.retry_base, options_.retry_cap, jitter(random_));
  if (item->attempts == 1 || item->attempts % 10 == 0) {
    spdlog::info("webhook {} {}: {} attempt {} failed ({}); next in {} ms", receiver_, subdistrict_,
                 item->key, item->attempts, result.error, wait.count());
  }
  item->retry_at = std::chrono::steady_clock::now() + wait;
  Dispatch();
}

void QueueDelivery::Delete(Item& item) {
  item.in_flight = true;
  ++in_flight_;
  redis_.Command({"XDEL", queue_, item.id},
                 [self = shared_from_this(), id = item.id](absl::StatusOr<redis::Reply> reply) {
                   --self->in_flight_;
                   Item* item = self->stopped_ ? nullptr : self->Find(id);
                   if (item == nullptr) {
                     return;
                   }
                   item->in_flight = false;
                   if (!reply.ok() || reply->IsError()) {
                     // Delivered, but still queued: deleted again on the next round; the event's
                     // next change waits for it.
                     spdlog::warn("webhook {} {}: deleting a delivered change: {}", self->receiver_,
                                  self->subdistrict_,
                                  reply.ok() ? reply->DebugString() : reply.status().ToString());
                     return self->Wake(std::chrono::steady_clock::now() + self->options_.idle_poll);
                   }
                   self->Remove(id);
                   self->Dispatch();
                   self->Fill();
                 });
}

void QueueDelivery::Remove(const std::string& id) {
  for (auto it = window_.begin(); it != window_.end(); ++it) {
    if (it->id == id) {
      window_.erase(it);
      return;
    }
  }
}

void QueueDelivery::UpdateRetrying() {
  int retrying = 0;
  for (const Item& item : window_) {
    retrying += item.attempts > 0 && !item.in_flight && !item.delivered ? 1 : 0;
  }
  auto& gauge = metrics_.retrying.Add({{"receiver", receiver_}});
  if (retrying > retrying_) {
    gauge.Increment(retrying - retrying_);
  } else if (retrying < retrying_) {
    gauge.Decrement(retrying_ - retrying);
  }
  retrying_ = retrying;
}

}  // namespace grid::webhooks
