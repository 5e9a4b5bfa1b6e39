#include "common/server/stream_groups.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <charconv>
#include <map>

namespace grid::server {
namespace {

// "ms-seq" as two numbers; {ms, 0} without a sequence; nullopt when malformed.
std::optional<std::pair<long long, long long>> SplitId(std::string_view id) {
  const auto dash = id.find('-');
  const std::string_view ms = id.substr(0, dash);
  long long millis = 0;
  if (ms.empty() || std::from_chars(ms.data(), ms.data() + ms.size(), millis).ec != std::errc()) {
    return std::nullopt;
  }
  long long seq = 0;
  if (dash != std::string_view::npos) {
    const std::string_view rest = id.substr(dash + 1);
    if (rest.empty() ||
        std::from_chars(rest.data(), rest.data() + rest.size(), seq).ec != std::errc()) {
      return std::nullopt;
    }
  }
  return std::make_pair(millis, seq);
}

long long NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

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
      } else if (field == "consumers") {
        backlog.consumers = value.integer;
      } else if (field == "last-delivered-id") {
        backlog.last_delivered_id = value.str;
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

std::optional<long long> StreamIdMillis(std::string_view id) {
  const auto split = SplitId(id);
  return split ? std::optional<long long>(split->first) : std::nullopt;
}

bool StreamIdLess(std::string_view a, std::string_view b) {
  const auto x = SplitId(a);
  const auto y = SplitId(b);
  if (!x || !y) {
    return a < b;
  }
  return *x < *y;
}

std::string OldestUnacked(const std::string& oldest_pending, const std::string& first_undelivered) {
  if (oldest_pending.empty()) {
    return first_undelivered;
  }
  if (first_undelivered.empty()) {
    return oldest_pending;
  }
  return StreamIdLess(oldest_pending, first_undelivered) ? oldest_pending : first_undelivered;
}

double AgeSeconds(const std::string& id, long long now_ms) {
  const auto millis = StreamIdMillis(id);
  if (id.empty() || !millis || *millis >= now_ms) {
    return 0;
  }
  return static_cast<double>(now_ms - *millis) / 1000.0;
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

  std::map<std::string, std::string> Labels(const std::string& stream) const {
    return {{"stream", stream}, {"group", group}};
  }

  void Poll() {
    if (stopped) {
      return;
    }
    for (const std::string& stream : streams) {
      PollStream(stream);
    }
    timer.expires_after(interval);
    timer.async_wait([self = shared_from_this()](boost::system::error_code error) {
      if (!error) {
        self->Poll();
      }
    });
  }

  // XINFO GROUPS, then the oldest pending entry (XPENDING's summary) and the first entry not
  // yet delivered (XRANGE after last-delivered-id).
  void PollStream(const std::string& stream) {
    redis.Command({"XINFO", "GROUPS", stream}, [self = shared_from_this(),
                                                stream](absl::StatusOr<redis::Reply> reply) {
      if (!reply.ok() || self->stopped) {
        return;
      }
      auto backlog = ParseGroupBacklog(*reply, self->group);
      if (!backlog) {
        return;
      }
      const auto labels = self->Labels(stream);
      if (backlog->lag >= 0) {
        self->metrics.group_lag.Add(labels).Set(static_cast<double>(backlog->lag));
      }
      self->metrics.group_pending.Add(labels).Set(static_cast<double>(backlog->pending));
      self->metrics.group_consumers.Add(labels).Set(static_cast<double>(backlog->consumers));
      self->redis.Command(
          {"XPENDING", stream, self->group},
          [self, stream, last = backlog->last_delivered_id](absl::StatusOr<redis::Reply> pending) {
            if (!pending.ok() || !pending->IsArray() || pending->elements.size() < 2 ||
                self->stopped) {
              return;
            }
            // [count, smallest id or nil, greatest id or nil, consumers]
            const std::string oldest_pending = pending->elements[1].str;
            self->redis.Command(
                {"XRANGE", stream, "(" + (last.empty() ? std::string("0-0") : last), "+", "COUNT",
                 "1"},
                [self, stream, oldest_pending](absl::StatusOr<redis::Reply> next) {
                  if (!next.ok() || !next->IsArray() || self->stopped) {
                    return;
                  }
                  std::string first_undelivered;
                  if (!next->elements.empty() && !next->elements[0].elements.empty()) {
                    first_undelivered = next->elements[0].elements[0].str;
                  }
                  const long long now = NowMs();
                  const auto labels = self->Labels(stream);
                  self->metrics.group_oldest_pending.Add(labels).Set(
                      AgeSeconds(oldest_pending, now));
                  self->metrics.group_oldest_unacked.Add(labels).Set(
                      AgeSeconds(OldestUnacked(oldest_pending, first_undelivered), now));
                });
          });
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
