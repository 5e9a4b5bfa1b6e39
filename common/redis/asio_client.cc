#include "common/redis/asio_client.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <future>
#include <map>
#include <mutex>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace grid::redis {
namespace {

using Clock = std::chrono::steady_clock;

// While Redis is down, a reconnect attempt fails every reconnect_max; one log line per this
// interval is enough to say it is still down.
constexpr std::chrono::seconds kConnectFailureLogInterval{10};
// Stop() waits for the strand; past this it says why it may be stuck.
constexpr std::chrono::seconds kStopWaitWarning{5};

// Every hiredis error becomes a status here and nowhere else (cf. redis-plus-plus errors.cpp).
// `err` is a hiredis REDIS_ERR_* code (0 if none), `errstr` its message, `what` our context.
absl::Status HiredisError(int err, const char* errstr, absl::string_view what) {
  const absl::string_view detail = (errstr != nullptr && errstr[0] != '\0') ? errstr : "no detail";
  switch (err) {
    case 0:  // No error recorded: a clean close, or hiredis refusing work on a closing context.
      return absl::UnavailableError(absl::StrCat(what, ": connection closed"));
    case REDIS_ERR_IO:  // A socket error; errstr carries strerror(errno).
      return absl::UnavailableError(absl::StrCat(what, ": I/O error: ", detail));
    case REDIS_ERR_EOF:  // The server closed the connection (restart, timeout, CLIENT KILL).
      return absl::UnavailableError(absl::StrCat(what, ": server closed the connection"));
    case REDIS_ERR_PROTOCOL:  // Unparseable bytes: the connection is unusable and gets dropped.
      return absl::UnavailableError(absl::StrCat(what, ": protocol error: ", detail));
    case REDIS_ERR_OOM:  // Our own allocation failed, not the server's.
      return absl::ResourceExhaustedError(absl::StrCat(what, ": out of memory: ", detail));
    case REDIS_ERR_OTHER:  // Name resolution, refused connect and the like.
    default:
      return absl::UnavailableError(absl::StrCat(what, ": ", detail));
  }
}

// hiredis keeps invoking the callback of these for every message; our callbacks run once.
bool IsPubSub(absl::string_view command) {
  for (absl::string_view pubsub : {"SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE",
                                   "PUNSUBSCRIBE", "SUNSUBSCRIBE", "MONITOR"}) {
    if (absl::EqualsIgnoreCase(command, pubsub)) {
      return true;
    }
  }
  return false;
}

// hiredis carries a void* per command; ours is the command's id, never a pointer, so a late or
// duplicate hiredis callback cannot reach freed memory.
void* IdToPrivdata(uint64_t id) { return reinterpret_cast<void*>(static_cast<uintptr_t>(id)); }
uint64_t PrivdataToId(void* privdata) { return reinterpret_cast<uintptr_t>(privdata); }

[[noreturn]] void Crash(std::string_view what) {
  spdlog::critical("grid::redis invariant broken: {}", what);
  std::abort();
}

}  // namespace

class AsioClient::Core final : public std::enable_shared_from_this<Core> {
 public:
  using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;

  Core(boost::asio::io_context& io, Options options)
      : options_(Sanitize(std::move(options))),
        name_(absl::StrCat("redis[", options_.name, "]")),
        who_(absl::StrCat(name_, " ", options_.host, ":", options_.port)),
        strand_(boost::asio::make_strand(io)),
        fd_(strand_),
        connect_timer_(strand_),
        reconnect_timer_(strand_),
        deadline_timer_(strand_),
        backoff_(options_.reconnect_min) {}

  ~Core() {
    // Shutdown() always runs before the last reference goes. A live context here would leave
    // hiredis holding hooks into freed memory.
    if (ac_ != nullptr) {
      Crash("AsioClient core destroyed with a live hiredis context");
    }
    ReleaseFd();
  }

  Strand& strand() { return strand_; }
  std::chrono::milliseconds command_timeout() const { return options_.command_timeout; }
  bool connected() const { return connected_.load(std::memory_order_acquire); }

  // Any thread.
  void Start() {
    boost::asio::post(strand_, [self = shared_from_this()] {
      if (self->state_ == State::kIdle) {
        self->Connect();
      }
      self->RunReady();
    });
  }

