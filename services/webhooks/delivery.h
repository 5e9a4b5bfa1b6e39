// Delivers one receiver's queue of one subdistrict ({sd}:wh:q:<receiver>) in order per event:
// it reads the queue into a window (up to max_window changes, in queue order) and sends every
// change whose event has no earlier change in the window, up to max_in_flight at once; a change is
// deleted from the queue only after the receiver's 2xx, and only then may the next change of its
// event go. So every event's changes (an event lives in one subdistrict, and the handoff queues
// them in live-stream order) reach the receiver in order, while events do not wait for each other.
// A failed attempt (non-2xx, time-out, connection error, a refused address) is retried with
// exponential back-off and jitter (RetryDelay) until the change is older than max_age, when it
// moves to the receiver's dead letters and the event's next change goes. Every queue has its own
// loop, window and timers, so a slow or dead receiver holds up its own queues only, with at most
// max_in_flight requests per queue.
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
#include <vector>

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
  // grid_webhook_lease_held: 1 while this process holds the lease and delivers, 0 on standby.
  prometheus::Gauge& lease_held;
};

// What a process saw of one receiver's deliveries since it started (GetWebhookStatus), written
// by its delivery loops on the io_context's thread.
struct ReceiverActivity {
  std::int64_t delivered = 0;
  std::int64_t failed = 0;
  std::string last_error;
  // UTC ms; 0 when none.
  Millis last_error_at = 0;
  Millis last_success_at = 0;
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
    // Changes read ahead of the oldest undelivered one, and requests in flight, per queue.
    int max_window = 256;
    int max_in_flight = 8;
  };

  // Borrows everything; the io_context, clients, poster, clock, metrics and activity outlive the
  // loop (or the loop is stopped and the io_context stopped before they go).
  QueueDelivery(boost::asio::io_context& io, redis::Client& redis, HttpPoster& poster,
                const Clock& clock, WebhookMetrics& metrics, ReceiverActivity& activity,
                const redis::Script& dead_letter, std::string subdistrict, std::string receiver,
                ReceiversPtr receivers, Options options);

  void Start();
  // No further attempts; what is queued stays queued.
  void Stop();
  // The queue got an entry: an idle loop looks at once.
  void Notify();
  // A reloaded configuration: the next attempt uses the receiver's new URL and secret.
  void SetReceivers(ReceiversPtr receivers) { receivers_ = std::move(receivers); }

  const std::string& receiver() const { return receiver_; }
  const std::string& subdistrict() const { return subdistrict_; }
  // The time of the oldest change read and not yet delivered (UTC ms), 0 when none.
  Millis head_at() const { return window_.empty() ? 0 : window_.front().at; }
  // Changes of this queue waiting for a retry after a failed attempt.
  int retrying() const { return retrying_; }

 private:
  struct Item {
    std::string id;
    std::string event_id;
    std::string key;
    std::string body;
    // The change's time, and when it was queued (UTC ms).
    Millis at = 0;
    Millis queued_at = 0;
    int attempts = 0;
    bool in_flight = false;
    // Answered with a 2xx; its deletion from the queue has not been confirmed yet.
    bool delivered = false;
    // Not before this (steady clock), after a failed attempt.
    std::chrono::steady_clock::time_point retry_at{};
  };

  void Fill();
  void OnFilled(absl::StatusOr<redis::Reply> reply);
  void Dispatch();
  void Send(Item& item);
  void OnSent(const std::string& id, PostResult result);
  void Remove(const std::string& id);
  void Delete(Item& item);
  Item* Find(const std::string& id);
  void Wake(std::chrono::steady_clock::time_point when);
  void UpdateRetrying();

  boost::asio::io_context& io_;
  redis::Client& redis_;
  HttpPoster& poster_;
  const Clock& clock_;
  WebhookMetrics& metrics_;
  ReceiverActivity& activity_;
  const redis::Script& dead_letter_;
  const std::string subdistrict_;
  const std::string receiver_;
  const std::string queue_;
  const std::string dead_;
  ReceiversPtr receivers_;
  Options options_;
  boost::asio::steady_timer timer_;
  std::chrono::steady_clock::time_point timer_at_ = std::chrono::steady_clock::time_point::max();
  std::minstd_rand random_;
  bool stopped_ = false;
  // Changes read from the queue and not yet deleted, in queue order.
  std::vector<Item> window_;
  // The id of the last change read ("-" before the first read).
  std::string last_read_ = "-";
  bool filling_ = false;
  // Notified while a read was in flight: read again after it.
  bool refill_ = false;
  int in_flight_ = 0;
  // What this queue adds to grid_webhook_retrying.
  int retrying_ = 0;
};

// The JSON body of a delivery: {"change": <change>, "event": <event or null>}, protobuf JSON with
// the proto's field names and every field printed.
std::string DeliveryBody(const v1::EventChange& change, const v1::Event* event);

}  // namespace grid::webhooks
