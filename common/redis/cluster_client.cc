#include "common/redis/cluster_client.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/redis/slot.h"
#include "common/redis/wait_connected.h"

namespace grid::redis {
namespace {

using Clock = std::chrono::steady_clock;

// Stop() waits for the strand; past this it says why it may be stuck.
constexpr std::chrono::seconds kStopWaitWarning{5};

[[noreturn]] void Crash(std::string_view what) {
  spdlog::critical("grid::redis invariant broken: {}", what);
  std::abort();
}

// The key of a node among our connections, and what its log lines say.
std::string Address(const Endpoint& endpoint) {
  return absl::StrCat(endpoint.host, ":", endpoint.port);
}

// "host:port", split at the last colon (so that an IPv6 host keeps its own).
std::optional<Endpoint> ParseAddress(absl::string_view text) {
  const size_t colon = text.rfind(':');
  int port = 0;
  if (colon == std::string_view::npos || colon == 0 ||
      !absl::SimpleAtoi(text.substr(colon + 1), &port) || port <= 0 || port > 65535) {
    return std::nullopt;
  }
  return Endpoint{.host = std::string(text.substr(0, colon)), .port = port};
}

// One entry of CLUSTER SLOTS: slots first..last are served by `master`.
struct SlotRange {
  int first = 0;
  int last = 0;
  Endpoint master;
};

// CLUSTER SLOTS: [[first, last, [host, port, id, ...], replica...], ...]. A master whose host is
// empty or "?" (its address unknown to the node we asked) is on the host we asked. The messages
// go to the log only.
absl::StatusOr<std::vector<SlotRange>> ParseClusterSlots(const Reply& reply,
                                                         std::string_view asked_host) {
  if (!reply.IsArray()) {
    return absl::InternalError(absl::StrCat("CLUSTER SLOTS answered ", reply.DebugString()));
  }
  std::vector<SlotRange> ranges;
  for (const Reply& entry : reply.elements) {
    const std::vector<Reply>& e = entry.elements;
    if (!entry.IsArray() || e.size() < 3 || !e[0].IsInteger() || !e[1].IsInteger() ||
        !e[2].IsArray() || e[2].elements.size() < 2 || !e[2].elements[0].IsString() ||
        !e[2].elements[1].IsInteger()) {
      return absl::InternalError(
          absl::StrCat("CLUSTER SLOTS: an entry of unexpected shape: ", entry.DebugString()));
    }
    const long long first = e[0].integer;
    const long long last = e[1].integer;
    const long long port = e[2].elements[1].integer;
    if (first < 0 || last < first || last >= kSlotCount || port <= 0 || port > 65535) {
      return absl::InternalError(
          absl::StrCat("CLUSTER SLOTS: an entry out of range: ", entry.DebugString()));
    }
    std::string host = e[2].elements[0].str;
    if (host.empty() || host == "?") {
      host = std::string(asked_host);
    }
    ranges.push_back(
        SlotRange{.first = static_cast<int>(first),
                  .last = static_cast<int>(last),
                  .master = Endpoint{.host = std::move(host), .port = static_cast<int>(port)}});
  }
  if (ranges.empty()) {
    return absl::UnavailableError("CLUSTER SLOTS: no slot is assigned yet");
  }
  return ranges;
}

// -MOVED 3999 127.0.0.1:6381 and -ASK 3999 127.0.0.1:6381.
struct Redirection {
  int slot = 0;
  Endpoint to;
};

std::optional<Redirection> ParseRedirection(const Reply& reply) {
  const std::vector<absl::string_view> parts = absl::StrSplit(reply.str, ' ');
  int slot = 0;
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[1], &slot) || slot < 0 || slot >= kSlotCount) {
    return std::nullopt;
  }
  std::optional<Endpoint> to = ParseAddress(parts[2]);
  if (!to) {
    return std::nullopt;
  }
  return Redirection{.slot = slot, .to = *std::move(to)};
}

// How status messages name a slot: never by the address of its master.
std::string SlotName(int slot) {
  return slot == kNoSlot ? std::string("no slot (keyless)") : absl::StrCat("slot ", slot);
}

}  // namespace

