#include "tests/support/redis_cluster.h"

#include <hiredis/hiredis.h>
#include <sys/wait.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/support/poll.h"
#include "tests/support/process.h"

namespace grid::testing {
namespace {

// One line of CLUSTER NODES: its port, id, whether it is a master, its master's id, its slots.
struct NodeLine {
  std::string id;
  int port = 0;
  bool master = false;
  bool failed = false;
  std::string master_id;
  std::vector<std::pair<int, int>> slots;
};

std::vector<NodeLine> ParseNodes(const std::string& text) {
  std::vector<NodeLine> lines;
  for (absl::string_view row : absl::StrSplit(text, '\n', absl::SkipWhitespace())) {
    const std::vector<absl::string_view> f = absl::StrSplit(row, ' ', absl::SkipEmpty());
    if (f.size() < 8) {
      continue;
    }
    NodeLine line;
    line.id = std::string(f[0]);
    const absl::string_view address = f[1].substr(0, f[1].find('@'));
    if (!absl::SimpleAtoi(address.substr(address.rfind(':') + 1), &line.port)) {
      continue;
    }
    for (absl::string_view flag : absl::StrSplit(f[2], ',')) {
      line.master = line.master || flag == "master";
      line.failed = line.failed || flag == "fail";
    }
    line.master_id = std::string(f[3]);
    for (size_t i = 8; i < f.size(); ++i) {
      const std::vector<absl::string_view> range = absl::StrSplit(f[i], '-');
      int first = 0;
      int last = 0;
      if (absl::StartsWith(f[i], "[") || !absl::SimpleAtoi(range[0], &first)) {
        continue;
      }
      last = range.size() > 1 && absl::SimpleAtoi(range[1], &last) ? last : first;
      line.slots.emplace_back(first, last);
    }
    lines.push_back(std::move(line));
  }
  return lines;
}

}  // namespace

RedisCluster::RedisCluster(int masters, int replicas_per_master)
    : masters_(masters), replicas_per_master_(replicas_per_master) {
  args_ = {"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"};
  if (replicas_per_master > 0) {
    args_.insert(args_.end(),
                 {"--cluster-node-timeout", std::to_string(kReplicaNodeTimeout.count())});
  }
  for (int i = 0; i < masters * (1 + replicas_per_master); ++i) {
    nodes_.push_back(std::make_unique<RedisServer>());
    nodes_.back()->set_extra_args(args_);
  }
}

absl::Status RedisCluster::Start() {
  for (auto& node : nodes_) {
    // A node also listens on its port + 10000 (the cluster bus), which nobody reserved for it:
    // taken by another process, the node exits; a node on another port then.
    absl::Status started = node->Start();
    for (int attempt = 1; !started.ok() && attempt < kStartAttempts; ++attempt) {
      node = std::make_unique<RedisServer>();
      node->set_extra_args(args_);
      started = node->Start();
    }
    if (!started.ok()) {
      return started;
    }
  }
  std::vector<std::string> args = {"--cluster", "create"};
  for (auto& node : nodes_) {
    args.push_back(absl::StrCat(node->host(), ":", node->port()));
  }
  if (replicas_per_master_ > 0) {
    args.insert(args.end(), {"--cluster-replicas", std::to_string(replicas_per_master_)});
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
          if (!info.ok() || !absl::StrContains(*info, "cluster_state:ok")) {
            return false;
          }
          absl::StatusOr<std::string> replication =
              RedisText(node->host(), node->port(), "INFO replication");
          return replication.ok() && (absl::StrContains(*replication, "role:master") ||
                                      absl::StrContains(*replication, "master_link_status:up"));
        },
        kStartDeadline);
    if (!up) {
      return absl::DeadlineExceededError(absl::StrCat("the node on port ", node->port(),
                                                      " never saw the cluster up (or its master)"));
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

absl::StatusOr<std::string> RedisCluster::Nodes(int skip) {
  absl::Status last = absl::UnavailableError("no node to ask");
  for (int i = 0; i < size(); ++i) {
    if (i == skip) {
      continue;
    }
    absl::StatusOr<std::string> text = RedisText(node(i).host(), node(i).port(), "CLUSTER NODES");
    if (text.ok()) {
      return text;
    }
    last = text.status();
  }
  return last;
}

int RedisCluster::IndexOfPort(int port) const {
  for (int i = 0; i < static_cast<int>(nodes_.size()); ++i) {
    if (nodes_[i]->port() == port) {
      return i;
    }
  }
  return -1;
}

absl::StatusOr<int> RedisCluster::MasterOf(int slot, int skip) {
  absl::StatusOr<std::string> text = Nodes(skip);
  if (!text.ok()) {
    return text.status();
  }
  for (const NodeLine& line : ParseNodes(*text)) {
    for (const auto& [first, last] : line.slots) {
      if (line.master && slot >= first && slot <= last) {
        return IndexOfPort(line.port);
      }
    }
  }
  return absl::NotFoundError(absl::StrCat("no master serves slot ", slot));
}

absl::StatusOr<std::vector<int>> RedisCluster::ReplicasOf(int master, int skip) {
  absl::StatusOr<std::string> text = Nodes(skip);
  if (!text.ok()) {
    return text.status();
  }
  const std::vector<NodeLine> lines = ParseNodes(*text);
  std::string id;
  for (const NodeLine& line : lines) {
    if (line.port == node(master).port()) {
      id = line.id;
    }
  }
  std::vector<int> replicas;
  for (const NodeLine& line : lines) {
    if (!id.empty() && line.master_id == id) {
      replicas.push_back(IndexOfPort(line.port));
    }
  }
  return replicas;
}

namespace {

// One command on a fresh connection: the reply's strings (an array's elements, or the one
// string or status), or the error reply as FAILED_PRECONDITION.
absl::StatusOr<std::vector<std::string>> RedisArgv(int port, const std::vector<std::string>& argv) {
  const timeval timeout{.tv_sec = 5, .tv_usec = 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, timeout);
  if (c == nullptr || c->err != 0) {
    if (c != nullptr) {
      redisFree(c);
    }
    return absl::UnavailableError(absl::StrCat("connect to ", port));
  }
  std::vector<const char*> args;
  std::vector<size_t> lengths;
  for (const std::string& arg : argv) {
    args.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  auto* reply = static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(args.size()), args.data(), lengths.data()));
  absl::StatusOr<std::vector<std::string>> out = std::vector<std::string>();
  if (reply == nullptr) {
    out = absl::UnavailableError(absl::StrCat(argv[0], ": ", c->errstr));
  } else if (reply->type == REDIS_REPLY_ERROR) {
    out = absl::FailedPreconditionError(
        absl::StrCat(argv[0], " on ", port, ": ", std::string(reply->str, reply->len)));
  } else if (reply->type == REDIS_REPLY_ARRAY) {
    for (size_t i = 0; i < reply->elements; ++i) {
      out->emplace_back(reply->element[i]->str, reply->element[i]->len);
    }
  } else if (reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS) {
    out->emplace_back(reply->str, reply->len);
  }
  if (reply != nullptr) {
    freeReplyObject(reply);
  }
  redisFree(c);
  return out;
}

}  // namespace

absl::Status RedisCluster::MigrateSlot(int slot, int to,
                                       const std::function<void()>& between_batches) {
  absl::StatusOr<int> from = MasterOf(slot);
  if (!from.ok()) {
    return from.status();
  }
  if (*from == to) {
    return absl::OkStatus();
  }
  const auto id_of = [&](int node_index) -> absl::StatusOr<std::string> {
    return RedisText(node(node_index).host(), node(node_index).port(), "CLUSTER MYID");
  };
  absl::StatusOr<std::string> from_id = id_of(*from);
  absl::StatusOr<std::string> to_id = id_of(to);
  if (!from_id.ok() || !to_id.ok()) {
    return absl::UnavailableError("CLUSTER MYID failed");
  }
  const std::string slot_text = std::to_string(slot);
  const int from_port = node(*from).port();
  const int to_port = node(to).port();
  for (const auto& [port, argv] : std::vector<std::pair<int, std::vector<std::string>>>{
           {to_port, {"CLUSTER", "SETSLOT", slot_text, "IMPORTING", *from_id}},
           {from_port, {"CLUSTER", "SETSLOT", slot_text, "MIGRATING", *to_id}}}) {
    if (auto done = RedisArgv(port, argv); !done.ok()) {
      return done.status();
    }
  }
  for (;;) {
    absl::StatusOr<std::vector<std::string>> keys =
        RedisArgv(from_port, {"CLUSTER", "GETKEYSINSLOT", slot_text, "20"});
    if (!keys.ok()) {
      return keys.status();
    }
    if (keys->empty()) {
      break;
    }
    std::vector<std::string> migrate = {"MIGRATE", "127.0.0.1", std::to_string(to_port), "", "0",
                                        "5000",    "KEYS"};
    migrate.insert(migrate.end(), keys->begin(), keys->end());
    if (auto moved = RedisArgv(from_port, migrate); !moved.ok()) {
      return moved.status();
    }
    if (between_batches) {
      between_batches();
    }
  }
  // The new owner first, then the old one, then the rest (as redis-cli does).
  std::vector<int> order = {to, *from};
  for (int i = 0; i < size(); ++i) {
    if (i != to && i != *from) {
      order.push_back(i);
    }
  }
  for (const int i : order) {
    auto set = RedisArgv(node(i).port(), {"CLUSTER", "SETSLOT", slot_text, "NODE", *to_id});
    if (!set.ok() && i != to && i != *from) {
      continue;  // A replica refuses SETSLOT; the masters' gossip tells it.
    }
    if (!set.ok()) {
      return set.status();
    }
  }
  return absl::OkStatus();
}

absl::Status RedisCluster::WaitServed(int slot, int skip, std::chrono::milliseconds deadline) {
  absl::Status last = absl::OkStatus();
  const bool served = PollUntil(
      [&] {
        absl::StatusOr<int> master = MasterOf(slot, skip);
        if (!master.ok() || *master == skip) {
          last = master.ok() ? absl::UnavailableError("the slot is still on the skipped node")
                             : master.status();
          return false;
        }
        for (int i = 0; i < size(); ++i) {
          if (i == skip) {
            continue;
          }
          absl::StatusOr<std::string> info =
              RedisText(node(i).host(), node(i).port(), "CLUSTER INFO");
          if (!info.ok() || !absl::StrContains(*info, "cluster_state:ok")) {
            last =
                absl::UnavailableError(absl::StrCat("node ", i, " does not say cluster_state:ok"));
            return false;
          }
        }
        return true;
      },
      deadline);
  return served ? absl::OkStatus() : last;
}

std::string RedisCluster::Log() const {
  std::string log = absl::StrCat("redis-cli --cluster create:\n", create_log_);
  for (const auto& node : nodes_) {
    absl::StrAppend(&log, "redis-server on port ", node->port(), ":\n", node->Log());
  }
  return log;
}

}  // namespace grid::testing
