#include "common/store/stream_consumer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <unordered_map>
#include <unordered_set>

#include "absl/strings/str_cat.h"
#include "common/log/throttle.h"
#include "common/redis/script.h"
#include "common/store/keys.h"

namespace grid::store {

extern const std::string_view kDeadLetterLua;
extern const std::string_view kLeaveGroupLua;

namespace {

std::vector<std::pair<std::string, std::string>> ParseFields(const redis::Reply& fields) {
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t i = 0; i + 1 < fields.elements.size(); i += 2) {
    out.emplace_back(fields.elements[i].str, fields.elements[i + 1].str);
  }
  return out;
}

void ParseEntries(const std::string& stream, const redis::Reply& entries,
                  std::vector<StreamEntry>& out) {
  for (const redis::Reply& entry : entries.elements) {
    if (entry.elements.size() < 2) {
      continue;
    }
    out.push_back(StreamEntry{stream, entry.elements[0].str, ParseFields(entry.elements[1])});
  }
}

std::string Why(const absl::StatusOr<redis::Reply>& reply) {
  return reply.ok() ? reply->str : std::string(reply.status().message());
}

long long NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

const std::string& StreamEntry::Field(std::string_view name) const {
  static const std::string kEmpty;
  for (const auto& [key, value] : fields) {
    if (key == name) {
      return value;
    }
  }
  return kEmpty;
}

std::vector<StreamEntry> ParseStreamReply(const redis::Reply& reply) {
  std::vector<StreamEntry> out;
  for (const redis::Reply& stream : reply.elements) {
    if (stream.elements.size() == 2) {
      ParseEntries(stream.elements[0].str, stream.elements[1], out);
    }
  }
  return out;
}

std::chrono::milliseconds RetryBackoff(long long deliveries, std::chrono::milliseconds first,
                                       std::chrono::milliseconds most) {
  std::chrono::milliseconds wait = first;
  for (long long i = 1; i < deliveries && wait < most; ++i) {
    wait *= 2;
  }
  return std::min(wait, most);
}

std::vector<PendingEntry> ParsePending(const redis::Reply& reply) {
  std::vector<PendingEntry> out;
  for (const redis::Reply& item : reply.elements) {
    if (item.elements.size() != 4) {
      continue;
    }
    out.push_back(PendingEntry{item.elements[0].str, item.elements[1].str, item.elements[2].integer,
                               item.elements[3].integer});
  }
  return out;
}

// All state lives here and is touched only on the io thread; callbacks hold a shared_ptr, so a
// late completion finds live memory and sees `stopped`.
struct StreamConsumer::State : std::enable_shared_from_this<State> {
  State(boost::asio::io_context& io, redis::Client& blocking, redis::Client& commands,
        Options options, Handler handler)
      : io(io),
        blocking(blocking),
        commands(commands),
        options(std::move(options)),
        handler(std::move(handler)),
        dead_letter_script(redis::Script::FromSource(std::string(kDeadLetterLua))),
        leave_script(redis::Script::FromSource(std::string(kLeaveGroupLua))),
        read_timer(io),
        retry_timer(io),
        reclaim_timer(io),
        housekeeping_timer(io),
        drain_timer(io) {}

  boost::asio::io_context& io;
  redis::Client& blocking;
  redis::Client& commands;
  const Options options;
  Handler handler;
  const redis::Script dead_letter_script;
  const redis::Script leave_script;
  boost::asio::steady_timer read_timer;
  boost::asio::steady_timer retry_timer;
  boost::asio::steady_timer reclaim_timer;
  boost::asio::steady_timer housekeeping_timer;
  boost::asio::steady_timer drain_timer;