absl::StatusOr<std::vector<Endpoint>> ParseEndpoints(std::string_view list) {
  std::vector<Endpoint> endpoints;
  for (absl::string_view entry : absl::StrSplit(absl::string_view(list.data(), list.size()), ',')) {
    entry = absl::StripAsciiWhitespace(entry);
    std::optional<Endpoint> endpoint = ParseAddress(entry);
    if (!endpoint) {
      return absl::InvalidArgumentError(
          absl::StrCat("redis cluster node '", entry, "': want host:port with a port 1-65535"));
    }
    endpoints.push_back(*std::move(endpoint));
  }
  return endpoints;
}

class ClusterClient::Core final : public std::enable_shared_from_this<Core> {
 public:
  using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;

  Core(boost::asio::io_context& io, Options options)
      : io_(io),
        options_(Sanitize(std::move(options))),
        name_(absl::StrCat("redis[", options_.node.name, "]")),
        who_(absl::StrCat(name_, " cluster")),
        strand_(boost::asio::make_strand(io)),
        refresh_timer_(strand_),
        slot_master_(kSlotCount, kNoMaster) {
    if (options_.seeds.empty()) {
      Crash("ClusterClient without a seed node");
    }
  }

  ~Core() {
    // Shutdown() always runs before the last reference goes; it lets go of every node.
    if (!nodes_.empty()) {
      Crash("ClusterClient core destroyed with live node connections");
    }
  }

  Strand& strand() { return strand_; }

  // The caller's deadline, or the default timeout from now.
  Deadline DeadlineOf(Deadline deadline) const {
    return deadline == kNoDeadline ? Clock::now() + options_.node.command_timeout : deadline;
  }

  // Any thread.
  void Start() {
    boost::asio::post(strand_, [self = shared_from_this()] {
      if (self->state_ == State::kIdle) {
        self->state_ = State::kRunning;
        for (const Endpoint& seed : self->options_.seeds) {
          self->Node(seed);
        }
        self->RequestRefresh();
      }
      self->RunReady();
    });
  }

  // What a command needs, besides its callback. Built on the caller's thread.
  struct Send {
    std::vector<std::string> argv;
    std::vector<std::string> fallback;   // EVAL for an EVALSHA, sent on NOSCRIPT; else empty.
    absl::StatusOr<int> slot = kNoSlot;  // Not OK: refused before sending.
    Deadline deadline = kNoDeadline;
    std::chrono::milliseconds timeout{0};  // > 0: a blocking read's own timeout, per try.
  };

  // Any thread. Always posts, so `cb` never runs inside the caller's call.
  void Submit(Send send, ReplyCallback cb) {
    boost::asio::post(
        strand_, [self = shared_from_this(), send = std::move(send), cb = std::move(cb)]() mutable {
          self->Execute(std::move(send), std::move(cb));
          self->RunReady();
        });
  }

  // Any thread.
  void ForEachMaster(std::vector<std::string> argv, Deadline deadline, MastersCallback cb) {
    boost::asio::post(strand_, [self = shared_from_this(), argv = std::move(argv), deadline,
                                cb = std::move(cb)]() mutable {
      self->StartBroadcast(std::move(argv), deadline, std::move(cb));
      self->RunReady();
    });
  }

  // Any thread.
  bool Connected() const {
    std::lock_guard<std::mutex> lock(mu_);
    return !master_clients_.empty() &&
           std::all_of(master_clients_.begin(), master_clients_.end(),
                       [](const std::shared_ptr<AsioClient>& c) { return c->Connected(); });
  }

  // Any thread but the io_context's.
  absl::Status WaitConnected(std::chrono::milliseconds timeout) {
    const Clock::time_point end = Clock::now() + timeout;
    std::vector<std::shared_ptr<AsioClient>> masters;
    {
      std::unique_lock<std::mutex> lock(mu_);
      const bool mapped =
          cv_.wait_until(lock, end, [this] { return stopped_ || !master_clients_.empty(); });
      if (stopped_) {
        return absl::UnavailableError(absl::StrCat(name_, ": client stopped"));
      }
      if (!mapped) {
        return absl::DeadlineExceededError(
            absl::StrCat(name_, ": no slot map within ", timeout.count(), " ms"));
      }
      masters = master_clients_;
    }
    return WaitEachConnected(masters, end);
  }

