// What the live-stream benchmarks share: a gRPC watcher that records each change's delivery
// latency (receipt time minus EventChange.at), used by `watch` and, as the baseline, by `console`.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "grid/v1/gateway.grpc.pb.h"

namespace grid::loadgen {

using SystemTime = std::chrono::system_clock;

inline double NowMs() {
  return std::chrono::duration<double, std::milli>(SystemTime::now().time_since_epoch()).count();
}

inline double AtMs(const google::protobuf::Timestamp& at) {
  return static_cast<double>(at.seconds()) * 1000.0 + at.nanos() / 1e6;
}

// One change as a watcher got it: when it was written (its `at`) and how long it took to arrive.
struct Sample {
  double at_ms;
  float latency_ms;
};

// One watcher on the callback API: reads as fast as gRPC delivers and records each change's
// delivery latency. Lives until the call is over (Wait).
class BenchWatcher final : public grpc::ClientReadReactor<v1::WatchEventsResponse> {
 public:
  BenchWatcher(v1::GatewayService::Stub& stub, v1::WatchEventsRequest request,
               const std::string& token)
      : stub_(stub), request_(std::move(request)) {
    context_.AddMetadata("authorization", "Bearer " + token);
  }

  void Start() {
    stub_.async()->WatchEvents(&context_, &request_, this);
    StartRead(&response_);
    StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      return;  // OnDone brings the status.
    }
    if (response_.has_change()) {
      const double now = NowMs();
      const double at = AtMs(response_.change().at());
      std::lock_guard lock(mu_);
      samples_.push_back(Sample{at, static_cast<float>(now - at)});
    } else {
      ++heartbeats_;
    }
    StartRead(&response_);
  }

  void OnDone(const grpc::Status& status) override {
    std::lock_guard lock(mu_);
    status_ = status;
    done_ = true;
    cv_.notify_all();
  }

  bool attached() const { return heartbeats_.load() > 0 || sample_count() > 0; }
  std::size_t sample_count() const {
    std::lock_guard lock(mu_);
    return samples_.size();
  }
  void Cancel() { context_.TryCancel(); }
  // Waits for OnDone (after Cancel); false after `timeout`.
  bool Wait(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [this] { return done_; });
  }
  bool done() const {
    std::lock_guard lock(mu_);
    return done_;
  }
  grpc::Status status() const {
    std::lock_guard lock(mu_);
    return status_;
  }
  std::vector<Sample> samples() const {
    std::lock_guard lock(mu_);
    return samples_;
  }

 private:
  v1::GatewayService::Stub& stub_;
  grpc::ClientContext context_;
  v1::WatchEventsRequest request_;
  v1::WatchEventsResponse response_;
  std::atomic<int> heartbeats_{0};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Sample> samples_;
  bool done_ = false;
  grpc::Status status_;
};

}  // namespace grid::loadgen
