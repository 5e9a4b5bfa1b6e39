#include "tests/support/redis_cluster.h"

#include <sys/wait.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/support/poll.h"
#include "tests/support/process.h"

namespace grid::testing {

RedisCluster::RedisCluster(int masters) {
  for (int i = 0; i < masters; ++i) {
    nodes_.push_back(std::make_unique<RedisServer>());
    nodes_.back()->set_extra_args(
        {"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"});
  }
}

absl::Status RedisCluster::Start() {
  for (auto& node : nodes_) {
    if (absl::Status started = node->Start(); !started.ok()) {
      return started;
    }
  }
  std::vector<std::string> args = {"--cluster", "create"};
  for (auto& node : nodes_) {
    args.push_back(absl::StrCat(node->host(), ":", node->port()));
  }
  args.push_back("--cluster-yes");
  const std::filesystem::path log = nodes_.front()->dir() / "cluster-create.log";
  absl::StatusOr<std::unique_ptr<Process>> create = Process::Start("redis-cli", args, {}, log);
  if (!create.ok()) {
    return create.status();
  }
  const std::optional<int> exit = (*create)->WaitFor(kStartDeadline);
  create_log_ = (*create)->ReadLog();
  if (!exit.has_value() || !WIFEXITED(*exit) || WEXITSTATUS(*exit) != 0) {
    return absl::InternalError(absl::StrCat("redis-cli --cluster create: ", create_log_));
  }
  for (auto& node : nodes_) {
    const bool up = PollUntil(
        [&] {
          absl::StatusOr<std::string> info = RedisText(node->host(), node->port(), "CLUSTER INFO");
          return info.ok() && absl::StrContains(*info, "cluster_state:ok");
        },
        kStartDeadline);
    if (!up) {
      return absl::DeadlineExceededError(
          absl::StrCat("the node on port ", node->port(), " never saw the cluster up"));
    }
  }
  return absl::OkStatus();
}

std::string RedisCluster::Seeds() const {
  std::string seeds;
  for (const auto& node : nodes_) {
    absl::StrAppend(&seeds, seeds.empty() ? "" : ",", node->host(), ":", node->port());
  }
  return seeds;
}

std::string RedisCluster::Log() const {
  std::string log = absl::StrCat("redis-cli --cluster create:\n", create_log_);
  for (const auto& node : nodes_) {
    absl::StrAppend(&log, "redis-server on port ", node->port(), ":\n", node->Log());
  }
  return log;
}

}  // namespace grid::testing