  // On the strand, or with no thread running the io_context. Fails everything pending and runs
  // those callbacks before returning.
  // Fails everything pending and hands back the node connections, for the caller to stop: off
  // the io_context's threads, a node's Stop() waits for its strand, which frees its connection
  // before the io_context stops (destroyed here, on the strand, a node could only post that).
  std::map<std::string, std::shared_ptr<AsioClient>> Shutdown() {
    std::map<std::string, std::shared_ptr<AsioClient>> nodes;
    if (state_ != State::kStopped) {
      state_ = State::kStopped;
      {
        std::lock_guard<std::mutex> lock(mu_);
        stopped_ = true;
        master_clients_.clear();
      }
      cv_.notify_all();
      refresh_timer_.cancel();
      const absl::Status stopped = absl::UnavailableError(absl::StrCat(name_, ": client stopped"));
      for (auto& [id, request] : std::exchange(requests_, {})) {
        Ready(std::move(request.cb), stopped);
      }
      for (auto& [id, broadcast] : std::exchange(broadcasts_, {})) {
        ready_.push_back([cb = std::move(broadcast.cb), stopped] { cb(stopped); });
      }
      // The nodes fail what they still have in flight; those callbacks find no request here. On
      // an io_context thread their Stop() posts rather than waits (see AsioClient's Lifetime).
      busy_.clear();
      nodes = std::exchange(nodes_, {});
      spdlog::info("{}: stopped", who_);
    }
    RunReady();
    return nodes;
  }

 private:
  enum class State { kIdle, kRunning, kStopped };
  static constexpr int kNoMaster = -1;
  // Failed refreshes before the first map that go unlogged (a second at the default interval).
  static constexpr int kQuietStartTries = 10;

  // One command, from submission to its callback.
  struct Request {
    Send send;
    std::optional<Endpoint> ask;  // The node an -ASK named: where the next try goes, once.
    int redirections = 0;
    std::chrono::milliseconds backoff{0};
    absl::Status last;  // Why the last try did not get through; OK if none failed so.
    ReplyCallback cb;
    std::unique_ptr<boost::asio::steady_timer> retry_timer;
  };

  // A ForEachMaster in flight.
  struct Broadcast {
    std::vector<absl::StatusOr<Reply>> results;
    size_t remaining = 0;
    MastersCallback cb;
  };

  static Options Sanitize(Options options) {
    const Options defaults;
    options.max_redirections = std::max(options.max_redirections, 1);
    if (options.retry_min <= std::chrono::milliseconds::zero()) {
      options.retry_min = defaults.retry_min;
    }
    options.retry_max = std::max(options.retry_max, options.retry_min);
    if (options.refresh_interval <= std::chrono::milliseconds::zero()) {
      options.refresh_interval = defaults.refresh_interval;
    }
    if (options.node.command_timeout <= std::chrono::milliseconds::zero()) {
      options.node.command_timeout = defaults.node.command_timeout;
    }
    return options;
  }

  // --- Everything below runs on the strand.

  void Execute(Send send, ReplyCallback cb) {
    if (state_ == State::kStopped) {
      Ready(std::move(cb), absl::UnavailableError(absl::StrCat(name_, ": client stopped")));
      return;
    }
    if (send.argv.empty()) {
      Ready(std::move(cb), absl::InvalidArgumentError(absl::StrCat(name_, ": empty command")));
      return;
    }
    if (!send.slot.ok()) {
      Ready(std::move(cb),
            absl::InvalidArgumentError(absl::StrCat(name_, ": ", send.slot.status().message())));
      return;
    }
    const uint64_t id = next_id_++;
    Request& request = requests_[id];
    request.send = std::move(send);
    request.backoff = options_.retry_min;
    request.cb = std::move(cb);
    Dispatch(id);
  }