  // How long a command may wait: a timeout of the client's (its expiry makes the connection
  // suspect), or a caller's deadline (see Client::Command).
  struct Limit {
    std::chrono::milliseconds timeout{0};
    Deadline deadline = kNoDeadline;
    // A blocking read's own timeout (its BLOCK time plus a margin): expiry means a stuck server.
    bool suspect_on_expiry = false;
  };

  Limit DefaultLimit() const { return Limit{.timeout = options_.command_timeout}; }
  Limit LimitOf(Deadline deadline) const {
    return deadline == kNoDeadline ? DefaultLimit() : Limit{.deadline = deadline};
  }

  // Any thread. Always posts, so `cb` never runs inside the caller's Command().
  void Submit(std::vector<std::string> argv, Limit limit, ReplyCallback cb) {
    boost::asio::post(strand_, [self = shared_from_this(), argv = std::move(argv), limit,
                                cb = std::move(cb)]() mutable {
      self->Execute(std::move(argv), limit, std::move(cb));
      self->RunReady();
    });
  }

  // Any thread.
  void Eval(const Script& script, std::vector<std::string> keys, std::vector<std::string> args,
            Limit limit, ReplyCallback cb) {
    std::vector<std::string> argv;
    argv.reserve(3 + keys.size() + args.size());
    argv.push_back("EVALSHA");
    argv.push_back(script.sha1);
    argv.push_back(std::to_string(keys.size()));
    std::move(keys.begin(), keys.end(), std::back_inserter(argv));
    std::move(args.begin(), args.end(), std::back_inserter(argv));
    // The fallback is the same command with the body instead of the digest. Built up front: by
    // the time NOSCRIPT arrives, the caller's Script may be gone.
    std::vector<std::string> fallback = argv;
    fallback[0] = "EVAL";
    fallback[1] = script.source;
    Submit(std::move(argv), limit,
           [weak = weak_from_this(), fallback = std::move(fallback), limit,
            cb = std::move(cb)](absl::StatusOr<Reply> result) mutable {
             if (result.ok() && result->IsError() && result->ErrorCode() == "NOSCRIPT") {
               if (auto self = weak.lock()) {
                 self->Submit(std::move(fallback), limit, std::move(cb));
                 return;
               }
             }
             cb(std::move(result));
           });
  }

  // Any thread but the io_context's.
  absl::Status WaitConnected(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    const bool done = cv_.wait_for(lock, timeout, [this] { return stopped_ || connected_.load(); });
    if (stopped_) {
      return absl::UnavailableError(absl::StrCat(name_, ": client stopped"));
    }
    if (!done) {
      return absl::DeadlineExceededError(
          absl::StrCat(name_, ": not connected within ", timeout.count(), " ms"));
    }
    return absl::OkStatus();
  }

  // On the strand, or with no thread running the io_context. Fails everything pending and runs
  // those callbacks before returning.
  void Shutdown() {
    if (state_ != State::kStopped) {
      state_ = State::kStopped;
      {
        std::lock_guard<std::mutex> lock(mu_);
        stopped_ = true;
      }
      cv_.notify_all();
      connect_timer_.cancel();
      reconnect_timer_.cancel();
      deadline_timer_.cancel();
      DropConnection(absl::UnavailableError(absl::StrCat(name_, ": client stopped")));
      spdlog::info("{}: stopped", who_);
    }
    RunReady();
  }

 private:
  enum class State { kIdle, kConnecting, kConnected, kBackoff, kStopped };

  // Options often come from a config file. A zero back-off would spin on reconnects and a zero
  // timeout would fail everything, so out-of-range values are raised to something workable.
  static Options Sanitize(Options options) {
    const Options defaults;
    if (options.connect_timeout <= std::chrono::milliseconds::zero()) {
      options.connect_timeout = defaults.connect_timeout;
    }
    if (options.command_timeout <= std::chrono::milliseconds::zero()) {
      options.command_timeout = defaults.command_timeout;
    }
    options.reconnect_min = std::max(options.reconnect_min, std::chrono::milliseconds(1));
    options.max_pending = std::max<std::size_t>(options.max_pending, 1);
    options.max_pending_bytes = std::max<std::size_t>(options.max_pending_bytes, 1024);
    options.reconnect_max = std::max(options.reconnect_max, options.reconnect_min);
    return options;
  }

