// What a service's main wires up before it serves: flags, logging, topology and policy, the Asio
// thread, Redis, the metrics endpoint. Keeps every main.cc to the objects that are its own.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock/clock.h"
#include "common/policy/policy.h"
#include "common/redis/asio_client.h"
#include "common/redis/cluster_client.h"
#include "common/redis/durability.h"
#include "common/redis/replica_waiter.h"
#include "common/server/flags.h"
#include "common/server/host.h"
#include "common/server/readiness.h"
#include "common/server/stream_groups.h"
#include "common/server/stream_trimmer.h"
#include "common/store/stream_consumer.h"
#include "common/telemetry/redis_metrics.h"
#include "common/telemetry/telemetry.h"
#include "common/topology/topology.h"

namespace grid::server {

// The flags of a process that reads a stream through a consumer group (routing, metrics).
struct ConsumerFlags {
  // The consumer's name in its group, unique per replica; "<host>-<pid>" unless given.
  std::string consumer;
  int reclaim_idle_ms = 30000;
  int max_deliveries = 8;
  int forget_idle_consumers_seconds = 3600;
  // Sets the consumer, reclaim, delivery and forgetting fields of `options`.
  void Apply(store::StreamConsumer::Options& options) const;
};

// Registers --consumer (or GRID_CONSUMER), --reclaim-idle-ms, --max-deliveries and
// --forget-idle-consumers-seconds; `what` names the stream in the help texts.
void AddConsumerFlags(CLI::App& app, ConsumerFlags& flags, const std::string& what);

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
  // --script-batch: the most script calls sent as one (redis::BatchedScript).
  size_t script_batch() const { return static_cast<size_t>(flags_.script_batch); }
  telemetry::Telemetry& telemetry() { return *telemetry_; }
  // The shared, pipelined connection for ordinary commands.
  redis::Client& redis() { return *redis_; }
  // A connection of its own, for blocking reads (XREADGROUP BLOCK). Owned by the runtime.
  redis::Client& NewRedisConnection(const std::string& name);
  // What makes an acknowledged write survive the loss of its master: on a cluster, a
  // redis::ReplicaWaiter (WAIT up to `wait` for a replica, on connections of its own), made at
  // the first call and owned by the runtime; nullptr on one Redis (nothing to wait for; nothing
  // changes there) or with `wait` 0 (off).
  redis::Durability* ReplicaDurability(std::chrono::milliseconds wait);
  // Whether Redis is a cluster (--redis-cluster).
  bool redis_cluster() const { return !cluster_.empty(); }
  // `streams` in groups that one XREAD or XREADGROUP may name together: all of them on one Redis,
  // those of one hash slot (one subdistrict) on a cluster, which refuses a read across slots.
  std::vector<std::vector<std::string>> ReadGroups(const std::vector<std::string>& streams) const;
  // Redis latency and errors of every connection above, and consumer-group backlogs.
  telemetry::RedisMetrics& redis_metrics() { return *redis_metrics_; }
  // Exposes the backlog of `group` on `streams` (stream_groups.h), polled every `interval`,
  // until StopBackground().
  void MonitorStreamGroup(std::vector<std::string> streams, const std::string& group,
                          std::chrono::milliseconds interval = std::chrono::seconds(5));

  // A consumer of options.group on options.streams (stream_consumer.h) that reads on a Redis
  // connection of its own, counts its dead letters (grid_dead_letters_total), has its group's
  // backlog monitored and is drained on SIGTERM; on a cluster, one such consumer per read group
  // (ReadGroups). Started at once; owned by the runtime.
  void Consume(store::StreamConsumer::Options options, store::StreamConsumer::Handler handler);
  // Trims options.streams (stream_trimmer.h) until StopBackground(). Started at once.
  void Trim(StreamTrimmer::Options options);

  // A dependency the process cannot work without, probed with the others (Redis is one
  // already) every --readiness-interval-ms; the health service follows. Before Serve.
  void AddReadinessProbe(std::string name, Readiness::Probe probe);
  // Called on SIGTERM, while the server finishes its calls in flight: stops a background
  // component, which calls `done` (on any thread) once it finished, or handed back, what it had
  // in hand. Before Serve.
  void OnDrain(std::function<void(std::function<void()> done)> drain);

  // Serves `services` on flags.listen until SIGINT or SIGTERM; NOT_SERVING (health "" and the
  // services' names) until the first readiness round passes, and whenever a probe fails. On the
  // signal: NOT_SERVING; no new calls, and those in flight get --shutdown-grace-ms; meanwhile the
  // OnDrain components and the consumers drain (up to --drain-timeout-ms); then
  // StopBackground(). Returns the process exit code. Components that use Redis may be destroyed
  // safely once it returns: every callback has run and nothing runs any more.
  int Serve(const std::vector<Hosted>& services);
  // Stops every Redis client (failing pending commands with UNAVAILABLE, their callbacks run)
  // and then the Asio thread. Idempotent.
  void StopBackground();

 private:
  Runtime() = default;
  std::unique_ptr<redis::Connection> MakeRedis(const std::string& name);

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
  std::vector<std::unique_ptr<StreamTrimmer>> trimmers_;
  std::vector<std::unique_ptr<store::StreamConsumer>> consumers_;
  std::vector<std::pair<std::string, Readiness::Probe>> probes_;
  std::vector<std::function<void(std::function<void()>)>> drains_;
  std::unique_ptr<Readiness> readiness_;
  // Set with --redis-cluster.
  std::vector<redis::Endpoint> cluster_;
  std::unique_ptr<redis::Connection> redis_;
  std::vector<std::unique_ptr<redis::Connection>> extra_redis_;
  std::unique_ptr<redis::ReplicaWaiter> replica_waiter_;
};

}  // namespace grid::server
