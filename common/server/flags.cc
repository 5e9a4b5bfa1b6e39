#include "common/server/flags.h"

namespace grid::server {

void AddCommonFlags(CLI::App& app, CommonFlags& flags, const std::string& default_listen,
                    const std::string& default_metrics_listen) {
  flags.listen = default_listen;
  flags.metrics_listen = default_metrics_listen;
  app.add_option("--listen", flags.listen, "gRPC listen address")
      ->envname("GRID_LISTEN")
      ->capture_default_str();
  app.add_option("--metrics-listen", flags.metrics_listen, "Prometheus /metrics listen address")
      ->envname("GRID_METRICS_LISTEN")
      ->capture_default_str();
  app.add_option("--redis", flags.redis, "Redis host:port")
      ->envname("GRID_REDIS")
      ->capture_default_str();
  app.add_option("--redis-cluster", flags.redis_cluster,
                 "use a Redis Cluster instead of --redis: some of its nodes, host:port,host:port")
      ->envname("GRID_REDIS_CLUSTER");
  app.add_option("--topology", flags.topology, "topology JSON file (grid.v1.Topology)")
      ->envname("GRID_TOPOLOGY")
      ->capture_default_str();
  app.add_option("--policy", flags.policy, "policy JSON file (grid.v1.Policy)")
      ->envname("GRID_POLICY")
      ->capture_default_str();
  app.add_option("--district-policy", flags.district_policies,
                 "the policy JSON file of one district (its district_id set), or a directory of "
                 "them, for a topology of several districts; repeat as needed")
      ->envname("GRID_DISTRICT_POLICIES")
      ->delimiter(',');
  app.add_option("--log-level", flags.log_level, "debug, info, warn or error")
      ->envname("GRID_LOG_LEVEL")
      ->capture_default_str();
  app.add_option("--tls-cert", flags.tls.cert_file, "serve TLS: PEM certificate chain")
      ->envname("GRID_TLS_CERT");
  app.add_option("--tls-key", flags.tls.key_file, "serve TLS: PEM private key")
      ->envname("GRID_TLS_KEY");
  app.add_option("--tls-client-ca", flags.tls.client_ca_file,
                 "require client certificates that chain to these PEM roots (mutual TLS)")
      ->envname("GRID_TLS_CLIENT_CA");
  app.add_option("--health-listen", flags.health_listen,
                 "plaintext address serving only gRPC health checking, for probes")
      ->envname("GRID_HEALTH_LISTEN");
  app.add_option("--readiness-interval-ms", flags.readiness_interval_ms,
                 "how often readiness (gRPC health \"\") probes Redis and the other dependencies")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--shutdown-grace-ms", flags.shutdown_grace_ms,
                 "on SIGTERM, how long calls in flight may take to finish")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--drain-timeout-ms", flags.drain_timeout_ms,
                 "on SIGTERM, how long background work may take to finish what it has in hand")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--script-batch", flags.script_batch,
                 "script calls of one subdistrict made together are sent as one, up to this "
                 "many; 1 sends each alone")
      ->envname("GRID_SCRIPT_BATCH")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
}

bool SplitHostPort(const std::string& address, std::string& host, int& port) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) {
    return false;
  }
  host = address.substr(0, colon);
  try {
    size_t used = 0;
    port = std::stoi(address.substr(colon + 1), &used);
    return used == address.size() - colon - 1 && port > 0 && port < 65536;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace grid::server
