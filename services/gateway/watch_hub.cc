#include "services/gateway/watch_hub.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <deque>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/store/keys.h"
#include "common/topology/jurisdiction.h"
#include "services/gateway/live_stream.h"

namespace grid::gateway {
namespace {

using live_stream::Entry;
using live_stream::ParseEntries;

std::string Why(const absl::StatusOr<redis::Reply>& reply) {
  return reply.ok() ? reply->str : std::string(reply.status().message());
}

}  // namespace

std::optional<v1::EventChange> ParseLiveChange(const std::string& payload) {
  v1::EventChange change;
  // An empty payload parses as an empty change: not one.
  if (payload.empty() || !change.ParseFromString(payload) || change.event_id().empty()) {
    return std::nullopt;
  }
  return change;
}

// Reads the history of one resuming watcher, (from, to] per subdistrict, a page per subdistrict
// at a time, merged by entry id, as the watcher asks for it. Next() is called by the watcher
// with at most one request outstanding, so the state needs no lock of its own, on one condition:
// a step that sends commands decides what to send before the first goes out, and looks at the
// state no more once it has. Replies come on the Redis client's thread, possibly while the
// sending loop still runs on the watcher's; the last one hands a batch to the watcher, whose
// writes may complete and ask for the next step (another thread again) before that loop is
// through. A loop that looked at the sources anew read a page that the next step was reading
// too: a page of changes twice in a resumed watch (issue 9).
class WatchHub::History final : public std::enable_shared_from_this<History> {
 public:
  History(std::shared_ptr<WatchHub> hub, std::weak_ptr<Watcher> watcher, StreamPositions from,
          const StreamPositions& to)
      : hub_(std::move(hub)), watcher_(std::move(watcher)), positions_(from) {
    for (std::size_t i = 0; i < from.size(); ++i) {
      sources_.push_back(Source{i, from[i], to[i], {}, from[i] >= to[i]});
    }
  }

  void Next() {
    if (!checked_) {
      CheckTrimmed();
      return;
    }
    Fill();
  }

 private:
  struct Source {
    std::size_t subdistrict;
    StreamId after;
    StreamId end;
    std::deque<Entry> buffer;
    bool exhausted;
  };

  // A cursor from before the oldest entry a stream still keeps has lost changes: say so rather
  // than resume with a gap.
  void CheckTrimmed() {
    // What to ask, decided before anything is sent (see the class comment).
    std::vector<std::pair<std::size_t, StreamId>> checks;  // Subdistrict, position.
    for (const Source& source : sources_) {
      if (!source.exhausted) {
        checks.emplace_back(source.subdistrict, source.after);
      }
    }
    if (checks.empty()) {
      checked_ = true;
      Fill();
      return;
    }
    auto pending = std::make_shared<std::size_t>(checks.size());
    for (const auto& check : checks) {
      const std::size_t sd = check.first;
      const StreamId from = check.second;
      hub_->commands_.Command(
          {"XINFO", "STREAM", hub_->streams_[sd]},
          [self = shared_from_this(), pending, sd, from](absl::StatusOr<redis::Reply> reply) {
            if (self->failed_) {
              return;
            }
            if (!reply.ok() || (reply->IsError() && reply->ErrorCode() != "ERR")) {
              self->Fail(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                      absl::StrCat("watch: reading history: ", Why(reply))));
              return;
            }
            if (self->Trimmed(*reply, from)) {
              self->Fail(grpc::Status(
                  grpc::StatusCode::OUT_OF_RANGE,
                  absl::StrCat("cursor: too old: the live stream of subdistrict ",
                               self->hub_->subdistricts()[sd],
                               " no longer holds the changes after ", from.ToString(),
                               " (it keeps a window of recent changes); watch without a cursor to "
                               "start from now")));
              return;
            }
            if (--*pending == 0) {
              self->checked_ = true;
              self->Fill();
            }
          });
    }
  }