  // Sends request `id` (again) to where its slot, or an -ASK, points; or waits and retries if
  // there is nowhere to send it yet.
  void Dispatch(uint64_t id) {
    const auto it = requests_.find(id);
    if (it == requests_.end()) {
      return;  // Failed already (stopped).
    }
    Request& r = it->second;
    const std::string& command = r.send.argv.front();
    const int slot = *r.send.slot;
    if (Clock::now() >= r.send.deadline) {
      Complete(id, r.last.ok() ? absl::DeadlineExceededError(absl::StrCat(
                                     name_, ": ", command, ": the caller's deadline passed"))
                               : GaveUp(r));
      return;
    }
    const std::optional<Endpoint> target = r.ask ? r.ask : MasterOf(slot);
    if (!target) {
      r.last = absl::UnavailableError(map_known_ ? "no master serves the slot" : "no slot map yet");
      RequestRefresh();
      Retry(id);
      return;
    }
    std::shared_ptr<AsioClient> node = Node(*target);
    if (!node->Connected()) {
      // Not sent: safe to try again once the map or the connection is back.
      r.last = absl::UnavailableError("no connection to the slot's master");
      RequestRefresh();
      Retry(id);
      return;
    }
    // hiredis sends what one thread issues to one client in order, on one connection: ASKING
    // lands right before the command. Should the connection drop between the two, the command
    // reaches a new connection without it and is answered -MOVED back: one more redirection.
    if (r.ask) {
      node->Command({"ASKING"}, r.send.deadline, [](absl::StatusOr<Reply>) {});
    }
    std::string address = Address(*target);
    ++busy_[address];
    auto on_reply = [weak = weak_from_this(), id,
                     address = std::move(address)](absl::StatusOr<Reply> result) {
      if (std::shared_ptr<Core> self = weak.lock()) {
        boost::asio::post(self->strand_, [self, id, address = std::move(address),
                                          result = std::move(result)]() mutable {
          self->OnReply(id, address, std::move(result));
          self->RunReady();
        });
      }
    };
    // The argv is copied: a redirection or a retry sends it again.
    if (r.send.timeout > std::chrono::milliseconds::zero()) {
      node->Command(r.send.argv, r.send.timeout, std::move(on_reply));
    } else {
      node->Command(r.send.argv, r.send.deadline, std::move(on_reply));
    }
  }

  void OnReply(uint64_t id, const std::string& address, absl::StatusOr<Reply> result) {
    if (const auto busy = busy_.find(address); busy != busy_.end() && --busy->second == 0) {
      busy_.erase(busy);
    }
    const auto it = requests_.find(id);
    if (it == requests_.end()) {
      return;
    }
    Request& r = it->second;
    if (!result.ok()) {
      // Sent, and perhaps run: not resent (see the header). A lost connection may mean a new
      // master for some slots.
      if (result.status().code() == absl::StatusCode::kUnavailable) {
        RequestRefresh();
      }
      Complete(id, std::move(result));
      return;
    }
    const Reply& reply = *result;
    const std::string_view code = reply.ErrorCode();
    if (code == "MOVED" || code == "ASK") {
      if (const std::optional<Redirection> to = ParseRedirection(reply)) {
        if (++r.redirections > options_.max_redirections) {
          Complete(id, absl::UnavailableError(absl::StrCat(
                           name_, ": ", r.send.argv.front(), ": ", SlotName(*r.send.slot),
                           ": more than ", options_.max_redirections, " redirections (the last: ",
                           std::string(code), "); the cluster is resharding")));
          return;
        }
        if (code == "MOVED") {
          r.ask.reset();
          PointSlot(to->slot, to->to);
          RequestRefresh();
        } else {
          r.ask = to->to;
        }
        Dispatch(id);
        return;
      }
      // Unreadable: not followed, and not passed on either (its text may hold an address).
      spdlog::warn("{}: {}: a redirection that cannot be read: {}", who_, r.send.argv.front(),
                   reply.DebugString());
      Complete(id, absl::InternalError(absl::StrCat(name_, ": ", r.send.argv.front(), ": ",
                                                    SlotName(*r.send.slot),
                                                    ": a redirection that cannot be read")));
      return;
    } else if (code == "TRYAGAIN" || code == "CLUSTERDOWN") {
      // The server refused to run it: safe to try again.
      r.ask.reset();
      r.last = absl::UnavailableError(absl::StrCat("the cluster answered ", reply.str));
      if (code == "CLUSTERDOWN") {
        RequestRefresh();
      }
      Retry(id);
      return;
    } else if (code == "NOSCRIPT" && !r.send.fallback.empty()) {
      // To the same node (r.ask is kept), with the body this time.
      r.send.argv = std::exchange(r.send.fallback, {});
      Dispatch(id);
      return;
    }
    Complete(id, std::move(result));
  }