  bool stopped = false;
  bool draining = false;
  bool leaving = false;
  std::function<void()> drain_done;
  // The read loop has a read outstanding, or the batch it read is being handled.
  bool reading = false;
  // Commands outstanding other than reads (claims, acknowledgements, dead letters, look-ups).
  int busy = 0;
  // Entries being handled, by Key(): never handed to the handler twice at once.
  std::unordered_set<std::string> in_flight;
  // Why each of our pending entries last failed, for its dead letter.
  std::unordered_map<std::string, std::string> last_reason;
  // Whether we may hold pending entries that failed (or a previous run of this consumer left);
  // `failures` counts failures, so that a look that raced one does not clear the flag.
  bool check_own = true;
  long long failures = 0;

  log::Throttle read_log;
  log::Throttle retry_log;
  log::Throttle dead_letter_log{std::chrono::seconds(10)};

  static std::string Key(const std::string& stream, const std::string& id) {
    return absl::StrCat(stream, " ", id);
  }

  bool Active() const { return !stopped && !draining; }

  void Begin() {
    CreateGroups(0);
    ScheduleRetry();
    ScheduleReclaim();
    ScheduleHousekeeping();
  }

  void CreateGroups(size_t i) {
    if (!Active()) {
      MaybeFinishDrain();
      return;
    }
    if (i == options.streams.size()) {
      ReadNew();
      return;
    }
    ++busy;
    commands.Command(
        {"XGROUP", "CREATE", options.streams[i], options.group, options.group_start, "MKSTREAM"},
        [self = shared_from_this(), i](absl::StatusOr<redis::Reply> reply) {
          --self->busy;
          if (!reply.ok()) {
            self->read_log.Warn(absl::StrCat("creating group ", self->options.group, " on ",
                                             self->options.streams[i], ": ", Why(reply),
                                             "; retrying"));
            self->After(self->read_timer, self->options.retry_delay,
                        [self] { self->CreateGroups(0); });
            self->MaybeFinishDrain();
            return;
          }
          // BUSYGROUP: the group exists, as it does after the first start.
          if (reply->IsError() && reply->ErrorCode() != "BUSYGROUP") {
            spdlog::error("XGROUP CREATE {}: {}", self->options.streams[i], reply->str);
          }
          self->CreateGroups(i + 1);
        });
  }

  // The read loop: new entries, a batch at a time. Entries that fail stay pending for the retry
  // look; the loop goes on with the next batch either way.
  void ReadNew() {
    if (!Active()) {
      reading = false;
      MaybeFinishDrain();
      return;
    }
    reading = true;
    std::vector<std::string> argv = {"XREADGROUP",  "GROUP",
                                     options.group, options.consumer,
                                     "COUNT",       std::to_string(options.batch),
                                     "BLOCK",       std::to_string(options.block.count()),
                                     "STREAMS"};
    for (const auto& stream : options.streams) {
      argv.push_back(stream);
    }
    for (size_t i = 0; i < options.streams.size(); ++i) {
      argv.push_back(">");
    }
    blocking.Command(std::move(argv), options.block + std::chrono::seconds(2),
                     [self = shared_from_this()](absl::StatusOr<redis::Reply> reply) {
                       if (self->stopped) {
                         return;
                       }
                       if (!reply.ok() || reply->IsError()) {
                         self->OnReadFailure(Why(reply));
                         return;
                       }
                       self->read_log.Clear(absl::StrCat("reading ", self->options.group));
                       auto entries = ParseStreamReply(*reply);
                       if (entries.empty()) {
                         self->ReadNew();
                         return;
                       }
                       self->HandleAll(std::move(entries), [self] { self->ReadNew(); });
                     });
  }

  void OnReadFailure(const std::string& why) {
    reading = false;
    // The read may have reached Redis and its reply been lost (a time-out, a reset connection):
    // then entries were delivered to us that we never saw. They are our own pending entries, which
    // no other consumer takes over while we live: look at them.
    check_own = true;
    if (!Active()) {
      MaybeFinishDrain();
      return;
    }
    read_log.Warn(absl::StrCat("reading ", options.streams.front(), "... as ", options.group, "/",
                               options.consumer, ": ", why, "; retrying"));
    // NOGROUP after Redis lost its data: start over, creating the groups again.
    After(read_timer, options.retry_delay, [self = shared_from_this()] { self->CreateGroups(0); });
  }

