#include "common/server/runtime.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <condition_variable>
#include <map>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "common/redis/slot.h"

namespace grid::server {

void ConsumerFlags::Apply(store::StreamConsumer::Options& options) const {
  options.consumer = consumer;
  options.reclaim_min_idle = std::chrono::milliseconds(reclaim_idle_ms);
  options.reclaim_interval = std::min(options.reclaim_interval, options.reclaim_min_idle);
  options.max_deliveries = max_deliveries;
  options.forget_idle_consumers_after = std::chrono::seconds(forget_idle_consumers_seconds);
}

void AddConsumerFlags(CLI::App& app, ConsumerFlags& flags, const std::string& what) {
  char host[256] = "host";
  gethostname(host, sizeof(host) - 1);
  flags.consumer = absl::StrCat(host, "-", getpid());
  app.add_option("--consumer", flags.consumer,
                 absl::StrCat("consumer name in the ", what, " group (unique per replica)"))
      ->envname("GRID_CONSUMER");
  app.add_option(
         "--reclaim-idle-ms", flags.reclaim_idle_ms,
         absl::StrCat("take over ", what, " entries another consumer left pending this long"))
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-deliveries", flags.max_deliveries,
                 absl::StrCat("a ", what,
                              " entry that fails this many deliveries goes to the dead letters"))
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--forget-idle-consumers-seconds", flags.forget_idle_consumers_seconds,
                 "consumers of the group idle this long and holding nothing are deleted (0: never)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
}

absl::StatusOr<std::unique_ptr<Runtime>> Runtime::Create(const CommonFlags& flags,
                                                         const std::string& service) {
  std::unique_ptr<Runtime> runtime(new Runtime());
  runtime->flags_ = flags;
  runtime->service_ = service;
  if (!flags.redis_cluster.empty()) {
    auto nodes = redis::ParseEndpoints(flags.redis_cluster);
    if (!nodes.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--redis-cluster: ", nodes.status().message()));
    }
    runtime->cluster_ = *std::move(nodes);
  } else if (!SplitHostPort(flags.redis, runtime->redis_host_, runtime->redis_port_)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--redis: \"", flags.redis, "\" is not host:port"));
  }
  auto topology = topology::Topology::Load(flags.topology);
  if (!topology.ok()) {
    return topology.status();
  }
  runtime->topology_ = *std::move(topology);
  auto policy = policy::Policy::LoadAll(flags.policy, flags.district_policies, *runtime->topology_);
  if (!policy.ok()) {
    return policy.status();
  }
  runtime->policy_ = *std::move(policy);
  spdlog::info("topology {} ({} units, {} workers), policy {} ({} rules)",
               runtime->topology_->data().version(), runtime->topology_->data().units_size(),
               runtime->topology_->data().workers_size(), runtime->policy_->data().version(),
               runtime->policy_->data().rules_size());

  auto telemetry = telemetry::Telemetry::Start(flags.metrics_listen, service);
  if (!telemetry.ok()) {
    return telemetry.status();
  }
  runtime->telemetry_ = *std::move(telemetry);
  runtime->redis_metrics_ =
      std::make_unique<telemetry::RedisMetrics>(runtime->telemetry_->registry());

  runtime->redis_ = runtime->MakeRedis(service);
  // Start even when Redis is not up yet: the client reconnects with back-off, and calls fail
  // fast with UNAVAILABLE meanwhile. Waiting briefly makes the usual start-up quiet.
  if (auto status = runtime->redis_->WaitConnected(std::chrono::seconds(5)); !status.ok()) {
    spdlog::warn("redis {} not reachable yet ({}); serving anyway, calls fail until it is",
                 flags.redis_cluster.empty() ? flags.redis : flags.redis_cluster,
                 status.ToString());
  }
  return runtime;
}

std::unique_ptr<redis::Connection> Runtime::MakeRedis(const std::string& name) {
  redis::AsioClient::Options options;
  options.host = redis_host_;
  options.port = redis_port_;
  options.name = name;
  options.observer = [metrics = redis_metrics_.get()](std::string_view command, double seconds,
                                                      bool ok) {
    metrics->Observe(command, seconds, ok);
  };
  std::unique_ptr<redis::Connection> client;
  if (cluster_.empty()) {
    client = std::make_unique<redis::AsioClient>(io_.context(), options);
  } else {
    client = std::make_unique<redis::ClusterClient>(
        io_.context(), redis::ClusterClient::Options{.seeds = cluster_, .node = options});
  }
  client->Start();
  return client;
}