  // Whether entries after `from` were removed, by XINFO STREAM's reply (an error reply: the
  // stream is gone altogether).
  static bool Trimmed(const redis::Reply& info, StreamId from) {
    if (info.IsError()) {
      return true;
    }
    std::optional<StreamId> max_deleted;
    std::optional<StreamId> first;
    std::optional<StreamId> last_generated;
    long long length = 0;
    long long added = 0;
    for (std::size_t i = 0; i + 1 < info.elements.size(); i += 2) {
      const std::string& key = info.elements[i].str;
      const redis::Reply& value = info.elements[i + 1];
      if (key == "max-deleted-entry-id") {
        max_deleted = StreamId::Parse(value.str);
      } else if (key == "first-entry" && value.elements.size() == 2) {
        first = StreamId::Parse(value.elements[0].str);
      } else if (key == "last-generated-id") {
        last_generated = StreamId::Parse(value.str);
      } else if (key == "length") {
        length = value.integer;
      } else if (key == "entries-added") {
        added = value.integer;
      }
    }
    if (max_deleted && *max_deleted > from) {
      return true;
    }
    // Trimming removes the oldest entries (and does not move max-deleted-entry-id): if `from`
    // itself is gone, the entries right after it may be too. A watermark position ("W-<max
    // seq>", watch_cursor.h) is no entry: when the first entry is after it, entries between
    // them were lost only if the stream ever lost any (a stream idle for longer than its window
    // before W: said too old, though it may not be, rather than resumed with a gap).
    if (first && *first > from) {
      const bool watermark = from.seq == StreamId::EndOf(0).seq;
      return (from != StreamId{} && !watermark) || added > length;
    }
    // Empty now: whatever came after `from` is gone.
    return !first && last_generated && *last_generated > from;
  }

  void Fill() {
    // The sources to read, decided before the first read is sent (see the class comment): each
    // command is built from its own source, which nothing else touches until its reply.
    std::vector<std::size_t> empty;
    for (std::size_t s = 0; s < sources_.size(); ++s) {
      if (!sources_[s].exhausted && sources_[s].buffer.empty()) {
        empty.push_back(s);
      }
    }
    if (empty.empty()) {
      Emit();
      return;
    }
    auto pending = std::make_shared<std::size_t>(empty.size());
    const int page = hub_->options_.history_page;
    for (const std::size_t s : empty) {
      const Source& source = sources_[s];
      hub_->commands_.Command(
          {"XRANGE", hub_->streams_[source.subdistrict], "(" + source.after.ToString(),
           source.end.ToString(), "COUNT", std::to_string(page)},
          [self = shared_from_this(), pending, s, page](absl::StatusOr<redis::Reply> reply) {
            if (self->failed_) {
              return;
            }
            if (!reply.ok() || reply->IsError()) {
              self->Fail(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                      absl::StrCat("watch: reading history: ", Why(reply))));
              return;
            }
            Source& source = self->sources_[s];
            std::vector<Entry> entries;
            ParseEntries(source.subdistrict, *reply, entries);
            for (Entry& entry : entries) {
              source.after = entry.id;
              source.buffer.push_back(std::move(entry));
            }
            if (entries.size() < static_cast<std::size_t>(page) || source.after >= source.end) {
              source.exhausted = true;
            }
            if (--*pending == 0) {
              self->Emit();
            }
          });
    }
  }

  // Hands the watcher the entries that are certainly next in id order (while every source that
  // may have more has some buffered), through the watcher's own filter: the one that live changes
  // pass, so a resumed watch sees exactly what it would have seen live.
  //
  // An entry filtered out still moves the watcher's position. A batch whose last entries were
  // filtered out ends with a heartbeat at the position after them: a watcher whose filter passes
  // little of a long history still gets its cursor moved on (once per page at most), and a watch
  // resumed from that cursor does not read the same history again.
  void Emit() {
    const WatcherPtr watcher = watcher_.lock();
    if (watcher == nullptr) {
      return;  // The call is over.
    }
    std::vector<WatchItemPtr> batch;
    bool done = false;
    bool skipped = false;  // Entries examined since the last one put in the batch.
    std::size_t examined = 0;
    const auto limit = static_cast<std::size_t>(hub_->options_.history_page);
    while (examined < limit) {
      Source* next = nullptr;
      bool need_fill = false;
      for (Source& source : sources_) {
        if (source.buffer.empty()) {
          need_fill = need_fill || !source.exhausted;
          continue;
        }
        if (next == nullptr || source.buffer.front().id < next->buffer.front().id) {
          next = &source;
        }
      }
      if (need_fill) {
        break;
      }
      if (next == nullptr) {
        done = true;
        break;
      }
      Entry entry = std::move(next->buffer.front());
      next->buffer.pop_front();
      ++examined;
      positions_[entry.subdistrict] = entry.id;
      std::optional<v1::EventChange> change = ParseLiveChange(entry.payload);
      if (!change || !watcher->filter().Matches(*change, hub_->topology_)) {
        skipped = true;
        continue;
      }
      skipped = false;
      batch.push_back(MakeChangeItem(*std::move(change), entry.subdistrict, entry.id, positions_,
                                     hub_->subdistricts()));
    }
    if (skipped) {
      batch.push_back(MakeHeartbeatItem(positions_, hub_->subdistricts()));
    }
    if (batch.empty() && !done) {
      Fill();
      return;
    }
    spdlog::debug("watch history: {} items of {} entries, done {}", batch.size(), examined, done);
    watcher->AddHistory(std::move(batch), done);
  }

  void Fail(const grpc::Status& status) {
    failed_ = true;
    if (WatcherPtr watcher = watcher_.lock()) {
      watcher->Fail(status);
    }
  }

  std::shared_ptr<WatchHub> hub_;
  std::weak_ptr<Watcher> watcher_;
  std::vector<Source> sources_;
  StreamPositions positions_;
  bool checked_ = false;
  bool failed_ = false;
};

