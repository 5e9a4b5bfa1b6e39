#include "services/metrics/rederive.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>

#include "common/store/keys.h"
#include "services/metrics/metrics_keys.h"

namespace grid::metrics {

struct Rederiver::State : std::enable_shared_from_this<State> {
  State(boost::asio::io_context& io, redis::Client& redis, ChangeRecorder& recorder,
        const Clock& clock, std::vector<std::string> subdistricts,
        prometheus::Family<prometheus::Gauge>& remaining, Options options)
      : redis(redis),
        recorder(recorder),
        clock(clock),
        subdistricts(std::move(subdistricts)),
        remaining(remaining),
        options(options),
        timer(io) {}

  redis::Client& redis;
  ChangeRecorder& recorder;
  const Clock& clock;
  const std::vector<std::string> subdistricts;
  prometheus::Family<prometheus::Gauge>& remaining;
  const Options options;
  boost::asio::steady_timer timer;
  std::atomic<bool> done{false};
  bool stopped = false;

  // The subdistrict being re-derived, and how far it got.
  size_t index = 0;
  long long next_rank = 0;
  std::deque<std::string> queue;
  int in_flight = 0;
  absl::Status failure;
  prometheus::Gauge* gauge = nullptr;

  const std::string& subdistrict() const { return subdistricts[index]; }

  // The next subdistrict without a mark.
  void Next() {
    if (stopped) {
      return;
    }
    if (index == subdistricts.size()) {
      done = true;
      return;
    }
    gauge = &remaining.Add({{"subdistrict", subdistrict()}});
    redis.Command({"GET", RederivedKey(subdistrict())},
                  [self = shared_from_this()](absl::StatusOr<redis::Reply> mark) {
                    if (!mark.ok() || mark->IsError()) {
                      self->Fail(mark.ok() ? mark->ErrorStatus() : mark.status());
                      return;
                    }
                    if (!mark->IsNil()) {
                      self->gauge->Set(0);
                      ++self->index;
                      self->Next();
                      return;
                    }
                    self->Begin();
                  });
  }

  void Begin() {
    spdlog::info("re-deriving the rollups of subdistrict {} from the event records", subdistrict());
    next_rank = 0;
    queue.clear();
    failure = absl::OkStatus();
    redis.Command(
        {"ZCARD", store::EventsIndexKey(subdistrict())},
        [self = shared_from_this()](absl::StatusOr<redis::Reply> count) {
          if (!count.ok() || !count->IsInteger()) {
            self->Fail(count.ok() ? count->Expect(redis::Reply::Type::kInteger) : count.status());
            return;
          }
          self->gauge->Set(static_cast<double>(count->integer));
          self->Fetch();
        });
  }

  // The next page of the time index. New events only add to it (those are counted live), so a
  // page boundary never skips an event, at worst repeats one.
  void Fetch() {
    if (stopped) {
      return;
    }
    redis.Command({"ZRANGE", store::EventsIndexKey(subdistrict()), std::to_string(next_rank),
                   std::to_string(next_rank + options.page - 1)},
                  [self = shared_from_this()](absl::StatusOr<redis::Reply> ids) {
                    if (!ids.ok() || !ids->IsArray()) {
                      self->Fail(ids.ok() ? ids->Expect(redis::Reply::Type::kArray) : ids.status());
                      return;
                    }
                    if (ids->elements.empty()) {
                      self->Finish();
                      return;
                    }
                    self->next_rank += static_cast<long long>(ids->elements.size());
                    for (const redis::Reply& id : ids->elements) {
                      self->queue.push_back(id.str);
                    }
                    self->Pump();
                  });
  }

  void Pump() {
    while (!stopped && in_flight < options.events_in_flight && !queue.empty()) {
      std::string id = std::move(queue.front());
      queue.pop_front();
      ++in_flight;
      Event(id, [self = shared_from_this()](absl::Status status) {
        --self->in_flight;
        if (!status.ok()) {
          self->failure = status;
        } else {
          self->gauge->Decrement();
        }
        if (self->in_flight > 0) {
          return;
        }
        if (!self->failure.ok()) {
          self->Fail(self->failure);
        } else if (self->queue.empty()) {
          self->Fetch();
        } else {
          self->Pump();
        }
      });
    }
  }