std::vector<std::vector<std::string>> Runtime::ReadGroups(
    const std::vector<std::string>& streams) const {
  if (cluster_.empty()) {
    return {streams};
  }
  std::map<int, std::vector<std::string>> by_slot;
  for (const std::string& stream : streams) {
    by_slot[redis::KeySlot(stream)].push_back(stream);
  }
  std::vector<std::vector<std::string>> groups;
  for (auto& [slot, group] : by_slot) {
    groups.push_back(std::move(group));
  }
  return groups;
}

redis::Durability* Runtime::ReplicaDurability(std::chrono::milliseconds wait) {
  if (cluster_.empty() || wait <= std::chrono::milliseconds::zero()) {
    return nullptr;
  }
  if (replica_waiter_ == nullptr) {
    redis::ReplicaWaiter::Options options;
    options.seeds = cluster_;
    options.node.name = service_;
    options.node.observer = [metrics = redis_metrics_.get()](std::string_view command,
                                                             double seconds, bool ok) {
      metrics->Observe(command, seconds, ok);
    };
    options.wait = wait;
    replica_waiter_ = std::make_unique<redis::ReplicaWaiter>(io_.context(), std::move(options));
    replica_waiter_->Start();
    if (absl::Status status = replica_waiter_->WaitConnected(std::chrono::seconds(5));
        !status.ok()) {
      spdlog::warn(
          "replica waiter: the cluster's masters not reachable yet ({}); reports fail "
          "until they are",
          status.ToString());
    }
    spdlog::info("acknowledged reports wait up to {} ms for a replica (WAIT 1 {})", wait.count(),
                 wait.count());
  }
  return replica_waiter_.get();
}

redis::Client& Runtime::NewRedisConnection(const std::string& name) {
  extra_redis_.push_back(MakeRedis(absl::StrCat(service_, "-", name)));
  return *extra_redis_.back();
}

void Runtime::MonitorStreamGroup(std::vector<std::string> streams, const std::string& group,
                                 std::chrono::milliseconds interval) {
  group_monitors_.push_back(std::make_unique<StreamGroupMonitor>(
      io_.context(), *redis_, *redis_metrics_, std::move(streams), group, interval));
  group_monitors_.back()->Start();
}

void Runtime::Consume(store::StreamConsumer::Options options,
                      store::StreamConsumer::Handler handler) {
  telemetry::RedisMetrics* metrics = redis_metrics_.get();
  const std::string group = options.group;
  // Every series exists from the start at 0, so that an alert on its increase sees the first.
  for (const std::string& stream : options.streams) {
    for (std::string_view reason_class : {store::kPermanent, store::kExhausted}) {
      metrics->dead_letters.Add(
          {{"stream", stream}, {"group", group}, {"reason_class", std::string(reason_class)}});
    }
  }
  options.on_dead_letter = [metrics, group](const std::string& stream,
                                            std::string_view reason_class) {
    metrics->dead_letters
        .Add({{"stream", stream}, {"group", group}, {"reason_class", std::string(reason_class)}})
        .Increment();
  };
  options.drain_timeout = std::chrono::milliseconds(flags_.drain_timeout_ms);
  MonitorStreamGroup(options.streams, group);
  for (std::vector<std::string>& streams : ReadGroups(options.streams)) {
    store::StreamConsumer::Options part = options;
    part.streams = std::move(streams);
    redis::Client& blocking = NewRedisConnection(group + "-reader");
    consumers_.push_back(std::make_unique<store::StreamConsumer>(io_.context(), blocking, *redis_,
                                                                 std::move(part), handler));
    consumers_.back()->Start();
  }
}

void Runtime::Trim(StreamTrimmer::Options options) {
  trimmers_.push_back(std::make_unique<StreamTrimmer>(io_.context(), *redis_, clock_,
                                                      redis_metrics_.get(), std::move(options)));
  trimmers_.back()->Start();
}

