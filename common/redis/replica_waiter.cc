#include "common/redis/replica_waiter.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <condition_variable>
#include <cstdint>
#include <future>
#include <map>
#include <mutex>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/redis/reply.h"
#include "common/redis/slot.h"
#include "common/redis/wait_connected.h"

namespace grid::redis {
namespace {

using Clock = std::chrono::steady_clock;

// The map is asked again after a failed round at most this often.
constexpr std::chrono::milliseconds kMinRefresh{100};
// Stop() waits for the strand; past this it says why it may be stuck.
constexpr std::chrono::seconds kStopWaitWarning{5};

std::string Address(const Endpoint& endpoint) {
  return absl::StrCat(endpoint.host, ":", endpoint.port);
}

absl::Status Unavailable(absl::string_view why) {
  return absl::UnavailableError(absl::StrCat(kStoreUnavailable, " (", why, "); retry later"));
}

// "first-last" or "slot"; false for anything else.
bool ParseSlotRange(absl::string_view text, int& first, int& last) {
  const size_t dash = text.find('-');
  if (dash == absl::string_view::npos) {
    if (!absl::SimpleAtoi(text, &first)) {
      return false;
    }
    last = first;
  } else if (!absl::SimpleAtoi(text.substr(0, dash), &first) ||
             !absl::SimpleAtoi(text.substr(dash + 1), &last)) {
    return false;
  }
  return first >= 0 && first <= last && last < kSlotCount;
}

}  // namespace

absl::StatusOr<ReplicaMap> ParseClusterNodes(std::string_view text, std::string_view asked_host) {
  // <id> <ip:port@cport[,hostname]> <flags> <master id or -> <ping> <pong> <epoch> <link> <slot>...
  struct Node {
    std::string id;
    Endpoint address;
    bool master = false;
    bool replica = false;
    std::string master_id;
    std::vector<std::pair<int, int>> slots;
  };
  std::vector<Node> nodes;
  for (absl::string_view row :
       absl::StrSplit(absl::string_view(text.data(), text.size()), '\n', absl::SkipWhitespace())) {
    const std::vector<absl::string_view> f =
        absl::StrSplit(absl::StripAsciiWhitespace(row), ' ', absl::SkipEmpty());
    if (f.size() < 8) {
      return absl::InvalidArgumentError(
          absl::StrCat("CLUSTER NODES: a line of unexpected shape: ", row));
    }
    Node node;
    node.id = std::string(f[0]);
    const absl::string_view address = f[1].substr(0, f[1].find('@'));
    const size_t colon = address.rfind(':');
    int port = 0;
    if (colon == absl::string_view::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port) ||
        port < 0 || port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("CLUSTER NODES: an address that cannot be read: ", row));
    }
    node.address.host = std::string(address.substr(0, colon));
    if (node.address.host.empty()) {
      node.address.host = std::string(asked_host);
    }
    node.address.port = port;
    for (absl::string_view flag : absl::StrSplit(f[2], ',')) {
      node.master = node.master || flag == "master";
      node.replica = node.replica || flag == "slave" || flag == "replica";
    }
    node.master_id = std::string(f[3]);
    for (size_t i = 8; i < f.size(); ++i) {
      if (absl::StartsWith(f[i], "[")) {
        continue;  // A slot being imported or migrated: still served by its owner.
      }
      int first = 0;
      int last = 0;
      if (!ParseSlotRange(f[i], first, last)) {
        return absl::InvalidArgumentError(
            absl::StrCat("CLUSTER NODES: a slot range that cannot be read: ", row));
      }
      node.slots.emplace_back(first, last);
    }
    nodes.push_back(std::move(node));
  }
  ReplicaMap map;
  map.slot_master.assign(kSlotCount, -1);
  bool served = false;
  for (const Node& node : nodes) {
    if (!node.master || node.slots.empty() || node.address.port == 0) {
      continue;
    }
    ReplicaMap::Master master{.address = node.address};
    for (const Node& other : nodes) {
      master.replicas += other.replica && other.master_id == node.id ? 1 : 0;
    }
    const int index = static_cast<int>(map.masters.size());
    map.masters.push_back(std::move(master));
    for (const auto& [first, last] : node.slots) {
      std::fill(map.slot_master.begin() + first, map.slot_master.begin() + last + 1, index);
      served = true;
    }
  }
  if (!served) {
    return absl::UnavailableError("CLUSTER NODES: no slot is served yet");
  }
  return map;
}

