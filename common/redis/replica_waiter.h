// ReplicaWaiter: `WAIT 1 <ms>` for the writes of a Redis Cluster, on connections of its own, one
// WAIT per master and round however many writes it covers.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/redis/asio_client.h"
#include "common/redis/cluster_client.h"
#include "common/redis/durability.h"

namespace grid::redis {

// Who serves which slot, and how many replicas each master has, as CLUSTER NODES says.
struct ReplicaMap {
  struct Master {
    Endpoint address;
    // Replicas configured for it, reachable or not: a replica that is down still means the
    // master's writes are meant to be on two servers, so they wait (and fail) rather than pass.
    int replicas = 0;
  };
  std::vector<Master> masters;
  // kSlotCount entries: an index into `masters`, or -1 for a slot nobody serves.
  std::vector<int> slot_master;
};

// CLUSTER NODES's text as a ReplicaMap. A node whose address is empty (":0@0", not yet known to
// the node asked) is on `asked_host`. INVALID_ARGUMENT for a line that cannot be read;
// UNAVAILABLE when no slot is served yet.
absl::StatusOr<ReplicaMap> ParseClusterNodes(std::string_view text, std::string_view asked_host);

// A key of the slot `slot` ("replica-mark:{n}"), the key a round writes to make WAIT count.
const std::string& MarkKey(int slot);

// Why a separate unit, and why so: WAIT counts only the writes of the connection that sends it,
// and blocks that connection meanwhile. On the shared, pipelined connection it would hold up every
// command behind it; so this waiter keeps a connection of its own to every master, and makes on
// it a small write of its own (SET replica-mark:{n}) that follows the caller's write in that
// master's replication stream (the caller's write was acknowledged before AwaitReplica, so the
// master had run it before it runs the mark). `WAIT 1 <wait ms>` then says whether a replica has
// the mark, hence the caller's write.
//
// A round, per master: the writes awaited on one master at the same time share one round:
//   EXISTS <key>   for every awaited key (pipelined): proof that this master holds the write. It
//                  is the master of the key's slot now; if that changed since the write (a
//                  failover the waiter saw first) and the new master lacks the key, the write is
//                  lost: UNAVAILABLE, never a false OK;
//   SET <mark> <n> one write, to a key of the first awaited key's slot;
//   WAIT 1 <ms>    ms = Options::wait, less if every caller's deadline is nearer.
// One round per master is in flight at a time; writes awaited meanwhile gather for the next,
// sent when it returns. Writes awaited in the same turn of the executor join the same round.
// Answers: WAIT >= 1 and the key exists: OK. WAIT 0 (no replica acknowledged within ms): the
// round's callers get UNAVAILABLE. A key missing, an error reply (-MOVED: the slot moved), the
// connection down or lost: UNAVAILABLE for those callers, and the map is asked again.
//
// Where there is nothing to wait for: a master without replicas (a cluster without replicas, or a
// master whose only replica took over from it and has none yet) answers at once, as one Redis
// would. So does nothing on one Redis: services on one Redis do not make a ReplicaWaiter at all.
// Caveat: the one case where a lost write could still be answered OK is a master with no
// replicas that took over a slot between the write and the await, without the write; the
// waiter checks EXISTS only where it WAITs.
//
// The map: CLUSTER NODES, asked of a connected master (or a seed) at Start(), every
// Options::refresh_interval, and after a round failed (at most every 100 ms). Awaits made before
// the first map wait for it, up to their deadline.
//
// Threading and lifetime: as ClusterClient (any thread calls; callbacks on the waiter's strand,
// never inline; the io_context must outlive the waiter; Stop() fails what is pending with
// UNAVAILABLE and, off the io_context's threads, returns once those callbacks ran).
class ReplicaWaiter final : public Durability {
 public:
  struct Options {
    // Where to ask for the map first; at least one.
    std::vector<Endpoint> seeds;
    // For the connection to every node (host and port are ignored): timeouts, name, observer.
    AsioClient::Options node;
    // WAIT's timeout: how long a replica may take to acknowledge. > 0.
    std::chrono::milliseconds wait{500};
    // CLUSTER NODES at least this often.
    std::chrono::milliseconds refresh_interval{1000};
    // Makes (but does not start) the connection to a node; empty: an AsioClient. For tests.
    std::function<std::unique_ptr<Connection>(const Endpoint&)> connect;
  };

  ReplicaWaiter(boost::asio::io_context& io, Options options);
  ~ReplicaWaiter() override;

  ReplicaWaiter(const ReplicaWaiter&) = delete;
  ReplicaWaiter& operator=(const ReplicaWaiter&) = delete;

  // Connects to the seeds and asks for the map. Idempotent; no effect after Stop().
  void Start();
  // Blocks until the map is known and every master's connection is up (OK), or `timeout`
  // (DEADLINE_EXCEEDED). For start-up code; not on the io_context's thread.
  absl::Status WaitConnected(std::chrono::milliseconds timeout);
  // Disconnects for good, failing what is pending with UNAVAILABLE. Idempotent.
  void Stop();

  void AwaitReplica(std::string key, Deadline deadline, DurableCallback done) override;

 private:
  class Core;

  boost::asio::io_context& io_;
  std::shared_ptr<Core> core_;
};

}  // namespace grid::redis
