// Reading the live streams ({sd}:live) forward, and tallying escalations against due times.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "common/clock/clock.h"
#include "common/redis/client.h"
#include "grid/v1/event.pb.h"

namespace grid::loadgen {

// Reads a set of streams forward (XRANGE, in pages), each from where the last read stopped.
// Threading: one thread, not the client's own (it waits for replies).
class LiveStreamReader final {
 public:
  // `client` must outlive the reader.
  LiveStreamReader(redis::Client& client, std::vector<std::string> streams);

  // Moves every cursor to its stream's current end: what is there now is never read.
  absl::Status SkipToEnd();
  // Hands every EventChange (field `c`) added since the last read to `sink`, oldest first per
  // stream; the number of entries read. DATA_LOSS for an entry that does not parse.
  absl::StatusOr<int> ReadNew(const std::function<void(const v1::EventChange&)>& sink);

 private:
  redis::Client& client_;
  std::vector<std::string> streams_;
  // Per stream, the id of the last entry read ("0-0" before any).
  std::vector<std::string> cursors_;
};

// Tallies CHANGE_KIND_ESCALATED changes against the events expected to escalate and their due
// times. Changes of other kinds are ignored.
class EscalationTally final {
 public:
  // Event id -> due time (UTC ms) of every event whose timer falls due in the run.
  explicit EscalationTally(absl::flat_hash_map<std::string, Millis> due);

  void Add(const v1::EventChange& change);

  int expected() const { return static_cast<int>(due_.size()); }
  // Expected events escalated at least once.
  int escalated() const { return static_cast<int>(first_.size()); }
  int missing() const { return expected() - escalated(); }
  // Expected events escalated more than once.
  int repeated() const { return repeated_; }
  // Escalations of events that were not expected to escalate (timers far in the future).
  int unexpected() const { return unexpected_; }
  // Per escalated event that `include` selects (every one when it is empty), its first
  // escalation's time minus its due time, ms.
  std::vector<double> LatenessMs(
      const std::function<bool(const std::string& event_id)>& include = nullptr) const;

 private:
  absl::flat_hash_map<std::string, Millis> due_;
  absl::flat_hash_map<std::string, Millis> first_;
  absl::flat_hash_map<std::string, int> times_;
  int repeated_ = 0;
  int unexpected_ = 0;
};

}  // namespace grid::loadgen