  // Hands every entry to the handler at once (they are independent events) and calls `then`
  // once each is settled (handled, left pending or dead-lettered).
  void HandleAll(std::vector<StreamEntry> entries, std::function<void()> then) {
    auto left = std::make_shared<size_t>(entries.size());
    auto shared_then = std::make_shared<std::function<void()>>(std::move(then));
    for (auto& entry : entries) {
      Handle(entry, [left, shared_then] {
        if (--*left == 0) {
          (*shared_then)();
        }
      });
    }
  }

  void Handle(const StreamEntry& entry, std::function<void()> settled) {
    const std::string key = Key(entry.stream, entry.id);
    if (!in_flight.insert(key).second) {
      // Already being handled (claimed again while in flight): that handling settles it.
      settled();
      return;
    }
    handler(entry, [self = shared_from_this(), stream = entry.stream, id = entry.id, key,
                    settled = std::move(settled)](Verdict verdict) mutable {
      self->Settle(stream, id, key, std::move(verdict), std::move(settled));
    });
  }

  void Settle(const std::string& stream, const std::string& id, const std::string& key,
              Verdict verdict, std::function<void()> settled) {
    auto finish = [self = shared_from_this(), key, settled = std::move(settled)] {
      self->in_flight.erase(key);
      settled();
      self->MaybeFinishDrain();
    };
    switch (verdict.outcome) {
      case Outcome::kAcked:
        last_reason.erase(key);
        finish();
        return;
      case Outcome::kAck:
        ++busy;
        commands.Command({"XACK", stream, options.group, id},
                         [self = shared_from_this(), key,
                          finish = std::move(finish)](absl::StatusOr<redis::Reply> reply) {
                           --self->busy;
                           if (reply.ok() && !reply->IsError()) {
                             self->last_reason.erase(key);
                           } else {
                             // Still pending: handled again later, which is harmless.
                             self->NoteFailure(key, "acknowledging: " + Why(reply));
                           }
                           finish();
                         });
        return;
      case Outcome::kRetry:
        NoteFailure(key, verdict.reason);
        retry_log.Warn(absl::StrCat(stream, " entry ", id, " (", options.group,
                                    "): ", verdict.reason, "; it will be retried"));
        finish();
        return;
      case Outcome::kDeadLetter:
        DeadLetter(stream, id, kPermanent, verdict.reason, std::move(finish));
        return;
    }
  }

  void NoteFailure(const std::string& key, std::string reason) {
    last_reason[key] = std::move(reason);
    check_own = true;
    ++failures;
  }

  // Moves an entry to its subdistrict's dead letters (dead_letter.lua), then calls `then`.
  void DeadLetter(const std::string& stream, const std::string& id, std::string_view reason_class,
                  const std::string& reason, std::function<void()> then) {
    const std::string dead = DeadLetterStreamOf(stream);
    if (dead.empty()) {
      spdlog::error(
          "{} entry {}: cannot be handled ({}), and the stream has no subdistrict tag "
          "to dead-letter it under; it stays pending",
          stream, id, reason);
      then();
      return;
    }
    ++busy;
    commands.Eval(
        dead_letter_script, {stream, dead},
        {options.group, id, std::string(reason_class), reason, options.consumer,
         std::to_string(NowMs()), std::to_string(options.dead_letter_max_length)},
        [self = shared_from_this(), stream, id, reason_class, reason,
         then = std::move(then)](absl::StatusOr<redis::Reply> reply) {
          --self->busy;
          const std::string key = Key(stream, id);
          if (!reply.ok() || reply->IsError()) {
            self->NoteFailure(key, reason);
            self->retry_log.Warn(absl::StrCat("dead-lettering ", stream, " entry ", id, ": ",
                                              Why(reply), "; it will be retried"));
          } else if (reply->integer == 1) {
            self->last_reason.erase(key);
            self->dead_letter_log.Error(absl::StrCat(
                stream, " entry ", id, " moved to the dead letters of ", self->options.group, " (",
                std::string(reason_class), "): ", reason, "; see gridctl deadletters list"));
            if (self->options.on_dead_letter) {
              self->options.on_dead_letter(stream, reason_class);
            }
          } else {
            self->last_reason.erase(key);
          }
          then();
        });
  }

