// Re-derives a subdistrict's rollups from the event records, once per subdistrict.
//
// Why: rollups used to count UTC days under the keys "{sd}:mx:..."; they count the policy
// calendar's local days now, under "{sd}:mx2:...". A UTC day's counts cannot be split into local
// days, but every event keeps its whole history ({sd}:hist:<id>), and every event is in its
// subdistrict's time index ({sd}:events), so the local-day rollups are re-derived exactly from
// the records: each change of each event is counted through ChangeRecorder::Rederive, the same
// counting as a live entry's. On a fresh deployment there is nothing to re-derive and the mark
// is set at once.
//
// Counting is idempotent per event version, so the live consumer may count the same changes at
// the same time, another replica may re-derive the same subdistrict, and a re-derivation cut
// short (a crash, Redis gone) simply runs again. Once a subdistrict is done its mark is set
// (RederivedKey) and its version-1 keys are deleted; until then GetStats answers UNAVAILABLE for
// it rather than give partial counts.
#pragma once

#include <prometheus/gauge.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/clock/clock.h"
#include "common/redis/client.h"
#include "services/metrics/change_recorder.h"

namespace grid::metrics {

// Threading: everything runs on the Redis client's executor and the io_context's thread (the
// same thread in the service); Start and Stop post to it.
class Rederiver final {
 public:
  struct Options {
    // Events whose changes are being counted at once.
    int events_in_flight = 32;
    // Event ids read from the time index at once.
    int page = 500;
    // Wait before trying again after Redis failed.
    std::chrono::milliseconds retry_delay{1000};
  };

  // `remaining` is the gauge family for the events left, by subdistrict. Everything borrowed must
  // outlive the Rederiver, which must be stopped before it is destroyed.
  Rederiver(boost::asio::io_context& io, redis::Client& redis, ChangeRecorder& recorder,
            const Clock& clock, std::vector<std::string> subdistricts,
            prometheus::Family<prometheus::Gauge>& remaining, Options options);
  ~Rederiver();

  // Re-derives every subdistrict that has no mark yet, one after the other.
  void Start();
  void Stop();
  // Whether every subdistrict is marked (by this process or another).
  bool Done() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace grid::metrics
