// Intake: files a report as an event and hands it to routing, exactly once per client request,
// merging duplicates of an open event instead of dispatching them again.
#pragma once

#include <functional>
#include <memory>

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

  // Borrows everything; all must outlive the Intake and every pending call.
  Intake(store::EventStore& store, const topology::Topology& topology, const policy::Policy& policy,
         const Clock& clock);

  // Validates the report (INVALID_ARGUMENT naming the field; nothing written), then:
  // - a client request id seen before answers the event filed first (replayed), writing nothing;
  // - a report duplicating an open event (policy.duplicates) is filed VOIDED with duplicate_of
  //   set, the open event's duplicate count rises, and nothing is dispatched;
  // - otherwise it is filed REPORTED and appended to its subdistrict's routing stream.
  void Report(const v1::Report& report, const v1::Actor& actor, Done done);

  // The event a valid report becomes, as of `now`, before it is stored. Exposed for tests.
  v1::Event NewEvent(const v1::Report& report, const v1::Actor& actor, Millis now) const;

 private:
  struct Filing;
  void CheckRequest(std::shared_ptr<Filing> filing);
  void CheckDuplicates(std::shared_ptr<Filing> filing);
  void TryCandidate(std::shared_ptr<Filing> filing, std::vector<std::string> ids, size_t next);
  void Merge(std::shared_ptr<Filing> filing, const v1::Event& open);
  void CreateNew(std::shared_ptr<Filing> filing);
  void Replay(std::shared_ptr<Filing> filing, const std::string& event_id);
  // Answers a create or merge: the filed event, a replay, or `again` with a new id after a lost
  // race (up to a bound).
  void Settle(std::shared_ptr<Filing> filing, absl::StatusOr<store::CreateResult> result,
              const v1::Event& filed, std::function<void()> again);

  store::EventStore& store_;
  const topology::Topology& topology_;
  const policy::Policy& policy_;
  const Clock& clock_;
};

}  // namespace grid::intake