std::shared_ptr<WatchHub> WatchHub::Create(boost::asio::io_context& io, redis::Client& reader,
                                           redis::Client& commands,
                                           const topology::Topology& topology,
                                           WatchHubOptions options, WatchMetrics* metrics) {
  std::shared_ptr<WatchHub> hub(new WatchHub(io, commands, topology, options, metrics));
  Reading all{&reader, {}, std::make_unique<boost::asio::steady_timer>(io), 0};
  for (std::size_t i = 0; i < hub->streams_.size(); ++i) {
    all.subdistricts.push_back(i);
  }
  hub->groups_.push_back(std::move(all));
  return hub;
}

absl::StatusOr<std::shared_ptr<WatchHub>> WatchHub::Create(
    boost::asio::io_context& io, std::vector<ReadGroup> groups, redis::Client& commands,
    const topology::Topology& topology, WatchHubOptions options, WatchMetrics* metrics) {
  std::shared_ptr<WatchHub> hub(new WatchHub(io, commands, topology, options, metrics));
  std::vector<bool> covered(hub->streams_.size(), false);
  for (ReadGroup& group : groups) {
    if (group.streams.empty()) {
      return absl::InvalidArgumentError("watch: read groups: a group without streams");
    }
    Reading reading{group.reader, {}, std::make_unique<boost::asio::steady_timer>(io), 0};
    for (const std::string& stream : group.streams) {
      const auto it = std::find(hub->streams_.begin(), hub->streams_.end(), stream);
      if (it == hub->streams_.end() || covered[it - hub->streams_.begin()]) {
        return absl::InvalidArgumentError(absl::StrCat(
            "watch: read groups: ", stream, " is not a live stream of the topology or is in two"));
      }
      covered[it - hub->streams_.begin()] = true;
      reading.subdistricts.push_back(static_cast<std::size_t>(it - hub->streams_.begin()));
    }
    hub->groups_.push_back(std::move(reading));
  }
  for (std::size_t i = 0; i < covered.size(); ++i) {
    if (!covered[i]) {
      return absl::InvalidArgumentError(
          absl::StrCat("watch: read groups: ", hub->streams_[i], " is in none"));
    }
  }
  return hub;
}

WatchHub::WatchHub(boost::asio::io_context& io, redis::Client& commands,
                   const topology::Topology& topology, WatchHubOptions options,
                   WatchMetrics* metrics)
    : io_(io),
      commands_(commands),
      topology_(topology),
      options_(options),
      metrics_(metrics),
      retry_timer_(io),
      heartbeat_timer_(io),
      positions_(topology.subdistrict_ids().size()),
      read_positions_(topology.subdistrict_ids().size()) {
  for (const std::string& sd : topology.subdistrict_ids()) {
    streams_.push_back(store::LiveStream(sd));
  }
}

WatchHub::~WatchHub() = default;

void WatchHub::Start() {
  boost::asio::post(io_, [self = shared_from_this()] {
    self->LoadPositions();
    self->ScheduleHeartbeat();
  });
}

void WatchHub::Stop() {
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
  }
  boost::asio::post(io_, [self = shared_from_this()] {
    self->retry_timer_.cancel();
    for (Reading& group : self->groups_) {
      group.retry_timer->cancel();
    }
    self->heartbeat_timer_.cancel();
  });
  ready_cv_.notify_all();
}

bool WatchHub::WaitReady(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return ready_cv_.wait_for(lock, timeout, [this] { return ready_ || stopped_; }) && ready_;
}

std::size_t WatchHub::watcher_count() const {
  std::lock_guard lock(mu_);
  return watcher_count_;
}