const std::string& MarkKey(int slot) {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> keys(kSlotCount);
    int left = kSlotCount;
    for (int i = 0; left > 0; ++i) {
      std::string key = absl::StrCat("replica-mark:{", i, "}");
      std::string& entry = keys[static_cast<size_t>(KeySlot(key))];
      if (entry.empty()) {
        entry = std::move(key);
        --left;
      }
    }
    return keys;
  }();
  return keys.at(static_cast<size_t>(slot));
}

class ReplicaWaiter::Core final : public std::enable_shared_from_this<Core> {
 public:
  using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;

  Core(boost::asio::io_context& io, Options options)
      : io_(io),
        options_(Sanitize(std::move(options))),
        who_(absl::StrCat("redis[", options_.node.name, "] replica waiter")),
        strand_(boost::asio::make_strand(io)),
        refresh_timer_(strand_) {}

  Strand& strand() { return strand_; }

  // Any thread.
  void Start() {
    boost::asio::post(strand_, [self = shared_from_this()] {
      if (self->state_ == State::kIdle) {
        self->state_ = State::kRunning;
        for (const Endpoint& seed : self->options_.seeds) {
          self->Node(Address(seed));
        }
        self->StartRefresh();
      }
      self->RunReady();
    });
  }

  // Any thread.
  void Await(std::string key, Deadline deadline, DurableCallback done) {
    Waiter waiter{.slot = KeySlot(key),
                  .key = std::move(key),
                  .deadline = deadline == kNoDeadline
                                  ? Clock::now() + options_.wait + options_.node.command_timeout
                                  : deadline,
                  .done = std::move(done)};
    boost::asio::post(strand_, [self = shared_from_this(), waiter = std::move(waiter)]() mutable {
      self->Enqueue(std::move(waiter));
      self->RunReady();
    });
  }

  // Any thread but the io_context's.
  absl::Status WaitConnected(std::chrono::milliseconds timeout) {
    const Clock::time_point end = Clock::now() + timeout;
    std::vector<std::shared_ptr<Connection>> masters;
    {
      std::unique_lock<std::mutex> lock(mu_);
      const bool mapped =
          cv_.wait_until(lock, end, [this] { return stopped_ || !published_.empty(); });
      if (stopped_) {
        return absl::UnavailableError(absl::StrCat(who_, ": stopped"));
      }
      if (!mapped) {
        return absl::DeadlineExceededError(
            absl::StrCat(who_, ": no map of the cluster within ", timeout.count(), " ms"));
      }
      masters = published_;
    }
    return WaitEachConnected(masters, end);
  }

  // On the strand, or with no thread running the io_context: fails everything pending, runs those
  // callbacks, and hands back the connections for the caller to stop (as ClusterClient's).
  std::map<std::string, std::shared_ptr<Connection>> Shutdown() {
    std::map<std::string, std::shared_ptr<Connection>> nodes;
    if (state_ != State::kStopped) {
      state_ = State::kStopped;
      {
        std::lock_guard<std::mutex> lock(mu_);
        stopped_ = true;
        published_.clear();
      }
      cv_.notify_all();
      refresh_timer_.cancel();
      const absl::Status stopped = Unavailable("the service is stopping");
      for (Waiter& waiter : std::exchange(unmapped_, {})) {
        Ready(std::move(waiter.done), stopped);
      }
      for (auto& [address, master] : std::exchange(masters_, {})) {
        for (Waiter& waiter : master.next) {
          Ready(std::move(waiter.done), stopped);
        }
      }
      for (auto& [id, round] : std::exchange(rounds_, {})) {
        for (Waiter& waiter : round.waiters) {
          Ready(std::move(waiter.done), stopped);
        }
      }
      nodes = std::exchange(nodes_, {});
    }
    RunReady();
    return nodes;
  }

 private:
  enum class State { kIdle, kRunning, kStopped };