  struct Pending {
    std::string name;  // argv[0], for messages and the observer.
    Limit limit;
    Clock::time_point start;
    std::size_t bytes = 0;  // Of the arguments: counted against max_pending_bytes.
    std::multimap<Clock::time_point, uint64_t>::iterator deadline;
    ReplyCallback cb;
    // The caller's deadline passed and `cb` has run; the reply is dropped when it comes.
    bool abandoned = false;
  };

  struct Completion {
    ReplyCallback cb;
    absl::StatusOr<Reply> result;
  };

  // --- hiredis entry points. hiredis calls these from inside redisAsyncHandleRead/Write/Free,
  // always on the strand. They must not run user callbacks (a callback could stop the client
  // while hiredis is mid-call), only queue them in ready_.

  static void OnReply(redisAsyncContext* ac, void* reply, void* privdata) {
    static_cast<Core*>(ac->data)->HandleReply(ac, static_cast<redisReply*>(reply),
                                              PrivdataToId(privdata));
  }
  static void OnConnect(const redisAsyncContext* ac, int status) {
    static_cast<Core*>(ac->data)->HandleConnect(ac, status);
  }
  static void OnDisconnect(const redisAsyncContext* ac, int status) {
    static_cast<Core*>(ac->data)->HandleDisconnect(ac, status);
  }
  // The event-loop adapter: hiredis says which readiness it wants; we wait for it with Asio.
  static void AddRead(void* core) { static_cast<Core*>(core)->Watch(/*read=*/true); }
  static void DelRead(void* core) { static_cast<Core*>(core)->want_read_ = false; }
  static void AddWrite(void* core) { static_cast<Core*>(core)->Watch(/*read=*/false); }
  static void DelWrite(void* core) { static_cast<Core*>(core)->want_write_ = false; }
  // Called (possibly twice) just before hiredis closes the socket.
  static void Cleanup(void* core) { static_cast<Core*>(core)->ReleaseFd(); }

  // --- Everything below runs on the strand.

  void Execute(std::vector<std::string> argv, Limit limit, ReplyCallback cb) {
    const Clock::time_point start = Clock::now();
    if (argv.empty()) {
      Finish("", start, std::move(cb), absl::InvalidArgumentError("empty redis command"));
      return;
    }
    std::string name = argv.front();
    if (IsPubSub(name)) {
      Finish(name, start, std::move(cb),
             absl::InvalidArgumentError(
                 absl::StrCat(name, ": pub/sub is not supported by grid::redis::Client")));
      return;
    }
    const bool by_deadline = limit.deadline != kNoDeadline;
    if (!by_deadline && limit.timeout <= std::chrono::milliseconds::zero()) {
      Finish(name, start, std::move(cb),
             absl::InvalidArgumentError(absl::StrCat(name, ": timeout must be positive, got ",
                                                     limit.timeout.count(), " ms")));
      return;
    }
    if (by_deadline && limit.deadline <= start) {
      // The caller has stopped waiting: nothing is sent.
      Finish(name, start, std::move(cb),
             absl::DeadlineExceededError(
                 absl::StrCat(name_, ": ", name, ": the caller's deadline passed before sending")));
      return;
    }
    if (state_ != State::kConnected) {
      Finish(name, start, std::move(cb),
             absl::UnavailableError(absl::StrCat(name_, ": not connected")));
      return;
    }
    std::size_t bytes = 0;
    for (const std::string& arg : argv) {
      bytes += arg.size();
    }
    if (pending_.size() >= options_.max_pending ||
        pending_bytes_ + bytes > options_.max_pending_bytes) {
      // Refused before hiredis copies it: neither the map nor the output buffer grows.
      Finish(name, start, std::move(cb),
             absl::ResourceExhaustedError(
                 absl::StrCat(name_, ": ", pending_.size(), " commands (", pending_bytes_,
                              " bytes) already wait for replies, the most this client takes")));
      return;
    }
    std::vector<const char*> ptrs;
    std::vector<size_t> lens;
    ptrs.reserve(argv.size());
    lens.reserve(argv.size());
    for (const std::string& arg : argv) {
      ptrs.push_back(arg.data());
      lens.push_back(arg.size());
    }
    const uint64_t id = next_id_++;
    // hiredis copies the command into its output buffer and arms a write; many commands in a row
    // end up in one write, so callers get pipelining without doing anything.
    if (redisAsyncCommandArgv(ac_, &Core::OnReply, IdToPrivdata(id), static_cast<int>(argv.size()),
                              ptrs.data(), lens.data()) != REDIS_OK) {
      Finish(name, start, std::move(cb), HiredisError(ac_->err, ac_->errstr, name_));
      return;
    }
    const Clock::time_point deadline = by_deadline ? limit.deadline : start + limit.timeout;
    auto deadline_it = deadlines_.emplace(deadline, id);
    pending_.emplace(id, Pending{.name = std::move(name),
                                 .limit = limit,
                                 .start = start,
                                 .bytes = bytes,
                                 .deadline = deadline_it,
                                 .cb = std::move(cb)});
    pending_bytes_ += bytes;
    ArmDeadline(deadline);
  }

