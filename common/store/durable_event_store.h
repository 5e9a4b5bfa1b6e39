// An EventStore whose filings and reservations are answered only once a replica holds them.
#pragma once

#include "common/redis/durability.h"
#include "common/store/event_store.h"

namespace grid::store {

// Wraps a store: Reserve and File are answered once their write is on a replica
// (redis::Durability, e.g. ReplicaWaiter on a Redis Cluster with replicas), so that an
// acknowledged report survives the loss of the master that took it. Moves, histories and the
// search of open events pass through unchanged.
//
// What waits:
//   - Reserve, made or found: the request key. A reservation is durable before anything is filed
//     under it, so a retry after a failover finds it and files (or finds) the same event, never a
//     second one.
//   - File, created or found existing: the event's record (one script wrote every key of the
//     filing, the open event's merge too, so the record stands for all of them).
//   - File found stale: nothing was written; answered at once.
//   - Get, when the event is there: its record. Intake reads an event only to answer a replay
//     (a retry of a request whose first attempt filed it, perhaps without the wait succeeding):
//     that answer acknowledges the event too, so it must not rest on the master alone.
// When the wait fails the caller gets its UNAVAILABLE although the write happened: a retry with
// the same client request id replays it (Intake's idempotency), and files it again under the
// reserved id if the failover lost it.
//
// Why only these: the other writes of the system (routing's and escalation's moves, timers,
// rollups) are driven from streams and re-driven after a loss, and are not acknowledged to a
// reporter; they do not wait.
//
// Threading: as the wrapped store's; callbacks run on the Durability's executor after a wait.
class DurableEventStore final : public EventStore {
 public:
  // Borrows both; they must outlive the store and every pending call.
  DurableEventStore(EventStore& store, redis::Durability& durability);

  using EventStore::Apply;
  using EventStore::Get;
  using EventStore::History;

  void Reserve(const v1::Event& event, redis::Deadline deadline,
               Callback<Reservation> done) override;
  // Not waited for: a settled reservation lost in a failover leaves the whole one, which answers
  // the same.
  void Settle(const v1::Event& event) override { store_.Settle(event); }
  void FindOpenNear(const v1::Event& event, double radius_meters, redis::Deadline deadline,
                    Callback<OpenNear> done) override;
  void File(const Filing& filing, redis::Deadline deadline, Callback<CreateResult> done) override;
  void Get(const std::string& event_id, redis::Deadline deadline,
           Callback<std::optional<v1::Event>> done) override;
  void Apply(const Move& move, redis::Deadline deadline, Callback<MoveResult> done) override;
  void History(const std::string& event_id, redis::Deadline deadline,
               Callback<std::vector<v1::EventChange>> done) override;

 private:
  EventStore& store_;
  redis::Durability& durability_;
};

}  // namespace grid::store
