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
#include "common/redis/client.h"

namespace grid::redis {

// A node of a cluster, as configured ("host:port").
struct Endpoint {
  std::string host;
  int port = 0;

  bool operator==(const Endpoint&) const = default;
};

// "host:port,host:port" (spaces around entries allowed) as endpoints; INVALID_ARGUMENT naming the
// entry at fault for an empty list, a missing or bad port. For --redis-cluster.
absl::StatusOr<std::vector<Endpoint>> ParseEndpoints(std::string_view list);

// Receives the outcome of ForEachMaster: one result per master (in no promised order), or
// UNAVAILABLE when no slot map is known.
using MastersCallback = std::function<void(absl::StatusOr<std::vector<absl::StatusOr<Reply>>>)>;

// The Client over a Redis Cluster: one pipelined AsioClient per master, each command sent to the
// master of its key's slot (slot.h).
//
// What it does:
//   - Slot map: from CLUSTER SLOTS, asked of a known node (masters first, then the seeds) at
//     Start(), after a MOVED, a CLUSTERDOWN or a lost connection; one request at a time, at most
//     one per Options::refresh_interval. Until the first map arrives it keeps asking, every
//     refresh_interval.
//   - Routing: Command() finds the keys of argv by a table (CommandSlot in slot.h); Eval() hashes
//     `keys`. Keys that span slots fail with INVALID_ARGUMENT (CROSSSLOT) without sending, as does
//     a command outside the table. Keyless commands (PING, INFO, SCRIPT...) go to one master.
//   - Redirections: -MOVED resends to the named node at once, points the slot there and refreshes
//     the map in the background; -ASK resends to the named node once, preceded by ASKING on the
//     same connection (pipelined), without touching the map. At most Options::max_redirections
//     per command; past them, UNAVAILABLE naming the slot.
//   - Eval: EVALSHA, and EVAL on NOSCRIPT, both routed as above (the EVAL to the node that said
//     NOSCRIPT, with ASKING again if that node was reached by an ASK).
//
// Retries, and why only these: a command is resent only when the server certainly did not run
// it, and only until the caller's deadline (or the default timeout, Options::node.command_timeout),
// with a back-off of retry_min doubling up to retry_max; when the next try would come after the
// deadline, the callback gets UNAVAILABLE naming the slot and the last reason:
//   - redirected (-MOVED, -ASK): at once, as above;
//   - -TRYAGAIN (a multi-key command during a migration) and -CLUSTERDOWN (no quorum, slot
//     unserved): after the back-off;
//   - not sent: no slot map yet, no master known for the slot, or its connection down at the time
//     of sending: after the back-off, with a map refresh.
// A command whose connection was lost (or reset) while it was in flight is NOT resent: it may have
// run, and not every write is idempotent (XADD, INCR). Nor is one whose connection dropped between
// the check and the sending: the node's UNAVAILABLE does not say which, so it counts as in flight.
// The callback gets the node's UNAVAILABLE and the map is refreshed, so the caller's own retry
// finds the new master. DEADLINE_EXCEEDED and RESOURCE_EXHAUSTED from a node reach the callback as
// they are.
//
// What it does not do: read from replicas (every command goes to a master); pub/sub; MULTI/EXEC;
// commands that answer for one node's data (DBSIZE, KEYS, SCAN) or one connection's writes (WAIT)
// through Command(): run those with ForEachMaster. Masters are reached by the address CLUSTER SLOTS
// gives; a hostname there (or among the seeds) is resolved on the io_context's thread.
//
// The Client contract holds (client.h): every callback is called exactly once, never inside the
// call that issued it, on this client's own strand (never concurrently with another of its
// callbacks); messages name the client (Options::node.name) and the slot, never a server's
// address. Commands issued from one thread to one slot are sent in order, but a retried command
// may be overtaken by a later one. Blocking reads (Command with a timeout) get that timeout on
// each try: give them a client of their own, as with AsioClient.
//
// Threading and lifetime: as AsioClient (its "Threading" and "Lifetime"): any thread may call; the
// io_context must outlive the client; Stop() and the destructor fail everything pending with
// UNAVAILABLE and return once those callbacks have run (when called off the io_context's threads).
class ClusterClient final : public Connection {
 public:
  struct Options {
    // Where to ask for the slot map first; at least one.
    std::vector<Endpoint> seeds;
    // For the connection to every node (its host and port are ignored): timeouts, reconnect
    // back-off, bounds, name (of this client too, in messages), observer.
    AsioClient::Options node;
    // Redirections (-MOVED, -ASK) followed per command at most.
    int max_redirections = 5;
    // Back-off between tries of a command that was not run (see Retries above).
    std::chrono::milliseconds retry_min{20};
    std::chrono::milliseconds retry_max{500};
    // CLUSTER SLOTS at most this often; also the pace of asking while no map is known.
    std::chrono::milliseconds refresh_interval{100};
  };

  // `options.seeds` must not be empty (ParseEndpoints refuses an empty list).
  ClusterClient(boost::asio::io_context& io, Options options);
  ~ClusterClient() override;

  ClusterClient(const ClusterClient&) = delete;
  ClusterClient& operator=(const ClusterClient&) = delete;

  // Connects to the seeds and asks for the slot map. Idempotent; no effect after Stop().
  void Start() override;
  // Disconnects from every node for good; see AsioClient's Lifetime. Idempotent.
  void Stop() override;
  // Blocks until Connected() (OK), `timeout` passes (DEADLINE_EXCEEDED) or the client is stopped
  // (UNAVAILABLE). For start-up code; not on the io_context's thread.
  absl::Status WaitConnected(std::chrono::milliseconds timeout) override;

  void Command(std::vector<std::string> argv, ReplyCallback cb) override;
  void Command(std::vector<std::string> argv, std::chrono::milliseconds timeout,
               ReplyCallback cb) override;
  void Command(std::vector<std::string> argv, Deadline deadline, ReplyCallback cb) override;
  void Eval(const Script& script, std::vector<std::string> keys, std::vector<std::string> args,
            ReplyCallback cb) override;
  void Eval(const Script& script, std::vector<std::string> keys, std::vector<std::string> args,
            Deadline deadline, ReplyCallback cb) override;
  // True when a slot map is known and the connection to every master in it is up.
  bool Connected() const override;

  // Runs `argv` once on every master of the current map (SCRIPT LOAD, INFO, DBSIZE, a read of
  // per-master data), in parallel, and calls `cb` once with every master's result. No redirection
  // is followed and nothing is retried: a master that is down gives its UNAVAILABLE in its place.
  void ForEachMaster(std::vector<std::string> argv, Deadline deadline, MastersCallback cb);

 private:
  // Everything handlers touch, shared with them as AsioClient's core is.
  class Core;

  boost::asio::io_context& io_;
  std::shared_ptr<Core> core_;
};

}  // namespace grid::redis