  struct Waiter {
    int slot = 0;
    std::string key;
    Deadline deadline = kNoDeadline;
    DurableCallback done;
  };

  struct Master {
    int replicas = 0;
    // Awaited while a round is in flight (or scheduled): the next round.
    std::vector<Waiter> next;
    bool in_flight = false;
    bool scheduled = false;
  };

  struct Round {
    std::string master;
    std::chrono::milliseconds wait{0};
    std::vector<Waiter> waiters;
    // One EXISTS per waiter, then the mark, then WAIT.
    std::vector<absl::StatusOr<Reply>> replies;
    size_t remaining = 0;
  };

  static Options Sanitize(Options options) {
    const Options defaults;
    options.wait = std::max(options.wait, std::chrono::milliseconds(1));
    if (options.refresh_interval <= std::chrono::milliseconds::zero()) {
      options.refresh_interval = defaults.refresh_interval;
    }
    if (options.node.command_timeout <= std::chrono::milliseconds::zero()) {
      options.node.command_timeout = defaults.node.command_timeout;
    }
    return options;
  }

  // --- Everything below runs on the strand.

  void Enqueue(Waiter waiter) {
    if (state_ == State::kStopped) {
      Ready(std::move(waiter.done), Unavailable("the service is stopping"));
      return;
    }
    if (!map_known_) {
      unmapped_.push_back(std::move(waiter));
      return;
    }
    const std::string& address = slot_master_[static_cast<size_t>(waiter.slot)];
    const auto it = address.empty() ? masters_.end() : masters_.find(address);
    if (it == masters_.end()) {
      Ready(std::move(waiter.done), Unavailable("no master serves the report's slot"));
      RequestRefresh();
      return;
    }
    Master& master = it->second;
    if (master.replicas == 0) {
      // Nothing to wait for: as durable as one Redis.
      Ready(std::move(waiter.done), absl::OkStatus());
      return;
    }
    master.next.push_back(std::move(waiter));
    if (!master.in_flight && !master.scheduled) {
      // At the end of this turn, so that the writes acknowledged in it share the round.
      master.scheduled = true;
      boost::asio::post(strand_, [self = shared_from_this(), address = it->first] {
        self->StartRound(address);
        self->RunReady();
      });
    }
  }