  // Our own pending entries that failed: handled again once their back-off has passed, or
  // dead-lettered once delivered max_deliveries times.
  void ScheduleRetry() {
    After(retry_timer, options.retry_delay, [self = shared_from_this()] { self->RetryOwn(); });
  }

  void RetryOwn() {
    if (!Active()) {
      return;
    }
    if (!check_own) {
      ScheduleRetry();
      return;
    }
    struct Look {
      size_t left;
      bool holding = false;
      long long failures_seen;
    };
    auto look = std::make_shared<Look>(Look{options.streams.size(), false, failures});
    for (const std::string& stream : options.streams) {
      ++busy;
      commands.Command(
          {"XPENDING", stream, options.group, "-", "+", std::to_string(options.batch),
           options.consumer},
          [self = shared_from_this(), stream, look](absl::StatusOr<redis::Reply> reply) {
            --self->busy;
            if (!reply.ok() || reply->IsError()) {
              look->holding = true;  // Unknown: look again.
            } else if (self->Active()) {
              const auto pending = ParsePending(*reply);
              look->holding = look->holding || !pending.empty();
              self->RetryEntries(stream, pending, /*own=*/true);
            }
            if (--look->left == 0) {
              if (!look->holding && self->failures == look->failures_seen) {
                self->check_own = false;
              }
              self->ScheduleRetry();
            }
            self->MaybeFinishDrain();
          });
    }
  }

  // Entries other consumers left pending for reclaim_min_idle: taken over, or dead-lettered.
  void ScheduleReclaim() {
    After(reclaim_timer, options.reclaim_interval, [self = shared_from_this()] {
      for (const std::string& stream : self->options.streams) {
        self->Reclaim(stream);
      }
      self->ScheduleReclaim();
    });
  }

  void Reclaim(const std::string& stream) {
    ++busy;
    commands.Command(
        {"XPENDING", stream, options.group, "IDLE",
         std::to_string(options.reclaim_min_idle.count()), "-", "+", std::to_string(options.batch)},
        [self = shared_from_this(), stream](absl::StatusOr<redis::Reply> reply) {
          --self->busy;
          if (reply.ok() && !reply->IsError() && self->Active()) {
            self->RetryEntries(stream, ParsePending(*reply), /*own=*/false);
          }
          self->MaybeFinishDrain();
        });
  }

