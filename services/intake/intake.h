// Intake: files a report as an event and hands it to routing.
#pragma once

#include <functional>

#include "absl/status/statusor.h"
#include "common/clock/clock.h"
#include "common/policy/policy.h"
#include "common/store/event_store.h"
#include "common/topology/topology.h"
#include "grid/v1/intake.pb.h"

namespace grid::intake {

// Threading: Report may be called from any thread; `done` runs on the store's thread.
class Intake final {
 public:
  using Done = std::function<void(absl::StatusOr<v1::ReportEventResponse>)>;

  // Borrows everything; all must outlive the Intake.
  Intake(store::EventStore& store, const topology::Topology& topology, const policy::Policy& policy,
         const Clock& clock);

  // Validates the report (INVALID_ARGUMENT naming the field, nothing written), files it as a
  // REPORTED event with its first change, and appends it to its subdistrict's routing stream.
  void Report(const v1::Report& report, Done done);

  // The event a valid report becomes, as of `now`, before it is stored. Exposed for tests.
  v1::Event NewEvent(const v1::Report& report, Millis now) const;

 private:
  store::EventStore& store_;
  const topology::Topology& topology_;
  const policy::Policy& policy_;
  const Clock& clock_;
};

}  // namespace grid::intake
