#include "services/intake/intake.h"

#include "absl/strings/str_cat.h"
#include "common/store/event_id.h"
#include "services/intake/report_validator.h"

namespace grid::intake {

Intake::Intake(store::EventStore& store, const topology::Topology& topology,
               const policy::Policy& policy, const Clock& clock)
    : store_(store), topology_(topology), policy_(policy), clock_(clock) {}

v1::Event Intake::NewEvent(const v1::Report& report, Millis now) const {
  const std::string subdistrict(topology_.SubdistrictOf(report.grid_id()));
  v1::Event event;
  event.set_id(store::NewEventId(subdistrict, now));
  event.set_client_request_id(report.client_request_id());
  event.set_reporter_id(report.reporter_id());
  event.set_grid_id(report.grid_id());
  event.set_subdistrict_id(subdistrict);
  if (report.has_location()) {
    *event.mutable_location() = report.location();
  }
  event.set_address(report.address());
  event.set_category(report.category());
  event.set_severity(report.severity());
  event.set_description(report.description());
  *event.mutable_media() = report.media();
  event.set_source(report.source() == v1::SOURCE_UNSPECIFIED ? v1::SOURCE_GRID_WORKER
                                                             : report.source());
  event.set_state(v1::EVENT_STATE_REPORTED);
  event.set_level(v1::LEVEL_GRID);
  event.set_version(1);
  // The reporter's own time is kept for offline uploads, but never later than receipt.
  const Millis reported =
      report.has_reported_at() ? std::min(FromTimestamp(report.reported_at()), now) : now;
  *event.mutable_reported_at() = ToTimestamp(reported);
  *event.mutable_created_at() = ToTimestamp(now);
  *event.mutable_updated_at() = ToTimestamp(now);
  return event;
}

void Intake::Report(const v1::Report& report, Done done) {
  if (auto status = ValidateReport(report, topology_, policy_); !status.ok()) {
    done(status);
    return;
  }
  const Millis now = clock_.Now();
  v1::Event event = NewEvent(report, now);

  v1::EventChange change;
  change.set_event_id(event.id());
  change.set_kind(v1::CHANGE_KIND_REPORTED);
  *change.mutable_at() = ToTimestamp(now);
  change.mutable_actor()->set_subject(report.reporter_id());
  change.mutable_actor()->set_role(v1::ROLE_WORKER);
  change.mutable_actor()->set_unit_id(report.grid_id());
  change.set_to_level(v1::LEVEL_GRID);
  change.set_to_unit_id(event.grid_id());
  change.set_to_state(v1::EVENT_STATE_REPORTED);
  change.set_version(1);
  change.set_grid_id(event.grid_id());
  change.set_subdistrict_id(event.subdistrict_id());
  change.set_category(event.category());
  change.set_severity(event.severity());

  auto shared = std::make_shared<v1::Event>(std::move(event));
  store_.Create(
      *shared, change, [shared, done = std::move(done)](absl::StatusOr<bool> created) mutable {
        if (!created.ok()) {
          done(created.status());
          return;
        }
        if (!*created) {
          done(absl::AbortedError(absl::StrCat("event id \"", shared->id(), "\" collided; retry")));
          return;
        }
        v1::ReportEventResponse response;
        response.set_event_id(shared->id());
        *response.mutable_event() = std::move(*shared);
        done(std::move(response));
      });
}

}  // namespace grid::intake
