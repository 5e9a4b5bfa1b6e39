// Polls the backlog of one consumer group on some streams and sets, per stream:
// grid_stream_group_lag, _pending, _consumers, _oldest_pending_seconds and
// _oldest_unacked_seconds, so that ops see a reader falling behind or stuck. The ages matter at
// a trickle: a stalled reader of a few hundred reports a day shows a small lag for hours, but the
// age of its oldest unacknowledged entry grows by the minute.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/redis/client.h"
#include "common/telemetry/redis_metrics.h"

namespace grid::server {

// Threading: runs on the io_context's thread. Stop() before the client stops; destroy after the
// io_context stopped.
class StreamGroupMonitor final {
 public:
  StreamGroupMonitor(boost::asio::io_context& io, redis::Client& redis,
                     telemetry::RedisMetrics& metrics, std::vector<std::string> streams,
                     std::string group, std::chrono::milliseconds interval);
  ~StreamGroupMonitor();
  void Start();
  void Stop();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// The group's backlog from an XINFO GROUPS reply (a list of flat field/value lists); lag is -1
// when Redis cannot tell (an entry was deleted) or is older than 7; nullopt when the group is not
// there.
struct GroupBacklog {
  long long lag = -1;
  long long pending = 0;
  long long consumers = 0;
  std::string last_delivered_id;
};
std::optional<GroupBacklog> ParseGroupBacklog(const redis::Reply& reply, const std::string& group);

// The milliseconds part of a stream entry id ("1700000000000-3" -> 1700000000000).
std::optional<long long> StreamIdMillis(std::string_view id);

// The id of the oldest entry a group has not acknowledged: the smaller of its oldest pending
// entry and the first entry not yet delivered to it; empty when both are.
std::string OldestUnacked(const std::string& oldest_pending, const std::string& first_undelivered);

// Seconds from the time in stream entry id `id` to `now_ms`, at least 0; 0 for an empty id.
double AgeSeconds(const std::string& id, long long now_ms);

// Whether stream id `a` sorts before `b` ("ms-seq", compared numerically).
bool StreamIdLess(std::string_view a, std::string_view b);

}  // namespace grid::server
