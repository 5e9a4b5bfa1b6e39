#include "services/intake/intake.h"

#include "absl/strings/str_cat.h"
#include "common/lifecycle/moves.h"
#include "common/policy/deadlines.h"
#include "common/redis/reply.h"
#include "common/store/event_id.h"
#include "services/intake/duplicates.h"
#include "services/intake/report_validator.h"

namespace grid::intake {
namespace {

// How many times a filing may find its decision stale (or its id taken) and decide again. Each
// stale decision means another filing or move landed in between, so the system always makes
// progress; the bound only keeps one call from looping without end when it keeps losing.
constexpr int kMaxRounds = 64;

v1::EventChange ReportedChange(const v1::Event& event, const v1::Actor& actor, Millis now) {
  v1::EventChange change;
  change.set_event_id(event.id());
  change.set_kind(v1::CHANGE_KIND_REPORTED);
  *change.mutable_at() = ToTimestamp(now);
  *change.mutable_actor() = actor;
  if (change.actor().subject().empty()) {
    change.mutable_actor()->set_subject(event.reporter_id());
  }
  change.set_to_level(v1::LEVEL_GRID);
  change.set_to_unit_id(event.grid_id());
  change.set_to_state(event.state());
  change.set_version(event.version());
  change.set_grid_id(event.grid_id());
  change.set_subdistrict_id(event.subdistrict_id());
  change.set_category(event.category());
  change.set_severity(event.severity());
  return change;
}

}  // namespace

// One report on its way through the steps below; shared by their callbacks.
struct Intake::Filing {
  v1::Report report;
  v1::Actor actor;
  Done done;
  Millis now = 0;
  redis::Deadline deadline = redis::kNoDeadline;
  // The event to file: the new one, or the one an earlier attempt reserved under the same client
  // request id.
  v1::Event event;
  // The client request id had been reserved before this call: whatever it files or finds is
  // answered as replayed.
  bool replayed = false;
  int rounds = 0;

