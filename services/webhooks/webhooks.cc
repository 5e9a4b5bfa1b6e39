#include "services/webhooks/webhooks.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <csignal>
#include <future>
#include <set>

#include "services/webhooks/webhook_keys.h"

namespace grid::store {
extern const std::string_view kWebhookHandoffLua;
extern const std::string_view kWebhookDeadLetterLua;
}  // namespace grid::store

namespace grid::webhooks {

Webhooks::Webhooks(boost::asio::io_context& io, redis::Client& redis,
                   std::vector<ReadGroup> read_groups, const topology::Topology& topology,
                   const Clock& clock, WebhookMetrics& metrics, Options options)
    : io_(io),
      redis_(redis),
      read_groups_(std::move(read_groups)),
      topology_(topology),
      clock_(clock),
      metrics_(metrics),
      options_(std::move(options)),
      handoff_script_(redis::Script::FromSource(std::string(store::kWebhookHandoffLua))),
      dead_letter_script_(redis::Script::FromSource(std::string(store::kWebhookDeadLetterLua))),
      poster_(io, options_.http),
      reload_timer_(io),
      gauge_timer_(io),
      hangup_(io) {}

Webhooks::~Webhooks() = default;

absl::Status Webhooks::Start() {
  std::error_code error;
  config_mtime_ = std::filesystem::last_write_time(options_.config_path, error);
  auto loaded = Receivers::Load(options_.config_path, topology_);
  if (!loaded.ok()) {
    return loaded.status();
  }
  std::promise<void> started;
  boost::asio::post(io_, [this, &started, receivers = *std::move(loaded)]() mutable {
    ApplyReceivers(std::move(receivers));
    WatchFile();
    boost::system::error_code error;
    hangup_.add(SIGHUP, error);
    if (error) {
      spdlog::warn("webhooks: cannot catch SIGHUP ({}); the file is still watched",
                   error.message());
    }
    WatchSignal();
    UpdateGauges();
    metrics_.lease_held.Set(0);
    lease_ = std::make_shared<Lease>(
        io_, redis_, options_.lease, [this] { Activate(); }, [this] { Deactivate(); });
    lease_->Start();
    started.set_value();
  });
  started.get_future().wait();
  return absl::OkStatus();
}

void Webhooks::Stop() {
  std::promise<void> stopped;
  boost::asio::post(io_, [this, &stopped] {
    stopped_ = true;
    Deactivate();
    reload_timer_.cancel();
    gauge_timer_.cancel();
    boost::system::error_code ignored;
    hangup_.cancel(ignored);
    if (lease_ == nullptr) {
      stopped.set_value();
      return;
    }
    lease_->Stop([&stopped] { stopped.set_value(); });
  });
  stopped.get_future().wait();
}

void Webhooks::Activate() {
  if (stopped_ || active_) {
    return;
  }
  active_ = true;
  metrics_.lease_held.Set(1);
  SyncDeliveries();
  for (const ReadGroup& group : read_groups_) {
    Handoff::Options options = options_.handoff;
    options.streams = group.streams;
    handoffs_.push_back(std::make_shared<Handoff>(
        io_, *group.blocking, redis_, topology_, clock_, handoff_script_, std::move(options),
        [this] { return receivers_; },
        [this](const std::string& subdistrict, const std::string& receiver) {
          OnQueued(subdistrict, receiver);
        },
        [this](const std::string& receiver) {
          metrics_.dead_letters.Add({{"receiver", receiver}, {"reason", "queue_full"}}).Increment();
        }));
    handoffs_.back()->Start();
  }
}

void Webhooks::Deactivate() {
  if (!active_) {
    return;
  }
  active_ = false;
  metrics_.lease_held.Set(0);
  for (auto& handoff : handoffs_) {
    handoff->Stop();
  }
  handoffs_.clear();
  SyncDeliveries();
}

void Webhooks::ApplyReceivers(ReceiversPtr receivers) {
  receivers_ = std::move(receivers);
  for (const auto& [name, receiver] : receivers_->all()) {
    metrics_.delivered.Add({{"receiver", name}});
    metrics_.queued_total.Add({{"receiver", name}});
    metrics_.queued.Add({{"receiver", name}});
    metrics_.oldest_undelivered.Add({{"receiver", name}});
  }
  SyncDeliveries();
  spdlog::info("webhooks: {} receiver(s): {}", receivers_->all().size(), [this] {
    std::string names;
    for (const auto& [name, receiver] : receivers_->all()) {
      names += (names.empty() ? "" : ", ") + name + " (" + receiver.config.unit_id() + ")";
    }
    return names.empty() ? std::string("none") : names;
  }());
}

void Webhooks::SyncDeliveries() {
  std::set<std::pair<std::string, std::string>> wanted;
  if (active_) {
    for (const auto& [name, receiver] : receivers_->all()) {
      for (const std::string& subdistrict : topology_.subdistrict_ids()) {
        wanted.emplace(name, subdistrict);
      }
    }
  }
  for (auto it = deliveries_.begin(); it != deliveries_.end();) {
    if (wanted.count(it->first) == 0) {
      if (active_) {
        spdlog::info("webhooks: receiver {} is gone from the configuration; its queue of {} stays",
                     it->first.first, it->first.second);
      }
      it->second->Stop();
      lengths_.erase(it->first);
      it = deliveries_.erase(it);
    } else {
      it->second->SetReceivers(receivers_);
      ++it;
    }
  }
  for (const auto& key : wanted) {
    if (deliveries_.count(key) != 0) {
      continue;
    }
    auto delivery = std::make_shared<QueueDelivery>(
        io_, redis_, poster_, clock_, metrics_, activity_[key.first], dead_letter_script_,
        key.second, key.first, receivers_, options_.delivery);
    deliveries_.emplace(key, delivery);
    delivery->Start();
  }
}

const ReceiverActivity* Webhooks::activity(const std::string& receiver) const {
  auto it = activity_.find(receiver);
  return it == activity_.end() ? nullptr : &it->second;
}

std::int64_t Webhooks::retrying(const std::string& receiver) const {
  std::int64_t retrying = 0;
  for (const auto& [key, delivery] : deliveries_) {
    if (key.first == receiver) {
      retrying += delivery->retrying();
    }
  }
  return retrying;
}

void Webhooks::Notify(const std::string& receiver, const std::string& subdistrict) {
  if (auto it = deliveries_.find({receiver, subdistrict}); it != deliveries_.end()) {
    it->second->Notify();
  }
}

void Webhooks::Reload() {
  if (stopped_) {
    return;
  }
  auto loaded = Receivers::Load(options_.config_path, topology_);
  if (!loaded.ok()) {
    spdlog::error("webhooks: keeping the configuration in force: {}", loaded.status().ToString());
    return;
  }
  spdlog::info("webhooks: configuration reloaded from {}", options_.config_path);
  ApplyReceivers(*std::move(loaded));
}

void Webhooks::WatchFile() {
  reload_timer_.expires_after(options_.reload_interval);
  reload_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopped_) {
      return;
    }
    std::error_code error;
    const auto mtime = std::filesystem::last_write_time(options_.config_path, error);
    if (!error && mtime != config_mtime_) {
      config_mtime_ = mtime;
      Reload();
    }
    WatchFile();
  });
}

