// One watcher of the live stream: its filter, its bounded queue and the one-write-at-a-time flow
// to its call. Apart from gRPC's reactor (which adapts it, see watch_events.h) so that the queue,
// the slow-consumer cut-off and the history-to-live hand-over are testable with a fake writer.
#pragma once

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/status.h>

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock/clock.h"
#include "grid/v1/gateway.pb.h"
#include "services/gateway/watch_cursor.h"
#include "services/gateway/watch_filter.h"

namespace grid::gateway {

// One message of the live stream, serialized once and shared by every watcher it goes to.
struct WatchItem {
  // The change (nullptr for a heartbeat), its cursor set.
  std::shared_ptr<const v1::EventChange> change;
  // The subdistrict (index into Topology::subdistrict_ids()) and entry id of a change.
  std::size_t subdistrict = 0;
  StreamId id;
  // Where the stream stands after this message: what `cursor` encodes.
  StreamPositions positions;
  std::string cursor;
  // The serialized WatchEventsResponse.
  grpc::ByteBuffer bytes;
};
using WatchItemPtr = std::shared_ptr<const WatchItem>;

// A change item: sets `change`'s cursor to the encoding of `positions` and serializes the
// response.
WatchItemPtr MakeChangeItem(v1::EventChange change, std::size_t subdistrict, StreamId id,
                            StreamPositions positions,
                            const std::vector<std::string>& subdistricts);
// A heartbeat at `positions`.
WatchItemPtr MakeHeartbeatItem(StreamPositions positions,
                               const std::vector<std::string>& subdistricts);

// Where a watcher's messages go: the gRPC reactor, or a test double. Called without the
// watcher's lock held, never concurrently with another call of the same writer.
class WatchWriter {
 public:
  virtual ~WatchWriter() = default;
  // Starts writing `bytes`, which stays alive until the watcher's OnWriteDone.
  virtual void Write(const grpc::ByteBuffer& bytes) = 0;
  // Ends the call with `status`; a non-empty `cursor` goes in the trailing metadata
  // (kCursorMetadata). Called once; nothing is called after it.
  virtual void End(const grpc::Status& status, const std::string& cursor) = 0;
};

// The trailing metadata key of the cursor to resume from after an ended watch.
inline constexpr char kCursorMetadata[] = "grid-cursor";

// Threading: the hub calls Offer/OfferHeartbeat under its own lock (on its reader's thread), the
// history reader calls AddHistory/Fail on the Redis thread, the reactor calls
// OnWriteDone/OnCancel/Close on gRPC's threads; a mutex of its own orders them. The writer is
// called outside that mutex, one call at a time (a write is "claimed" under the mutex first).
class Watcher final {
 public:
  // `subdistricts` (the topology's) must outlive the watcher. `capacity` bounds the live queue:
  // a change that finds it full ends the watch with RESOURCE_EXHAUSTED and the cursor after the
  // last message written.
  Watcher(WatchFilter filter, std::size_t capacity, const std::vector<std::string>& subdistricts,
          WatchWriter& writer);

  const WatchFilter& filter() const { return filter_; }

  // Set by the hub before it registers the watcher. `start`: the position the watcher starts
  // from (its cursor, or the hub's position for a live-only watch); `floor`: changes at or before
  // it are not delivered (a cursor ahead of this gateway's reader; empty for none); `history`:
  // whether history comes first (then live changes wait in the queue until it is done), and
  // `want_history` asks for the next history batch.
  void Begin(StreamPositions start, StreamPositions floor, bool history,
             std::function<void()> want_history);

  // A live change that passed the filter. False once the watcher has ended (the hub then drops
  // it).
  bool Offer(const WatchItemPtr& item);
  // Writes `heartbeat` if nothing is queued or being written and nothing was written for
  // `interval`. False once the watcher has ended.
  bool OfferHeartbeat(const WatchItemPtr& heartbeat, std::chrono::steady_clock::time_point now,
                      std::chrono::steady_clock::duration interval);

  // A batch of history (changes after the start, up to where live changes begin), in order;
  // `done` when it is the last.
  void AddHistory(std::vector<WatchItemPtr> batch, bool done);
  // Ends the watch with `status` (the history could not be read, the hub refused it).
  void Fail(const grpc::Status& status);

  // When the caller's token expires (UTC ms; 0: never). Set before the hub registers it.
  void SetExpiry(Millis expires_at);
  // At or after the expiry: ends the watch with UNAUTHENTICATED (and the cursor to resume from
  // with a fresh token) and returns true. `now` 0 checks nothing.
  bool ExpireIfDue(Millis now);

  // From the reactor.
  void OnWriteDone(bool ok);
  void OnCancel();

  bool ended() const;
  // True once it was cut off for falling behind.
  bool cut_off() const;
  // The cursor after the last message handed to the writer.
  std::string last_cursor() const;

 private:
  // What to do once the lock is released.
  struct Action {
    const grpc::ByteBuffer* write = nullptr;
    bool end = false;
    grpc::Status status;
    std::string cursor;
    // The history reader to ask for the next batch (a copy, called outside the lock).
    std::function<void()> want_history;
    // The reader, let go once the history is done or the watch ended, and destroyed outside the
    // lock: it holds this watcher, so keeping it would keep both alive (a cycle).
    std::function<void()> released;
  };
  // Under the lock: the next step if no write is in flight.
  Action NextLocked();
  void EndLocked(grpc::Status status, Action& action);
  void Run(Action action);
  WatchItemPtr AdjustForFloorLocked(const WatchItemPtr& item);

  const WatchFilter filter_;
  const std::size_t capacity_;
  const std::vector<std::string>& subdistricts_;
  WatchWriter& writer_;

  mutable std::mutex mu_;
  std::deque<WatchItemPtr> history_;
  bool history_done_ = true;
  bool history_requested_ = false;
  std::function<void()> want_history_;
  std::deque<WatchItemPtr> live_;
  StreamPositions floor_;
  bool floor_active_ = false;
  // The item being written, kept alive until OnWriteDone.
  WatchItemPtr writing_;
  std::string last_cursor_;
  std::chrono::steady_clock::time_point last_write_ = std::chrono::steady_clock::now();
  // Set once the watch is to end; `end_status_` is sent when no write is in flight.
  bool ending_ = false;
  bool cut_off_ = false;
  bool ended_ = false;
  grpc::Status end_status_;
  Millis expires_at_ = 0;
};

using WatcherPtr = std::shared_ptr<Watcher>;

}  // namespace grid::gateway