void Runtime::AddReadinessProbe(std::string name, Readiness::Probe probe) {
  probes_.emplace_back(std::move(name), std::move(probe));
}

void Runtime::OnDrain(std::function<void(std::function<void()> done)> drain) {
  drains_.push_back(std::move(drain));
}

Runtime::~Runtime() { StopBackground(); }

void Runtime::StopBackground() {
  if (readiness_ != nullptr) {
    readiness_->Stop();
  }
  for (auto& monitor : group_monitors_) {
    monitor->Stop();
  }
  for (auto& trimmer : trimmers_) {
    trimmer->Stop();
  }
  for (auto& consumer : consumers_) {
    consumer->Stop();
  }
  // Clients first, while the Asio thread still runs their last callbacks.
  if (replica_waiter_ != nullptr) {
    replica_waiter_->Stop();
  }
  for (auto& client : extra_redis_) {
    client->Stop();
  }
  if (redis_ != nullptr) {
    redis_->Stop();
  }
  io_.Stop();
}

namespace {

// Waits for a number of components to say they are done.
class Countdown {
 public:
  explicit Countdown(size_t count) : left_(count) {}
  void Done() {
    std::lock_guard lock(mu_);
    --left_;
    cv_.notify_all();
  }
  bool Wait(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [this] { return left_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  size_t left_;
};

// The host the readiness callback (on the io thread) may still reach; cleared before the host
// goes.
struct ReadyTarget {
  std::mutex mu;
  Host* host = nullptr;
};

}  // namespace

int Runtime::Serve(const std::vector<Hosted>& services) {
  auto started =
      Host::Start(flags_.listen, services, *telemetry_, flags_.tls, flags_.health_listen);
  if (!started.ok()) {
    spdlog::error("{}", started.status().ToString());
    return 1;
  }
  std::unique_ptr<Host> host = *std::move(started);
  auto target = std::make_shared<ReadyTarget>();
  target->host = host.get();
  readiness_ = std::make_unique<Readiness>(io_.context(),
                                           std::chrono::milliseconds(flags_.readiness_interval_ms),
                                           [target](bool ready, const std::string&) {
                                             std::lock_guard lock(target->mu);
                                             if (target->host != nullptr) {
                                               target->host->SetReady(ready);
                                             }
                                           });
  // The probe has a connection of its own: its short time-out, when Redis is slow or frozen,
  // resets that connection only, never the one that serves callers under their own deadlines.
  readiness_->Add("redis", RedisProbe(NewRedisConnection("health")));
  for (auto& [name, probe] : probes_) {
    readiness_->Add(name, probe);
  }
  readiness_->Start();
  spdlog::info("{} serving gRPC on {} (port {}, {}), metrics on {}", service_, flags_.listen,
               host->port(),
               !flags_.tls.client_ca_file.empty() ? "mutual TLS"
               : !flags_.tls.cert_file.empty()    ? "TLS"
                                                  : "plaintext",
               flags_.metrics_listen);
  if (host->health_port() != 0) {
    spdlog::info("health checking (plaintext) on {} (port {})", flags_.health_listen,
                 host->health_port());
  }

  WaitForTermination();
  const auto began = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(target->mu);
    target->host = nullptr;
  }
  readiness_->Stop();
  host->SetReady(false);
  // Background work drains while the calls in flight finish.
  auto drained = std::make_shared<Countdown>(consumers_.size() + drains_.size());
  for (auto& consumer : consumers_) {
    consumer->Drain([drained] { drained->Done(); });
  }
  for (auto& drain : drains_) {
    drain([drained] { drained->Done(); });
  }
  host->Shutdown(std::chrono::milliseconds(flags_.shutdown_grace_ms));
  spdlog::info("gRPC server stopped");
  // The components keep their own time-outs (--drain-timeout-ms); this one is a backstop.
  if (!drained->Wait(std::chrono::milliseconds(flags_.drain_timeout_ms) +
                     std::chrono::seconds(1))) {
    spdlog::warn("background work did not drain in time; stopping anyway");
  }
  StopBackground();
  spdlog::info("stopped in {} ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::steady_clock::now() - began)
                                       .count());
  return 0;
}

}  // namespace grid::server
