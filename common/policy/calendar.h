// The working-time calendar: limits counted in working hours or working days skip nights,
// weekends and public holidays, and count make-up working days (调休). Pure arithmetic over the
// calendar of the policy (grid.v1.Calendar); no time-zone database, the local offset is fixed.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock/clock.h"
#include "grid/v1/policy.pb.h"

namespace grid::policy {

// Immutable once built; safe to share between threads. Every query costs O(log H + X + S) where
// H is the number of holidays and make-up days, X those between the two instants concerned and S
// the number of working-hour spans in a day: whole days and whole weeks are skipped at once.
//
// A local day is worked if (its weekday is in working_weekdays or its date is in
// extra_working_days) and its date is not in holidays; a worked day is worked during the union of
// `hours` (overlapping or touching spans are merged, order does not matter).
class WorkingCalendar final {
 public:
  // Checks and indexes `calendar`. INVALID_ARGUMENT naming the field at fault (e.g.
  // "calendar.hours[1]: ...") for an offset beyond +-18 h, a weekday outside 1..7, a span outside
  // 0 <= start_minute < end_minute <= 1440, a date that is not a real "YYYY-MM-DD" date, or a
  // calendar without working time (no hours, or no working weekdays), where no limit could ever
  // run out.
  static absl::StatusOr<WorkingCalendar> Build(const v1::Calendar& calendar);

  // The earliest instant at which `duration` of working time has elapsed since `start`: counting
  // begins at `start` if it is inside working hours, else at the next working moment. A duration
  // that runs out exactly at the end of a span returns that end, not the next span's start.
  // A duration <= 0 returns `start` unchanged, even outside working hours. Saturates at the
  // largest Millis when the result is beyond any representable time.
  Millis Add(Millis start, Millis duration) const;

  // The working time in [a, b); 0 if b <= a. For every start and every duration >= 0,
  // Between(start, Add(start, duration)) == duration.
  Millis Between(Millis a, Millis b) const;

  // Whether `t` is inside working hours: spans are half-open, [start, end).
  bool IsWorking(Millis t) const;

  // Working time in one worked day.
  Millis WorkingDayLength() const { return day_work_; }

 private:
  // A local date whose worked status differs from what its weekday alone says.
  struct Exception {
    std::int64_t day;  // Days since 1970-01-01, local.
    bool worked;
  };

  WorkingCalendar() = default;

  bool IsWorkingDay(std::int64_t day) const;
  bool IsPatternDay(std::int64_t day) const;
  // Worked days in [from, to) by weekday alone.
  std::int64_t PatternDays(std::int64_t from, std::int64_t to) const;
  // Worked days in [from, to), holidays and make-up days included.
  std::int64_t WorkingDays(std::int64_t from, std::int64_t to) const;
  // The n-th (n >= 1) worked day at or after `from`.
  std::int64_t NthWorkingDay(std::int64_t from, std::int64_t n) const;
  // Working time from local midnight up to `time_of_day` in a worked day.
  Millis WorkedBefore(Millis time_of_day) const;
  // The earliest time of day with WorkedBefore(t) == worked, for 0 < worked <= day_work_.
  Millis TimeOfDayAfter(Millis worked) const;

  Millis offset_ = 0;
  // Sorted, disjoint, non-touching [start, end) spans in milliseconds from local midnight.
  std::vector<std::pair<Millis, Millis>> spans_;
  Millis day_work_ = 0;
  bool weekdays_[7] = {};  // [0] = Monday.
  int weekdays_per_week_ = 0;
  // Sorted by day; `delta_before_[i]` is the sum of +1 (worked) / -1 (not) over exceptions_[0, i).
  std::vector<Exception> exceptions_;
  std::vector<std::int64_t> delta_before_;
};

}  // namespace grid::policy
