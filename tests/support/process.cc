#include "tests/support/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/support/poll.h"

extern char** environ;

namespace grid::testing {
namespace {

// PATH look-up done in the parent: after fork() in a threaded program the child may only make
// async-signal-safe calls, which rules out execvp's allocations.
std::optional<std::string> Resolve(const std::string& binary) {
  if (binary.find('/') != std::string::npos) {
    return binary;
  }
  const char* path = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path != nullptr ? path : "/usr/bin:/bin", ':')) {
    std::string candidate = absl::StrCat(dir.empty() ? "." : dir, "/", binary);
    if (::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return std::nullopt;
}

// The current environment with `extra` layered on top, as "KEY=VALUE" strings.
std::vector<std::string> MergedEnvironment(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> merged;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry(*e);
    if (extra.count(std::string(entry.substr(0, entry.find('=')))) == 0) {
      merged.emplace_back(entry);
    }
  }
  for (const auto& [key, value] : extra) {
    merged.push_back(absl::StrCat(key, "=", value));
  }
  return merged;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (std::string& s : strings) {
    out.push_back(s.data());
  }
  out.push_back(nullptr);
  return out;
}

// In the child, between fork() and exec(): async-signal-safe calls only.
[[noreturn]] void ExecChild(pid_t parent, int log_fd, int null_fd, int error_fd, const char* path,
                            char* const argv[], char* const envp[]) {
  // Dies with the test process (more precisely: with the forking thread).
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) {
    ::_exit(126);  // The parent died before prctl took effect.
  }
  // Undo what the test process may have changed and exec does not reset.
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGCHLD, SIGHUP}) {
    ::signal(sig, SIG_DFL);
  }
  if (::dup2(null_fd, STDIN_FILENO) < 0 || ::dup2(log_fd, STDOUT_FILENO) < 0 ||
      ::dup2(log_fd, STDERR_FILENO) < 0) {
    const int err = errno;
    (void)!::write(error_fd, &err, sizeof(err));
    ::_exit(127);
  }
  ::execve(path, argv, envp);
  // Only reached if exec failed: tell the parent why through the close-on-exec pipe.
  const int err = errno;
  (void)!::write(error_fd, &err, sizeof(err));
  ::_exit(127);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Process>> Process::Start(
    const std::string& binary, const std::vector<std::string>& args,
    const std::map<std::string, std::string>& env, const std::filesystem::path& log_path) {
  const std::optional<std::string> path = Resolve(binary);
  if (!path) {
    return absl::NotFoundError(absl::StrCat(binary, ": not found on PATH"));
  }
  std::vector<std::string> argv_strings = {binary};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<std::string> env_strings = MergedEnvironment(env);
  std::vector<char*> argv = CStrings(argv_strings);
  std::vector<char*> envp = CStrings(env_strings);

  const int log_fd =
      ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, S_IRUSR | S_IWUSR);
  if (log_fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot open log ", log_path.string(), ": ", std::strerror(errno)));
  }
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int error_pipe[2];
  if (null_fd < 0 || ::pipe2(error_pipe, O_CLOEXEC) != 0) {
    const int err = errno;
    ::close(log_fd);
    if (null_fd >= 0) {
      ::close(null_fd);
    }
    return absl::UnavailableError(absl::StrCat("cannot set up child: ", std::strerror(err)));
  }

  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(error_pipe[0]);
    ExecChild(parent, log_fd, null_fd, error_pipe[1], path->c_str(), argv.data(), envp.data());
  }
  const int fork_errno = errno;
  ::close(log_fd);
  ::close(null_fd);
  ::close(error_pipe[1]);
  if (pid < 0) {
    ::close(error_pipe[0]);
    return absl::UnavailableError(absl::StrCat("fork: ", std::strerror(fork_errno)));
  }
  // The pipe closes on a successful exec (EOF, 0 bytes) or carries the child's errno.
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(error_pipe[0], &child_errno, sizeof(child_errno));
  } while (n < 0 && errno == EINTR);
  ::close(error_pipe[0]);
  if (n > 0) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    return absl::NotFoundError(
        absl::StrCat("cannot execute ", *path, ": ", std::strerror(child_errno)));
  }
  return std::unique_ptr<Process>(new Process(pid, log_path));
}

Process::Process(pid_t pid, std::filesystem::path log_path)
    : pid_(pid), log_path_(std::move(log_path)) {}

Process::~Process() {
  if (!wait_status_) {
    Terminate();
  }
}

bool Process::Running() {
  if (wait_status_) {
    return false;
  }
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) {
    wait_status_ = status;
    return false;
  }
  return r == 0;
}

absl::Status Process::Kill(int sig) {
  if (wait_status_) {
    return absl::FailedPreconditionError(
        absl::StrCat("process ", pid_, " already ", DescribeWaitStatus(*wait_status_)));
  }
  if (::kill(pid_, sig) != 0) {
    return absl::InternalError(absl::StrCat("kill(", pid_, ", ", sig, "): ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

int Process::Wait() {
  if (!wait_status_) {
    int status = 0;
    pid_t r;
    do {
      r = ::waitpid(pid_, &status, 0);
    } while (r < 0 && errno == EINTR);
    wait_status_ = r == pid_ ? status : 0;
  }
  return *wait_status_;
}

std::optional<int> Process::WaitFor(std::chrono::milliseconds timeout) {
  if (PollUntil([this] { return !Running(); }, timeout, std::chrono::milliseconds(5))) {
    return wait_status_;
  }
  return std::nullopt;
}

int Process::Terminate(std::chrono::milliseconds grace) {
  if (!Running()) {
    return Wait();
  }
  (void)Kill(SIGTERM);
  if (std::optional<int> status = WaitFor(grace)) {
    return *status;
  }
  (void)Kill(SIGKILL);
  return Wait();
}

std::string Process::ReadLog() const {
  std::ifstream in(log_path_, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return std::move(out).str();
}

std::string DescribeWaitStatus(int wait_status) {
  if (WIFEXITED(wait_status)) {
    return absl::StrCat("exited with code ", WEXITSTATUS(wait_status));
  }
  if (WIFSIGNALED(wait_status)) {
    return absl::StrCat("killed by signal ", WTERMSIG(wait_status), " (",
                        ::strsignal(WTERMSIG(wait_status)), ")");
  }
  return absl::StrCat("wait status ", wait_status);
}

}  // namespace grid::testing
