// GetStats from the rollups: reads the day hashes of the window and the open events of every
// subdistrict concerned, and sums them by group over the requested unit subtree.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock/clock.h"
#include "common/policy/policy.h"
#include "common/redis/client.h"
#include "common/topology/topology.h"
#include "grid/v1/event.pb.h"
#include "grid/v1/metrics.pb.h"
#include "services/metrics/rollup.h"

namespace grid::metrics {

// One open event as the snapshot sees it.
struct OpenEvent {
  std::string subdistrict;
  std::string unit_id;
  int level = 0;
  std::string category_class;
  int severity = 0;
  int state = 0;
  int light = 0;
  bool overdue = false;
};

// Which group a count belongs to, by the requested dimensions (rows keyed by dimension name:
// "level", "subdistrict", "category_class", "severity", "unit", "district"). The unit dimension is
// the child of `root_id` on the unit's path (the root itself for the root's own counts).
std::map<std::string, std::string> GroupOf(const std::vector<v1::StatsDimension>& dimensions,
                                           const topology::Topology& topology,
                                           const std::string& root_id, const std::string& unit_id,
                                           const std::string& subdistrict,
                                           const std::string& category_class, int severity);

// Fills a row's counts and scores.
void FillRow(const Counts& counts, v1::StatsRow& row);

// The whole local days a request asks for at `now`: the days from/to touch, first_day to
// last_day, or the last `last_days` days up to today. INVALID_ARGUMENT naming the field at fault
// (an unreadable date, an empty window, more than one way of giving it).
absl::StatusOr<DayWindow> ResolveWindow(const v1::GetStatsRequest& request, Millis now,
                                        const LocalDays& days);

// The most days last_days may ask for: as long as rollups are kept.
inline constexpr int kMaxLastDays = 400;

// One subdistrict's counts of one day (every unit summed), for the "today" gauges.
struct DayTotals {
  std::string subdistrict;
  int64_t day = 0;
  Counts counts;
};

// Threading: callbacks run on the Redis client's executor; calls may come from any thread.
class StatsReader final {
 public:
  using Done = std::function<void(absl::StatusOr<v1::GetStatsResponse>)>;
  using OpenDone = std::function<void(absl::StatusOr<std::vector<OpenEvent>>)>;
  using TotalsDone = std::function<void(absl::StatusOr<std::vector<DayTotals>>)>;

  StatsReader(redis::Client& redis, const topology::Topology& topology,
              const policy::Policy& policy, const Clock& clock);

  // INVALID_ARGUMENT for an unknown unit, an unspecified dimension or a bad window (see
  // ResolveWindow); UNAVAILABLE while a concerned subdistrict's rollups are being re-derived.
  void GetStats(const v1::GetStatsRequest& request, Done done);
  // The open events of `subdistricts`, with their traffic light and overdue flag now. The
  // event's record is the truth: one in a final state is not open, whatever the index says.
  void OpenEvents(const std::vector<std::string>& subdistricts, OpenDone done);
  // Each subdistrict's counts of today (the local day it is now), in the order given; a
  // subdistrict whose rollups are being re-derived is left out.
  void TodayTotals(const std::vector<std::string>& subdistricts, TotalsDone done);

  const LocalDays& days() const { return days_; }

  // OpenEvents reads this many records at a time (of all its subdistricts together).
  static constexpr size_t kOpenRecordsChunk = 2000;

 private:
  // Reads the records of state->ids[first..] a chunk at a time into state->events, then calls
  // state->done. `State` is OpenEvents' own.
  template <class State>
  void ReadOpenRecords(std::shared_ptr<State> state, size_t first, Millis now);
  OpenEvent OpenEventOf(const v1::Event& event, const std::string& subdistrict, Millis now) const;

  redis::Client& redis_;
  const topology::Topology& topology_;
  const policy::Policy& policy_;
  const Clock& clock_;
  LocalDays days_;
};

}  // namespace grid::metrics
