#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "common/redis/client.h"

namespace grid::redis {

// Called once per completed command, on the client's strand: the command name (argv[0] as given),
// seconds from submission to completion, and whether a non-error reply arrived (false for error
// replies and failed statuses). Lets a telemetry layer record latency and errors without this
// library depending on prometheus. Must be cheap and must not block.
using CommandObserver = std::function<void(std::string_view command_name, double seconds, bool ok)>;

// The Client over one hiredis async connection, driven by Boost.Asio.
//
// Threading: all hiredis work, timers and callbacks run on a strand of the given io_context, so
// the io_context may be run by one thread or several. Public methods may be called from any
// thread; they post to the strand.
//
// Connection: Start() connects in the background; after a failed connect or a lost connection it
// reconnects with exponential back-off (reconnect_min doubling up to reconnect_max, reset on
// success). Commands issued while not connected fail at once with UNAVAILABLE rather than queue:
// callers decide whether to retry, and nothing piles up during an outage. Use WaitConnected() at
// start-up.
//
// Lifetime: the io_context must outlive the client. Stop() and the destructor fail every pending
// command with UNAVAILABLE. Where they are called decides when those callbacks run:
//   - on a thread that is not running the io_context, while it runs: the call posts to the strand
//     and returns once the callbacks have run (so they may safely capture what the owner frees
//     next);
//   - inside one of the client's callbacks (on its strand): at once, before returning;
//   - in another handler of the same io_context: it must not wait (the strand may need this very
//     thread), so it posts, and the callbacks run on the strand shortly after it returns;
//   - after the io_context has stopped and every run() has returned: at once, on this thread.
// Do not call them while the io_context is merely not being run (never started): they would wait
// for the strand indefinitely. If the io_context is stopped for good, commands posted to it but
// not yet started are destroyed with it, without their callbacks.
//
// Bounds: at most Options::max_pending commands (and max_pending_bytes of their arguments) wait
// for replies at once; a command beyond either fails at once with RESOURCE_EXHAUSTED (StatusOf
// makes it UNAVAILABLE, worth a retry), so a burst or a slow server cannot grow the pending map
// or hiredis's output buffer without bound. Commands whose caller gave up (deadline passed) still
// count until their reply comes or the connection is reset.
//
// Time-outs: a command whose default timeout or caller's deadline passes fails alone with
// DEADLINE_EXCEEDED; the others keep waiting. The connection is reset (failing every command on
// it with UNAVAILABLE) only when it is silent: no reply for command_timeout while commands wait,
// counted from the later of the last reply and the oldest waiting command's sending, nor for as
// long as any waiting caller's deadline allows it (a call with 15 s to spare outlasts a server
// frozen for 3 s; a black hole is still left once no waiting caller would take a later answer). A
// command with an explicit timeout (a blocking read, Command(argv, timeout, cb)) that expires still
// resets the connection: a blocking read that outlives its BLOCK time means a stuck server.
//
// Options out of range (non-positive timeouts, zero back-off or bounds) are raised to workable
// values.
class AsioClient final : public Connection {
 public:
  struct Options {
    std::string host = "127.0.0.1";  // An IP avoids a blocking name look-up on the strand.
    int port = 6379;
    std::chrono::milliseconds connect_timeout{1000};
    std::chrono::milliseconds command_timeout{2000};  // Default for Command() and Eval().
    std::chrono::milliseconds reconnect_min{50};
    std::chrono::milliseconds reconnect_max{2000};
    // Commands waiting for replies at most, and the bytes of their arguments (which bound
    // hiredis's output buffer too).
    std::size_t max_pending = 20000;
    std::size_t max_pending_bytes = 64u << 20;
    std::string name = "redis";  // Names the client in log lines.
    CommandObserver observer;    // Optional.
  };

  AsioClient(boost::asio::io_context& io, Options options);
  ~AsioClient() override;

  AsioClient(const AsioClient&) = delete;
  AsioClient& operator=(const AsioClient&) = delete;

  // Begins connecting. Idempotent; has no effect after Stop().
  void Start() override;
  // Disconnects for good; see Lifetime above. Idempotent.
  void Stop() override;
  // Blocks until connected (OK), `timeout` passes (DEADLINE_EXCEEDED) or the client is stopped
  // (UNAVAILABLE). For start-up code; must not be called on the io_context's thread, which is the
  // thread that would connect.
  absl::Status WaitConnected(std::chrono::milliseconds timeout) override;

  void Command(std::vector<std::string> argv, ReplyCallback cb) override;
  void Command(std::vector<std::string> argv, std::chrono::milliseconds timeout,
               ReplyCallback cb) override;
  void Command(std::vector<std::string> argv, Deadline deadline, ReplyCallback cb) override;
  void Eval(const Script& script, std::vector<std::string> keys, std::vector<std::string> args,
            ReplyCallback cb) override;
  void Eval(const Script& script, std::vector<std::string> keys, std::vector<std::string> args,
            Deadline deadline, ReplyCallback cb) override;
  bool Connected() const override;

 private:
  // Everything that handlers touch. Shared with in-flight handlers, so a completion that lands
  // after the AsioClient is gone still finds live memory (and does nothing).
  class Core;

  boost::asio::io_context& io_;
  std::shared_ptr<Core> core_;
};

}  // namespace grid::redis
