// Keeps streams from growing without bound. Every interval, each stream is trimmed (XTRIM MINID)
// up to what must stay:
//   - every entry that a consumer group of the stream has not acknowledged, pending or not yet
//     delivered, stays (never trim what a group has not read);
//   - with a window, every entry younger than it stays too (the live stream: watchers resume
//     from cursors within it).
// A stream without consumer groups is trimmed by its window only, and not at all without one.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock/clock.h"
#include "common/redis/client.h"
#include "common/telemetry/redis_metrics.h"

namespace grid::server {

// What one consumer group has not acknowledged, as XINFO GROUPS and XPENDING tell it.
struct GroupPosition {
  // Entries after it are not yet delivered to the group.
  std::string last_delivered_id;
  // The oldest entry delivered and not acknowledged; empty when none.
  std::string oldest_pending_id;
};

// The MINID to trim a stream to (entries with smaller ids go), or nullopt to leave it alone:
// the smallest id some group has not acknowledged, and with a window (> 0) no later than
// `now_ms - window`.
std::optional<std::string> TrimFloor(const std::vector<GroupPosition>& groups,
                                     std::chrono::milliseconds window, Millis now_ms);

// Threading: runs on the io_context's thread; Start and Stop post to it. Stop before the client
// stops.
class StreamTrimmer final {
 public:
  struct Options {
    std::vector<std::string> streams;
    // Entries younger than this stay even when every group acknowledged them; 0: whatever every
    // group acknowledged goes.
    std::chrono::milliseconds window{0};
    std::chrono::milliseconds interval{std::chrono::minutes(1)};
  };

  // Borrows everything; `metrics` may be null.
  StreamTrimmer(boost::asio::io_context& io, redis::Client& redis, const Clock& clock,
                telemetry::RedisMetrics* metrics, Options options);
  ~StreamTrimmer();

  void Start();
  void Stop();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace grid::server