  void HandleReply(redisAsyncContext* ac, redisReply* reply, uint64_t id) {
    auto node = pending_.extract(id);
    if (node.empty()) {
      return;  // Already failed by us (timeout, Stop) before hiredis let go of it.
    }
    Pending& p = node.mapped();
    pending_bytes_ -= p.bytes;
    if (reply != nullptr) {
      last_reply_ = Clock::now();
    }
    if (p.abandoned) {
      return;  // Its caller has had DEADLINE_EXCEEDED already.
    }
    deadlines_.erase(p.deadline);
    // A null reply means hiredis is tearing the connection down with this command in flight.
    absl::StatusOr<Reply> result =
        reply != nullptr ? absl::StatusOr<Reply>(ReplyFromHiredis(*reply))
                         : absl::StatusOr<Reply>(HiredisError(
                               ac->err, ac->errstr, absl::StrCat(name_, ": connection lost")));
    Finish(p.name, p.start, std::move(p.cb), std::move(result));
  }

  void HandleConnect(const redisAsyncContext* ac, int status) {
    if (ac != ac_) {
      return;
    }
    connect_timer_.cancel();
    if (status != REDIS_OK) {
      // hiredis frees a context whose connect failed as soon as this returns.
      ac_ = nullptr;
      ConnectFailed(HiredisError(ac->c.err, ac->c.errstr, absl::StrCat(name_, ": connect")));
      return;
    }
    state_ = State::kConnected;
    backoff_ = options_.reconnect_min;
    if (failed_attempts_ > 0) {
      spdlog::info("{}: connected after {} failed attempts", who_, failed_attempts_);
    } else {
      spdlog::info("{}: connected", who_);
    }
    failed_attempts_ = 0;
    SetConnected(true);
  }

  void HandleDisconnect(const redisAsyncContext* ac, int status) {
    if (ac != ac_) {
      return;  // A context we dropped ourselves; already accounted for.
    }
    // hiredis frees the context as soon as this returns: drop our pointer now.
    ac_ = nullptr;
    SetConnected(false);
    const absl::Status why =
        status == REDIS_OK
            ? absl::UnavailableError(absl::StrCat(name_, ": connection closed"))
            : HiredisError(ac->err, ac->errstr, absl::StrCat(name_, ": disconnected"));
    // Normally empty: hiredis has just failed them with null replies.
    FailAllPending(why);
    spdlog::warn("{} ({}:{})", std::string(why.message()), options_.host, options_.port);
    if (state_ != State::kStopped) {
      ScheduleReconnect();
    }
  }