  // Tries request `id` again after its back-off, or gives up if that would pass its deadline.
  void Retry(uint64_t id) {
    Request& r = requests_.at(id);
    if (Clock::now() + r.backoff >= r.send.deadline) {
      Complete(id, GaveUp(r));
      return;
    }
    r.retry_timer = std::make_unique<boost::asio::steady_timer>(strand_, r.backoff);
    r.backoff = std::min(r.backoff * 2, options_.retry_max);
    r.retry_timer->async_wait([weak = weak_from_this(), id](const boost::system::error_code& ec) {
      std::shared_ptr<Core> self = weak.lock();
      if (ec || self == nullptr) {
        return;
      }
      self->Dispatch(id);
      self->RunReady();
    });
  }

  absl::Status GaveUp(const Request& r) const {
    return absl::UnavailableError(absl::StrCat(name_, ": ", r.send.argv.front(), ": ",
                                               SlotName(*r.send.slot), ": ", r.last.message(),
                                               ", still at the deadline"));
  }

  void Complete(uint64_t id, absl::StatusOr<Reply> result) {
    auto node = requests_.extract(id);
    if (node.empty()) {
      Crash("completing a command that is not pending");
    }
    Ready(std::move(node.mapped().cb), std::move(result));
  }

  void StartBroadcast(std::vector<std::string> argv, Deadline deadline, MastersCallback cb) {
    if (state_ == State::kStopped || !map_known_) {
      const absl::Status why = absl::UnavailableError(absl::StrCat(
          name_, ": ", state_ == State::kStopped ? "client stopped" : "no slot map yet"));
      ready_.push_back([cb = std::move(cb), why] { cb(why); });
      return;
    }
    const uint64_t id = next_id_++;
    Broadcast& b = broadcasts_[id];
    b.results.resize(masters_.size(), absl::UnavailableError("no reply"));
    b.remaining = masters_.size();
    b.cb = std::move(cb);
    deadline = DeadlineOf(deadline);
    for (size_t i = 0; i < masters_.size(); ++i) {
      Node(masters_[i])
          ->Command(argv, deadline, [weak = weak_from_this(), id, i](absl::StatusOr<Reply> result) {
            if (std::shared_ptr<Core> self = weak.lock()) {
              boost::asio::post(self->strand_, [self, id, i, result = std::move(result)]() mutable {
                self->OnMasterReply(id, i, std::move(result));
                self->RunReady();
              });
            }
          });
    }
  }

  void OnMasterReply(uint64_t id, size_t i, absl::StatusOr<Reply> result) {
    const auto it = broadcasts_.find(id);
    if (it == broadcasts_.end()) {
      return;
    }
    it->second.results[i] = std::move(result);
    if (--it->second.remaining == 0) {
      auto node = broadcasts_.extract(it);
      ready_.push_back([b = std::move(node.mapped())]() mutable { b.cb(std::move(b.results)); });
    }
  }

  // --- The slot map.

  // The master of `slot`; for kNoSlot, a master that is connected (else the first).
  std::optional<Endpoint> MasterOf(int slot) {
    if (masters_.empty()) {
      return std::nullopt;
    }
    if (slot == kNoSlot) {
      for (const Endpoint& master : masters_) {
        if (Node(master)->Connected()) {
          return master;
        }
      }
      return masters_.front();
    }
    const int index = slot_master_[static_cast<size_t>(slot)];
    if (index == kNoMaster) {
      return std::nullopt;
    }
    return masters_[static_cast<size_t>(index)];
  }

