// The command-line flags every service shares, and the loading of topology and policy they name.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "common/server/tls.h"

namespace grid::server {

struct CommonFlags {
  // gRPC listen address.
  std::string listen;
  // Prometheus /metrics listen address.
  std::string metrics_listen;
  // Redis host:port.
  std::string redis = "127.0.0.1:6390";
  // A Redis Cluster instead: some of its nodes, "host:port,host:port" (redis::ClusterClient);
  // empty: the single Redis of `redis`.
  std::string redis_cluster;
  // Topology JSON (grid.v1.Topology).
  std::string topology = "deploy/config/laoshan-topology.json";
  // Policy JSON (grid.v1.Policy).
  std::string policy = "deploy/config/policy.json";
  // Policies of single districts (their district_id set), for a deployment of several.
  std::vector<std::string> district_policies;
  // spdlog level.
  std::string log_level = "info";
  // TLS (and mutual TLS) of the gRPC port; empty: plaintext.
  ServerTls tls;
  // A plaintext port that serves only gRPC health checking (empty: none), for probes that
  // cannot present a client certificate (Kubernetes' grpc probe speaks no TLS).
  std::string health_listen;
  // How often readiness probes its dependencies (readiness.h).
  int readiness_interval_ms = 1000;
  // On SIGTERM: how long calls in flight may take to finish, and how long background work
  // (stream consumers, the escalation clock) may take to finish what it has in hand.
  int shutdown_grace_ms = 2000;
  int drain_timeout_ms = 5000;
  // Script calls of one subdistrict made together are sent as one, up to this many
  // (redis::BatchedScript); 1, the default, sends each alone: on one local Redis it saved no
  // Redis CPU in tools/bench ingest (BENCHMARKS.md, "Batching"); it saves round trips where Redis
  // is far.
  int script_batch = 1;
};

// Registers --listen, --metrics-listen, --redis, --redis-cluster, --topology, --policy,
// --log-level, --tls-cert,
// --tls-key, --tls-client-ca, --health-listen, --readiness-interval-ms, --shutdown-grace-ms,
// --drain-timeout-ms and --script-batch, with the given defaults for the two listen addresses.
// Every flag may also come from GRID_<NAME> in the environment (e.g. GRID_REDIS).
void AddCommonFlags(CLI::App& app, CommonFlags& flags, const std::string& default_listen,
                    const std::string& default_metrics_listen);

// Splits "host:port"; false when malformed.
bool SplitHostPort(const std::string& address, std::string& host, int& port);

}  // namespace grid::server
