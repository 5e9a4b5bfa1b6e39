// Runs a lifecycle move against the store: read the event, decide the move on that version,
// apply it if the version still holds, and decide again on the new version when another move
// won the race. Two handlers accepting at once: one applies, the other decides again on the
// accepted event and gets FAILED_PRECONDITION naming its state.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/clock/clock.h"
#include "common/policy/calendar.h"
#include "common/store/event_store.h"
#include "grid/v1/event.pb.h"

namespace grid::lifecycle {

class MoveRunner final {
 public:
  // Decides the move for the event as read at `now`, or says why not.
  using Decide = std::function<absl::StatusOr<store::Move>(const v1::Event& event, Millis now)>;
  using Done = std::function<void(absl::StatusOr<v1::Event>)>;

  // Borrows all; they must outlive the runner and every pending call. `calendar` (nullable)
  // counts the traffic light of working-time limits.
  MoveRunner(store::EventStore& store, const Clock& clock,
             const policy::WorkingCalendar* calendar = nullptr)
      : store_(store), clock_(clock), calendar_(calendar) {}

  // `expected_version` 0 means any version; otherwise a move on another version fails with
  // ABORTED and nothing changes. `done` gets the event after the move (with its traffic light
  // as of now), NOT_FOUND for an unknown event, or the decision's error. Runs on the store's
  // thread.
  void Run(const std::string& event_id, std::int64_t expected_version, Decide decide, Done done);

 private:
  struct Attempt;
  void Try(std::shared_ptr<Attempt> attempt);

  store::EventStore& store_;
  const Clock& clock_;
  const policy::WorkingCalendar* calendar_;
};

}  // namespace grid::lifecycle