  // After -MOVED: the slot is served by `master` from now on, until the next map says otherwise.
  void PointSlot(int slot, const Endpoint& master) {
    auto it = std::find(masters_.begin(), masters_.end(), master);
    if (it == masters_.end()) {
      masters_.push_back(master);
      it = masters_.end() - 1;
      PublishMasters();
    }
    slot_master_[static_cast<size_t>(slot)] = static_cast<int>(it - masters_.begin());
  }

  // The connection to `endpoint`, made (and started) on first use.
  std::shared_ptr<AsioClient> Node(const Endpoint& endpoint) {
    std::shared_ptr<AsioClient>& node = nodes_[Address(endpoint)];
    if (node == nullptr) {
      AsioClient::Options options = options_.node;
      options.host = endpoint.host;
      options.port = endpoint.port;
      node = std::make_shared<AsioClient>(io_, std::move(options));
      node->Start();
    }
    return node;
  }

  // Asks for the map now, or once refresh_interval has passed since the last time; nothing if
  // that is already under way.
  void RequestRefresh() {
    if (state_ != State::kRunning || refreshing_ || refresh_scheduled_) {
      return;
    }
    const Clock::time_point next = last_refresh_ + options_.refresh_interval;
    if (Clock::now() >= next) {
      StartRefresh();
      return;
    }
    refresh_scheduled_ = true;
    refresh_timer_.expires_at(next);
    refresh_timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
      std::shared_ptr<Core> self = weak.lock();
      if (ec || self == nullptr) {
        return;
      }
      self->refresh_scheduled_ = false;
      self->StartRefresh();
      self->RunReady();
    });
  }

  void StartRefresh() {
    if (state_ != State::kRunning || refreshing_) {
      return;
    }
    refreshing_ = true;
    // The masters know the map best; the seeds are there for the start and for a cluster whose
    // masters all moved.
    candidates_.clear();
    for (const Endpoint& master : masters_) {
      candidates_.push_back(master);
    }
    for (const Endpoint& seed : options_.seeds) {
      if (std::find(candidates_.begin(), candidates_.end(), seed) == candidates_.end()) {
        candidates_.push_back(seed);
      }
    }
    AskNext();
  }

  // Asks the next connected candidate for CLUSTER SLOTS; ends the refresh when none is left.
  void AskNext() {
    while (!candidates_.empty()) {
      const Endpoint asked = candidates_.front();
      candidates_.erase(candidates_.begin());
      std::shared_ptr<AsioClient> node = Node(asked);
      if (!node->Connected()) {
        continue;
      }
      node->Command({"CLUSTER", "SLOTS"}, DeadlineOf(kNoDeadline),
                    [weak = weak_from_this(), asked](absl::StatusOr<Reply> result) {
                      if (std::shared_ptr<Core> self = weak.lock()) {
                        boost::asio::post(self->strand_,
                                          [self, asked, result = std::move(result)]() mutable {
                                            self->OnSlots(asked, std::move(result));
                                            self->RunReady();
                                          });
                      }
                    });
      return;
    }
    EndRefresh(absl::UnavailableError("no node answered"));
  }

  void OnSlots(const Endpoint& asked, absl::StatusOr<Reply> result) {
    if (state_ != State::kRunning) {
      return;
    }
    absl::StatusOr<std::vector<SlotRange>> ranges =
        result.ok() ? ParseClusterSlots(*result, asked.host) : result.status();
    if (!ranges.ok()) {
      spdlog::debug("{}: no slot map from {}: {}", who_, Address(asked),
                    std::string(ranges.status().message()));
      AskNext();
      return;
    }
    Install(asked, *ranges);
    EndRefresh(absl::OkStatus());
  }

  void EndRefresh(const absl::Status& status) {
    refreshing_ = false;
    last_refresh_ = Clock::now();
    if (status.ok()) {
      failed_refreshes_ = 0;
      return;
    }
    // Throttled: while the cluster is unreachable this runs every refresh_interval. At start-up
    // the seeds are still connecting for the first few tries: not worth a warning yet.
    ++failed_refreshes_;
    const int quiet = map_known_ ? 0 : kQuietStartTries;
    if (failed_refreshes_ > quiet && (failed_refreshes_ - quiet - 1) % 100 == 0) {
      spdlog::warn("{}: cannot refresh the slot map ({}; {} tries so far){}", who_,
                   std::string(status.message()), failed_refreshes_,
                   map_known_ ? "" : "; no map yet, asking the seeds again");
    }
    if (!map_known_) {
      RequestRefresh();
    }
  }

  void Install(const Endpoint& asked, const std::vector<SlotRange>& ranges) {
    std::vector<Endpoint> masters;
    std::vector<int> slot_master(kSlotCount, kNoMaster);
    int served = 0;
    for (const SlotRange& range : ranges) {
      auto it = std::find(masters.begin(), masters.end(), range.master);
      if (it == masters.end()) {
        masters.push_back(range.master);
        it = masters.end() - 1;
      }
      for (int slot = range.first; slot <= range.last; ++slot) {
        served += slot_master[static_cast<size_t>(slot)] == kNoMaster ? 1 : 0;
        slot_master[static_cast<size_t>(slot)] = static_cast<int>(it - masters.begin());
      }
    }
    const bool changed = !map_known_ || masters != masters_ || slot_master != slot_master_;
    masters_ = std::move(masters);
    slot_master_ = std::move(slot_master);
    map_known_ = true;
    // Connections to nodes that are neither masters nor seeds any more (a master turned replica,
    // a node removed) go once no command of ours waits on them. Not sooner: the node we asked may
    // know less than the one a -MOVED just sent a command to.
    for (auto it = nodes_.begin(); it != nodes_.end();) {
      const auto is = [&](const Endpoint& e) { return Address(e) == it->first; };
      if (std::none_of(masters_.begin(), masters_.end(), is) &&
          std::none_of(options_.seeds.begin(), options_.seeds.end(), is) &&
          !busy_.contains(it->first)) {
        it = nodes_.erase(it);
      } else {
        ++it;
      }
    }
    PublishMasters();
    if (changed) {
      spdlog::info("{}: slot map from {}: {} masters, {} of {} slots served", who_, Address(asked),
                   masters_.size(), served, kSlotCount);
    }
  }

  // Makes the masters' connections visible to Connected() and WaitConnected().
  void PublishMasters() {
    std::vector<std::shared_ptr<AsioClient>> clients;
    for (const Endpoint& master : masters_) {
      clients.push_back(Node(master));
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      master_clients_ = std::move(clients);
    }
    cv_.notify_all();
  }

  // --- Callbacks.

  void Ready(ReplyCallback cb, absl::StatusOr<Reply> result) {
    ready_.push_back(
        [cb = std::move(cb), result = std::move(result)]() mutable { cb(std::move(result)); });
  }

  // Runs queued callbacks; called last by every handler, so that a callback never runs in the
  // middle of our own bookkeeping. A callback may issue commands (they post) or stop the client
  // (Shutdown queues more and drains them).
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
  const std::string name_;  // "redis[name]": prefix of status messages, which carry no address.
  const std::string who_;   // Prefix of log lines, which may.
  Strand strand_;
  boost::asio::steady_timer refresh_timer_;

  // Strand-only state.
  State state_ = State::kIdle;
  std::map<std::string, std::shared_ptr<AsioClient>> nodes_;  // By "host:port".
  std::map<std::string, int> busy_;  // Commands of ours in flight, by node, where not zero.
  std::vector<Endpoint> masters_;
  std::vector<int> slot_master_;  // Slot -> index in masters_, or kNoMaster.
  bool map_known_ = false;
  bool refreshing_ = false;
  bool refresh_scheduled_ = false;
  Clock::time_point last_refresh_{};
  std::vector<Endpoint> candidates_;  // Nodes left to ask during a refresh.
  int failed_refreshes_ = 0;
  uint64_t next_id_ = 1;
  std::map<uint64_t, Request> requests_;
  std::map<uint64_t, Broadcast> broadcasts_;
  std::vector<std::function<void()>> ready_;

  // Shared with other threads.
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<AsioClient>> master_clients_;  // Guarded by mu_.
  bool stopped_ = false;                                     // Guarded by mu_.
};

