#include "common/server/runtime.h"

#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"

namespace grid::server {

absl::StatusOr<std::unique_ptr<Runtime>> Runtime::Create(const CommonFlags& flags,
                                                         const std::string& service) {
  std::unique_ptr<Runtime> runtime(new Runtime());
  runtime->flags_ = flags;
  runtime->service_ = service;
  if (!SplitHostPort(flags.redis, runtime->redis_host_, runtime->redis_port_)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--redis: \"", flags.redis, "\" is not host:port"));
  }
  auto topology = topology::Topology::Load(flags.topology);
  if (!topology.ok()) {
    return topology.status();
  }
  runtime->topology_ = *std::move(topology);
  auto policy = policy::Policy::Load(flags.policy, *runtime->topology_);
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
                 flags.redis, status.ToString());
  }
  return runtime;
}

std::unique_ptr<redis::AsioClient> Runtime::MakeRedis(const std::string& name) {
  redis::AsioClient::Options options;
  options.host = redis_host_;
  options.port = redis_port_;
  options.name = name;
  options.observer = [metrics = redis_metrics_.get()](std::string_view command, double seconds,
                                                      bool ok) {
    metrics->Observe(command, seconds, ok);
  };
  auto client = std::make_unique<redis::AsioClient>(io_.context(), options);
  client->Start();
  return client;
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

Runtime::~Runtime() { StopBackground(); }

void Runtime::StopBackground() {
  for (auto& monitor : group_monitors_) {
    monitor->Stop();
  }
  // Clients first, while the Asio thread still runs their last callbacks.
  for (auto& client : extra_redis_) {
    client->Stop();
  }
  if (redis_ != nullptr) {
    redis_->Stop();
  }
  io_.Stop();
}

int Runtime::Serve(const std::vector<grpc::Service*>& services) {
  auto host = Host::Start(flags_.listen, services, *telemetry_, flags_.tls, flags_.health_listen);
  if (!host.ok()) {
    spdlog::error("{}", host.status().ToString());
    return 1;
  }
  spdlog::info("{} serving gRPC on {} (port {}, {}), metrics on {}", service_, flags_.listen,
               (*host)->port(),
               !flags_.tls.client_ca_file.empty() ? "mutual TLS"
               : !flags_.tls.cert_file.empty()    ? "TLS"
                                                  : "plaintext",
               flags_.metrics_listen);
  if ((*host)->health_port() != 0) {
    spdlog::info("health checking (plaintext) on {} (port {})", flags_.health_listen,
                 (*host)->health_port());
  }
  WaitForTermination();
  (*host)->Shutdown(std::chrono::seconds(2));
  spdlog::info("gRPC server stopped");
  StopBackground();
  spdlog::info("stopped");
  return 0;
}

}  // namespace grid::server
