#include "tests/support/redis_server.h"

#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/support/poll.h"
#include "tests/support/ports.h"

namespace grid::testing {
namespace {

// One blocking request on a fresh connection, plain hiredis: the test support must not depend on
// the client under test. Returns the error, or OK if the reply is the status `want` (or, with
// `loading_ok`, the error LOADING).
absl::Status Request(const std::string& host, int port, const char* command, absl::string_view want,
                     bool loading_ok = false) {
  const timeval timeout{.tv_sec = 0, .tv_usec = 500 * 1000};
  redisContext* c = redisConnectWithTimeout(host.c_str(), port, timeout);
  if (c == nullptr) {
    return absl::ResourceExhaustedError("cannot allocate a hiredis context");
  }
  absl::Status status;
  if (c->err != 0) {
    status = absl::UnavailableError(absl::StrCat("connect: ", c->errstr));
  } else if (redisSetTimeout(c, timeout) != REDIS_OK) {
    status = absl::UnavailableError(absl::StrCat("set timeout: ", c->errstr));
  } else {
    auto* reply = static_cast<redisReply*>(redisCommand(c, command));
    if (reply == nullptr) {
      status = absl::UnavailableError(absl::StrCat(command, ": ", c->errstr));
    } else {
      const absl::string_view text(reply->str, reply->len);
      const bool loading = reply->type == REDIS_REPLY_ERROR && absl::StartsWith(text, "LOADING");
      if (!(loading && loading_ok) && (reply->type != REDIS_REPLY_STATUS || text != want)) {
        status = absl::UnavailableError(absl::StrCat(
            command, ": unexpected reply: ", absl::string_view(reply->str, reply->len)));
      }
      freeReplyObject(reply);
    }
  }
  redisFree(c);
  return status;
}

}  // namespace

absl::StatusOr<std::string> RedisText(const std::string& host, int port, const char* command) {
  const timeval timeout{.tv_sec = 0, .tv_usec = 500 * 1000};
  redisContext* c = redisConnectWithTimeout(host.c_str(), port, timeout);
  if (c == nullptr) {
    return absl::ResourceExhaustedError("cannot allocate a hiredis context");
  }
  absl::StatusOr<std::string> text = absl::UnavailableError("no reply");
  if (c->err != 0) {
    text = absl::UnavailableError(absl::StrCat("connect: ", c->errstr));
  } else if (redisSetTimeout(c, timeout) != REDIS_OK) {
    text = absl::UnavailableError(absl::StrCat("set timeout: ", c->errstr));
  } else if (auto* reply = static_cast<redisReply*>(redisCommand(c, command)); reply == nullptr) {
    text = absl::UnavailableError(absl::StrCat(command, ": ", c->errstr));
  } else {
    if (reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS) {
      text = std::string(reply->str, reply->len);
    } else {
      text = absl::UnavailableError(absl::StrCat(command, ": not a text reply"));
    }
    freeReplyObject(reply);
  }
  redisFree(c);
  return text;
}

namespace {

std::filesystem::path MakeTempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "grid-redis-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    std::perror("RedisServer: mkdtemp");
    std::abort();
  }
  return pattern;
}

}  // namespace

RedisServer::RedisServer() : port_(FreePort()), dir_(MakeTempDir()) {}

RedisServer::~RedisServer() {
  (void)Stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

absl::Status RedisServer::Start(Ready ready) {
  if (Running()) {
    return absl::OkStatus();
  }
  const char* binary = std::getenv("GRID_REDIS_SERVER");
  std::vector<std::string> args = {"--port",       std::to_string(port_),
                                   "--bind",       "127.0.0.1",
                                   "--save",       "",
                                   "--appendonly", "no",
                                   "--dir",        dir_.string(),
                                   "--daemonize",  "no"};
  // Later arguments win: extra ones may turn persistence on.
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  absl::StatusOr<std::unique_ptr<Process>> process =
      Process::Start(binary != nullptr && binary[0] != '\0' ? binary : "redis-server", args, {},
                     dir_ / "redis.log");
  if (!process.ok()) {
    return process.status();
  }
  process_ = *std::move(process);
  absl::Status last = absl::UnavailableError("not polled yet");
  const bool up = PollUntil(
      [&] {
        if (!process_->Running()) {
          return true;  // Exited: no point waiting; reported below.
        }
        last = Request(host(), port_, "PING", "PONG", ready == Ready::kAccepting);
        return last.ok();
      },
      kStartDeadline);
  if (!process_->Running()) {
    return absl::UnavailableError(absl::StrCat("redis-server on port ", port_, " ",
                                               DescribeWaitStatus(process_->Wait()), "; log:\n",
                                               Log()));
  }
  if (!up) {
    return absl::DeadlineExceededError(
        absl::StrCat("redis-server on port ", port_, " did not answer PING within ",
                     kStartDeadline.count(), " ms: ", last.message(), "; log:\n", Log()));
  }
  return absl::OkStatus();
}

absl::Status RedisServer::Stop() {
  if (process_ == nullptr) {
    return absl::OkStatus();
  }
  const int status = process_->Terminate();
  process_.reset();
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
    return absl::DeadlineExceededError(
        absl::StrCat("redis-server on port ", port_, " ignored SIGTERM and was killed"));
  }
  return absl::OkStatus();
}

absl::Status RedisServer::Flush() { return Request(host(), port_, "FLUSHALL", "OK"); }

absl::Status RedisServer::Signal(int sig) {
  if (process_ == nullptr) {
    return absl::FailedPreconditionError("redis-server is not running");
  }
  return process_->Kill(sig);
}

bool RedisServer::Running() { return process_ != nullptr && process_->Running(); }

std::string RedisServer::Log() const {
  std::ifstream in(dir_ / "redis.log", std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return std::move(out).str();
}

}  // namespace grid::testing