ClusterClient::ClusterClient(boost::asio::io_context& io, Options options)
    : io_(io), core_(std::make_shared<Core>(io, std::move(options))) {}

ClusterClient::~ClusterClient() { Stop(); }

void ClusterClient::Start() { core_->Start(); }

void ClusterClient::Stop() {
  // As AsioClient::Stop: at once where nothing else can be on the strand, a post where waiting
  // could mean waiting for this very thread, else a post and a wait.
  if (core_->strand().running_in_this_thread() || io_.stopped()) {
    core_->Shutdown();
    return;
  }
  if (io_.get_executor().running_in_this_thread()) {
    boost::asio::post(core_->strand(), [core = core_] { core->Shutdown(); });
    return;
  }
  std::promise<std::map<std::string, std::shared_ptr<AsioClient>>> done;
  auto finished = done.get_future();
  boost::asio::post(core_->strand(), [core = core_, &done] { done.set_value(core->Shutdown()); });
  if (finished.wait_for(kStopWaitWarning) != std::future_status::ready) {
    spdlog::warn(
        "redis cluster client Stop() still waiting for its strand; is the io_context "
        "running?");
    finished.wait();
  }
  for (auto& [id, node] : finished.get()) {
    node->Stop();
  }
}

absl::Status ClusterClient::WaitConnected(std::chrono::milliseconds timeout) {
  return core_->WaitConnected(timeout);
}

