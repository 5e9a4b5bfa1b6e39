#include "services/escalation/escalator.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>

#include "absl/strings/str_cat.h"
#include "common/lifecycle/escalation.h"
#include "common/log/throttle.h"
#include "common/store/event_id.h"
#include "common/store/timers.h"
#include "common/topology/topology.h"

namespace grid::escalation {
namespace {

// A due timer's move lost a version race this many times in a row: leave it to the lease.
constexpr int kMaxAttempts = 5;

std::string ReasonLabel(v1::ChangeReason reason) {
  return reason == v1::CHANGE_REASON_ACCEPT_TIMEOUT ? "accept_timeout" : "resolve_timeout";
}

}  // namespace

EscalatorMetrics::EscalatorMetrics(prometheus::Registry& registry)
    : escalations(prometheus::BuildCounter()
                      .Name("grid_escalations_total")
                      .Help("Automatic moves of the escalation clock, by level and reason")
                      .Register(registry)),
      lateness(prometheus::BuildHistogram()
                   .Name("grid_escalation_lateness_seconds")
                   .Help("From a timer's due moment to its move being applied")
                   .Register(registry)
                   .Add({}, prometheus::Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1,
                                                                    0.25, 0.5, 1, 2.5, 5, 10, 30})),
      timers(prometheus::BuildCounter()
                 .Name("grid_escalation_timers_total")
                 .Help("Claimed escalation timers by outcome")
                 .Register(registry)) {}

// Everything runs on the io thread (the Redis client's); callbacks hold the state alive.
struct Escalator::State : std::enable_shared_from_this<State> {
  State(boost::asio::io_context& io, store::EventStore& store, store::TimerStore& timers,
        const topology::Topology& topology, const policy::Policy& policy, const Clock& clock,
        EscalatorMetrics& metrics, Options options)
      : store(store),
        timers(timers),
        topology(topology),
        policy(policy),
        clock(clock),
        metrics(metrics),
        options(options),
        tick(io),
        next_look(topology.subdistrict_ids().size(), 0) {}

  store::EventStore& store;
  store::TimerStore& timers;
  const topology::Topology& topology;
  const policy::Policy& policy;
  const Clock& clock;
  EscalatorMetrics& metrics;
  Options options;
  boost::asio::steady_timer tick;
  // When to claim each subdistrict's timers next (UTC ms; by subdistrict_ids' order): its
  // earliest timer's due moment, or the recheck (RecheckMs) when that is later or there is none.
  std::vector<Millis> next_look;
  bool stopped = false;
  // Timers claimed and being handled; at most options.max_in_flight. A claim outstanding, and
  // what Drain waits on.
  int in_flight = 0;
  bool looking = false;
  std::function<void()> drained;
  // The last look found no room: the release that brings in_flight down to half looks again.
  bool waiting_for_room = false;
  // Looks in a row whose claims all failed (Redis unreachable): the next one waits longer.
  int failed_looks = 0;
  log::Throttle claim_log;

  // Held by every callback of one claimed timer's handling; the last one gone frees its place.
  struct Handling {
    explicit Handling(std::shared_ptr<State> state) : state(std::move(state)) {
      ++this->state->in_flight;
    }
    ~Handling() { state->Release(); }
    std::shared_ptr<State> state;
  };
  using HandlingPtr = std::shared_ptr<Handling>;

  void Release() {
    --in_flight;
    if (stopped) {
      MaybeDrained();
      return;
    }
    if (waiting_for_room && in_flight <= options.max_in_flight / 2) {
      waiting_for_room = false;
      // Not from inside the callback that let go of the place.
      boost::asio::post(tick.get_executor(), [self = shared_from_this()] {
        if (!self->stopped) {
          self->Look();
        }
      });
    }
  }

  void MaybeDrained() {
    if (drained != nullptr && !looking && in_flight == 0) {
      std::function<void()> done = std::move(drained);
      drained = nullptr;
      done();
    }
  }

  void StartDrain(std::function<void()> done) {
    stopped = true;
    tick.cancel();
    drained = std::move(done);
    MaybeDrained();
  }

  void Schedule(std::chrono::milliseconds delay) {
    tick.expires_after(delay);
    tick.async_wait([self = shared_from_this()](boost::system::error_code error) {
      if (!error && !self->stopped) {
        self->Look();
      }
    });
  }

  // How long a subdistrict without a timer due sooner waits for its next look.
  Millis RecheckMs() const {
    const auto count = static_cast<Millis>(topology.subdistrict_ids().size());
    const Millis spread =
        options.claims_per_second > 0 ? count * 1000 / options.claims_per_second : 0;
    return std::max<Millis>(options.tick.count(), spread);
  }

