// The event record in Redis: filing, reading and the atomic application of lifecycle moves.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock/clock.h"
#include "common/redis/batched_script.h"
#include "common/redis/client.h"
#include "common/redis/script.h"
#include "grid/v1/event.pb.h"

namespace grid::store {

// One lifecycle move, applied atomically if the event is still at `expected_version`.
struct Move {
  // The event after the move; its version must be expected_version + 1.
  v1::Event event;
  // The change to append; its version must be expected_version + 1.
  v1::EventChange change;
  // The version the move was decided on.
  std::int64_t expected_version = 0;
  // The unit whose queue the event leaves, if any.
  std::string leave_queue_unit;
  // The unit whose queue the event joins, if any, with its urgency score (due ms).
  std::string join_queue_unit;
  double join_queue_score = 0;
  // The routing-stream entry to acknowledge in the same step, if any.
  std::string ack_group;
  std::string ack_entry_id;
  // True when the event reaches a final state: it leaves the index of open events that new
  // reports are checked against for duplicates.
  bool leave_open_index = false;
  // A unit that returned the event (退回): its return count rises in the same step.
  std::string count_return_unit;
  // When the event's light turns yellow after the move (policy::YellowAt with the policy's
  // calendar), for the backlog index (backlog.h); 0 when no clock runs, or to take wall-clock
  // time.
  Millis yellow_at = 0;
};

// The open events near a new report, as read for the duplicate check (FindOpenNear).
struct OpenNear {
  // The search radius.
  double radius_meters = 0;
  // Open events of the report's grid and category within the radius, nearest first, at most
  // kMaxOpenNear.
  std::vector<std::string> ids;
  // Their records, in the same order; nullopt where a record is gone.
  std::vector<std::optional<v1::Event>> events;
};

// FindOpenNear looks at this many open events at most, nearest first.
inline constexpr int kMaxOpenNear = 20;

// A new event to file, and what the duplicate decision about it was made on.
struct Filing {
  // REPORTED, version 1; or, merged as a duplicate, VOIDED with duplicate_of set.
  v1::Event event;
  // Its REPORTED change.
  v1::EventChange change;
  // The open events the decision was made on (FindOpenNear's answer), when a check ran: the
  // filing applies only if the same search finds the same events, each still at the version
  // read, so that the decision and the write are one atomic step.
  std::optional<OpenNear> decided_on;
  // For a duplicate: the open event's DUPLICATE_MERGED move, applied in the same step.
  std::optional<Move> merge;
};

struct CreateResult {
  enum class Outcome {
    // Filed (created, or merged into the open event).
    kCreated,
    // An event with this id exists already: nothing was written. For an id reserved under a
    // client request id, it is the event an earlier (or concurrent) attempt filed.
    kExists,
    // What the decision was made on changed since it was read (an open event near it appeared,
    // went, or moved on): nothing was written; decide again.
    kStale,
  };
  Outcome outcome = Outcome::kCreated;
  std::string event_id;
};

// What a settled reservation keeps of the event it stands for (EventStore::Settle).
v1::Event SettledReservation(const v1::Event& event);

// A client request id's reservation (Reserve).
struct Reservation {
  // True when this call reserved the key; false when an earlier call had: `event` is then the
  // event reserved first, filed or not (yet).
  bool made = false;
  v1::Event event;
};

struct MoveResult {
  // False when the event had moved on: `version` is then its current version.
  bool applied = false;
  std::int64_t version = 0;
};

// Threading: methods may be called from any thread; callbacks run on the Redis client's thread,
// exactly once.
//
// Failures: every status goes through redis::StatusOf (common/redis/reply.h): Redis down, slow
// past the deadline, loading or failing over is UNAVAILABLE ("the event store is unavailable
// ...; retry later"), an error reply otherwise INTERNAL; no message names Redis's address.
// A read never answers OK when Redis answered an error.
//
// Deadlines: each call takes the caller's deadline (redis::DeadlineBefore of a gRPC deadline);
// the overloads without one use the client's default timeout.
class EventStore {
 public:
  template <class T>
  using Callback = std::function<void(absl::StatusOr<T>)>;

  virtual ~EventStore() = default;

