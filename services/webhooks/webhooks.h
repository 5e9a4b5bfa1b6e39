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
// Threading: Start, Stop and every callback run on the io_context's thread (Start and Stop post
// to it).
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

  // Loads the configuration (an invalid file is an error: nothing starts) and starts.
  absl::Status Start();
  void Stop();
  // Reads the configuration again (what SIGHUP does). On the io thread.
  void Reload();

 private:
  void ApplyReceivers(ReceiversPtr receivers);
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
  boost::asio::steady_timer reload_timer_;
  boost::asio::steady_timer gauge_timer_;
  boost::asio::signal_set hangup_;
  bool stopped_ = false;
};

}  // namespace grid::webhooks
