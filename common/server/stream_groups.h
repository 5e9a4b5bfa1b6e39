// Polls XINFO GROUPS of some streams and sets grid_stream_group_lag and
// grid_stream_group_pending for one consumer group, so ops see a reader falling behind.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
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

// The group's {lag, pending} from an XINFO GROUPS reply (a list of flat field/value lists);
// lag is -1 when Redis cannot tell (an entry was deleted) or is older than 7; nullopt when the
// group is not there.
struct GroupBacklog {
  long long lag = -1;
  long long pending = 0;
};
std::optional<GroupBacklog> ParseGroupBacklog(const redis::Reply& reply, const std::string& group);

}  // namespace grid::server