  void Connect() {
    state_ = State::kConnecting;
    redisAsyncContext* ac = redisAsyncConnect(options_.host.c_str(), options_.port);
    if (ac == nullptr) {
      ConnectFailed(absl::ResourceExhaustedError(absl::StrCat(name_, ": cannot allocate context")));
      return;
    }
    if (ac->err != 0) {
      absl::Status why = HiredisError(ac->err, ac->errstr, absl::StrCat(name_, ": connect"));
      redisAsyncFree(ac);
      ConnectFailed(why);
      return;
    }
    ++epoch_;
    boost::system::error_code ec;
    fd_.assign(ac->c.fd, ec);
    if (ec) {
      redisAsyncFree(ac);
      ConnectFailed(absl::InternalError(
          absl::StrCat(name_, ": cannot watch the socket with Asio: ", ec.message())));
      return;
    }
    ac->data = this;
    ac->ev.data = this;
    ac->ev.addRead = &Core::AddRead;
    ac->ev.delRead = &Core::DelRead;
    ac->ev.addWrite = &Core::AddWrite;
    ac->ev.delWrite = &Core::DelWrite;
    ac->ev.cleanup = &Core::Cleanup;
    ac_ = ac;
    redisAsyncSetDisconnectCallback(ac, &Core::OnDisconnect);
    // hiredis notices the end of a non-blocking connect on the first writable event; setting the
    // connect callback arms that wait.
    redisAsyncSetConnectCallback(ac, &Core::OnConnect);
    // hiredis 0.14 has no connect timeout of its own.
    connect_timer_.expires_after(options_.connect_timeout);
    connect_timer_.async_wait(
        [self = shared_from_this(), epoch = epoch_](const boost::system::error_code& ec) {
          if (ec || epoch != self->epoch_ || self->state_ != State::kConnecting) {
            return;
          }
          const absl::Status why =
              absl::UnavailableError(absl::StrCat(self->name_, ": connect timed out after ",
                                                  self->options_.connect_timeout.count(), " ms"));
          self->DropConnection(why);
          self->ConnectFailed(why);
          self->RunReady();
        });
  }

  void ConnectFailed(const absl::Status& why) {
    ++failed_attempts_;
    const Clock::time_point now = Clock::now();
    // Throttled: an outage would otherwise log every back-off step.
    if (failed_attempts_ == 1 || now - last_failure_log_ >= kConnectFailureLogInterval) {
      spdlog::warn("{} ({}:{}, attempt {}); retrying with back-off up to {} ms",
                   std::string(why.message()), options_.host, options_.port, failed_attempts_,
                   options_.reconnect_max.count());
      last_failure_log_ = now;
    }
    ScheduleReconnect();
  }