  // Reserves the client request id of `event` (per reporter, for any grid: the key has a hash
  // tag of its own) for kRequestKeyTtlSeconds, storing `event` as the event it stands for, unless
  // it was reserved before. One command, so a reservation is made exactly once; the filing that
  // follows is idempotent on the event id, so an attempt that dies in between leaves a
  // reservation whose retry files the stored event.
  virtual void Reserve(const v1::Event& event, redis::Deadline deadline,
                       Callback<Reservation> done) = 0;
  // Once `event`, reserved under its client request id, is filed: its reservation keeps only
  // what a retry needs to find it (the id, reporter and request id; no created_at, which tells a
  // settled reservation from a whole one) for the rest of its time, since the record now holds
  // the rest. Best effort, unanswered: a reservation left whole answers a retry the same way.
  virtual void Settle(const v1::Event& event) { (void)event; }
  // The open events of `event`'s grid and category within `radius_meters` of its location, with
  // their records, for the duplicate decision. Empty when the event has no location.
  virtual void FindOpenNear(const v1::Event& event, double radius_meters, redis::Deadline deadline,
                            Callback<OpenNear> done) = 0;
  // Files a new event in one atomic step within its subdistrict's slot, unless the id exists
  // (kExists) or the decision is stale (kStale). Created: the record (state, version 1), the
  // first entry of its history, the time index, the live stream, and, when REPORTED, the routing
  // stream and (with a location) the index of open events. Merged (filing.merge): the duplicate
  // is filed VOIDED and not queued for routing, and the open event's move applies in the same
  // step.
  virtual void File(const Filing& filing, redis::Deadline deadline,
                    Callback<CreateResult> done) = 0;
  // Reads an event; nullopt when there is none. The id must be well formed.
  virtual void Get(const std::string& event_id, redis::Deadline deadline,
                   Callback<std::optional<v1::Event>> done) = 0;
  // Applies a move (see Move).
  virtual void Apply(const Move& move, redis::Deadline deadline, Callback<MoveResult> done) = 0;
  // An event's changes, oldest first.
  virtual void History(const std::string& event_id, redis::Deadline deadline,
                       Callback<std::vector<v1::EventChange>> done) = 0;

  // Without a deadline of the caller's.
  void Get(const std::string& event_id, Callback<std::optional<v1::Event>> done) {
    Get(event_id, redis::kNoDeadline, std::move(done));
  }
  void Apply(const Move& move, Callback<MoveResult> done) {
    Apply(move, redis::kNoDeadline, std::move(done));
  }
  void History(const std::string& event_id, Callback<std::vector<v1::EventChange>> done) {
    History(event_id, redis::kNoDeadline, std::move(done));
  }
  // Files `event` (REPORTED) with its first change, without a duplicate check.
  void Create(const v1::Event& event, const v1::EventChange& change, Callback<CreateResult> done) {
    Filing filing;
    filing.event = event;
    filing.change = change;
    File(filing, redis::kNoDeadline, std::move(done));
  }
};

using EventStorePtr = std::unique_ptr<EventStore>;

// The live stream's approximate cap, per subdistrict.
inline constexpr int kLiveStreamMaxLength = 1000000;

class RedisEventStore final : public EventStore {
 public:
  // `client` must outlive the store.
  explicit RedisEventStore(redis::Client& client);
  // As above, and filings and moves of one subdistrict made together are sent as one script call
  // (redis::BatchedScript: held to the end of the current turn of `batch_on`, never longer).
  // Up to `max_batch` calls in one; 1 or less: no batching.
  RedisEventStore(redis::Client& client, boost::asio::any_io_executor batch_on,
                  size_t max_batch = redis::BatchedScript::kDefaultMaxBatch);
  ~RedisEventStore() override;

  using EventStore::Apply;
  using EventStore::Get;
  using EventStore::History;

  void Reserve(const v1::Event& event, redis::Deadline deadline,
               Callback<Reservation> done) override;
  void Settle(const v1::Event& event) override;
  void FindOpenNear(const v1::Event& event, double radius_meters, redis::Deadline deadline,
                    Callback<OpenNear> done) override;
  void File(const Filing& filing, redis::Deadline deadline, Callback<CreateResult> done) override;
  void Get(const std::string& event_id, redis::Deadline deadline,
           Callback<std::optional<v1::Event>> done) override;
  void Apply(const Move& move, redis::Deadline deadline, Callback<MoveResult> done) override;
  void History(const std::string& event_id, redis::Deadline deadline,
               Callback<std::vector<v1::EventChange>> done) override;

 private:
  void Run(const redis::Script& script, redis::BatchedScript* batched,
           std::vector<std::string> keys, std::vector<std::string> args, redis::Deadline deadline,
           redis::ReplyCallback done);

  redis::Client& client_;
  redis::Script file_;
  redis::Script apply_;
  // Set when the store batches (see the constructors).
  std::unique_ptr<redis::BatchedScript> file_batch_;
  std::unique_ptr<redis::BatchedScript> apply_batch_;
};

}  // namespace grid::store
