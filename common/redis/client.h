#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/redis/reply.h"
#include "common/redis/script.h"

namespace grid::redis {

// Receives the outcome of one command.
//   OK:                the server replied; nil and error replies (`-ERR ...`, a script's
//                      redis.error_reply) are Replies, for the caller to judge.
//   UNAVAILABLE:       not connected, the connection dropped with the command pending, or the
//                      client was stopped or destroyed first.
//   DEADLINE_EXCEEDED: no reply within the command's timeout or by its deadline.
//   RESOURCE_EXHAUSTED: the client already has as many commands waiting as it takes (a bound,
//                      see AsioClient); StatusOf() makes it UNAVAILABLE, worth a retry.
//   INVALID_ARGUMENT:  the command cannot be sent on this client (empty, pub/sub, bad timeout).
// Messages name the client (its Options::name), never the server's address: they may travel
// back to whoever made the call. Store code turns them into a caller's status with StatusOf()
// (reply.h).
using ReplyCallback = std::function<void(absl::StatusOr<Reply>)>;

// When the caller of a command stops waiting for it: the deadline of the gRPC call the command
// serves, carried down (see DeadlineBefore). kNoDeadline: the client's default timeout applies.
using Deadline = std::chrono::steady_clock::time_point;
inline constexpr Deadline kNoDeadline = Deadline::max();

// An asynchronous Redis connection. AsioClient is the real one; tests use a gmock twin.
//
// Threading: every method may be called from any thread. Work is handed to the client's own
// executor (for AsioClient: a strand of its io_context).
//
// Callbacks: each callback is called exactly once, always, including when the client is stopped
// or destroyed with the command in flight (then with UNAVAILABLE). It is never called inline from
// inside Command()/Eval() (so a caller may hold its own lock around the call), and always on the
// client's executor, so callbacks of one client never run concurrently with each other.
// Commands issued from one thread are sent in the order issued, and replies come back in the
// order sent (an Eval's EVAL retry after NOSCRIPT is a new command, sent when NOSCRIPT arrives). A
// callback must not block (it holds up every other command of the client); it may issue further
// commands.
//
// Ordering and blocking: commands are pipelined on one connection, in the order they reach the
// client. A blocking command (BLPOP, XREADGROUP ... BLOCK) therefore holds up every command
// behind it: give blocking reads a client of their own. Pub/sub is not supported (a subscription
// has many replies per command) and is rejected with INVALID_ARGUMENT.
class Client {
 public:
  virtual ~Client() = default;

  // Sends `argv` (binary-safe, argv[0] is the command name) with the client's default timeout.
  virtual void Command(std::vector<std::string> argv, ReplyCallback cb) = 0;

  // As above with an explicit timeout (> 0), for blocking reads: pass the BLOCK time plus a
  // margin. When the timeout passes, `cb` gets DEADLINE_EXCEEDED and the connection is treated
  // as suspect: it is closed (failing the commands behind it with UNAVAILABLE) and reopened.
  virtual void Command(std::vector<std::string> argv, std::chrono::milliseconds timeout,
                       ReplyCallback cb) = 0;

  // As above, answered by `deadline`, the caller's: when it passes first, `cb` gets
  // DEADLINE_EXCEEDED and the reply, if it comes later, is dropped (the command may still have
  // run). A passed deadline (or default timeout) fails that command alone: one slow reply does
  // not fail everybody else's commands. Only a connection that has been silent for the default
  // timeout with commands waiting is reset.
  // kNoDeadline is the default timeout. The base implementation, for test doubles, runs the
  // command with the time left as its timeout.
  virtual void Command(std::vector<std::string> argv, Deadline deadline, ReplyCallback cb);

  // Runs `script` with EVALSHA; if the server answers NOSCRIPT (restart, SCRIPT FLUSH) it is
  // retried once, transparently, with EVAL, which also caches the script again. `script` is
  // copied as needed: it need not outlive the call.
  virtual void Eval(const Script& script, std::vector<std::string> keys,
                    std::vector<std::string> args, ReplyCallback cb) = 0;
  // As above, answered by `deadline` as for Command(); the EVAL after a NOSCRIPT keeps it. The
  // base implementation, for test doubles, ignores the deadline.
  virtual void Eval(const Script& script, std::vector<std::string> keys,
                    std::vector<std::string> args, Deadline deadline, ReplyCallback cb);

  // Whether the connection is up at this instant. Advisory: it can change right after the call.
  virtual bool Connected() const = 0;
};

using ClientPtr = std::unique_ptr<Client>;

// A Client that owns its connection(s): AsioClient (one Redis) and ClusterClient (a cluster), so
// that a service's runtime can hold either.
class Connection : public Client {
 public:
  // Connects, and keeps reconnecting with back-off. Idempotent.
  virtual void Start() = 0;
  // Disconnects for good, failing what is pending with UNAVAILABLE. Idempotent.
  virtual void Stop() = 0;
  // Blocks until connected (OK), `timeout` passes (DEADLINE_EXCEEDED) or the client is stopped
  // (UNAVAILABLE). Not on the client's own thread.
  virtual absl::Status WaitConnected(std::chrono::milliseconds timeout) = 0;
};

// Runs one command and blocks until its callback, for start-up code and tests. Must not be called
// on the client's own thread (the callback could never run): it would wait `timeout` plus a grace
// second and then give DEADLINE_EXCEEDED.
absl::StatusOr<Reply> CommandSync(Client& client, std::vector<std::string> argv,
                                  std::chrono::milliseconds timeout);

// The deadline for the Redis work of a call whose caller gives up at `caller` (a gRPC deadline):
// somewhat earlier (a tenth of the time left, at most 250 ms), so that the answer, UNAVAILABLE
// when Redis is too slow, reaches the caller while it still listens. kNoDeadline for a call
// without one (gRPC's infinite deadline, or anything more than a day away).
Deadline DeadlineBefore(std::chrono::system_clock::time_point caller);

}  // namespace grid::redis
