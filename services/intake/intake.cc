#include "services/intake/intake.h"

#include "absl/strings/str_cat.h"
#include "common/lifecycle/moves.h"
#include "common/store/event_id.h"
#include "services/intake/duplicates.h"
#include "services/intake/report_validator.h"

namespace grid::intake {
namespace {

// A lost race (an id collision, an open event that moved while a duplicate was merged) is tried
// again from the top this many times.
constexpr int kMaxAttempts = 4;

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
  v1::Event event;
  int attempts = 0;
};

Intake::Intake(store::EventStore& store, const topology::Topology& topology,
               const policy::Policy& policy, const Clock& clock)
    : store_(store), topology_(topology), policy_(policy), clock_(clock) {}

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

void Intake::Report(const v1::Report& report, const v1::Actor& actor, Done done) {
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
  filing->event = NewEvent(report, actor, filing->now);
  CheckRequest(std::move(filing));
}

void Intake::CheckRequest(std::shared_ptr<Filing> filing) {
  const v1::Event& event = filing->event;
  if (event.client_request_id().empty()) {
    CheckDuplicates(std::move(filing));
    return;
  }
  // A cheap read first; the create script checks again atomically.
  store_.FindRequest(event.subdistrict_id(), event.reporter_id(), event.client_request_id(),
                     [this, filing](absl::StatusOr<std::optional<std::string>> first) {
                       if (!first.ok()) {
                         filing->done(first.status());
                       } else if (first->has_value()) {
                         Replay(filing, **first);
                       } else {
                         CheckDuplicates(filing);
                       }
                     });
}

void Intake::CheckDuplicates(std::shared_ptr<Filing> filing) {
  const v1::DuplicateRule& rule = policy_.data().duplicates();
  if (!rule.enabled() || !filing->event.has_location()) {
    CreateNew(std::move(filing));
    return;
  }
  store_.FindOpenNear(filing->event, rule.radius_meters(),
                      [this, filing](absl::StatusOr<std::vector<std::string>> ids) {
                        if (!ids.ok()) {
                          filing->done(ids.status());
                          return;
                        }
                        TryCandidate(filing, *std::move(ids), 0);
                      });
}

// Candidates come nearest first; the first that passes the whole rule wins.
void Intake::TryCandidate(std::shared_ptr<Filing> filing, std::vector<std::string> ids,
                          size_t next) {
  if (next == ids.size()) {
    CreateNew(std::move(filing));
    return;
  }
  const std::string id = ids[next];
  store_.Get(id, [this, filing, ids = std::move(ids),
                  next](absl::StatusOr<std::optional<v1::Event>> open) mutable {
    if (!open.ok()) {
      filing->done(open.status());
      return;
    }
    if (open->has_value() && IsDuplicateOf(**open, filing->event, policy_.data().duplicates())) {
      Merge(filing, **open);
      return;
    }
    TryCandidate(filing, std::move(ids), next + 1);
  });
}

void Intake::Merge(std::shared_ptr<Filing> filing, const v1::Event& open) {
  v1::Event duplicate = filing->event;
  duplicate.set_state(v1::EVENT_STATE_VOIDED);
  duplicate.set_duplicate_of(open.id());
  *duplicate.mutable_closed_at() = ToTimestamp(filing->now);
  v1::EventChange change = ReportedChange(duplicate, filing->actor, filing->now);
  change.set_reason_code(v1::CHANGE_REASON_POLICY);
  change.set_reason(absl::StrCat("duplicate of ", open.id()));

  const lifecycle::Context context{topology_, policy_, filing->now, filing->actor};
  store::Move merged =
      lifecycle::BeginMove(open, context, v1::CHANGE_KIND_DUPLICATE_MERGED, open.state());
  merged.event.set_duplicate_count(open.duplicate_count() + 1);
  merged.change.set_to_level(open.level());
  merged.change.set_to_unit_id(open.unit_id());
  merged.change.set_to_state(open.state());
  merged.change.set_version(merged.event.version());
  merged.change.set_reason(absl::StrCat("duplicate report ", duplicate.id()));

  store_.MergeDuplicate(duplicate, change, merged,
                        [this, filing, duplicate](absl::StatusOr<store::CreateResult> result) {
                          Settle(filing, std::move(result), duplicate,
                                 [this, filing] { CheckDuplicates(filing); });
                        });
}

void Intake::CreateNew(std::shared_ptr<Filing> filing) {
  const v1::EventChange change = ReportedChange(filing->event, filing->actor, filing->now);
  store_.Create(filing->event, change, [this, filing](absl::StatusOr<store::CreateResult> result) {
    Settle(filing, std::move(result), filing->event, [this, filing] { CreateNew(filing); });
  });
}

void Intake::Settle(std::shared_ptr<Filing> filing, absl::StatusOr<store::CreateResult> result,
                    const v1::Event& filed, std::function<void()> again) {
  if (!result.ok()) {
    filing->done(result.status());
    return;
  }
  switch (result->outcome) {
    case store::CreateResult::Outcome::kCreated: {
      v1::ReportEventResponse response;
      response.set_event_id(filed.id());
      response.set_duplicate_of(filed.duplicate_of());
      *response.mutable_event() = filed;
      filing->done(std::move(response));
      return;
    }
    case store::CreateResult::Outcome::kReplayed:
      Replay(filing, result->event_id);
      return;
    case store::CreateResult::Outcome::kIdTaken:
    case store::CreateResult::Outcome::kOpenEventMoved:
      // A lost race: an id collision, or the open event moved while a duplicate was merged.
      if (++filing->attempts >= kMaxAttempts) {
        filing->done(absl::AbortedError(
            "report: lost too many races filing it; retry with the same client_request_id"));
        return;
      }
      filing->event.set_id(store::NewEventId(filing->event.subdistrict_id(), filing->now));
      again();
      return;
  }
}

void Intake::Replay(std::shared_ptr<Filing> filing, const std::string& event_id) {
  store_.Get(event_id, [filing, event_id](absl::StatusOr<std::optional<v1::Event>> event) {
    if (!event.ok()) {
      filing->done(event.status());
      return;
    }
    v1::ReportEventResponse response;
    response.set_event_id(event_id);
    response.set_replayed(true);
    if (event->has_value()) {
      response.set_duplicate_of((*event)->duplicate_of());
      *response.mutable_event() = **event;
    }
    filing->done(std::move(response));
  });
}

}  // namespace grid::intake
