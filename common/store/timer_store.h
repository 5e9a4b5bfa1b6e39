// The escalation timers in Redis: claiming the due ones, and re-arming one that was not due.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock/clock.h"
#include "common/redis/client.h"
#include "common/redis/script.h"

namespace grid::store {

struct DueTimer {
  std::string event_id;
  Millis due = 0;
};

// What one claim took, and when the subdistrict's next timer falls due.
struct Claimed {
  std::vector<DueTimer> timers;
  // The earliest timer left after the claim (one not yet due, or one just leased: it comes due
  // again when its lease ends); 0 when the subdistrict has no timer left.
  Millis next_due = 0;
};

// Threading as EventStore: callbacks run on the Redis client's thread, exactly once.
class TimerStore final {
 public:
  template <class T>
  using Callback = std::function<void(absl::StatusOr<T>)>;

  explicit TimerStore(redis::Client& client);

  // Atomically takes up to `max` timers of `subdistrict` due at `now`, pushing each `lease_ms`
  // ahead so that no other escalator takes it meanwhile (and it comes back if we die).
  void Claim(const std::string& subdistrict, Millis now, Millis lease_ms, int max,
             Callback<Claimed> done);
  // Sets the event's timer to `due` (0 removes it) if the event is still at `version`.
  void Rearm(const std::string& subdistrict, const std::string& event_id, std::int64_t version,
             Millis due, Callback<bool> done);

 private:
  redis::Client& client_;
  redis::Script claim_;
  redis::Script rearm_;
};

}  // namespace grid::store
