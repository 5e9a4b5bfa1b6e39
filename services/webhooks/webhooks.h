// The webhooks service's parts wired together: the receivers' configuration (reloaded without a
// restart), the handoff from the live streams to the receivers' queues, one delivery loop per
// receiver and subdistrict, and the gauges of the queues.
//
// Reload: the file is looked at every reload_interval and on SIGHUP; when its modification time
// changed (or on every SIGHUP) it is read again. A valid file replaces the configuration for the
// changes handed over from then on (a receiver's URL and secret apply at its next attempt); an
// invalid one is logged with the field at fault and the old configuration stays. A receiver
// removed or disabled stops being delivered to; its queues stay in Redis (and go on when it
// comes back under the same name).
//
// One replica delivers: the process that holds the lease (lease.h). It starts the handoff and
// the delivery loops when it takes the lease, and stops them when it loses it; meanwhile (a
// standby) it keeps the configuration current and answers the administration (admin.h), whose
// figures come from Redis.
//
// Threading: Start, Stop and every callback run on the io_context's thread (Start and Stop post
// to it); the accessors for the administration are called there too.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "common/clock/clock.h"
#include "common/redis/client.h"
#include "common/redis/script.h"
#include "common/topology/topology.h"
#include "services/webhooks/delivery.h"
#include "services/webhooks/handoff.h"
#include "services/webhooks/http_poster.h"
#include "services/webhooks/lease.h"
#include "services/webhooks/receivers.h"

namespace grid::webhooks {

class Webhooks final {
 public:
  struct Options {
    std::string config_path;
    std::chrono::milliseconds reload_interval{2000};
    std::chrono::milliseconds gauge_interval{5000};
    Handoff::Options handoff;
    QueueDelivery::Options delivery;
    HttpPoster::Options http;
    Lease::Options lease;
  };
  // A read group of live streams and the client its blocking reads go on.
  struct ReadGroup {
    std::vector<std::string> streams;
    redis::Client* blocking;
  };

  // Borrows everything; they outlive this object, or Stop() is called and the io_context
  // stopped before they go.
  Webhooks(boost::asio::io_context& io, redis::Client& redis, std::vector<ReadGroup> read_groups,
           const topology::Topology& topology, const Clock& clock, WebhookMetrics& metrics,
           Options options);
  ~Webhooks();

  // Loads the configuration (an invalid file is an error: nothing starts) and starts: tries to
  // take the lease, and delivers once it holds it.
  absl::Status Start();
  // Stops delivering and gives the lease up.
  void Stop();
  // Reads the configuration again (what SIGHUP does). On the io thread.
  void Reload();

  // For the administration (admin.h), on the io thread.
  // Whether this process holds the lease and delivers.
  bool active() const { return lease_ != nullptr && lease_->held(); }
  const ReceiversPtr& receivers() const { return receivers_; }
  // What this process saw of a receiver's deliveries; nullptr when nothing yet.
  const ReceiverActivity* activity(const std::string& receiver) const;
  // Changes of the receiver waiting for a retry now.
  std::int64_t retrying(const std::string& receiver) const;
  // The queue of (receiver, subdistrict) got entries: its loop looks at once.
  void Notify(const std::string& receiver, const std::string& subdistrict);
  HttpPoster& poster() { return poster_; }
  const Options& options() const { return options_; }

 private:
  void ApplyReceivers(ReceiversPtr receivers);
  // Starts or stops the delivery loops to match the receivers (none while not active).
  void SyncDeliveries();
  // The lease was taken: hand over and deliver. The lease was lost: stop both.
  void Activate();
  void Deactivate();
  void WatchFile();
  void WatchSignal();
  void UpdateGauges();
  void OnQueued(const std::string& subdistrict, const std::string& receiver);

  boost::asio::io_context& io_;
  redis::Client& redis_;
  std::vector<ReadGroup> read_groups_;
  const topology::Topology& topology_;
  const Clock& clock_;
  WebhookMetrics& metrics_;
  Options options_;
  redis::Script handoff_script_;
  redis::Script dead_letter_script_;
  HttpPoster poster_;
  ReceiversPtr receivers_;
  std::filesystem::file_time_type config_mtime_{};
  // By (receiver, subdistrict).
  std::map<std::pair<std::string, std::string>, std::shared_ptr<QueueDelivery>> deliveries_;
  // Last XLEN of each queue, by (receiver, subdistrict).
  std::map<std::pair<std::string, std::string>, long long> lengths_;
  // Receivers whose gauges were set by the last UpdateGauges.
  std::set<std::string> published_;
  std::vector<std::shared_ptr<Handoff>> handoffs_;
  // By receiver; never erased (a removed receiver's loops may still finish an attempt).
  std::map<std::string, ReceiverActivity, std::less<>> activity_;
  std::shared_ptr<Lease> lease_;
  bool active_ = false;
  boost::asio::steady_timer reload_timer_;
  boost::asio::steady_timer gauge_timer_;
  boost::asio::signal_set hangup_;
  bool stopped_ = false;
};

}  // namespace grid::webhooks
