#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "tests/support/process.h"

namespace grid::testing {

// A real redis-server for a test, on a free port of 127.0.0.1, with no persistence (unless extra
// arguments turn it on), in a fresh temporary directory that holds its log (redis.log) and is
// removed afterwards.
//
// The binary is $GRID_REDIS_SERVER if set, else `redis-server` from PATH. Stop() and Start()
// restart it on the same port, for reconnect tests. Not thread-safe.
//
//   RedisServer redis;
//   ASSERT_TRUE(redis.Start().ok()) << redis.Log();
// One command on a fresh connection (plain hiredis, not the client under test), for a reply that
// is text: a bulk or status string; UNAVAILABLE otherwise.
absl::StatusOr<std::string> RedisText(const std::string& host, int port, const char* command);

class RedisServer final {
 public:
  static constexpr std::chrono::milliseconds kStartDeadline{10000};

  // Picks the port and creates the directory; does not start the server. Aborts if no temporary
  // directory can be created.
  RedisServer();
  // Stops the server and removes the directory.
  ~RedisServer();

  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // When Start() returns.
  enum class Ready {
    kServing,    // Once it answers PING: its data is loaded.
    kAccepting,  // Once it takes connections, maybe still loading its data (answering LOADING).
  };

  // Starts (or restarts) the server and returns once it is `ready`. OK if already running.
  absl::Status Start(Ready ready = Ready::kServing);
  // Command-line arguments added at every later Start(), e.g. {"--appendonly", "yes"}.
  void set_extra_args(std::vector<std::string> args) { extra_args_ = std::move(args); }
  // Sends `sig` to the server (SIGSTOP freezes it, SIGCONT thaws it).
  absl::Status Signal(int sig);
  // SIGTERM, and waits for the exit (SIGKILL after a grace period). OK if not running.
  absl::Status Stop();
  // FLUSHALL.
  absl::Status Flush();

  bool Running();
  std::string host() const { return "127.0.0.1"; }
  int port() const { return port_; }
  const std::filesystem::path& dir() const { return dir_; }
  // The server's log so far, for failure messages.
  std::string Log() const;

 private:
  int port_;
  std::filesystem::path dir_;
  std::vector<std::string> extra_args_;
  std::unique_ptr<Process> process_;
};

}  // namespace grid::testing
