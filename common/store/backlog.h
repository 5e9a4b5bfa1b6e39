// The backlog index: every open event of a subdistrict counted by level and state, with the
// instants its traffic light turns yellow and red and whether it is flagged overdue. The steps
// that file and move events keep it in the same atomic step as the record (lua/backlog.lua), so
// reading a subdistrict's figures is one script call of a fixed number of commands, the same for
// 1,000 open events as for 1,000,000 (the open/overdue gauges read it every few seconds).
//
// Events filed before the index existed have no entry: Build indexes them once, after which the
// figures say `built`. Until then a reader keeps its last figures.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock/clock.h"
#include "common/redis/client.h"
#include "common/redis/script.h"
#include "grid/v1/event.pb.h"

namespace grid::store {

// The event's backlog entry, "<state>|<level>|<flagged>|<yellow>|<red>": red is the running
// deadline + 1 ms, yellow is `yellow_at` (policy::YellowAt, which knows the working calendar; 0
// takes wall-clock time, a fifth of the limit before the deadline), both 0 when no clock runs.
// Empty for an event in a final state, which is not in the backlog.
std::string BacklogEntry(const v1::Event& event, Millis yellow_at);

// The source of a script that calls backlog_step: lua/backlog.lua, then `script`.
std::string WithBacklogStep(std::string_view script);

// One level and state of a subdistrict's backlog at one instant.
struct BacklogRow {
  int level = 0;
  int state = 0;
  // Open events at this level in this state.
  int64_t open = 0;
  // By traffic light; open - green - yellow - red have no running clock (no light).
  int64_t green = 0;
  int64_t yellow = 0;
  int64_t red = 0;
  // Flagged overdue or past the running deadline.
  int64_t overdue = 0;
};

struct BacklogFigures {
  // False while events filed before the index existed are still to be indexed (Build).
  bool built = false;
  std::vector<BacklogRow> rows;
};

// Threading: callbacks run on the Redis client's executor, exactly once.
class BacklogIndex final {
 public:
  template <class T>
  using Callback = std::function<void(absl::StatusOr<T>)>;
  // The instant an event's light turns yellow (policy::YellowAt with the policy's calendar).
  using YellowAtOf = std::function<Millis(const v1::Event&)>;

  // `client` must outlive the index.
  explicit BacklogIndex(redis::Client& client);

  // The figures of `subdistrict` at `now`: one script call, whatever the size of the backlog.
  void Figures(const std::string& subdistrict, Millis now, Callback<BacklogFigures> done);

  // Indexes the events of `subdistrict` filed before the index existed, `batch` at a time, then
  // marks the index built. Safe beside the steps that move events, and beside another Build of
  // the same subdistrict (an event is indexed only while it has no entry, at the version read).
  // OK at once when it is built already.
  void Build(const std::string& subdistrict, YellowAtOf yellow_at, int batch,
             std::function<void(absl::Status)> done);

 private:
  struct Building;
  void Scan(std::shared_ptr<Building> building);

  redis::Client& client_;
  redis::Script figures_;
  redis::Script scan_;
  redis::Script index_;
};

}  // namespace grid::store
