#include "common/server/stream_trimmer.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "absl/strings/str_cat.h"
#include "common/log/throttle.h"
#include "common/server/stream_groups.h"

namespace grid::server {
namespace {

// The id right after `id`: "5-2" -> "5-3".
std::string Successor(const std::string& id) {
  const auto dash = id.find('-');
  if (dash == std::string::npos) {
    return id + "-1";
  }
  return absl::StrCat(id.substr(0, dash), "-", std::stoll(id.substr(dash + 1)) + 1);
}

}  // namespace

std::optional<std::string> TrimFloor(const std::vector<GroupPosition>& groups,
                                     std::chrono::milliseconds window, Millis now_ms) {
  std::optional<std::string> floor;
  for (const GroupPosition& group : groups) {
    std::string unread =
        group.last_delivered_id.empty() ? std::string("0-1") : Successor(group.last_delivered_id);
    if (!group.oldest_pending_id.empty() && StreamIdLess(group.oldest_pending_id, unread)) {
      unread = group.oldest_pending_id;
    }
    if (!floor || StreamIdLess(unread, *floor)) {
      floor = unread;
    }
  }
  if (window.count() > 0) {
    const std::string cut = absl::StrCat(std::max<Millis>(0, now_ms - window.count()), "-0");
    if (!floor || StreamIdLess(cut, *floor)) {
      floor = cut;
    }
  }
  return floor;
}

struct StreamTrimmer::State : std::enable_shared_from_this<State> {
  State(boost::asio::io_context& io, redis::Client& redis, const Clock& clock,
        telemetry::RedisMetrics* metrics, Options options)
      : redis(redis), clock(clock), metrics(metrics), options(std::move(options)), timer(io) {}

  redis::Client& redis;
  const Clock& clock;
  telemetry::RedisMetrics* metrics;
  const Options options;
  boost::asio::steady_timer timer;
  bool stopped = false;
  log::Throttle failures;

  void Schedule() {
    timer.expires_after(options.interval);
    timer.async_wait([self = shared_from_this()](boost::system::error_code error) {
      if (error || self->stopped) {
        return;
      }
      for (const std::string& stream : self->options.streams) {
        self->Trim(stream);
      }
      self->Schedule();
    });
  }

  void Fail(const std::string& stream, const std::string& why) {
    failures.Warn(absl::StrCat("trimming ", stream, ": ", why));
  }

  // XINFO GROUPS; XPENDING of each group that holds entries; then XTRIM MINID.
  void Trim(const std::string& stream) {
    redis.Command({"XINFO", "GROUPS", stream}, [self = shared_from_this(),
                                                stream](absl::StatusOr<redis::Reply> reply) {
      if (self->stopped) {
        return;
      }
      if (!reply.ok()) {
        self->Fail(stream, std::string(reply.status().message()));
        return;
      }
      if (!reply->IsArray()) {
        return;  // No such stream yet.
      }
      struct Look {
        std::vector<GroupPosition> groups;
        size_t left = 0;
        bool failed = false;
      };
      auto look = std::make_shared<Look>();
      std::vector<std::pair<std::string, size_t>> pending;
      for (const redis::Reply& info : reply->elements) {
        std::string name;
        GroupPosition position;
        long long count = 0;
        for (size_t i = 0; i + 1 < info.elements.size(); i += 2) {
          const std::string& field = info.elements[i].str;
          if (field == "name") {
            name = info.elements[i + 1].str;
          } else if (field == "last-delivered-id") {
            position.last_delivered_id = info.elements[i + 1].str;
          } else if (field == "pending") {
            count = info.elements[i + 1].integer;
          }
        }
        look->groups.push_back(position);
        if (count > 0) {
          pending.emplace_back(name, look->groups.size() - 1);
        }
      }
      if (pending.empty()) {
        self->Apply(stream, look->groups);
        return;
      }
      look->left = pending.size();
      for (const auto& [group, index] : pending) {
        self->redis.Command({"XPENDING", stream, group}, [self, stream, look, index = index](
                                                             absl::StatusOr<redis::Reply> summary) {
          if (!summary.ok() || !summary->IsArray() || summary->elements.size() < 2) {
            look->failed = true;
          } else {
            look->groups[index].oldest_pending_id = summary->elements[1].str;
          }
          if (--look->left > 0 || self->stopped) {
            return;
          }
          if (look->failed) {
            // Not knowing what a group holds, trim nothing this time.
            self->Fail(stream, "XPENDING failed");
            return;
          }
          self->Apply(stream, look->groups);
        });
      }
    });
  }

  void Apply(const std::string& stream, const std::vector<GroupPosition>& groups) {
    const std::optional<std::string> floor = TrimFloor(groups, options.window, clock.Now());
    if (!floor) {
      return;
    }
    // Exact (=) rather than approximate: the streams are small and the point is a memory bound.
    redis.Command({"XTRIM", stream, "MINID", "=", *floor},
                  [self = shared_from_this(), stream](absl::StatusOr<redis::Reply> reply) {
                    if (!reply.ok() || !reply->IsInteger()) {
                      self->Fail(stream, reply.ok() ? reply->DebugString()
                                                    : std::string(reply.status().message()));
                      return;
                    }
                    self->failures.Clear(absl::StrCat("trimming ", stream));
                    if (reply->integer > 0) {
                      spdlog::debug("trimmed {} entries of {}", reply->integer, stream);
                      if (self->metrics != nullptr) {
                        self->metrics->trimmed.Add({{"stream", stream}})
                            .Increment(static_cast<double>(reply->integer));
                      }
                    }
                  });
  }
};

StreamTrimmer::StreamTrimmer(boost::asio::io_context& io, redis::Client& redis, const Clock& clock,
                             telemetry::RedisMetrics* metrics, Options options)
    : state_(std::make_shared<State>(io, redis, clock, metrics, std::move(options))) {}

StreamTrimmer::~StreamTrimmer() { Stop(); }

void StreamTrimmer::Start() {
  boost::asio::post(state_->timer.get_executor(), [state = state_] { state->Schedule(); });
}

void StreamTrimmer::Stop() {
  boost::asio::post(state_->timer.get_executor(), [state = state_] {
    state->stopped = true;
    state->timer.cancel();
  });
}

}  // namespace grid::server