void Webhooks::WatchSignal() {
  hangup_.async_wait([this](boost::system::error_code ec, int) {
    if (ec || stopped_) {
      return;
    }
    spdlog::info("webhooks: SIGHUP: reading {} again", options_.config_path);
    std::error_code error;
    config_mtime_ = std::filesystem::last_write_time(options_.config_path, error);
    Reload();
    WatchSignal();
  });
}

void Webhooks::OnQueued(const std::string& subdistrict, const std::string& receiver) {
  metrics_.queued_total.Add({{"receiver", receiver}}).Increment();
  if (auto it = deliveries_.find({receiver, subdistrict}); it != deliveries_.end()) {
    it->second->Notify();
  }
}

void Webhooks::UpdateGauges() {
  if (stopped_) {
    return;
  }
  // Gauges from what the loops saw and the lengths of the last round.
  const Millis now = clock_.Now();
  std::map<std::string, std::pair<long long, Millis>> by_receiver;
  for (const auto& [key, delivery] : deliveries_) {
    auto& [length, oldest] = by_receiver[key.first];
    if (auto it = lengths_.find(key); it != lengths_.end()) {
      length += it->second;
    }
    if (delivery->head_at() > 0) {
      oldest = std::max(oldest, now - delivery->head_at());
    }
  }
  for (const auto& [receiver, figures] : by_receiver) {
    metrics_.queued.Add({{"receiver", receiver}}).Set(static_cast<double>(figures.first));
    metrics_.oldest_undelivered.Add({{"receiver", receiver}})
        .Set(static_cast<double>(std::max<Millis>(0, figures.second)) / 1000.0);
  }
  // A receiver taken out of the configuration is no longer delivered to: its gauges go to 0
  // rather than keep its last figures (and an alert on them) forever.
  for (const std::string& receiver : published_) {
    if (by_receiver.count(receiver) == 0) {
      metrics_.queued.Add({{"receiver", receiver}}).Set(0);
      metrics_.oldest_undelivered.Add({{"receiver", receiver}}).Set(0);
    }
  }
  published_.clear();
  for (const auto& [receiver, figures] : by_receiver) {
    published_.insert(receiver);
  }
  for (const auto& [key, delivery] : deliveries_) {
    redis_.Command({"XLEN", QueueKey(key.second, key.first)},
                   [this, key = key](absl::StatusOr<redis::Reply> reply) {
                     if (reply.ok() && reply->IsInteger() && deliveries_.count(key) != 0) {
                       lengths_[key] = reply->integer;
                     }
                   });
  }
  gauge_timer_.expires_after(options_.gauge_interval);
  gauge_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) {
      UpdateGauges();
    }
  });
}

}  // namespace grid::webhooks