  void Answer(const v1::Event& filed) {
    v1::ReportEventResponse response;
    response.set_event_id(filed.id());
    response.set_duplicate_of(filed.duplicate_of());
    response.set_replayed(replayed);
    *response.mutable_event() = filed;
    done(std::move(response));
  }
};

Intake::Intake(store::EventStore& store, const topology::Topology& topology,
               const policy::Policy& policy, const Clock& clock, Options options)
    : store_(store),
      topology_(topology),
      policy_(policy),
      clock_(clock),
      options_(std::move(options)) {}

v1::Event Intake::NewEvent(const v1::Report& report, const v1::Actor& actor, Millis now) const {
  const std::string subdistrict(topology_.SubdistrictOf(report.grid_id()));
  v1::Event event;
  event.set_id(store::NewEventId(subdistrict, now));
  event.set_client_request_id(report.client_request_id());
  event.set_reporter_id(ReporterOf(report, actor));
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
  // The reporter's own time is kept for offline uploads, but never later than receipt (a clock
  // within the allowed skew ahead of ours; ValidateReport refuses more).
  const Millis reported =
      report.has_reported_at() ? std::min(FromTimestamp(report.reported_at()), now) : now;
  *event.mutable_reported_at() = ToTimestamp(reported);
  *event.mutable_created_at() = ToTimestamp(now);
  *event.mutable_updated_at() = ToTimestamp(now);
  return event;
}

void Intake::Report(const v1::Report& report, const v1::Actor& actor, redis::Deadline deadline,
                    Done done) {
  const Millis now = clock_.Now();
  if (auto status = ValidateReport(report, actor, topology_, policy_, now); !status.ok()) {
    done(status);
    return;
  }
  auto filing = std::make_shared<Filing>();
  filing->report = report;
  filing->actor = actor;
  filing->done = std::move(done);
  filing->now = now;
  filing->deadline = deadline;
  filing->event = NewEvent(report, actor, filing->now);
  if (filing->event.client_request_id().empty()) {
    Decide(std::move(filing));
  } else {
    Reserve(std::move(filing));
  }
}

void Intake::Reserve(std::shared_ptr<Filing> filing) {
  store_.Reserve(filing->event, filing->deadline,
                 [this, filing](absl::StatusOr<store::Reservation> reservation) {
                   if (!reservation.ok()) {
                     filing->done(reservation.status());
                     return;
                   }
                   if (reservation->made) {
                     if (options_.after_reservation) {
                       options_.after_reservation();
                     }
                     Decide(filing);
                     return;
                   }
                   // Seen before: the answer is the event reserved first, for whatever grid it was.
                   // If the attempt that reserved it died before filing it, file it now, under its
                   // reserved id.
                   filing->replayed = true;
                   filing->event = std::move(reservation->event);
                   store_.Get(filing->event.id(), filing->deadline,
                              [this, filing](absl::StatusOr<std::optional<v1::Event>> filed) {
                                if (!filed.ok()) {
                                  filing->done(filed.status());
                                } else if (filed->has_value()) {
                                  filing->Answer(**filed);
                                } else if (!filing->event.has_created_at()) {
                                  // Settled: it was filed, and its record is gone since.
                                  filing->done(absl::NotFoundError(absl::StrCat(
                                      "client_request_id: this request was filed as event ",
                                      filing->event.id(), ", which is no longer kept")));
                                } else {
                                  Decide(filing);
                                }
                              });
                 });
}

void Intake::Decide(std::shared_ptr<Filing> filing) {
  if (++filing->rounds > kMaxRounds) {
    // As busy as a store can be: UNAVAILABLE, worded as the store's (the gateway passes it on).
    filing->done(absl::UnavailableError(
        absl::StrCat(redis::kStoreUnavailable,
                     " (the open events near the report keep changing); retry later")));
    return;
  }
  const v1::DuplicateRule& rule =
      policy_.ForUnit(topology_, filing->event.grid_id()).data().duplicates();
  if (!rule.enabled() || !filing->event.has_location()) {
    Create(std::move(filing), std::nullopt);
    return;
  }
  store_.FindOpenNear(filing->event, rule.radius_meters(), filing->deadline,
                      [this, filing, rule = &rule](absl::StatusOr<store::OpenNear> near) {
                        if (!near.ok()) {
                          filing->done(near.status());
                          return;
                        }
                        // Nearest first; the first that passes the whole rule wins.
                        for (const std::optional<v1::Event>& open : near->events) {
                          if (open.has_value() && IsDuplicateOf(*open, filing->event, *rule)) {
                            const v1::Event target = *open;
                            Merge(filing, *std::move(near), target);
                            return;
                          }
                        }
                        Create(filing, *std::move(near));
                      });
}

void Intake::Merge(std::shared_ptr<Filing> filing, store::OpenNear near, const v1::Event& open) {
  v1::Event duplicate = filing->event;
  duplicate.set_state(v1::EVENT_STATE_VOIDED);
  duplicate.set_duplicate_of(open.id());
  *duplicate.mutable_closed_at() = ToTimestamp(filing->now);
  v1::EventChange change = ReportedChange(duplicate, filing->actor, filing->now);
  change.set_reason_code(v1::CHANGE_REASON_POLICY);
  change.set_reason(absl::StrCat("duplicate of ", open.id()));

  const lifecycle::Context context{topology_, policy_.ForUnit(topology_, open.grid_id()),
                                   filing->now, filing->actor};
  store::Move merged =
      lifecycle::BeginMove(open, context, v1::CHANGE_KIND_DUPLICATE_MERGED, open.state());
  merged.event.set_duplicate_count(open.duplicate_count() + 1);
  merged.change.set_to_level(open.level());
  merged.change.set_to_unit_id(open.unit_id());
  merged.change.set_to_state(open.state());
  merged.change.set_version(merged.event.version());
  merged.change.set_reason(absl::StrCat("duplicate report ", duplicate.id()));
  merged.yellow_at =
      policy::YellowAt(merged.event.deadlines(), merged.event.state(), context.policy.calendar());

  store::Filing step;
  step.event = std::move(duplicate);
  step.change = std::move(change);
  step.decided_on = std::move(near);
  step.merge = std::move(merged);
  File(std::move(filing), std::move(step));
}

void Intake::Create(std::shared_ptr<Filing> filing, std::optional<store::OpenNear> near) {
  store::Filing step;
  step.event = filing->event;
  step.change = ReportedChange(filing->event, filing->actor, filing->now);
  step.decided_on = std::move(near);
  File(std::move(filing), std::move(step));
}

void Intake::File(std::shared_ptr<Filing> filing, store::Filing step) {
  auto filed = std::make_shared<v1::Event>(step.event);
  store_.File(
      step, filing->deadline, [this, filing, filed](absl::StatusOr<store::CreateResult> result) {
        if (!result.ok()) {
          filing->done(result.status());
          return;
        }
        switch (result->outcome) {
          case store::CreateResult::Outcome::kCreated:
            filing->Answer(*filed);
            // The record holds the event now: its reservation need only find it.
            store_.Settle(*filed);
            return;
          case store::CreateResult::Outcome::kExists:
            if (!filing->event.client_request_id().empty()) {
              // Filed under its reserved id by another attempt of the same request.
              filing->replayed = true;
              Replay(filing);
            } else {
              // A fresh id that collided: take another.
              filing->event.set_id(store::NewEventId(filing->event.subdistrict_id(), filing->now));
              Decide(filing);
            }
            return;
          case store::CreateResult::Outcome::kStale:
            // Another report or move near it landed first: decide on what is there now.
            Decide(filing);
            return;
        }
      });
}

void Intake::Replay(std::shared_ptr<Filing> filing) {
  const std::string id = filing->event.id();
  store_.Get(id, filing->deadline, [filing, id](absl::StatusOr<std::optional<v1::Event>> event) {
    if (!event.ok()) {
      filing->done(event.status());
      return;
    }
    if (!event->has_value() || (*event)->client_request_id() != filing->event.client_request_id() ||
        (*event)->reporter_id() != filing->event.reporter_id()) {
      // Only an id collision between two different requests could get here.
      filing->done(absl::InternalError(
          absl::StrCat("report: event id ", id, " is taken by another request; retry")));
      return;
    }
    filing->Answer(**event);
  });
}

}  // namespace grid::intake