  void ScheduleReconnect() {
    state_ = State::kBackoff;
    const std::chrono::milliseconds delay = backoff_;
    backoff_ = std::min(backoff_ * 2, options_.reconnect_max);
    // Re-arming cancels an earlier wait, so there is never more than one attempt pending.
    reconnect_timer_.expires_after(delay);
    reconnect_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->state_ != State::kBackoff) {
        return;
      }
      self->Connect();
      self->RunReady();
    });
  }

  // Fails every pending command with `why` and frees the context. hiredis then calls our reply
  // callbacks with null (no longer pending: ignored) and, if connected, the disconnect callback
  // (ac != ac_: ignored).
  void DropConnection(const absl::Status& why) {
    FailAllPending(why);
    SetConnected(false);
    if (ac_ != nullptr) {
      redisAsyncFree(std::exchange(ac_, nullptr));
    }
  }

  void FailAllPending(const absl::Status& why) {
    deadlines_.clear();
    pending_bytes_ = 0;
    // In id order, which is the order the commands were sent.
    std::map<uint64_t, Pending> pending = std::exchange(pending_, {});
    for (auto& [id, p] : pending) {
      if (!p.abandoned) {
        Finish(p.name, p.start, std::move(p.cb), why);
      }
    }
  }

  // One timer for all deadlines, armed for the earliest: a timer per command would double the
  // handlers of a pipelined burst.
  void ArmDeadline(Clock::time_point when) {
    if (when >= deadline_armed_for_) {
      return;
    }
    deadline_armed_for_ = when;
    deadline_timer_.expires_at(when);
    deadline_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec == boost::asio::error::operation_aborted) {
        return;  // Re-armed for an earlier deadline, or stopped.
      }
      self->OnDeadline();
      self->RunReady();
    });
  }

  void OnDeadline() {
    deadline_armed_for_ = Clock::time_point::max();
    const Clock::time_point now = Clock::now();
    bool blocking_read_expired = false;
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
      const uint64_t id = deadlines_.begin()->second;
      deadlines_.erase(deadlines_.begin());
      auto it = pending_.find(id);
      if (it == pending_.end() || it->second.abandoned) {
        Crash("deadline of a command that is not pending");
      }
      Pending& p = it->second;
      const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(now - p.start);
      Finish(p.name, p.start, std::move(p.cb),
             absl::DeadlineExceededError(absl::StrCat(
                 name_, ": ", p.name, ": no reply within ", waited.count(), " ms",
                 p.limit.deadline != kNoDeadline ? ", by the caller's deadline" : "")));
      // The command stays in flight, so that its reply, if it comes, is recognised and dropped.
      p.abandoned = true;
      blocking_read_expired = blocking_read_expired || p.limit.suspect_on_expiry;
    }
    if (blocking_read_expired || Silent(now)) {
      // The connection is suspect (server stalled, network black hole): nothing has come back
      // for a whole command timeout, and every reply behind would arrive late too. Start over
      // on a fresh connection.
      spdlog::warn(
          "{}: no reply for {} ms with {} commands waiting; reconnecting", who_,
          std::chrono::duration_cast<std::chrono::milliseconds>(now - SilentSince()).count(),
          pending_.size());
      DropConnection(absl::UnavailableError(absl::StrCat(
          name_, ": connection reset: no reply within ", options_.command_timeout.count(), " ms")));
      ScheduleReconnect();
      return;
    }
    if (!deadlines_.empty()) {
      ArmDeadline(deadlines_.begin()->first);
    }
    if (!pending_.empty()) {
      // Only abandoned commands may be left: look again when silence would become suspect.
      ArmDeadline(SilentSince() + options_.command_timeout);
    }
  }

  // Since when the connection has said nothing while commands wait for it: the later of the
  // last reply and the sending of the oldest command still waiting (ids are in sending order).
  Clock::time_point SilentSince() const {
    if (pending_.empty()) {
      return Clock::time_point::max();
    }
    return std::max(last_reply_, pending_.begin()->second.start);
  }
  // Suspect silence: longer than the command timeout and than any waiting caller's patience (the
  // time from its sending to its deadline), so that a caller who chose to wait out a stalled
  // server (a fork, a slow script) is not failed by the reset, while a black hole still ends once
  // nobody waiting would accept a later answer.
  bool Silent(Clock::time_point now) const {
    if (pending_.empty()) {
      return false;
    }
    const Clock::duration silence = now - SilentSince();
    if (silence < options_.command_timeout) {
      return false;
    }
    for (const auto& [deadline, id] : deadlines_) {
      const auto it = pending_.find(id);
      if (it != pending_.end() && deadline - it->second.start > silence) {
        return false;
      }
    }
    return true;
  }

  void Finish(std::string_view name, Clock::time_point start, ReplyCallback cb,
              absl::StatusOr<Reply> result) {
    if (options_.observer) {
      const std::chrono::duration<double> elapsed = Clock::now() - start;
      options_.observer(name, elapsed.count(), result.ok() && !result->IsError());
    }
    ready_.push_back(Completion{.cb = std::move(cb), .result = std::move(result)});
  }

  // Runs queued callbacks; called last by every handler, outside any hiredis call. A callback may
  // issue commands (they post) or stop the client (Shutdown queues more and drains them).
  void RunReady() {
    while (!ready_.empty()) {
      std::vector<Completion> batch;
      batch.swap(ready_);
      for (Completion& c : batch) {
        c.cb(std::move(c.result));
      }
    }
  }

  void Watch(bool read) {
    bool& want = read ? want_read_ : want_write_;
    bool& waiting = read ? read_waiting_ : write_waiting_;
    want = true;
    if (waiting || !fd_.is_open()) {
      return;
    }
    waiting = true;
    fd_.async_wait(read ? boost::asio::posix::descriptor_base::wait_read
                        : boost::asio::posix::descriptor_base::wait_write,
                   [self = shared_from_this(), epoch = epoch_,
                    read](const boost::system::error_code& ec) { self->OnReady(epoch, read, ec); });
  }

  void OnReady(uint64_t epoch, bool read, const boost::system::error_code& ec) {
    if (epoch != epoch_) {
      return;  // A wait on an earlier connection's socket.
    }
    (read ? read_waiting_ : write_waiting_) = false;
    if (ec || ac_ == nullptr) {
      return;
    }
    // hiredis re-arms what it still wants (AddRead/AddWrite) from inside these calls, and may
    // free the context (HandleDisconnect drops ac_).
    if (read && want_read_) {
      redisAsyncHandleRead(ac_);
    } else if (!read && want_write_) {
      redisAsyncHandleWrite(ac_);
    }
    RunReady();
  }

  void ReleaseFd() {
    want_read_ = want_write_ = false;
    read_waiting_ = write_waiting_ = false;  // Pending waits complete as aborted.
    if (fd_.is_open()) {
      // hiredis owns the socket and closes it; Asio only stops watching it.
      boost::system::error_code ec;
      fd_.cancel(ec);
      (void)fd_.release();
    }
  }

  void SetConnected(bool connected) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      connected_.store(connected, std::memory_order_release);
    }
    cv_.notify_all();
  }

  const Options options_;
  // "redis[name]": prefix of every status message. Messages travel back to callers (and can reach
  // a public client), so they never carry the server's address; log lines do.
  const std::string name_;
  const std::string who_;  // "redis[name] host:port", prefix of log lines.
  Strand strand_;
  boost::asio::posix::stream_descriptor fd_;  // Watches hiredis's socket; never owns it.
  boost::asio::steady_timer connect_timer_;
  boost::asio::steady_timer reconnect_timer_;
  boost::asio::steady_timer deadline_timer_;

  // Strand-only state.
  State state_ = State::kIdle;
  // hiredis frees it after a disconnect or a failed connect (we then drop the pointer in the
  // callback); we free it ourselves only in DropConnection.
  redisAsyncContext* ac_ = nullptr;
  uint64_t epoch_ = 0;  // Bumped per connection, to recognise stale socket waits.
  bool want_read_ = false;
  bool want_write_ = false;
  bool read_waiting_ = false;
  bool write_waiting_ = false;
  uint64_t next_id_ = 1;
  std::map<uint64_t, Pending> pending_;
  std::size_t pending_bytes_ = 0;
  Clock::time_point last_reply_{};
  std::multimap<Clock::time_point, uint64_t> deadlines_;
  Clock::time_point deadline_armed_for_ = Clock::time_point::max();
  std::vector<Completion> ready_;
  std::chrono::milliseconds backoff_;
  int failed_attempts_ = 0;
  Clock::time_point last_failure_log_{};

  // Shared with other threads.
  std::atomic<bool> connected_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;  // Guarded by mu_.
};

