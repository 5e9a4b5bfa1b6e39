// A real Redis Cluster for tests: `masters` redis-server processes (RedisServer, cluster-enabled)
// and `replicas_per_master` replicas of each, on free ports of 127.0.0.1, joined by `redis-cli
// --cluster create` (with --cluster-replicas) with the slots spread evenly, and waited for until
// every node says cluster_state:ok and every replica's link to its master is up.
//
//   RedisCluster cluster(3);
//   ASSERT_TRUE(cluster.Start().ok()) << cluster.Log();
//   ... --redis-cluster cluster.Seeds() ...
//
// With replicas, cluster-node-timeout is kReplicaNodeTimeout, so that a replica takes over from a
// master killed by a test within a few seconds.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/support/redis_server.h"

namespace grid::testing {

class RedisCluster final {
 public:
  static constexpr std::chrono::milliseconds kStartDeadline{20000};
  static constexpr std::chrono::milliseconds kReplicaNodeTimeout{1500};

  explicit RedisCluster(int masters = 3, int replicas_per_master = 0);

  // Starts the nodes and creates the cluster; OK once every node sees it up and every replica is
  // in sync with its master.
  absl::Status Start();
  // "127.0.0.1:port,..." of every node (--redis-cluster).
  std::string Seeds() const;
  RedisServer& node(int i) { return *nodes_.at(i); }
  int size() const { return static_cast<int>(nodes_.size()); }

  // Who is whom now, as the first node that answers (and is not `skip`) sees it: the index of
  // the master serving `slot`, and the indices of the replicas of the node `master`.
  absl::StatusOr<int> MasterOf(int slot, int skip = -1);
  absl::StatusOr<std::vector<int>> ReplicasOf(int master, int skip = -1);
  // OK once every node but `skip` answers cluster_state:ok and `slot` is served by a master
  // other than `skip`, or the last reason at `deadline`.
  absl::Status WaitServed(int slot, int skip, std::chrono::milliseconds deadline);

  // Moves `slot` from the master that serves it to the master `to` while clients keep using
  // it, the way `redis-cli --cluster reshard` does: IMPORTING on `to`, MIGRATING on the source,
  // MIGRATE of its keys in batches (clients meanwhile get ASK for a key already moved and
  // TRYAGAIN for a command whose keys are split between the two), then SETSLOT NODE on every
  // master. `between_batches` runs after each batch (a test's pause, so that clients meet the
  // migration half done).
  absl::Status MigrateSlot(int slot, int to, const std::function<void()>& between_batches = {});

  // Every node's log and the cluster creation's, for failure messages.
  std::string Log() const;

 private:
  // CLUSTER NODES of the first node (but `skip`) that answers.
  absl::StatusOr<std::string> Nodes(int skip);
  int IndexOfPort(int port) const;

  // Starts of a node tried, each on a port of its own, before Start() gives up.
  static constexpr int kStartAttempts = 5;

  int masters_;
  int replicas_per_master_;
  std::vector<std::string> args_;  // Of every redis-server.
  std::vector<std::unique_ptr<RedisServer>> nodes_;
  std::string create_log_;
};

}  // namespace grid::testing