// Where each stream ends now ("$" per stream would lose entries added to one stream while a
// read returns with another's).
void WatchHub::LoadPositions() {
  struct Load {
    StreamPositions positions;
    std::size_t pending;
    bool failed = false;
  };
  auto load = std::make_shared<Load>(Load{StreamPositions(streams_.size()), streams_.size()});
  for (std::size_t i = 0; i < streams_.size(); ++i) {
    commands_.Command(
        {"XREVRANGE", streams_[i], "+", "-", "COUNT", "1"},
        [self = shared_from_this(), load, i](absl::StatusOr<redis::Reply> reply) {
          if (!reply.ok() || reply->IsError()) {
            if (!load->failed) {
              spdlog::warn("watch: reading where {} ends: {}; retrying", self->streams_[i],
                           Why(reply));
            }
            load->failed = true;
          } else if (!reply->elements.empty() && !reply->elements[0].elements.empty()) {
            load->positions[i] =
                StreamId::Parse(reply->elements[0].elements[0].str).value_or(StreamId{});
          }
          if (--load->pending > 0) {
            return;
          }
          if (load->failed) {
            self->After(self->retry_timer_, self->options_.retry_delay,
                        [self] { self->LoadPositions(); });
            return;
          }
          {
            std::lock_guard lock(self->mu_);
            self->positions_ = load->positions;
            self->read_positions_ = load->positions;
            self->ready_ = true;
          }
          self->ready_cv_.notify_all();
          spdlog::info("watch: reading {} live streams, {} to a read", self->streams_.size(),
                       self->groups_.size() == 1 ? "all" : "one");
          for (std::size_t group = 0; group < self->groups_.size(); ++group) {
            self->Read(group);
          }
        });
  }
}

void WatchHub::Read(std::size_t group) {
  const Reading& reading = groups_[group];
  std::vector<std::string> argv = {"XREAD",
                                   "COUNT",
                                   std::to_string(options_.read_count),
                                   "BLOCK",
                                   std::to_string(options_.block.count()),
                                   "STREAMS"};
  {
    std::lock_guard lock(mu_);
    if (stopped_) {
      return;
    }
    for (std::size_t sd : reading.subdistricts) {
      argv.push_back(streams_[sd]);
    }
    for (std::size_t sd : reading.subdistricts) {
      argv.push_back(read_positions_[sd].ToString());
    }
  }
  // The server's time, right before the read on the same connection (see the class comment).
  // EVAL, not EVALSHA: a NOSCRIPT retry would come after the read.
  auto time_ms = std::make_shared<std::optional<std::uint64_t>>();
  reading.reader->Command(
      {"EVAL", "return redis.call('TIME')", "1", streams_[reading.subdistricts.front()]},
      options_.block + std::chrono::seconds(2), [time_ms](absl::StatusOr<redis::Reply> reply) {
        std::uint64_t seconds = 0;
        std::uint64_t micros = 0;
        if (reply.ok() && !reply->IsError() && reply->elements.size() == 2 &&
            absl::SimpleAtoi(reply->elements[0].str, &seconds) &&
            absl::SimpleAtoi(reply->elements[1].str, &micros)) {
          *time_ms = seconds * 1000 + micros / 1000;
        }
      });
  reading.reader->Command(
      std::move(argv), options_.block + std::chrono::seconds(2),
      [self = shared_from_this(), group, time_ms](absl::StatusOr<redis::Reply> reply) {
        if (!reply.ok() || reply->IsError()) {
          self->read_log_.Warn(absl::StrCat("watch: XREAD: ", Why(reply), "; retrying"));
          self->After(*self->groups_[group].retry_timer, self->options_.retry_delay,
                      [self, group] { self->Read(group); });
          return;
        }
        self->read_log_.Clear("watch: XREAD");
        // [[stream, [[id, [field, value, ...]], ...]], ...]; nil when BLOCK timed out.
        std::vector<Entry> entries;
        bool full = false;  // A stream gave a whole COUNT: it may have more up to the time.
        for (const redis::Reply& stream : reply->elements) {
          if (stream.elements.size() != 2) {
            continue;
          }
          full = full || stream.elements[1].elements.size() >=
                             static_cast<std::size_t>(self->options_.read_count);
          const auto it =
              std::find(self->streams_.begin(), self->streams_.end(), stream.elements[0].str);
          if (it != self->streams_.end()) {
            ParseEntries(static_cast<std::size_t>(it - self->streams_.begin()), stream.elements[1],
                         entries);
          }
        }
        // One reply lists stream by stream; watchers see them in id order across
        // streams.
        std::stable_sort(entries.begin(), entries.end(),
                         [](const Entry& a, const Entry& b) { return a.id < b.id; });
        {
          std::lock_guard lock(self->mu_);
          for (Entry& entry : entries) {
            std::optional<v1::EventChange> change = ParseLiveChange(entry.payload);
            if (!change) {
              self->skipped_log_.Warn(absl::StrCat("watch: ", self->streams_[entry.subdistrict],
                                                   " entry ", entry.id.ToString(),
                                                   ": not a change; skipped"));
              if (self->metrics_ != nullptr) {
                self->metrics_->entries_skipped.Increment();
              }
              self->read_positions_[entry.subdistrict] = entry.id;
              self->positions_[entry.subdistrict] =
                  std::max(self->positions_[entry.subdistrict], entry.id);
              continue;
            }
            self->FanOutLocked(entry.subdistrict, entry.id, *std::move(change));
          }
          if (*time_ms && **time_ms > 0 && !full) {
            self->RaiseWatermarkLocked(group, **time_ms - 1);
          }
        }
        self->Read(group);
      });
}

