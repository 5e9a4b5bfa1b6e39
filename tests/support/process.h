#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace grid::testing {

// A child process for integration tests (redis-server, service binaries), stopped when the
// object goes. Its stdout and stderr go to a log file so a failing test can print it.
//
// Nothing outlives the test binary: the child gets PR_SET_PDEATHSIG(SIGKILL), so it is killed if
// the test process dies (crash, timeout kill). The signal follows the *thread* that started the
// child, so start processes from the test's main thread or one that outlives them.
//
// Not thread-safe: use one Process from one thread.
class Process final {
 public:
  static constexpr std::chrono::milliseconds kDefaultGrace{5000};

  // Starts `binary` (a path, or a bare name looked up on PATH) with `args` (not including
  // argv[0]), the current environment plus `env` (which overrides), stdin from /dev/null, and
  // stdout and stderr appended to `log_path`. NOT_FOUND if the binary cannot be executed.
  static absl::StatusOr<std::unique_ptr<Process>> Start(
      const std::string& binary, const std::vector<std::string>& args,
      const std::map<std::string, std::string>& env, const std::filesystem::path& log_path);

  // Terminate()s the child if it still runs.
  ~Process();

  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  const std::filesystem::path& log_path() const { return log_path_; }

  // Whether the child still runs; reaps it if it has exited.
  bool Running();
  // Sends `sig`. FAILED_PRECONDITION once the child has been reaped.
  absl::Status Kill(int sig);
  // Blocks until the child exits; returns its wait status (see DescribeWaitStatus).
  int Wait();
  // As Wait(), giving up after `timeout`.
  std::optional<int> WaitFor(std::chrono::milliseconds timeout);
  // SIGTERM, then SIGKILL if the child has not exited after `grace`; returns the wait status.
  int Terminate(std::chrono::milliseconds grace = kDefaultGrace);

  // The log file's content so far, for failure messages.
  std::string ReadLog() const;

 private:
  Process(pid_t pid, std::filesystem::path log_path);

  pid_t pid_;
  std::filesystem::path log_path_;
  std::optional<int> wait_status_;  // Set once reaped.
};

// "exited with code 1", "killed by signal 9 (Killed)".
std::string DescribeWaitStatus(int wait_status);

}  // namespace grid::testing