  // Decides, for pending entries of `stream` (ours when `own`, else other consumers'), which to
  // dead-letter and which to take and handle again now.
  void RetryEntries(const std::string& stream, const std::vector<PendingEntry>& pending, bool own) {
    std::vector<std::string> claim;
    for (const PendingEntry& entry : pending) {
      if ((entry.consumer == options.consumer) != own) {
        continue;
      }
      const std::string key = Key(stream, entry.id);
      if (in_flight.count(key) != 0) {
        continue;
      }
      if (entry.deliveries >= options.max_deliveries) {
        const auto reason = last_reason.find(key);
        const std::string why =
            absl::StrCat("not handled after ", entry.deliveries, " deliveries",
                         reason != last_reason.end() ? absl::StrCat(": ", reason->second)
                         : own                       ? std::string()
                               : absl::StrCat(" (last held by ", entry.consumer, ")"));
        in_flight.insert(key);
        DeadLetter(stream, entry.id, kExhausted, why, [self = shared_from_this(), key] {
          self->in_flight.erase(key);
          self->MaybeFinishDrain();
        });
        continue;
      }
      const auto wait =
          own ? RetryBackoff(entry.deliveries, options.retry_delay, options.retry_max_delay)
              : options.reclaim_min_idle;
      if (entry.idle_ms >= wait.count()) {
        claim.push_back(entry.id);
      }
    }
    if (claim.empty()) {
      return;
    }
    if (!own) {
      spdlog::info("taking over {} entries of {} that another consumer left pending", claim.size(),
                   stream);
    }
    // XCLAIM counts a delivery and resets the idle time; its own min-idle guard leaves alone an
    // entry that its holder touched meanwhile.
    std::vector<std::string> argv = {"XCLAIM", stream, options.group, options.consumer,
                                     std::to_string(own ? 0 : options.reclaim_min_idle.count())};
    argv.insert(argv.end(), claim.begin(), claim.end());
    ++busy;
    commands.Command(std::move(argv),
                     [self = shared_from_this(), stream](absl::StatusOr<redis::Reply> reply) {
                       --self->busy;
                       if (!reply.ok()) {
                         // The claim may have been made and its reply lost: if so the entries
                         // are our own pending ones now, which the retry look finds.
                         self->check_own = true;
                       }
                       if (self->stopped || !reply.ok() || reply->IsError()) {
                         self->MaybeFinishDrain();
                         return;
                       }
                       // Ours now, so handled even while draining.
                       std::vector<StreamEntry> entries;
                       ParseEntries(stream, *reply, entries);
                       if (entries.empty()) {
                         self->MaybeFinishDrain();
                         return;
                       }
                       self->HandleAll(std::move(entries), [] {});
                     });
  }

  // Deletes consumers that hold nothing and were idle long enough: what a crash leaves behind.
  void ScheduleHousekeeping() {
    if (options.forget_idle_consumers_after.count() <= 0) {
      return;
    }
    const auto interval = std::min<std::chrono::milliseconds>(options.forget_idle_consumers_after,
                                                              std::chrono::minutes(1));
    After(housekeeping_timer, interval, [self = shared_from_this()] {
      for (const std::string& stream : self->options.streams) {
        self->ForgetIdleConsumers(stream);
      }
      self->ScheduleHousekeeping();
    });
  }

  void ForgetIdleConsumers(const std::string& stream) {
    ++busy;
    commands.Command(
        {"XINFO", "CONSUMERS", stream, options.group},
        [self = shared_from_this(), stream](absl::StatusOr<redis::Reply> reply) {
          --self->busy;
          if (reply.ok() && reply->IsArray() && self->Active()) {
            for (const redis::Reply& consumer : reply->elements) {
              std::string name;
              long long pending = -1;
              long long idle = 0;
              for (size_t i = 0; i + 1 < consumer.elements.size(); i += 2) {
                const std::string& field = consumer.elements[i].str;
                if (field == "name") {
                  name = consumer.elements[i + 1].str;
                } else if (field == "pending") {
                  pending = consumer.elements[i + 1].integer;
                } else if (field == "idle") {
                  idle = consumer.elements[i + 1].integer;
                }
              }
              if (name.empty() || name == self->options.consumer || pending != 0 ||
                  idle < self->options.forget_idle_consumers_after.count()) {
                continue;
              }
              ++self->busy;
              self->commands.Eval(
                  self->leave_script, {stream}, {self->options.group, name},
                  [self, stream, name](absl::StatusOr<redis::Reply> deleted) {
                    --self->busy;
                    if (deleted.ok() && deleted->IsInteger() && deleted->integer >= 0) {
                      spdlog::info("deleted consumer {} of {} on {}: idle and holding nothing",
                                   name, self->options.group, stream);
                    }
                    self->MaybeFinishDrain();
                  });
            }
          }
          self->MaybeFinishDrain();
        });
  }

