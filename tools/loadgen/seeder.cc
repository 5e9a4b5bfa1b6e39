#include "tools/loadgen/seeder.h"

#include <condition_variable>
#include <mutex>

#include "absl/strings/str_cat.h"

namespace grid::loadgen {

struct Seeder::State {
  std::mutex mutex;
  std::condition_variable changed;
  int in_flight = 0;
  int seeded = 0;
  int failed = 0;
  absl::Status first_error;

  void Done(const absl::Status& status) {
    std::lock_guard lock(mutex);
    --in_flight;
    if (status.ok()) {
      ++seeded;
    } else if (failed++ == 0) {
      first_error = status;
    }
    changed.notify_all();
  }
};

Seeder::Seeder(store::EventStore& store, int window)
    : store_(store), window_(std::max(window, 1)), state_(std::make_shared<State>()) {}

absl::Status Seeder::Add(SeedEvent seed, store::Move dispatch, std::chrono::milliseconds timeout) {
  {
    std::unique_lock lock(state_->mutex);
    if (!state_->changed.wait_for(lock, timeout, [&] { return state_->in_flight < window_; })) {
      return absl::DeadlineExceededError(absl::StrCat(
          "seeding: ", state_->in_flight, " events unanswered for ", timeout.count(), " ms"));
    }
    ++state_->in_flight;
  }
  auto move = std::make_shared<store::Move>(std::move(dispatch));
  store::EventStore& store = store_;
  store_.Create(
      seed.event, seed.change,
      [state = state_, move, &store](absl::StatusOr<store::CreateResult> created) {
        if (!created.ok()) {
          state->Done(created.status());
          return;
        }
        if (created->outcome != store::CreateResult::Outcome::kCreated) {
          state->Done(absl::AlreadyExistsError(
              absl::StrCat("event ", move->event.id(), " was not created (outcome ",
                           static_cast<int>(created->outcome), ")")));
          return;
        }
        store.Apply(*move, [state,
                            id = move->event.id()](absl::StatusOr<store::MoveResult> applied) {
          if (!applied.ok()) {
            state->Done(applied.status());
          } else if (!applied->applied) {
            state->Done(absl::AbortedError(absl::StrCat(
                "event ", id, " moved on before its dispatch (version ", applied->version, ")")));
          } else {
            state->Done(absl::OkStatus());
          }
        });
      });
  return absl::OkStatus();
}

absl::Status Seeder::Wait(std::chrono::milliseconds timeout) {
  std::unique_lock lock(state_->mutex);
  if (!state_->changed.wait_for(lock, timeout, [&] { return state_->in_flight == 0; })) {
    return absl::DeadlineExceededError(absl::StrCat(
        "seeding: ", state_->in_flight, " events still unanswered after ", timeout.count(), " ms"));
  }
  if (state_->failed > 0) {
    return absl::Status(state_->first_error.code(),
                        absl::StrCat("seeding: ", state_->failed,
                                     " events failed, the first: ", state_->first_error.message()));
  }
  return absl::OkStatus();
}

int Seeder::seeded() const {
  std::lock_guard lock(state_->mutex);
  return state_->seeded;
}

}  // namespace grid::loadgen
