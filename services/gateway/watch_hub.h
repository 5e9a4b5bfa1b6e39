// The gateway's one reader of the live streams: it reads every subdistrict's live stream once
// (XREAD BLOCK on a connection of its own) and fans each change out to the registered watchers
// whose filter it passes; a watcher resuming from a cursor first gets the history after it,
// through the same filter (WatchFilter::Matches, one filter for both), with heartbeats that move
// its cursor past history it filters out.
//
// Hand-over from history to live: Attach takes the reader's current position P under the hub's
// lock and registers the watcher in the same critical section, so every entry after P reaches
// the watcher's live queue, and none at or before P does; the history reader reads exactly
// (cursor, P] per subdistrict with XRANGE, merged by entry id, and the watcher writes all of it
// before anything from its live queue. No gap, no duplicate, and the reader never waits for it.
//
// Watermark: each read is preceded, on the same connection, by the Redis server's time T (a
// one-line script keyed by the group's first stream, so that on a Redis Cluster it runs on the
// master that the read goes to). An entry added later than T gets an id after T (Redis makes ids
// from its clock and never lets them fall below a stream's last), so once the read's entries are
// fanned out, every entry of the group's streams up to T-1 has been seen (unless a stream
// returned a full COUNT). The least of the groups' marks, W, is the hub's watermark: every stream
// stands at least at "W-<max seq>" in the positions that watchers and cursors see, and a cursor
// lists only the streams that stand elsewhere (watch_cursor.h). Reads go on from each stream's
// true last entry, so a master whose clock lags (after a failover) loses nothing live.
//
// Back-pressure: the reader never blocks on a watcher. Each watcher has a bounded live queue;
// a change that finds it full ends that watch with RESOURCE_EXHAUSTED and the cursor after the
// last message it was sent (see Watcher). History is pulled a page at a time as the watcher
// writes it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "common/clock/clock.h"
#include "common/log/throttle.h"
#include "common/redis/client.h"
#include "common/topology/topology.h"
#include "services/gateway/watch_cursor.h"
#include "services/gateway/watch_metrics.h"
#include "services/gateway/watcher.h"

namespace grid::gateway {

struct WatchHubOptions {
  // A watcher that got nothing for this long gets a Heartbeat.
  std::chrono::milliseconds heartbeat{15000};
  // Each watcher's live queue: changes beyond this behind its writes cut it off.
  std::size_t queue_capacity = 1024;
  // XREAD COUNT and BLOCK of the reader.
  int read_count = 1000;
  std::chrono::milliseconds block{1000};
  // XRANGE COUNT of history reads, per subdistrict.
  int history_page = 500;
  // After a failed read.
  std::chrono::milliseconds retry_delay{500};
  // The wall clock that ends a watch when its token expires (Watcher::SetExpiry), checked at
  // every heartbeat round (at least once a second). Borrowed; nullptr: the system clock.
  const Clock* clock = nullptr;
};

// Threading: Attach and Detach from any thread (gRPC's); the reader, the heartbeats and the
// history reads run on the Redis clients' io_context. One mutex guards the registry and the
// reader's position; fan-out holds it and never blocks (watchers only queue).
//
// Lifetime: create with Create (callbacks hold a shared_ptr); Stop before the clients stop.
// `reader` is used for XREAD BLOCK only; `commands` for the rest. The clients, the io_context
// and the topology must outlive the hub's last callback.
class WatchHub final : public std::enable_shared_from_this<WatchHub> {
 public:
  // Live streams one XREAD BLOCK reads together, on a client of its own.
  struct ReadGroup {
    redis::Client* reader;
    std::vector<std::string> streams;
  };

  // One reader for every live stream (one Redis).
  static std::shared_ptr<WatchHub> Create(boost::asio::io_context& io, redis::Client& reader,
                                          redis::Client& commands,
                                          const topology::Topology& topology,
                                          WatchHubOptions options, WatchMetrics* metrics = nullptr);
  // A reader per group of live streams (a Redis Cluster reads one slot per XREAD): every live
  // stream of the topology in exactly one group; INVALID_ARGUMENT naming the stream otherwise.
  static absl::StatusOr<std::shared_ptr<WatchHub>> Create(
      boost::asio::io_context& io, std::vector<ReadGroup> groups, redis::Client& commands,
      const topology::Topology& topology, WatchHubOptions options, WatchMetrics* metrics = nullptr);
  ~WatchHub();

