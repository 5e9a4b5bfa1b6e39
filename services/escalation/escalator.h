// The escalation clock: claims due timers of every subdistrict and applies what they call for
// (escalate one level up, or remind at DISTRICT level). Any number of escalators may run: a
// claim is atomic, and a move only applies to the version it was decided on. In-flight work is
// bounded (Options::max_in_flight).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/clock/clock.h"
#include "common/policy/policy.h"
#include "common/store/event_store.h"
#include "common/store/timer_store.h"
#include "common/topology/topology.h"

namespace grid::escalation {

struct EscalatorMetrics {
  explicit EscalatorMetrics(prometheus::Registry& registry);

  // grid_escalations_total{from_level, reason}: automatic escalations and reminders.
  prometheus::Family<prometheus::Counter>& escalations;
  // grid_escalation_lateness_seconds: from a timer's due moment to its move being applied.
  prometheus::Histogram& lateness;
  // grid_escalation_timers_total{outcome}: claimed timers by what became of them (moved,
  // rearmed, failed).
  prometheus::Family<prometheus::Counter>& timers;
};

class Escalator final {
 public:
  struct Options {
    // How often the clock looks for due timers when the last look found few.
    std::chrono::milliseconds tick{50};
    // How long a claimed timer is ours before another escalator may take it.
    std::chrono::milliseconds lease{30000};
    // Timers claimed per subdistrict per look.
    int batch = 200;
    // Claimed timers being handled (read, decided, moved) at most. A look claims only what fits;
    // when the bound is reached, the next look waits until half of them are done. So a burst
    // (after an outage, or 08:30 on a Monday when many working-hour limits fall due together)
    // is worked through at the pace Redis answers, memory stays bounded, and no handle lasts
    // anywhere near the lease, after which another escalator would claim the timer again.
    int max_in_flight = 2000;
    // Claims a second at most over all subdistricts when nothing is due. A subdistrict is looked
    // at when its earliest timer falls due (each claim says when that is), and besides that
    // again after max(tick, subdistricts / claims_per_second), for the timers routing set since:
    // Laoshan's 5 subdistricts every tick as before, a province's 765 about every 0.8 s instead
    // of 15,300 claims a second. A timer set after a look and due before the next is late by at
    // most that much.
    int claims_per_second = 1000;
  };

  // Borrows everything; all must outlive the escalator, which must be stopped (and its Redis
  // client stopped) before it is destroyed.
  Escalator(boost::asio::io_context& io, store::EventStore& store, store::TimerStore& timers,
            const topology::Topology& topology, const policy::Policy& policy, const Clock& clock,
            EscalatorMetrics& metrics, Options options);
  ~Escalator();

  void Start();
  void Stop();
  // For a clean exit: claims nothing more, finishes the timers in hand and calls `done` (on the
  // io thread). A claimed timer it could not finish comes back to any escalator when its lease
  // ends.
  void Drain(std::function<void()> done);

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace grid::escalation
