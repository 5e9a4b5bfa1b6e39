// The arithmetic of the field's scores over rollups: pure functions over plain data, so they are
// unit-tested without Redis (STYLE.md item 2).
//
// A rollup is a Redis hash per subdistrict and local day (the policy calendar's day: a Beijing day
// for Laoshan), field "<unit>|<category class>|<severity>|<counter>" -> count (record_change.lua).
// Every count is attributed to the unit that had the event at the step (a report to its grid),
// so a unit subtree's figures are the sum over its units.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock/clock.h"

namespace grid::metrics {

// The counts of one StatsRow.
struct Counts {
  int64_t reported = 0;
  int64_t duplicates = 0;
  int64_t closed = 0;
  int64_t closed_on_time = 0;
  int64_t due = 0;
  int64_t deferred = 0;
  int64_t reworked = 0;
  int64_t returned = 0;
  int64_t escalated = 0;
  int64_t redispatched = 0;
  int64_t supervised = 0;
  // Response times: sums of milliseconds and the counts they are over (exact under addition,
  // unlike means or percentiles).
  int64_t accepted = 0;
  int64_t accept_ms = 0;
  int64_t closed_timed = 0;
  int64_t close_ms = 0;
  int64_t open = 0;
  int64_t overdue = 0;

  Counts& operator+=(const Counts& other);
  bool operator==(const Counts&) const = default;
};

// The field's scores (DOMAIN.md "How units are scored"); each is 0 when its denominator is 0
// (or negative, which only inconsistent windows can give).
struct Scores {
  // 按期结案率: closed_on_time / (due - deferred).
  double on_time_closure_rate = 0;
  // 结案率: closed / (reported - duplicates).
  double closure_rate = 0;
  // 返工率: reworked / closed.
  double rework_rate = 0;
  // 准确派遣率: closed events dispatched once (escalations and rework are no re-dispatch) /
  // closed events.
  double first_dispatch_accuracy = 0;
  // The mean time from the start of the accepting unit's clock to the acceptance, seconds:
  // accept_ms / accepted.
  double accept_seconds_mean = 0;
  // The mean time from filing to closure, seconds: close_ms / closed_timed.
  double close_seconds_mean = 0;
};

Scores ScoresOf(const Counts& counts);

// Every event count of `counts` that rollups keep (not open/overdue, and not the response-time
// figures, which Prometheus has as histograms), named as in grid.v1.StatsRow:
// {"reported", n}, {"duplicates", n}, ...
std::vector<std::pair<std::string_view, int64_t>> RollupFigures(const Counts& counts);

// a / b, or 0 when b <= 0.
double Ratio(int64_t numerator, int64_t denominator);

// The counter names used in rollup fields (record_change.lua).
inline constexpr std::string_view kReported = "rep";
inline constexpr std::string_view kDuplicates = "dup";
inline constexpr std::string_view kClosed = "clo";
inline constexpr std::string_view kClosedOnTime = "ont";
inline constexpr std::string_view kDue = "due";
inline constexpr std::string_view kDeferred = "def";
inline constexpr std::string_view kReworked = "rwk";
inline constexpr std::string_view kReturned = "ret";
inline constexpr std::string_view kEscalated = "esc";
inline constexpr std::string_view kRedispatched = "rdp";
inline constexpr std::string_view kSupervised = "sup";
// Added with the response times, in the same hashes rather than under a new key version: they are
// sums and counts of their own, never combined with the older counters, so a day counted before
// them simply lacks the fields (read as 0) and every mean (accept_ms / accepted, close_ms /
// closed_timed) stays exact over the days that have them. Re-deriving old days would only add
// figures, never correct one; StatsRow says that closed_timed, not closed, is the denominator.
inline constexpr std::string_view kAccepted = "acc";
inline constexpr std::string_view kAcceptMillis = "acm";
inline constexpr std::string_view kClosedTimed = "clt";
inline constexpr std::string_view kCloseMillis = "clm";

// Adds `value` to the count named `counter`; false for an unknown name (left alone).
bool AddCounter(Counts& counts, std::string_view counter, int64_t value);

// One parsed rollup field.
struct RollupField {
  std::string unit_id;
  std::string category_class;
  std::string severity;  // The grid.v1.Severity number, as text.
  std::string counter;
};

// "<unit>|<cc>|<sev>|<counter>"; nullopt for anything else.
std::optional<RollupField> ParseRollupField(std::string_view field);
// The field prefix "<unit>|<cc>|<sev>|".
std::string RollupPrefix(std::string_view unit_id, std::string_view category_class, int severity);

// The category's large class: its first two digits ("0102" -> "01"); "" when shorter.
std::string CategoryClass(std::string_view category);

// The days that rollups, GetStats windows and the "today" figures count in: the local days of the
// policy calendar (utc_offset_minutes; UTC+8 for Laoshan, whose day starts at 16:00 UTC). A day is
// a number: days since 1970-01-01 in local time. Immutable, cheap to copy.
//
// Compressed days, for benchmarks only (the soak runs a week in minutes): a day of `day_ms` instead
// of 24 h, counted from `epoch` (UTC ms), whose own local day it is numbered after; day names stay
// real dates near the epoch's, so rollup keys roll over and expire as the simulated days pass.
class LocalDays final {
 public:
  explicit LocalDays(int utc_offset_minutes) : offset_ms_(Millis{utc_offset_minutes} * 60'000) {}
  LocalDays(int utc_offset_minutes, Millis day_ms, Millis epoch);

  // The local day of a UTC ms time (floor, also before 1970).
  int64_t DayOf(Millis at) const;
  // When a local day starts, UTC ms.
  Millis StartOf(int64_t day) const;
  int utc_offset_minutes() const { return static_cast<int>(offset_ms_ / 60'000); }

 private:
  Millis offset_ms_;
  // Compressed days: 0 for real ones.
  Millis day_ms_ = 0;
  Millis epoch_ = 0;
  int64_t epoch_day_ = 0;
};

// yyyymmdd of a day number (rollup key names).
std::string DayName(int64_t day);
// YYYY-MM-DD of a day number (the API's dates).
std::string DateName(int64_t day);
// The day number of a "YYYY-MM-DD" date; nullopt for anything else (not a real date, other
// shapes).
std::optional<int64_t> ParseDate(std::string_view date);
// "UTC+08:00" for 480.
std::string OffsetName(int utc_offset_minutes);

// A window of whole days, both ends included; an unset end is open.
struct DayWindow {
  std::optional<int64_t> first;
  std::optional<int64_t> last;
  bool operator==(const DayWindow&) const = default;
};

// The days (ascending, unique) of `known` inside `window`.
std::vector<int64_t> DaysInWindow(const std::vector<int64_t>& known, const DayWindow& window);

// Histogram buckets (seconds) for the time to dispatch, accept, resolve and close: from half a
// second (the test policy's one-second limits) up to thirty days.
const std::vector<double>& ResponseTimeBuckets();

}  // namespace grid::metrics