  // Finds where every live stream ends now, then reads from there on.
  void Start();
  void Stop();
  // True once the reader knows its start position (Attach fails before).
  bool WaitReady(std::chrono::milliseconds timeout);

  // Registers `watcher`: from `from` when given (history first), else live from now.
  // UNAVAILABLE before the reader is ready. History errors (a cursor older than the streams
  // keep: OUT_OF_RANGE) end the watch through the watcher.
  absl::Status Attach(const WatcherPtr& watcher, const std::optional<StreamPositions>& from);
  // Unregisters; no Offer reaches the watcher after it returns.
  void Detach(const Watcher* watcher);

  const std::vector<std::string>& subdistricts() const { return topology_.subdistrict_ids(); }
  std::size_t watcher_count() const;
  const WatchHubOptions& options() const { return options_; }

  // The fan-out of one entry, for tests: advances the position of `subdistrict` to `id` and
  // offers `change` to every matching watcher.
  void FanOutForTest(std::size_t subdistrict, StreamId id, v1::EventChange change);
  // Marks the reader ready at `positions` without Redis, for tests.
  void SetPositionsForTest(StreamPositions positions);
  // A read of `group` that saw everything up to `ms`, for tests.
  void RaiseWatermarkForTest(std::size_t group, std::uint64_t ms);
  // Where the watchers stand now.
  StreamPositions PositionsForTest() const;
  // One heartbeat round (and expiry check, at `wall_now`), for tests.
  void HeartbeatForTest(std::chrono::steady_clock::time_point now);
  void HeartbeatForTest(std::chrono::steady_clock::time_point now, Millis wall_now);

 private:
  class History;

  // A group's reader and its streams, by subdistrict index.
  struct Reading {
    redis::Client* reader;
    std::vector<std::size_t> subdistricts;
    std::unique_ptr<boost::asio::steady_timer> retry_timer;
    // Every entry of these streams up to this millisecond has been fanned out (0: not known
    // yet). Under mu_.
    std::uint64_t watermark_ms = 0;
  };

  WatchHub(boost::asio::io_context& io, redis::Client& commands, const topology::Topology& topology,
           WatchHubOptions options, WatchMetrics* metrics);
  // Under mu_: a watcher leaves the registry.
  void DroppedLocked(const Watcher& watcher);

  void LoadPositions();
  void Read(std::size_t group);
  void After(boost::asio::steady_timer& timer, std::chrono::milliseconds delay,
             std::function<void()> then);
  void ScheduleHeartbeat();
  void HeartbeatRound(std::chrono::steady_clock::time_point now, Millis wall_now);
  // Under mu_.
  void FanOutLocked(std::size_t subdistrict, StreamId id, v1::EventChange change);
  // Under mu_: `group` has seen every entry up to `ms`; raises the hub's watermark to the least
  // of the groups' and every position to at least its end.
  void RaiseWatermarkLocked(std::size_t group, std::uint64_t ms);

  boost::asio::io_context& io_;
  std::vector<Reading> groups_;
  redis::Client& commands_;
  const topology::Topology& topology_;
  const WatchHubOptions options_;
  WatchMetrics* const metrics_;
  std::vector<std::string> streams_;
  boost::asio::steady_timer retry_timer_;
  boost::asio::steady_timer heartbeat_timer_;

  mutable std::mutex mu_;
  std::condition_variable ready_cv_;
  bool ready_ = false;
  bool stopped_ = false;
  // Where the watchers stand: each stream's last entry read, or the watermark's end if later.
  StreamPositions positions_;
  // Each stream's last entry read: where the next read starts.
  StreamPositions read_positions_;
  std::uint64_t watermark_ms_ = 0;
  // Watchers by the root of their unit subtree (or their queue's unit): a change is offered only
  // to those under the roots whose subtree holds it (topology::RootsOfChange).
  absl::flat_hash_map<std::string, std::vector<WatcherPtr>> by_root_;
  std::size_t watcher_count_ = 0;
  // Repeating conditions, logged without flooding.
  log::Throttle read_log_;
  log::Throttle skipped_log_{std::chrono::seconds(10)};
};

using WatchHubPtr = std::shared_ptr<WatchHub>;

// The change in a live-stream entry's payload (field `c`), or nullopt when it is not one: empty
// (a field of another name), not an EventChange, or a change of no event. Such an entry is
// skipped; it never stops the reader.
std::optional<v1::EventChange> ParseLiveChange(const std::string& payload);

}  // namespace grid::gateway
