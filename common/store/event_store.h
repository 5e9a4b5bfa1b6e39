// The event record in Redis: filing, reading and the atomic application of lifecycle moves.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
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
};

struct CreateResult {
  enum class Outcome {
    // Filed (or merged, for MergeDuplicate).
    kCreated,
    // The client request id was seen: nothing was written; event_id is the first event.
    kReplayed,
    // An event with this id exists already (an id collision): nothing was written.
    kIdTaken,
    // MergeDuplicate only: the open event moved on since it was read; nothing was written.
    kOpenEventMoved,
  };
  Outcome outcome = Outcome::kCreated;
  std::string event_id;
};

struct MoveResult {
  // False when the event had moved on: `version` is then its current version.
  bool applied = false;
  std::int64_t version = 0;
};

// Threading: methods may be called from any thread; callbacks run on the Redis client's thread,
// exactly once. Failures reaching Redis are UNAVAILABLE or DEADLINE_EXCEEDED.
class EventStore {
 public:
  template <class T>
  using Callback = std::function<void(absl::StatusOr<T>)>;

  virtual ~EventStore() = default;

  // Files `event` (state REPORTED, version 1) with its first change, queues it for routing and,
  // when it has a location, indexes it among the open events of its grid and category. With a
  // client request id, remembers it for kRequestKeyTtlSeconds: the same id again is kReplayed.
  virtual void Create(const v1::Event& event, const v1::EventChange& change,
                      Callback<CreateResult> done) = 0;
  // Files `duplicate` (already VOIDED, duplicate_of set) with its change, and applies `open` (the
  // open event's DUPLICATE_MERGED move) in the same step, if the open event is still at
  // open.expected_version. Not queued for routing.
  virtual void MergeDuplicate(const v1::Event& duplicate, const v1::EventChange& change,
                              const Move& open, Callback<CreateResult> done) = 0;
  // The event first filed for a client request id, if it is remembered.
  virtual void FindRequest(const std::string& subdistrict, const std::string& reporter_id,
                           const std::string& client_request_id,
                           Callback<std::optional<std::string>> done) = 0;
  // Ids of open events of the same grid and category within `radius_meters` of `event`'s
  // location, nearest first. Empty when the event has no location.
  virtual void FindOpenNear(const v1::Event& event, double radius_meters,
                            Callback<std::vector<std::string>> done) = 0;
  // Reads an event; nullopt when there is none. The id must be well formed.
  virtual void Get(const std::string& event_id, Callback<std::optional<v1::Event>> done) = 0;
  // Applies a move (see Move).
  virtual void Apply(const Move& move, Callback<MoveResult> done) = 0;
  // An event's changes, oldest first.
  virtual void History(const std::string& event_id,
                       Callback<std::vector<v1::EventChange>> done) = 0;
};

using EventStorePtr = std::unique_ptr<EventStore>;

// The live stream's approximate cap, per subdistrict.
inline constexpr int kLiveStreamMaxLength = 1000000;

class RedisEventStore final : public EventStore {
 public:
  // `client` must outlive the store.
  explicit RedisEventStore(redis::Client& client);

  void Create(const v1::Event& event, const v1::EventChange& change,
              Callback<CreateResult> done) override;
  void MergeDuplicate(const v1::Event& duplicate, const v1::EventChange& change, const Move& open,
                      Callback<CreateResult> done) override;
  void FindRequest(const std::string& subdistrict, const std::string& reporter_id,
                   const std::string& client_request_id,
                   Callback<std::optional<std::string>> done) override;
  void FindOpenNear(const v1::Event& event, double radius_meters,
                    Callback<std::vector<std::string>> done) override;
  void Get(const std::string& event_id, Callback<std::optional<v1::Event>> done) override;
  void Apply(const Move& move, Callback<MoveResult> done) override;
  void History(const std::string& event_id, Callback<std::vector<v1::EventChange>> done) override;

 private:
  redis::Client& client_;
  redis::Script create_;
  redis::Script apply_;
  redis::Script merge_;
};

}  // namespace grid::store
