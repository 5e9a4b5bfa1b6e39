// Intake: files a report as an event and hands it to routing, exactly once per client request,
// merging duplicates of an open event instead of dispatching them again.
#pragma once

#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "common/clock/clock.h"
#include "common/policy/policy.h"
#include "common/redis/client.h"
#include "common/store/event_store.h"
#include "common/topology/topology.h"
#include "grid/v1/intake.pb.h"

namespace grid::intake {

// Threading: Report may be called from any thread; `done` runs on the store's thread.
class Intake final {
 public:
  using Done = std::function<void(absl::StatusOr<v1::ReportEventResponse>)>;

  struct Options {
    // Test only (grid-intake --test-stop-after-reservation): called right after a client request
    // id is reserved and before the event is filed, so that a crash test can stop the process at
    // exactly that point. Empty in service.
    std::function<void()> after_reservation;
  };

  // Borrows everything; all must outlive the Intake and every pending call.
  Intake(store::EventStore& store, const topology::Topology& topology, const policy::Policy& policy,
         const Clock& clock, Options options = {});

  // Validates the report (INVALID_ARGUMENT naming the field; nothing written), then:
  // - with a client request id, reserves it (per reporter, for any grid) for the new event; a
  //   key reserved before answers the event reserved first (replayed), filing it now if the
  //   attempt that reserved it never did (it died in between), whatever grid this report names;
  // - a report duplicating an open event (policy.duplicates) is filed VOIDED with duplicate_of
  //   set, the open event's duplicate count rises, and nothing is dispatched;
  // - otherwise it is filed REPORTED and appended to its subdistrict's routing stream.
  // The duplicate decision and the filing are one atomic step (see store::Filing): concurrent
  // reports, on any number of replicas, file exactly as they would one after another. Redis work
  // runs under `deadline` (the caller's; redis::DeadlineBefore); a store that cannot answer in
  // time is UNAVAILABLE, worth a retry with the same client request id.
  void Report(const v1::Report& report, const v1::Actor& actor, redis::Deadline deadline,
              Done done);

  // The event a valid report becomes, as of `now`, before it is stored. Exposed for tests.
  v1::Event NewEvent(const v1::Report& report, const v1::Actor& actor, Millis now) const;

 private:
  struct Filing;
  void Reserve(std::shared_ptr<Filing> filing);
  void Decide(std::shared_ptr<Filing> filing);
  void Merge(std::shared_ptr<Filing> filing, store::OpenNear near, const v1::Event& open);
  void Create(std::shared_ptr<Filing> filing, std::optional<store::OpenNear> near);
  void File(std::shared_ptr<Filing> filing, store::Filing step);
  // Answers with the event already filed under the filing's id (replayed).
  void Replay(std::shared_ptr<Filing> filing);

  store::EventStore& store_;
  const topology::Topology& topology_;
  const policy::Policy& policy_;
  const Clock& clock_;
  Options options_;
};

}  // namespace grid::intake