void WatchHub::RaiseWatermarkLocked(std::size_t group, std::uint64_t ms) {
  groups_[group].watermark_ms = std::max(groups_[group].watermark_ms, ms);
  std::uint64_t least = groups_.front().watermark_ms;
  for (const Reading& reading : groups_) {
    least = std::min(least, reading.watermark_ms);
  }
  if (least <= watermark_ms_) {
    return;
  }
  watermark_ms_ = least;
  const StreamId end = StreamId::EndOf(least);
  for (StreamId& position : positions_) {
    position = std::max(position, end);
  }
}

void WatchHub::FanOutLocked(std::size_t subdistrict, StreamId id, v1::EventChange change) {
  read_positions_[subdistrict] = id;
  positions_[subdistrict] = std::max(positions_[subdistrict], id);
  if (metrics_ != nullptr) {
    metrics_->changes_read.Increment();
  }
  if (watcher_count_ == 0) {
    return;
  }
  // Only the watchers under a root whose subtree holds the change can want it (the same rule
  // their filters apply); the filter decides.
  const topology::Roots roots = topology::RootsOfChange(topology_, change);
  WatchItemPtr item;
  std::size_t queued = 0;
  for (const std::string_view root : roots) {
    auto it = by_root_.find(absl::string_view(root.data(), root.size()));
    if (it == by_root_.end()) {
      continue;
    }
    std::vector<WatcherPtr>& watchers = it->second;
    for (std::size_t w = 0; w < watchers.size();) {
      if (!watchers[w]->filter().Matches(change, topology_)) {
        ++w;
        continue;
      }
      if (item == nullptr) {
        item = MakeChangeItem(change, subdistrict, id, positions_, subdistricts());
      }
      if (watchers[w]->Offer(item)) {
        ++queued;
        ++w;
        continue;
      }
      // Ended (cut off, cancelled): nothing more goes to it.
      DroppedLocked(*watchers[w]);
      watchers[w] = std::move(watchers.back());
      watchers.pop_back();
    }
  }
  if (metrics_ != nullptr && queued > 0) {
    metrics_->messages_queued.Increment(static_cast<double>(queued));
  }
}

void WatchHub::DroppedLocked(const Watcher& watcher) {
  --watcher_count_;
  if (metrics_ != nullptr) {
    metrics_->watchers.Decrement();
    if (watcher.cut_off()) {
      metrics_->cutoffs.Increment();
    }
  }
}

absl::Status WatchHub::Attach(const WatcherPtr& watcher,
                              const std::optional<StreamPositions>& from) {
  StreamPositions start;
  StreamPositions floor;
  bool history = false;
  std::shared_ptr<History> reader;
  {
    std::lock_guard lock(mu_);
    if (!ready_ || stopped_) {
      return absl::UnavailableError("watch: the live stream reader is not ready yet; retry");
    }
    start = from.value_or(positions_);
    // History is what the reader has read after the start: up to each stream's last entry read
    // (past it, up to the watermark, there is nothing; what comes later arrives live).
    for (std::size_t i = 0; i < start.size(); ++i) {
      history = history || start[i] < read_positions_[i];
      if (start[i] > positions_[i]) {
        floor = start;
      }
    }
    if (history) {
      reader = std::make_shared<History>(shared_from_this(), watcher, start, read_positions_);
    }
    // Begun and registered in the same critical section that read positions_: every entry after
    // them reaches the watcher's queue (behind its history), none before. Begin only queues or
    // sends (the first history read is asynchronous), so it is safe under the lock.
    watcher->Begin(std::move(start), std::move(floor), history,
                   reader == nullptr ? std::function<void()>()
                                     : std::function<void()>([reader] { reader->Next(); }));
    by_root_[watcher->filter().root()].push_back(watcher);
    ++watcher_count_;
    if (metrics_ != nullptr) {
      metrics_->watchers.Increment();
    }
  }
  return absl::OkStatus();
}

