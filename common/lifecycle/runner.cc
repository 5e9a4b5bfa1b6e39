#include "common/lifecycle/runner.h"

#include "absl/strings/str_cat.h"
#include "common/input/text.h"
#include "common/policy/deadlines.h"

namespace grid::lifecycle {
namespace {

// Each lost race means another move landed in between; a handful of them on one event within
// one call means a storm, which the caller may retry.
constexpr int kMaxAttempts = 8;

}  // namespace

struct MoveRunner::Attempt {
  std::string event_id;
  std::int64_t expected_version = 0;
  Decide decide;
  Done done;
  int tries = 0;
};

void MoveRunner::Run(const std::string& event_id, std::int64_t expected_version, Decide decide,
                     Done done) {
  if (event_id.empty()) {
    done(absl::InvalidArgumentError("event_id: required"));
    return;
  }
  auto attempt = std::make_shared<Attempt>();
  attempt->event_id = event_id;
  attempt->expected_version = expected_version;
  attempt->decide = std::move(decide);
  attempt->done = std::move(done);
  Try(std::move(attempt));
}

void MoveRunner::Try(std::shared_ptr<Attempt> attempt) {
  store_.Get(attempt->event_id, [this, attempt](absl::StatusOr<std::optional<v1::Event>> read) {
    if (!read.ok()) {
      attempt->done(read.status());
      return;
    }
    if (!read->has_value()) {
      attempt->done(absl::NotFoundError(
          absl::StrCat("event ", input::Quote(attempt->event_id), " not found")));
      return;
    }
    const v1::Event& event = **read;
    if (attempt->expected_version != 0 && event.version() != attempt->expected_version) {
      attempt->done(
          absl::AbortedError(absl::StrCat("event ", event.id(), " is at version ", event.version(),
                                          ", not ", attempt->expected_version)));
      return;
    }
    const Millis now = clock_.Now();
    absl::StatusOr<store::Move> move = attempt->decide(event, now);
    if (!move.ok()) {
      attempt->done(move.status());
      return;
    }
    auto applied = std::make_shared<store::Move>(*std::move(move));
    store_.Apply(*applied, [this, attempt, applied, now](absl::StatusOr<store::MoveResult> result) {
      if (!result.ok()) {
        attempt->done(result.status());
        return;
      }
      if (result->applied) {
        v1::Event& event = applied->event;
        event.set_traffic_light(
            policy::TrafficLightAt(event.deadlines(), event.state(), now, calendar_));
        attempt->done(std::move(event));
        return;
      }
      if (attempt->expected_version != 0) {
        attempt->done(absl::AbortedError(
            absl::StrCat("event ", attempt->event_id, " moved on to version ", result->version)));
        return;
      }
      if (++attempt->tries >= kMaxAttempts) {
        attempt->done(absl::AbortedError(
            absl::StrCat("event ", attempt->event_id, ": too many concurrent moves; retry")));
        return;
      }
      Try(attempt);
    });
  });
}

}  // namespace grid::lifecycle
