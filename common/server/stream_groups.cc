#include "common/server/stream_groups.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>

namespace grid::server {

std::optional<GroupBacklog> ParseGroupBacklog(const redis::Reply& reply, const std::string& group) {
  if (!reply.IsArray()) {
    return std::nullopt;
  }
  for (const redis::Reply& info : reply.elements) {
    GroupBacklog backlog;
    bool ours = false;
    for (size_t i = 0; i + 1 < info.elements.size(); i += 2) {
      const std::string& field = info.elements[i].str;
      const redis::Reply& value = info.elements[i + 1];
      if (field == "name") {
        ours = value.str == group;
      } else if (field == "pending") {
        backlog.pending = value.integer;
      } else if (field == "lag") {
        backlog.lag = value.IsInteger() ? value.integer : -1;
      }
    }
    if (ours) {
      return backlog;
    }
  }
  return std::nullopt;
}

struct StreamGroupMonitor::State : std::enable_shared_from_this<State> {
  State(boost::asio::io_context& io, redis::Client& redis, telemetry::RedisMetrics& metrics,
        std::vector<std::string> streams, std::string group, std::chrono::milliseconds interval)
      : redis(redis),
        metrics(metrics),
        streams(std::move(streams)),
        group(std::move(group)),
        interval(interval),
        timer(io) {}

  redis::Client& redis;
  telemetry::RedisMetrics& metrics;
  std::vector<std::string> streams;
  std::string group;
  std::chrono::milliseconds interval;
  boost::asio::steady_timer timer;
  bool stopped = false;

  void Poll() {
    if (stopped) {
      return;
    }
    for (const std::string& stream : streams) {
      redis.Command({"XINFO", "GROUPS", stream}, [self = shared_from_this(),
                                                  stream](absl::StatusOr<redis::Reply> reply) {
        if (!reply.ok() || self->stopped) {
          return;
        }
        auto backlog = ParseGroupBacklog(*reply, self->group);
        if (!backlog) {
          return;
        }
        const std::map<std::string, std::string> labels = {{"stream", stream},
                                                           {"group", self->group}};
        if (backlog->lag >= 0) {
          self->metrics.group_lag.Add(labels).Set(static_cast<double>(backlog->lag));
        }
        self->metrics.group_pending.Add(labels).Set(static_cast<double>(backlog->pending));
      });
    }
    timer.expires_after(interval);
    timer.async_wait([self = shared_from_this()](boost::system::error_code error) {
      if (!error) {
        self->Poll();
      }
    });
  }
};

StreamGroupMonitor::StreamGroupMonitor(boost::asio::io_context& io, redis::Client& redis,
                                       telemetry::RedisMetrics& metrics,
                                       std::vector<std::string> streams, std::string group,
                                       std::chrono::milliseconds interval)
    : state_(std::make_shared<State>(io, redis, metrics, std::move(streams), std::move(group),
                                     interval)) {}

StreamGroupMonitor::~StreamGroupMonitor() { Stop(); }

void StreamGroupMonitor::Start() {
  boost::asio::post(state_->timer.get_executor(), [state = state_] { state->Poll(); });
}

void StreamGroupMonitor::Stop() {
  boost::asio::post(state_->timer.get_executor(), [state = state_] {
    state->stopped = true;
    state->timer.cancel();
  });
}

}  // namespace grid::server