void ClusterClient::Command(std::vector<std::string> argv, ReplyCallback cb) {
  Command(std::move(argv), kNoDeadline, std::move(cb));
}

void ClusterClient::Command(std::vector<std::string> argv, std::chrono::milliseconds timeout,
                            ReplyCallback cb) {
  Core::Send send;
  send.slot = CommandSlot(argv);
  send.deadline = Clock::now() + timeout;
  send.timeout = std::max(timeout, std::chrono::milliseconds(1));
  send.argv = std::move(argv);
  core_->Submit(std::move(send), std::move(cb));
}

void ClusterClient::Command(std::vector<std::string> argv, Deadline deadline, ReplyCallback cb) {
  Core::Send send;
  send.slot = CommandSlot(argv);
  send.deadline = core_->DeadlineOf(deadline);
  send.argv = std::move(argv);
  core_->Submit(std::move(send), std::move(cb));
}

void ClusterClient::Eval(const Script& script, std::vector<std::string> keys,
                         std::vector<std::string> args, ReplyCallback cb) {
  Eval(script, std::move(keys), std::move(args), kNoDeadline, std::move(cb));
}

void ClusterClient::Eval(const Script& script, std::vector<std::string> keys,
                         std::vector<std::string> args, Deadline deadline, ReplyCallback cb) {
  Core::Send send;
  send.slot = KeysSlot(absl::StrCat("script ", script.sha1.substr(0, 12)),
                       std::vector<std::string_view>(keys.begin(), keys.end()));
  send.deadline = core_->DeadlineOf(deadline);
  send.argv.reserve(3 + keys.size() + args.size());
  send.argv.push_back("EVALSHA");
  send.argv.push_back(script.sha1);
  send.argv.push_back(std::to_string(keys.size()));
  std::move(keys.begin(), keys.end(), std::back_inserter(send.argv));
  std::move(args.begin(), args.end(), std::back_inserter(send.argv));
  // Built up front: by the time NOSCRIPT arrives, the caller's Script may be gone.
  send.fallback = send.argv;
  send.fallback[0] = "EVAL";
  send.fallback[1] = script.source;
  core_->Submit(std::move(send), std::move(cb));
}

bool ClusterClient::Connected() const { return core_->Connected(); }

void ClusterClient::ForEachMaster(std::vector<std::string> argv, Deadline deadline,
                                  MastersCallback cb) {
  core_->ForEachMaster(std::move(argv), deadline, std::move(cb));
}

}  // namespace grid::redis
