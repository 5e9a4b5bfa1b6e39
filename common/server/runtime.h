// What a service's main wires up before it serves: flags, logging, topology and policy, the Asio
// thread, Redis, the metrics endpoint. Keeps every main.cc to the objects that are its own.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock/clock.h"
#include "common/policy/policy.h"
#include "common/redis/asio_client.h"
#include "common/server/flags.h"
#include "common/server/host.h"
#include "common/server/stream_groups.h"
#include "common/telemetry/redis_metrics.h"
#include "common/telemetry/telemetry.h"
#include "common/topology/topology.h"

namespace grid::server {

class Runtime final {
 public:
  // Loads topology and policy (a bad file fails here, naming the field), starts the Asio thread,
  // connects to Redis (waiting up to `redis_wait` for it) and binds the metrics endpoint.
  static absl::StatusOr<std::unique_ptr<Runtime>> Create(const CommonFlags& flags,
                                                         const std::string& service);
  ~Runtime();

  const topology::Topology& topology() const { return *topology_; }
  const policy::Policy& policy() const { return *policy_; }
  const Clock& clock() const { return clock_; }
  boost::asio::io_context& io() { return io_.context(); }
  telemetry::Telemetry& telemetry() { return *telemetry_; }
  // The shared, pipelined connection for ordinary commands.
  redis::Client& redis() { return *redis_; }
  // A connection of its own, for blocking reads (XREADGROUP BLOCK). Owned by the runtime.
  redis::Client& NewRedisConnection(const std::string& name);
  // Redis latency and errors of every connection above, and consumer-group backlogs.
  telemetry::RedisMetrics& redis_metrics() { return *redis_metrics_; }
  // Exposes the lag and pending entries of `group` on `streams`, polled every `interval`, until
  // StopBackground().
  void MonitorStreamGroup(std::vector<std::string> streams, const std::string& group,
                          std::chrono::milliseconds interval = std::chrono::seconds(5));

  // Serves `services` on flags.listen until SIGINT or SIGTERM, then shuts down: the server
  // first (running calls get a grace period), then StopBackground(). Returns the process exit
  // code. Components that use Redis may be destroyed safely once it returns: every callback has
  // run and nothing runs any more.
  int Serve(const std::vector<grpc::Service*>& services);
  // Stops every Redis client (failing pending commands with UNAVAILABLE, their callbacks run)
  // and then the Asio thread. Idempotent.
  void StopBackground();

 private:
  Runtime() = default;
  std::unique_ptr<redis::AsioClient> MakeRedis(const std::string& name);

  CommonFlags flags_;
  std::string service_;
  std::string redis_host_;
  int redis_port_ = 0;
  topology::TopologyPtr topology_;
  policy::PolicyPtr policy_;
  SystemClock clock_;
  IoThread io_;
  std::unique_ptr<telemetry::Telemetry> telemetry_;
  std::unique_ptr<telemetry::RedisMetrics> redis_metrics_;
  std::vector<std::unique_ptr<StreamGroupMonitor>> group_monitors_;
  std::unique_ptr<redis::AsioClient> redis_;
  std::vector<std::unique_ptr<redis::AsioClient>> extra_redis_;
};

}  // namespace grid::server