void WatchHub::Detach(const Watcher* watcher) {
  std::lock_guard lock(mu_);
  auto it = by_root_.find(watcher->filter().root());
  if (it == by_root_.end()) {
    return;
  }
  std::vector<WatcherPtr>& watchers = it->second;
  for (std::size_t w = 0; w < watchers.size(); ++w) {
    if (watchers[w].get() == watcher) {
      DroppedLocked(*watchers[w]);
      watchers[w] = std::move(watchers.back());
      watchers.pop_back();
      break;
    }
  }
  if (watchers.empty()) {
    by_root_.erase(it);
  }
}

void WatchHub::After(boost::asio::steady_timer& timer, std::chrono::milliseconds delay,
                     std::function<void()> then) {
  timer.expires_after(delay);
  timer.async_wait(
      [self = shared_from_this(), then = std::move(then)](boost::system::error_code error) {
        if (error) {
          return;
        }
        {
          std::lock_guard lock(self->mu_);
          if (self->stopped_) {
            return;
          }
        }
        then();
      });
}

void WatchHub::ScheduleHeartbeat() {
  // A quarter of the interval: an idle watcher hears from us between 1 and 1.25 intervals. At
  // least once a second, so that a watch ends within a second of its token's expiry.
  heartbeat_timer_.expires_after(std::clamp(options_.heartbeat / 4, std::chrono::milliseconds(10),
                                            std::chrono::milliseconds(1000)));
  heartbeat_timer_.async_wait([self = shared_from_this()](boost::system::error_code error) {
    if (error) {
      return;
    }
    static const SystemClock system_clock;
    const Clock& clock = self->options_.clock != nullptr ? *self->options_.clock : system_clock;
    self->HeartbeatRound(std::chrono::steady_clock::now(), clock.Now());
    self->ScheduleHeartbeat();
  });
}

void WatchHub::HeartbeatRound(std::chrono::steady_clock::time_point now, Millis wall_now) {
  std::lock_guard lock(mu_);
  if (stopped_ || !ready_ || watcher_count_ == 0) {
    return;
  }
  // Under the lock, no change is between the reader's position and the watchers' queues: an idle
  // watcher has had everything up to positions_.
  const WatchItemPtr heartbeat = MakeHeartbeatItem(positions_, subdistricts());
  for (auto it = by_root_.begin(); it != by_root_.end();) {
    std::vector<WatcherPtr>& watchers = it->second;
    for (std::size_t w = 0; w < watchers.size();) {
      if (!watchers[w]->ExpireIfDue(wall_now) &&
          watchers[w]->OfferHeartbeat(heartbeat, now, options_.heartbeat)) {
        ++w;
        continue;
      }
      DroppedLocked(*watchers[w]);
      watchers[w] = std::move(watchers.back());
      watchers.pop_back();
    }
    if (watchers.empty()) {
      by_root_.erase(it++);
    } else {
      ++it;
    }
  }
}

void WatchHub::FanOutForTest(std::size_t subdistrict, StreamId id, v1::EventChange change) {
  std::lock_guard lock(mu_);
  FanOutLocked(subdistrict, id, std::move(change));
}

void WatchHub::SetPositionsForTest(StreamPositions positions) {
  std::lock_guard lock(mu_);
  read_positions_ = positions;
  positions_ = std::move(positions);
  ready_ = true;
}

void WatchHub::RaiseWatermarkForTest(std::size_t group, std::uint64_t ms) {
  std::lock_guard lock(mu_);
  RaiseWatermarkLocked(group, ms);
}

StreamPositions WatchHub::PositionsForTest() const {
  std::lock_guard lock(mu_);
  return positions_;
}

void WatchHub::HeartbeatForTest(std::chrono::steady_clock::time_point now) {
  HeartbeatRound(now, 0);
}

void WatchHub::HeartbeatForTest(std::chrono::steady_clock::time_point now, Millis wall_now) {
  HeartbeatRound(now, wall_now);
}

}  // namespace grid::gateway
