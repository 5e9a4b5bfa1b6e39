// The reads of routing over Redis: a unit's work queue, and the event list with its filters.
#pragma once

#include <functional>

#include "absl/status/statusor.h"
#include "common/clock/clock.h"
#include "common/policy/calendar.h"
#include "common/redis/client.h"
#include "common/topology/topology.h"
#include "grid/v1/routing.pb.h"

namespace grid::routing {

// Page sizes of both lists: 0 means the default; more than the maximum is clamped to it.
inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 500;

// Threading: methods may be called from any thread and never block. Each callback is called
// exactly once: on the Redis client's thread once Redis has answered, or inline, before the
// method returns, when the request is rejected (bad argument, unknown unit) or needs no read.
// Redis failures and error replies map through redis::StatusOf (UNAVAILABLE when Redis is down,
// slow or loading); a stored record that does not parse is DATA_LOSS.
//
// Lifetime: the client, the topology and the clock are borrowed and must outlive every call in
// flight; the EventQueries object itself need not.
class EventQueries final {
 public:
  template <class T>
  using Callback = std::function<void(absl::StatusOr<T>)>;

  struct Options {
    // ListEvents examines at most this many candidates of each subdistrict per call (at least 1).
    int max_candidates_per_shard = 2000;
    // Counts the time left of limits in working hours; nullptr counts wall-clock time.
    const policy::WorkingCalendar* calendar = nullptr;
  };

  EventQueries(redis::Client& client, const topology::Topology& topology, const Clock& clock);
  EventQueries(redis::Client& client, const topology::Topology& topology, const Clock& clock,
               Options options);

  // The unit's open work, in the order of OrderQueue (queue_order.h) as of now. A district-level
  // unit's queue is gathered from every subdistrict's shard; a unit at or below SUBDISTRICT level
  // only has one. Queued ids whose record is gone are skipped.
  //
  // Pages by position in that order: the token holds the offset (and the unit), so a page after
  // the queue changed may repeat or miss an item that moved across the page boundary; a queue is
  // re-read from the top, not walked like a log.
  //
  // INVALID_ARGUMENT: unit_id empty, page_size negative, page_token malformed or issued for
  // another unit. NOT_FOUND: unit_id not in the topology.
  void ListUnitQueue(const v1::ListUnitQueueRequest& request,
                     Callback<v1::ListUnitQueueResponse> done);

  // Events matching every filter of the request, newest first by creation time (ties by id,
  // descending), each with its traffic light as of now. unit_id selects the events in its
  // subtree by the rule of jurisdiction (topology::EventInSubtree: the grid or the unit that has
  // the event now), so a community's list holds its grid's event that went up to the zone.
  //
  // Reads only the shards that can match: the subdistrict of the filter or of a unit at or below
  // SUBDISTRICT level (an event is filed in its grid's subdistrict, and the units that have it are
  // the grid's ancestors or departments, so that shard holds every event of such a subtree), else
  // every subdistrict of the topology (a department's or the district's), walking each shard's time
  // index from the token's position down to reported_after (intake never files an event before its
  // reported_at, so created_at >= reported_at), and merging the shards by (creation ms, id).
  //
  // Pagination: the token holds the position (creation ms, id) of the last event examined and a
  // fingerprint of the filters. The next page continues strictly after that position, so paging
  // neither repeats nor skips an event, whatever was created in between (newer events are not
  // shown to a walk already under way). A call examines at most
  // Options::max_candidates_per_shard candidates per shard: when a selective filter hits that
  // bound, the page holds fewer than page_size events (possibly none) and still has a
  // next_page_token; only an empty token means the end.
  //
  // INVALID_ARGUMENT: page_size negative, a state, level or min_severity that is not one of the
  // enum's values,
  // a timestamp out of range, reported_after later than reported_before, page_token malformed or
  // issued for other filters (each naming the field). NOT_FOUND: unit_id or
  // subdistrict_id not in the topology.
  void ListEvents(const v1::ListEventsRequest& request, Callback<v1::ListEventsResponse> done);

 private:
  redis::Client& client_;
  const topology::Topology& topology_;
  const Clock& clock_;
  Options options_;
};

}  // namespace grid::routing