  void StartRound(const std::string& address) {
    const auto it = masters_.find(address);
    if (state_ != State::kRunning || it == masters_.end()) {
      return;  // Stopped, or the map changed and failed what waited.
    }
    Master& master = it->second;
    master.scheduled = false;
    if (master.in_flight || master.next.empty()) {
      return;
    }
    std::shared_ptr<Connection> node = Node(address);
    if (!node->Connected()) {
      for (Waiter& waiter : std::exchange(master.next, {})) {
        Ready(std::move(waiter.done), Unavailable("no connection to the master of the report's "
                                                  "slot, to confirm its replica"));
      }
      RequestRefresh();
      return;
    }
    master.in_flight = true;
    const uint64_t id = next_id_++;
    Round& round = rounds_[id];
    round.master = address;
    round.waiters = std::exchange(master.next, {});
    // WAIT no longer than the most patient caller still listens.
    const Clock::time_point now = Clock::now();
    Deadline latest = now;
    for (const Waiter& waiter : round.waiters) {
      latest = std::max(latest, waiter.deadline);
    }
    round.wait = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(latest - now),
                            std::chrono::milliseconds(1), options_.wait);
    const size_t n = round.waiters.size();
    round.replies.assign(n + 2, absl::UnavailableError("no reply"));
    round.remaining = n + 2;
    const Deadline deadline = now + round.wait + options_.node.command_timeout;
    // Issued one after the other from this handler: sent in this order on the one connection, so
    // WAIT counts the mark, and the mark follows every write the EXISTS saw.
    for (size_t i = 0; i < n; ++i) {
      node->Command({"EXISTS", round.waiters[i].key}, deadline, OnReply(id, i));
    }
    node->Command({"SET", MarkKey(round.waiters.front().slot), absl::StrCat(next_mark_++)},
                  deadline, OnReply(id, n));
    node->Command({"WAIT", "1", absl::StrCat(round.wait.count())}, deadline, OnReply(id, n + 1));
  }

  ReplyCallback OnReply(uint64_t id, size_t index) {
    return [weak = weak_from_this(), id, index](absl::StatusOr<Reply> result) {
      if (std::shared_ptr<Core> self = weak.lock()) {
        boost::asio::post(self->strand_, [self, id, index, result = std::move(result)]() mutable {
          self->OnRoundReply(id, index, std::move(result));
          self->RunReady();
        });
      }
    };
  }

  void OnRoundReply(uint64_t id, size_t index, absl::StatusOr<Reply> result) {
    const auto it = rounds_.find(id);
    if (it == rounds_.end()) {
      return;  // Stopped meanwhile.
    }
    it->second.replies[index] = std::move(result);
    if (--it->second.remaining == 0) {
      auto done = rounds_.extract(it);
      Finish(std::move(done.mapped()));
    }
  }

  void Finish(Round round) {
    const size_t n = round.waiters.size();
    const absl::StatusOr<Reply>& mark = round.replies[n];
    const absl::StatusOr<Reply>& wait = round.replies[n + 1];
    absl::Status all;  // Set when the whole round failed.
    if (!mark.ok() || mark->IsError() || !wait.ok() || wait->IsError() || !wait->IsInteger()) {
      const absl::StatusOr<Reply>& failed = !mark.ok() || mark->IsError() ? mark : wait;
      // StatusOf words a lost connection or a deadline; an error reply (-MOVED names an
      // address) only by its code.
      all = !failed.ok()
                ? StatusOf(failed)
                : Unavailable(absl::StrCat(
                      "the master of the report's slot answered ",
                      std::string(failed->IsError() ? failed->ErrorCode() : TypeName(failed->type)),
                      " when asked to confirm its replica"));
      if (all.code() != absl::StatusCode::kUnavailable) {
        all = Unavailable(all.message());
      }
      RequestRefresh();
    } else if (wait->integer < 1) {
      all = Unavailable(absl::StrCat("the report was written, but no replica confirmed it within ",
                                     round.wait.count(), " ms"));
      spdlog::debug("{}: no replica acknowledged within {} ms ({} writes)", who_,
                    round.wait.count(), n);
    }
    for (size_t i = 0; i < n; ++i) {
      Waiter& waiter = round.waiters[i];
      if (!all.ok()) {
        Ready(std::move(waiter.done), all);
        continue;
      }
      const absl::StatusOr<Reply>& exists = round.replies[i];
      if (exists.ok() && exists->IsInteger() && exists->integer == 1) {
        Ready(std::move(waiter.done), absl::OkStatus());
        continue;
      }
      Ready(std::move(waiter.done),
            exists.ok() && exists->IsInteger()
                ? Unavailable("the report is not on the server that holds its slot now (a "
                              "failover?)")
                : Unavailable("the master of the report's slot could not confirm it"));
      RequestRefresh();
    }
    const auto it = masters_.find(round.master);
    if (it == masters_.end()) {
      return;
    }
    it->second.in_flight = false;
    if (!it->second.next.empty() && !it->second.scheduled) {
      StartRound(round.master);
    }
  }

  // --- The map.

  std::shared_ptr<Connection> Node(const std::string& address) {
    std::shared_ptr<Connection>& node = nodes_[address];
    if (node == nullptr) {
      const size_t colon = address.rfind(':');
      const Endpoint endpoint{.host = address.substr(0, colon),
                              .port = std::stoi(address.substr(colon + 1))};
      if (options_.connect) {
        node = options_.connect(endpoint);
      } else {
        AsioClient::Options options = options_.node;
        options.host = endpoint.host;
        options.port = endpoint.port;
        options.name = absl::StrCat(options_.node.name, "-wait");
        node = std::make_unique<AsioClient>(io_, std::move(options));
      }
      node->Start();
    }
    return node;
  }

  // The map again, soon (kMinRefresh after the last time at the latest).
  void RequestRefresh() {
    if (state_ != State::kRunning || refreshing_ || soon_) {
      return;
    }
    soon_ = true;
    Arm(std::max(Clock::now(), last_refresh_ + kMinRefresh));
  }

  void Arm(Clock::time_point at) {
    const uint64_t generation = ++timer_generation_;
    refresh_timer_.expires_at(at);
    refresh_timer_.async_wait(
        [weak = weak_from_this(), generation](const boost::system::error_code& ec) {
          std::shared_ptr<Core> self = weak.lock();
          if (ec || self == nullptr || generation != self->timer_generation_) {
            return;
          }
          self->StartRefresh();
          self->RunReady();
        });
  }

  void StartRefresh() {
    if (state_ != State::kRunning || refreshing_) {
      return;
    }
    soon_ = false;
    refreshing_ = true;
    candidates_.clear();
    for (const auto& [address, master] : masters_) {
      candidates_.push_back(address);
    }
    for (const Endpoint& seed : options_.seeds) {
      if (std::find(candidates_.begin(), candidates_.end(), Address(seed)) == candidates_.end()) {
        candidates_.push_back(Address(seed));
      }
    }
    AskNext();
  }

  void AskNext() {
    while (!candidates_.empty()) {
      const std::string asked = candidates_.front();
      candidates_.erase(candidates_.begin());
      std::shared_ptr<Connection> node = Node(asked);
      if (!node->Connected()) {
        continue;
      }
      node->Command({"CLUSTER", "NODES"}, Clock::now() + options_.node.command_timeout,
                    [weak = weak_from_this(), asked](absl::StatusOr<Reply> result) {
                      if (std::shared_ptr<Core> self = weak.lock()) {
                        boost::asio::post(self->strand_,
                                          [self, asked, result = std::move(result)]() mutable {
                                            self->OnNodes(asked, std::move(result));
                                            self->RunReady();
                                          });
                      }
                    });
      return;
    }
    EndRefresh(false);
  }

  void OnNodes(const std::string& asked, absl::StatusOr<Reply> result) {
    if (state_ != State::kRunning) {
      return;
    }
    absl::StatusOr<ReplicaMap> map =
        !result.ok() ? result.status()
        : result->IsString()
            ? ParseClusterNodes(result->str, asked.substr(0, asked.rfind(':')))
            : absl::InternalError(absl::StrCat("CLUSTER NODES answered ", result->DebugString()));
    if (!map.ok()) {
      spdlog::debug("{}: no map from {}: {}", who_, asked, std::string(map.status().message()));
      AskNext();
      return;
    }
    Install(*map);
    EndRefresh(true);
  }

  void EndRefresh(bool ok) {
    refreshing_ = false;
    last_refresh_ = Clock::now();
    if (!ok) {
      ++failed_refreshes_;
      if (map_known_ && failed_refreshes_ % 100 == 1) {
        spdlog::warn("{}: cannot refresh the map of the cluster ({} tries so far)", who_,
                     failed_refreshes_);
      }
    } else {
      failed_refreshes_ = 0;
    }
    // Awaits made before any map, whose callers gave up by now.
    const Clock::time_point now = Clock::now();
    for (auto it = unmapped_.begin(); it != unmapped_.end();) {
      if (it->deadline <= now) {
        Ready(std::move(it->done), Unavailable("no map of the cluster yet"));
        it = unmapped_.erase(it);
      } else {
        ++it;
      }
    }
    if (!soon_) {
      Arm(last_refresh_ + (ok ? options_.refresh_interval : kMinRefresh));
    }
  }

  void Install(const ReplicaMap& map) {
    std::vector<std::string> slot_master(kSlotCount);
    std::map<std::string, int> replicas;
    for (const ReplicaMap::Master& master : map.masters) {
      replicas[Address(master.address)] = master.replicas;
    }
    for (int slot = 0; slot < kSlotCount; ++slot) {
      const int index = map.slot_master[static_cast<size_t>(slot)];
      if (index >= 0) {
        slot_master[static_cast<size_t>(slot)] =
            Address(map.masters[static_cast<size_t>(index)].address);
      }
    }
    bool changed = !map_known_ || slot_master != slot_master_;
    // Masters no longer: what waited for their next round cannot be confirmed there.
    for (auto it = masters_.begin(); it != masters_.end();) {
      if (replicas.contains(it->first)) {
        ++it;
        continue;
      }
      for (Waiter& waiter : it->second.next) {
        Ready(std::move(waiter.done), Unavailable("the master of the report's slot changed"));
      }
      it = masters_.erase(it);
      changed = true;
    }
    std::vector<std::shared_ptr<Connection>> published;
    for (const auto& [address, count] : replicas) {
      Master& master = masters_[address];
      changed = changed || master.replicas != count;
      master.replicas = count;
      published.push_back(Node(address));
    }
    slot_master_ = std::move(slot_master);
    map_known_ = true;
    {
      std::lock_guard<std::mutex> lock(mu_);
      published_ = std::move(published);
    }
    cv_.notify_all();
    if (changed) {
      std::string masters;
      for (const auto& [address, count] : replicas) {
        absl::StrAppend(&masters, masters.empty() ? "" : ", ", address, " (", count,
                        count == 1 ? " replica)" : " replicas)");
      }
      spdlog::info("{}: masters {}", who_, masters);
    }
    for (Waiter& waiter : std::exchange(unmapped_, {})) {
      Enqueue(std::move(waiter));
    }
  }

  // --- Callbacks.

  void Ready(DurableCallback done, absl::Status status) {
    ready_.push_back([done = std::move(done), status = std::move(status)] { done(status); });
  }

  // Runs queued callbacks; last in every handler, so that none runs inside our bookkeeping.
  void RunReady() {
    while (!ready_.empty()) {
      std::vector<std::function<void()>> batch;
      batch.swap(ready_);
      for (std::function<void()>& callback : batch) {
        callback();
      }
    }
  }

  boost::asio::io_context& io_;
  const Options options_;
  const std::string who_;  // Prefix of log lines.
  Strand strand_;
  boost::asio::steady_timer refresh_timer_;

  // Strand-only state.
  State state_ = State::kIdle;
  std::map<std::string, std::shared_ptr<Connection>> nodes_;  // By "host:port".
  std::map<std::string, Master> masters_;                     // By "host:port".
  std::vector<std::string> slot_master_;                      // Slot -> "host:port" or "".
  bool map_known_ = false;
  std::vector<Waiter> unmapped_;
  std::map<uint64_t, Round> rounds_;
  uint64_t next_id_ = 1;
  uint64_t next_mark_ = 1;
  bool refreshing_ = false;
  bool soon_ = false;
  uint64_t timer_generation_ = 0;
  Clock::time_point last_refresh_{};
  std::vector<std::string> candidates_;
  int failed_refreshes_ = 0;
  std::vector<std::function<void()>> ready_;

  // Shared with other threads.
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<Connection>> published_;  // Guarded by mu_: the masters' nodes.
  bool stopped_ = false;                                // Guarded by mu_.
};

