// A real Redis Cluster for tests: `masters` redis-server processes (RedisServer, cluster-enabled,
// no replicas) on free ports of 127.0.0.1, joined by `redis-cli --cluster create` with the slots
// spread evenly, and waited for until every node says cluster_state:ok.
//
//   RedisCluster cluster(3);
//   ASSERT_TRUE(cluster.Start().ok()) << cluster.Log();
//   ... --redis-cluster cluster.Seeds() ...
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "tests/support/redis_server.h"

namespace grid::testing {

class RedisCluster final {
 public:
  static constexpr std::chrono::milliseconds kStartDeadline{20000};

  explicit RedisCluster(int masters = 3);

  // Starts the nodes and creates the cluster; OK once every node sees it up.
  absl::Status Start();
  // "127.0.0.1:port,..." of every node (--redis-cluster).
  std::string Seeds() const;
  RedisServer& node(int i) { return *nodes_.at(i); }
  int size() const { return static_cast<int>(nodes_.size()); }
  // Every node's log and the cluster creation's, for failure messages.
  std::string Log() const;

 private:
  std::vector<std::unique_ptr<RedisServer>> nodes_;
  std::string create_log_;
};

}  // namespace grid::testing