  // One look at the subdistricts whose next look has come (see next_look), claiming only what
  // fits under max_in_flight; the next look follows at once when a batch came back full and there
  // is room, when room is made (see Release) when there is none, at the earliest next look
  // otherwise (at least a tick away), and later and later (up to a second) while every claim
  // fails.
  void Look() {
    const auto& subdistricts = topology.subdistrict_ids();
    const int room = options.max_in_flight - in_flight;
    if (room <= 0) {
      waiting_for_room = true;
      return;
    }
    // A fair share of the room per subdistrict, so that one backlog cannot take it all.
    const int share = std::max(
        1, std::min(options.batch, room / std::max<int>(1, static_cast<int>(subdistricts.size()))));
    struct Round {
      size_t looked = 0;
      size_t left = 0;
      bool full = false;
      size_t failed = 0;
      std::string why;
    };
    auto round = std::make_shared<Round>();
    const Millis now = clock.Now();
    std::vector<size_t> due;
    for (size_t i = 0; i < subdistricts.size(); ++i) {
      if (next_look[i] <= now) {
        due.push_back(i);
      }
    }
    if (due.empty()) {
      Looked(*round);
      return;
    }
    round->looked = round->left = due.size();
    looking = true;
    const Millis recheck = now + RecheckMs();
    for (const size_t i : due) {
      timers.Claim(subdistricts[i], now, options.lease.count(), share,
                   [self = shared_from_this(), round, share, i, now,
                    recheck](absl::StatusOr<store::Claimed> claimed) {
                     if (!claimed.ok()) {
                       ++round->failed;
                       round->why = claimed.status().ToString();
                       self->next_look[i] = now;  // Again with the next look.
                     } else {
                       const bool full = static_cast<int>(claimed->timers.size()) == share;
                       round->full = round->full || full;
                       const Millis next_due = claimed->next_due;
                       self->next_look[i] =
                           full ? now : (next_due > 0 ? std::min(next_due, recheck) : recheck);
                       for (const store::DueTimer& timer : claimed->timers) {
                         self->Handle(timer, 1, std::make_shared<Handling>(self));
                       }
                     }
                     if (--round->left > 0) {
                       return;
                     }
                     self->looking = false;
                     self->Looked(*round);
                   });
    }
  }

  template <class Round>
  void Looked(const Round& round) {
    if (round.failed == 0) {
      failed_looks = 0;
      claim_log.Clear("claiming escalation timers");
    } else {
      claim_log.Warn(absl::StrCat("claiming escalation timers (", round.failed, " of ",
                                  round.looked, " subdistricts looked at): ", round.why));
      if (round.failed == round.looked) {
        ++failed_looks;
      }
    }
    if (stopped) {
      MaybeDrained();
      return;
    }
    if (round.full && in_flight >= options.max_in_flight) {
      waiting_for_room = true;
      return;
    }
    std::chrono::milliseconds next = std::chrono::milliseconds(0);
    if (!round.full) {
      // The earliest next look, but at least a tick away.
      const Millis now = clock.Now();
      Millis earliest = now + RecheckMs();
      for (const Millis at : next_look) {
        earliest = std::min(earliest, at);
      }
      next = std::max(options.tick, std::chrono::milliseconds(earliest - now));
    }
    if (failed_looks > 0) {
      next = std::min<std::chrono::milliseconds>(options.tick * (1LL << std::min(failed_looks, 10)),
                                                 std::chrono::seconds(1));
    }
    Schedule(next);
  }

  void Handle(const store::DueTimer& timer, int attempt, HandlingPtr handling) {
    store.Get(timer.event_id, [self = shared_from_this(), timer, attempt,
                               handling](absl::StatusOr<std::optional<v1::Event>> read) {
      if (!read.ok()) {
        // Left claimed: the lease brings it back.
        self->metrics.timers.Add({{"outcome", "failed"}}).Increment();
        return;
      }
      const std::string sd(store::SubdistrictOfEventId(timer.event_id).value_or(""));
      if (!read->has_value()) {
        self->timers.Rearm(sd, timer.event_id, 0, 0, [handling](absl::StatusOr<bool>) {});
        return;
      }
      const v1::Event& event = **read;
      const Millis now = self->clock.Now();
      const lifecycle::Context context{
          self->topology, self->policy.ForUnit(self->topology, event.grid_id()), now, v1::Actor()};
      std::optional<store::Move> move = lifecycle::OnTimer(event, context);
      if (!move) {
        // Not due (the event moved on, or the clock was pushed back): put the timer where the
        // event's clock says, unless a move got there first.
        self->metrics.timers.Add({{"outcome", "rearmed"}}).Increment();
        self->timers.Rearm(sd, event.id(), event.version(), store::TimerDue(event),
                           [handling](absl::StatusOr<bool>) {});
        return;
      }
      const std::string from_level(topology::LevelName(event.level()));
      const std::string reason = ReasonLabel(move->change.reason_code());
      const std::string kind =
          move->change.kind() == v1::CHANGE_KIND_ESCALATED ? "escalated" : "reminded";
      self->store.Apply(*move, [self, timer, attempt, from_level, reason, kind,
                                handling](absl::StatusOr<store::MoveResult> result) {
        if (!result.ok()) {
          self->metrics.timers.Add({{"outcome", "failed"}}).Increment();
          return;
        }
        if (!result->applied) {
          // Another move landed in between (an accept, a manual escalation): decide again.
          if (attempt < kMaxAttempts) {
            self->Handle(timer, attempt + 1, handling);
          }
          return;
        }
        self->metrics.timers.Add({{"outcome", "moved"}}).Increment();
        self->metrics.escalations
            .Add({{"from_level", from_level}, {"reason", reason}, {"kind", kind}})
            .Increment();
        self->metrics.lateness.Observe(
            static_cast<double>(std::max<Millis>(0, self->clock.Now() - timer.due)) / 1000.0);
      });
    });
  }
};

Escalator::Escalator(boost::asio::io_context& io, store::EventStore& store,
                     store::TimerStore& timers, const topology::Topology& topology,
                     const policy::Policy& policy, const Clock& clock, EscalatorMetrics& metrics,
                     Options options)
    : state_(
          std::make_shared<State>(io, store, timers, topology, policy, clock, metrics, options)) {}

Escalator::~Escalator() { Stop(); }

void Escalator::Start() {
  boost::asio::post(state_->tick.get_executor(), [state = state_] { state->Look(); });
}

void Escalator::Drain(std::function<void()> done) {
  boost::asio::post(
      state_->tick.get_executor(),
      [state = state_, done = std::move(done)]() mutable { state->StartDrain(std::move(done)); });
}

void Escalator::Stop() {
  boost::asio::post(state_->tick.get_executor(), [state = state_] {
    state->stopped = true;
    state->tick.cancel();
  });
}

}  // namespace grid::escalation
