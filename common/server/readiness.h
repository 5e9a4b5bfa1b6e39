// Whether a process can do its work now: probes of the dependencies it cannot work without
// (Redis for every service; for the gateway, also the services it fronts), run every interval.
// The host's health service follows it (host.h), so that load balancers and Kubernetes' gRPC
// probes take a process out while it cannot serve, and put it back when it can.
#pragma once

#include <grpcpp/grpcpp.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/redis/client.h"

namespace grid::server {

// Threading: probes run and report on the io_context's thread; Start and Stop post to it, and
// `on_change` is called there. Stop before the io_context stops.
class Readiness final {
 public:
  // Checks one dependency and calls `done` once, with OK or why not. A probe that has not
  // answered when the round ends (after `interval`) counts as failed.
  using Probe = std::function<void(std::function<void(absl::Status)> done)>;
  // Called with the new state whenever it changes, and once after the first round.
  using OnChange = std::function<void(bool ready, const std::string& why_not)>;

  Readiness(boost::asio::io_context& io, std::chrono::milliseconds interval, OnChange on_change);
  ~Readiness();

  // Before Start.
  void Add(std::string name, Probe probe);
  void Start();
  void Stop();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// Redis answers PING (within the round: a frozen server fails it too).
Readiness::Probe RedisProbe(redis::Client& redis);

// The gRPC health service behind `channel` answers SERVING for "" within `deadline`: the
// readiness of a service this one fronts.
Readiness::Probe GrpcHealthProbe(std::shared_ptr<grpc::Channel> channel,
                                 std::chrono::milliseconds deadline);

}  // namespace grid::server
