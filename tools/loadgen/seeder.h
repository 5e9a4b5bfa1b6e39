// Seeds events through the event store, pipelined: many in flight, a bounded number.
#pragma once

#include <chrono>
#include <memory>

#include "absl/status/status.h"
#include "common/store/event_store.h"
#include "tools/loadgen/workload.h"

namespace grid::loadgen {

// Files events (Create) and dispatches them (Apply), keeping at most `window` events in flight:
// Add returns as soon as there is room, so the commands of many events share the connection's
// pipeline instead of waiting for one another.
//
// Threading: Add and Wait from one thread; the store's callbacks run on its client's thread.
// Lifetime: the store must outlive every callback; call Wait (until OK or timeout) before the
// store goes. The Seeder itself may go first: its callbacks hold their own state.
class Seeder final {
 public:
  Seeder(store::EventStore& store, int window);

  // Waits for room (at most `timeout`: DEADLINE_EXCEEDED), then sends the event's Create, and
  // its Apply once the Create is answered.
  absl::Status Add(SeedEvent seed, store::Move dispatch, std::chrono::milliseconds timeout);
  // Waits until every event sent is answered (at most `timeout`). OK when every one was filed and
  // dispatched; otherwise how many failed and the first failure.
  absl::Status Wait(std::chrono::milliseconds timeout);

  int seeded() const;

 private:
  struct State;
  store::EventStore& store_;
  int window_;
  std::shared_ptr<State> state_;
};

}  // namespace grid::loadgen
