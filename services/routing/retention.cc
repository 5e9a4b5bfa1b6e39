#include "services/routing/retention.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "absl/strings/str_cat.h"
#include "common/lifecycle/state_machine.h"
#include "common/log/throttle.h"
#include "common/redis/script.h"
#include "common/store/keys.h"

namespace grid::store {
extern const std::string_view kExpireEventLua;
}  // namespace grid::store

namespace grid::routing {

bool Expired(const v1::Event& event, Millis now, std::chrono::milliseconds retention) {
  if (!lifecycle::IsFinal(event.state())) {
    return false;
  }
  const Millis final_at = event.has_closed_at()    ? FromTimestamp(event.closed_at())
                          : event.has_updated_at() ? FromTimestamp(event.updated_at())
                                                   : FromTimestamp(event.created_at());
  return final_at <= now - retention.count();
}

struct ClosedEventSweeper::State : std::enable_shared_from_this<State> {
  State(boost::asio::io_context& io, redis::Client& redis, const topology::Topology& topology,
        const Clock& clock, prometheus::Registry& registry, Options options)
      : redis(redis),
        topology(topology),
        clock(clock),
        options(options),
        script(redis::Script::FromSource(std::string(store::kExpireEventLua))),
        timer(io),
        expired(prometheus::BuildCounter()
                    .Name("grid_events_expired_total")
                    .Help("Closed events removed from the hot keys after their retention.")
                    .Register(registry)
                    .Add({})) {}

  redis::Client& redis;
  const topology::Topology& topology;
  const Clock& clock;
  const Options options;
  const redis::Script script;
  boost::asio::steady_timer timer;
  prometheus::Counter& expired;
  bool stopped = false;
  log::Throttle failures;

  void Schedule(std::chrono::milliseconds delay) {
    timer.expires_after(delay);
    timer.async_wait([self = shared_from_this()](boost::system::error_code error) {
      if (error || self->stopped) {
        return;
      }
      const Millis cutoff = self->clock.Now() - self->options.retention.count();
      for (const std::string& sd : self->topology.subdistrict_ids()) {
        self->Page(sd, cutoff, 0);
      }
      self->Schedule(self->options.interval);
    });
  }

  // Events of `sd` filed before `cutoff`, from `offset` on in the time index.
  void Page(const std::string& sd, Millis cutoff, long long offset) {
    if (stopped) {
      return;
    }
    redis.Command(
        {"ZRANGEBYSCORE", store::EventsIndexKey(sd), "-inf", std::to_string(cutoff), "LIMIT",
         std::to_string(offset), std::to_string(options.page)},
        [self = shared_from_this(), sd, cutoff, offset](absl::StatusOr<redis::Reply> reply) {
          if (!reply.ok() || !reply->IsArray()) {
            self->failures.Warn(
                absl::StrCat("expiring closed events of ", sd, ": ",
                             reply.ok() ? reply->DebugString() : reply.status().ToString()));
            return;
          }
          if (reply->elements.empty()) {
            self->failures.Clear(absl::StrCat("expiring closed events of ", sd));
            return;
          }
          struct Look {
            size_t left = 0;
            long long kept = 0;
            long long removed = 0;
          };
          const size_t count = reply->elements.size();
          auto look = std::make_shared<Look>();
          look->left = count;
          for (const redis::Reply& id : reply->elements) {
            self->Consider(sd, id.str, [self, sd, cutoff, offset, count, look](bool removed) {
              (removed ? look->removed : look->kept) += 1;
              if (--look->left > 0) {
                return;
              }
              if (look->removed > 0) {
                spdlog::debug("expired {} closed events of {}", look->removed, sd);
              }
              if (count == static_cast<size_t>(self->options.page)) {
                // What was removed left the index: the next page starts after what stayed.
                self->Page(sd, cutoff, offset + look->kept);
              }
            });
          }
        });
  }

  void Consider(const std::string& sd, const std::string& id, std::function<void(bool)> done) {
    redis.Command({"HMGET", store::EventKey(sd, id), "pb", "version"},
                  [self = shared_from_this(), sd, id,
                   done = std::move(done)](absl::StatusOr<redis::Reply> reply) {
                    if (!reply.ok() || !reply->IsArray() || reply->elements.size() != 2) {
                      done(false);
                      return;
                    }
                    v1::Event event;
                    const bool gone = reply->elements[0].IsNil();
                    if (!gone && (!event.ParseFromString(reply->elements[0].str) ||
                                  !Expired(event, self->clock.Now(), self->options.retention))) {
                      done(false);
                      return;
                    }
                    self->Remove(sd, id, reply->elements[1].str, std::move(done));
                  });
  }

  void Remove(const std::string& sd, const std::string& id, const std::string& version,
              std::function<void(bool)> done) {
    redis.Eval(
        script, {store::EventKey(sd, id), store::HistoryKey(sd, id), store::EventsIndexKey(sd)},
        {id, version},
        [self = shared_from_this(), done = std::move(done)](absl::StatusOr<redis::Reply> reply) {
          const bool removed = reply.ok() && reply->IsInteger() && reply->integer != 0;
          if (removed) {
            self->expired.Increment();
          }
          done(removed);
        });
  }
};

ClosedEventSweeper::ClosedEventSweeper(boost::asio::io_context& io, redis::Client& redis,
                                       const topology::Topology& topology, const Clock& clock,
                                       prometheus::Registry& registry, Options options)
    : state_(std::make_shared<State>(io, redis, topology, clock, registry, options)) {}

ClosedEventSweeper::~ClosedEventSweeper() { Stop(); }

void ClosedEventSweeper::Start() {
  boost::asio::post(state_->timer.get_executor(),
                    [state = state_] { state->Schedule(std::chrono::milliseconds(0)); });
}

void ClosedEventSweeper::Stop() {
  boost::asio::post(state_->timer.get_executor(), [state = state_] {
    state->stopped = true;
    state->timer.cancel();
  });
}

}  // namespace grid::routing