ReplicaWaiter::ReplicaWaiter(boost::asio::io_context& io, Options options)
    : io_(io), core_(std::make_shared<Core>(io, std::move(options))) {}

ReplicaWaiter::~ReplicaWaiter() { Stop(); }

void ReplicaWaiter::Start() { core_->Start(); }

absl::Status ReplicaWaiter::WaitConnected(std::chrono::milliseconds timeout) {
  return core_->WaitConnected(timeout);
}

void ReplicaWaiter::Stop() {
  // As ClusterClient::Stop.
  if (core_->strand().running_in_this_thread() || io_.stopped()) {
    for (auto& [address, node] : core_->Shutdown()) {
      node->Stop();
    }
    return;
  }
  if (io_.get_executor().running_in_this_thread()) {
    boost::asio::post(core_->strand(), [core = core_] { core->Shutdown(); });
    return;
  }
  std::promise<std::map<std::string, std::shared_ptr<Connection>>> done;
  auto finished = done.get_future();
  boost::asio::post(core_->strand(), [core = core_, &done] { done.set_value(core->Shutdown()); });
  if (finished.wait_for(kStopWaitWarning) != std::future_status::ready) {
    spdlog::warn("replica waiter Stop() still waiting for its strand; is the io_context running?");
    finished.wait();
  }
  for (auto& [address, node] : finished.get()) {
    node->Stop();
  }
}

void ReplicaWaiter::AwaitReplica(std::string key, Deadline deadline, DurableCallback done) {
  core_->Await(std::move(key), deadline, std::move(done));
}

}  // namespace grid::redis
