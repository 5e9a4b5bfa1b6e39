// Delivers one receiver's queue of one subdistrict ({sd}:wh:q:<receiver>), strictly in order: the
// head is sent, and only after a 2xx is it deleted and the next one sent, so every event's
// changes (an event lives in one subdistrict) reach the receiver in the order of the live stream.
// A failed attempt (non-2xx, time-out, connection error, a refused address) is retried with
// exponential back-off and jitter (RetryDelay) until the change is older than max_age, when it
// moves to the receiver's dead letters and the next one goes. At most one request per queue is in
// flight, and every queue has its own loop and timers, so a slow or dead receiver holds up its own
// queues only.
//
// Delivery is at least once: a crash between the 2xx and the deletion sends the change again,
// with the same X-Grid-Idempotency-Key (<event_id>:<version>), for the receiver to drop.
//
// Threading: everything runs on the io_context's thread, the one that runs the Redis client's
// callbacks (a single-threaded io_context).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <random>
#include <string>

#include "common/clock/clock.h"
#include "common/redis/client.h"
#include "common/redis/script.h"
#include "services/webhooks/http_poster.h"
#include "services/webhooks/receivers.h"

namespace grid::webhooks {

// Every figure of the webhooks service (STYLE.md item 9), labelled by receiver name (bounded by
// the configuration).
struct WebhookMetrics {
  explicit WebhookMetrics(prometheus::Registry& registry);

  // grid_webhook_delivered_total{receiver}: changes a receiver answered with a 2xx.
  prometheus::Family<prometheus::Counter>& delivered;
  // grid_webhook_failed_total{receiver, reason}: attempts that failed (status, timeout, resolve,
  // refused, connect, tls, io).
  prometheus::Family<prometheus::Counter>& failed;
  // grid_webhook_dead_letters_total{receiver, reason}: changes given up on (max_age, queue_full).
  prometheus::Family<prometheus::Counter>& dead_letters;
  // grid_webhook_queued_total{receiver}: changes handed over to the receiver's queues.
  prometheus::Family<prometheus::Counter>& queued_total;
  // grid_webhook_retrying{receiver}: changes waiting for a retry now (a queue's head after a
  // failed attempt).
  prometheus::Family<prometheus::Gauge>& retrying;
  // grid_webhook_queued{receiver}: changes waiting for delivery (retrying included).
  prometheus::Family<prometheus::Gauge>& queued;
  // grid_webhook_oldest_undelivered_seconds{receiver}: the age of the oldest change waiting
  // (from its time), 0 when none.
  prometheus::Family<prometheus::Gauge>& oldest_undelivered;
  // grid_webhook_delivery_seconds{receiver}: from the change's time to the receiver's 2xx.
  prometheus::Family<prometheus::Histogram>& delivery_seconds;
};

class QueueDelivery final : public std::enable_shared_from_this<QueueDelivery> {
 public:
  struct Options {
    std::chrono::milliseconds retry_base{1000};
    std::chrono::milliseconds retry_cap{std::chrono::minutes(10)};
    // A change not delivered this long after it was queued goes to the dead letters.
    std::chrono::milliseconds max_age{std::chrono::hours(24)};
    // How often an empty queue is looked at when nothing said it got an entry (another process
    // may have queued, or a notification was lost to a restart).
    std::chrono::milliseconds idle_poll{1000};
    int dead_letter_max_length = 10000;
  };

  // Borrows everything; the io_context, clients, poster, clock and metrics outlive the loop (or
  // the loop is stopped and the io_context stopped before they go).
  QueueDelivery(boost::asio::io_context& io, redis::Client& redis, HttpPoster& poster,
                const Clock& clock, WebhookMetrics& metrics, const redis::Script& dead_letter,
                std::string subdistrict, std::string receiver, ReceiversPtr receivers,
                Options options);

  void Start();
  // No further attempts; what is queued stays queued.
  void Stop();
  // The queue got an entry: an idle loop looks at once.
  void Notify();
  // A reloaded configuration: the next attempt uses the receiver's new URL and secret.
  void SetReceivers(ReceiversPtr receivers) { receivers_ = std::move(receivers); }

  const std::string& receiver() const { return receiver_; }
  const std::string& subdistrict() const { return subdistrict_; }
  // The time of the change at the head (UTC ms), 0 when the queue was empty when last looked at.
  Millis head_at() const { return head_at_; }
  bool retrying() const { return retrying_; }

 private:
  void Fetch();
  void OnFetched(absl::StatusOr<redis::Reply> reply);
  void Send();
  void OnSent(PostResult result);
  void SetRetrying(bool retrying);
  void After(std::chrono::milliseconds wait, void (QueueDelivery::*next)());

  boost::asio::io_context& io_;
  redis::Client& redis_;
  HttpPoster& poster_;
  const Clock& clock_;
  WebhookMetrics& metrics_;
  const redis::Script& dead_letter_;
  const std::string subdistrict_;
  const std::string receiver_;
  const std::string queue_;
  const std::string dead_;
  ReceiversPtr receivers_;
  Options options_;
  boost::asio::steady_timer timer_;
  std::minstd_rand random_;
  bool stopped_ = false;
  bool idle_ = false;
  bool retrying_ = false;
  // The head being delivered.
  std::string head_id_;
  std::string body_;
  std::string idempotency_key_;
  Millis head_at_ = 0;
  int attempts_ = 0;
};

// The JSON body of a delivery: {"change": <change>, "event": <event or null>}, protobuf JSON with
// the proto's field names and every field printed.
std::string DeliveryBody(const v1::EventChange& change, const v1::Event* event);

}  // namespace grid::webhooks
