// What the benchmarks send and seed: plain functions of the topology and the policy, so that the
// shape of the load is testable without a stack.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock/clock.h"
#include "common/policy/policy.h"
#include "common/store/event_store.h"
#include "common/topology/topology.h"
#include "grid/v1/intake.pb.h"

namespace grid::loadgen {

// The ids of every grid, in topology order.
std::vector<std::string> GridIds(const topology::Topology& topology);

// A spread of categories for reports: the first small class (LLSS) of each large class of the
// policy, in policy order.
std::vector<std::string> SpreadCategories(const policy::Policy& policy);

// The i-th report of a dispatch run: grid i modulo the grids, category i modulo the categories,
// normal severity, no location (so that no report is merged into another as a duplicate), and a
// client request id unique to the run and the index. The actor is an operator at the district,
// who may report in any grid.
v1::ReportEventRequest DispatchReport(int index, const std::vector<std::string>& grids,
                                      const std::vector<std::string>& categories,
                                      const std::string& run_id, const std::string& district_id);

// The i-th report of an ingest run, filed by `worker` as the grid worker it is: in the worker's
// own grid, category i modulo the categories, normal severity, no location (no duplicate merge),
// and a client request id unique to the run and the index.
v1::ReportEventRequest WorkerReport(int index, const v1::Worker& worker,
                                    const std::vector<std::string>& categories,
                                    const std::string& run_id);

// The policy rule escalation seeds use: it starts at GRID level and counts wall-clock time, so a
// due time is exactly the accept deadline (working time would move it to office hours).
struct SeedRule {
  const v1::Rule* rule = nullptr;
  // A category whose reports the policy routes by this rule, and the severity that does it.
  std::string category;
  v1::Severity severity = v1::SEVERITY_NORMAL;
  // The rule's limits at GRID level.
  const v1::LevelLimit* grid_limit = nullptr;
};

// The first such rule for which a listed category and a severity match it; FAILED_PRECONDITION
// naming what is missing when the policy has none.
absl::StatusOr<SeedRule> PickSeedRule(const policy::Policy& policy);

// An event as intake files it (REPORTED, version 1) in `grid_id`, and its REPORTED change.
struct SeedEvent {
  v1::Event event;
  v1::EventChange change;
};
SeedEvent ReportedEvent(const std::string& id, const std::string& grid_id,
                        const std::string& subdistrict_id, const SeedRule& rule, Millis now);

// The dispatch of `reported` to its grid under the seed rule, as routing would make it at `now`,
// except that the accept deadline is `due`: the store then arms the event's escalation timer at
// `due` (store::TimerDue).
store::Move DispatchAt(const v1::Event& reported, const SeedRule& rule, Millis now, Millis due);

// When the seeded timers fall due: first a baseline window (few per second), then the load window
// (many per second), one after the other from a first due time; the rest of `total` stay pending
// far later, after the run is over.
class TimerPlan final {
 public:
  struct Window {
    int count = 0;
    double rate = 1;  // Per second.
  };
  // Far enough that nothing of a run reaches them: a week.
  static constexpr Millis kFarAhead = 7LL * 24 * 3600 * 1000;
  // Between the baseline window's last due time and the load window's first.
  static constexpr Millis kGap = 1000;

  TimerPlan(int total, Window baseline, Window load)
      : total_(total), baseline_(baseline), load_(load) {}

  int total() const { return total_; }
  int due_count() const { return baseline_.count + load_.count; }
  int pending_count() const { return total_ - due_count(); }
  const Window& baseline() const { return baseline_; }
  const Window& load() const { return load_; }

  // Whether the i-th timer that falls due belongs to the baseline window.
  bool InBaseline(int i) const { return i < baseline_.count; }
  // The due time of the i-th timer that falls due (0 <= i < due_count()), the baseline window's
  // first, when the first of all falls due at `first_due`.
  Millis Due(int i, Millis first_due) const;
  // The due time of the i-th timer that stays pending, 1 ms apart from `now` + kFarAhead.
  static Millis Pending(int i, Millis now) { return now + kFarAhead + i; }

 private:
  int total_;
  Window baseline_;
  Window load_;
};

}  // namespace grid::loadgen