AsioClient::AsioClient(boost::asio::io_context& io, Options options)
    : io_(io), core_(std::make_shared<Core>(io, std::move(options))) {}

AsioClient::~AsioClient() { Stop(); }

void AsioClient::Start() { core_->Start(); }

void AsioClient::Stop() {
  // Without a thread in run(), nothing else can be on the strand: shut down right here.
  if (core_->strand().running_in_this_thread() || io_.stopped()) {
    core_->Shutdown();
    return;
  }
  // On an io_context thread but off our strand, waiting could mean waiting for this very thread.
  if (io_.get_executor().running_in_this_thread()) {
    boost::asio::post(core_->strand(), [core = core_] { core->Shutdown(); });
    return;
  }
  std::promise<void> done;
  std::future<void> finished = done.get_future();
  boost::asio::post(core_->strand(), [core = core_, &done] {
    core->Shutdown();
    done.set_value();
  });
  if (finished.wait_for(kStopWaitWarning) != std::future_status::ready) {
    spdlog::warn("redis client Stop() still waiting for its strand; is the io_context running?");
    finished.wait();
  }
}

absl::Status AsioClient::WaitConnected(std::chrono::milliseconds timeout) {
  return core_->WaitConnected(timeout);
}

void AsioClient::Command(std::vector<std::string> argv, ReplyCallback cb) {
  core_->Submit(std::move(argv), core_->DefaultLimit(), std::move(cb));
}

void AsioClient::Command(std::vector<std::string> argv, std::chrono::milliseconds timeout,
                         ReplyCallback cb) {
  core_->Submit(std::move(argv), {.timeout = timeout, .suspect_on_expiry = true}, std::move(cb));
}

void AsioClient::Command(std::vector<std::string> argv, Deadline deadline, ReplyCallback cb) {
  core_->Submit(std::move(argv), core_->LimitOf(deadline), std::move(cb));
}

void AsioClient::Eval(const Script& script, std::vector<std::string> keys,
                      std::vector<std::string> args, ReplyCallback cb) {
  core_->Eval(script, std::move(keys), std::move(args), core_->DefaultLimit(), std::move(cb));
}

void AsioClient::Eval(const Script& script, std::vector<std::string> keys,
                      std::vector<std::string> args, Deadline deadline, ReplyCallback cb) {
  core_->Eval(script, std::move(keys), std::move(args), core_->LimitOf(deadline), std::move(cb));
}

bool AsioClient::Connected() const { return core_->connected(); }

}  // namespace grid::redis