  void StartDrain(std::function<void()> done) {
    if (stopped) {
      done();
      return;
    }
    draining = true;
    drain_done = std::move(done);
    read_timer.cancel();
    retry_timer.cancel();
    reclaim_timer.cancel();
    housekeeping_timer.cancel();
    drain_timer.expires_after(options.drain_timeout);
    drain_timer.async_wait([self = shared_from_this()](boost::system::error_code error) {
      if (error || self->drain_done == nullptr || self->leaving) {
        return;
      }
      spdlog::warn(
          "{}: {} entries still in flight after {} ms; they stay pending for another "
          "consumer to take over",
          self->options.group, self->in_flight.size(), self->options.drain_timeout.count());
      self->FinishDrain();
    });
    MaybeFinishDrain();
  }

  void MaybeFinishDrain() {
    if (!draining || drain_done == nullptr || leaving || reading || busy > 0 ||
        !in_flight.empty()) {
      return;
    }
    Leave();
  }

  // Nothing in flight: leave the group on every stream where we hold nothing.
  void Leave() {
    leaving = true;
    drain_timer.cancel();
    auto left = std::make_shared<size_t>(options.streams.size());
    auto kept = std::make_shared<std::vector<std::string>>();
    for (const std::string& stream : options.streams) {
      commands.Eval(
          leave_script, {stream}, {options.group, options.consumer},
          [self = shared_from_this(), stream, left, kept](absl::StatusOr<redis::Reply> reply) {
            if (!reply.ok() || !reply->IsInteger() || reply->integer < 0) {
              kept->push_back(stream);
            }
            if (--*left > 0) {
              return;
            }
            if (kept->empty()) {
              spdlog::info("consumer {} left group {}", self->options.consumer,
                           self->options.group);
            } else {
              spdlog::warn(
                  "consumer {} stays in group {} on {} stream(s) (e.g. {}): it "
                  "holds entries that another consumer will take over",
                  self->options.consumer, self->options.group, kept->size(), kept->front());
            }
            self->FinishDrain();
          });
    }
  }

  void FinishDrain() {
    stopped = true;
    CancelTimers();
    std::function<void()> done = std::move(drain_done);
    drain_done = nullptr;
    if (done) {
      done();
    }
  }

  void CancelTimers() {
    read_timer.cancel();
    retry_timer.cancel();
    reclaim_timer.cancel();
    housekeeping_timer.cancel();
    drain_timer.cancel();
  }

  void After(boost::asio::steady_timer& timer, std::chrono::milliseconds delay,
             std::function<void()> then) {
    timer.expires_after(delay);
    timer.async_wait(
        [self = shared_from_this(), then = std::move(then)](boost::system::error_code error) {
          if (!error && self->Active()) {
            then();
          }
        });
  }
};

StreamConsumer::StreamConsumer(boost::asio::io_context& io, redis::Client& blocking,
                               redis::Client& commands, Options options, Handler handler)
    : state_(std::make_shared<State>(io, blocking, commands, std::move(options),
                                     std::move(handler))) {}

StreamConsumer::~StreamConsumer() { Stop(); }

const StreamConsumer::Options& StreamConsumer::options() const { return state_->options; }

void StreamConsumer::Start() {
  boost::asio::post(state_->io, [state = state_] { state->Begin(); });
}

void StreamConsumer::Stop() {
  boost::asio::post(state_->io, [state = state_] {
    state->stopped = true;
    state->CancelTimers();
    if (std::function<void()> done = std::move(state->drain_done)) {
      state->drain_done = nullptr;
      done();
    }
  });
}

void StreamConsumer::Drain(std::function<void()> done) {
  boost::asio::post(
      state_->io, [state = state_, done = std::move(done)]() mutable { state->StartDrain(done); });
}

}  // namespace grid::store