  // Counts every change of one event, then drops the event's version-1 bookkeeping.
  void Event(const std::string& id, std::function<void(absl::Status)> done) {
    redis.Command(
        {"LRANGE", store::HistoryKey(subdistrict(), id), "0", "-1"},
        [self = shared_from_this(), id, done = std::move(done)](absl::StatusOr<redis::Reply> list) {
          if (!list.ok() || !list->IsArray()) {
            done(list.ok() ? list->Expect(redis::Reply::Type::kArray) : list.status());
            return;
          }
          auto history = std::make_shared<const std::vector<v1::EventChange>>(ParseHistory(*list));
          struct Count {
            size_t left;
            absl::Status status;
          };
          auto count = std::make_shared<Count>(Count{history->size() + 1, absl::OkStatus()});
          auto finish = [self, id, count, done](absl::Status status) {
            if (!status.ok()) {
              count->status = status;
            }
            if (--count->left > 0) {
              return;
            }
            if (!count->status.ok()) {
              done(count->status);
              return;
            }
            self->redis.Command({"DEL", legacy::EventStateKey(self->subdistrict(), id)},
                                [done](absl::StatusOr<redis::Reply> deleted) {
                                  done(deleted.ok() ? deleted->ErrorStatus() : deleted.status());
                                });
          };
          for (const v1::EventChange& change : *history) {
            self->recorder.Rederive(change, *history, finish);
          }
          finish(absl::OkStatus());
        });
  }

  // Every event counted: the version-1 rollups go, and the mark is set.
  void Finish() {
    const std::string sd = subdistrict();
    redis.Command({"ZRANGE", legacy::RollupDaysKey(sd), "0", "-1"}, [self = shared_from_this(), sd](
                                                                        absl::StatusOr<redis::Reply>
                                                                            days) {
      if (!days.ok() || !days->IsArray()) {
        self->Fail(days.ok() ? days->Expect(redis::Reply::Type::kArray) : days.status());
        return;
      }
      // Keys of one subdistrict share its hash tag, so one DEL may take them all.
      std::vector<std::string> del = {"DEL", legacy::RollupDaysKey(sd), legacy::OpenEventsKey(sd)};
      for (const redis::Reply& day : days->elements) {
        del.push_back(legacy::DayRollupKey(sd, day.str));
      }
      self->redis.Command(std::move(del), [self, sd](absl::StatusOr<redis::Reply> deleted) {
        if (!deleted.ok() || deleted->IsError()) {
          self->Fail(deleted.ok() ? deleted->ErrorStatus() : deleted.status());
          return;
        }
        self->redis.Command({"SET", RederivedKey(sd), std::to_string(self->clock.Now())},
                            [self, sd](absl::StatusOr<redis::Reply> set) {
                              if (!set.ok() || set->IsError()) {
                                self->Fail(set.ok() ? set->ErrorStatus() : set.status());
                                return;
                              }
                              spdlog::info("rollups of subdistrict {} re-derived", sd);
                              self->gauge->Set(0);
                              ++self->index;
                              self->Next();
                            });
      });
    });
  }

  // Redis failed: the subdistrict starts again after a pause (counting is idempotent).
  void Fail(const absl::Status& status) {
    spdlog::warn("re-deriving the rollups of subdistrict {}: {}; trying again", subdistrict(),
                 status.ToString());
    if (stopped) {
      return;
    }
    timer.expires_after(options.retry_delay);
    timer.async_wait([self = shared_from_this()](boost::system::error_code error) {
      if (!error) {
        self->Next();
      }
    });
  }
};

Rederiver::Rederiver(boost::asio::io_context& io, redis::Client& redis, ChangeRecorder& recorder,
                     const Clock& clock, std::vector<std::string> subdistricts,
                     prometheus::Family<prometheus::Gauge>& remaining, Options options)
    : state_(std::make_shared<State>(io, redis, recorder, clock, std::move(subdistricts), remaining,
                                     options)) {}

Rederiver::~Rederiver() { Stop(); }

void Rederiver::Start() {
  boost::asio::post(state_->timer.get_executor(), [state = state_] { state->Next(); });
}

void Rederiver::Stop() {
  boost::asio::post(state_->timer.get_executor(), [state = state_] {
    state->stopped = true;
    state->timer.cancel();
  });
}

bool Rederiver::Done() const { return state_->done.load(); }

}  // namespace grid::metrics
