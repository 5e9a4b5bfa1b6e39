#include "services/metrics/rollup.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>

#include "absl/strings/str_split.h"

namespace grid::metrics {

Counts& Counts::operator+=(const Counts& other) {
  reported += other.reported;
  duplicates += other.duplicates;
  closed += other.closed;
  closed_on_time += other.closed_on_time;
  due += other.due;
  deferred += other.deferred;
  reworked += other.reworked;
  returned += other.returned;
  escalated += other.escalated;
  redispatched += other.redispatched;
  supervised += other.supervised;
  accepted += other.accepted;
  accept_ms += other.accept_ms;
  closed_timed += other.closed_timed;
  close_ms += other.close_ms;
  open += other.open;
  overdue += other.overdue;
  return *this;
}

std::vector<std::pair<std::string_view, int64_t>> RollupFigures(const Counts& counts) {
  return {{"reported", counts.reported},
          {"duplicates", counts.duplicates},
          {"closed", counts.closed},
          {"closed_on_time", counts.closed_on_time},
          {"due", counts.due},
          {"deferred", counts.deferred},
          {"reworked", counts.reworked},
          {"returned", counts.returned},
          {"escalated", counts.escalated},
          {"redispatched", counts.redispatched},
          {"supervised", counts.supervised}};
}

double Ratio(int64_t numerator, int64_t denominator) {
  if (denominator <= 0) {
    return 0;
  }
  return static_cast<double>(numerator) / static_cast<double>(denominator);
}

Scores ScoresOf(const Counts& counts) {
  Scores scores;
  scores.on_time_closure_rate = Ratio(counts.closed_on_time, counts.due - counts.deferred);
  scores.closure_rate = Ratio(counts.closed, counts.reported - counts.duplicates);
  scores.rework_rate = Ratio(counts.reworked, counts.closed);
  scores.first_dispatch_accuracy = Ratio(counts.closed - counts.redispatched, counts.closed);
  scores.accept_seconds_mean = Ratio(counts.accept_ms, counts.accepted) / 1000.0;
  scores.close_seconds_mean = Ratio(counts.close_ms, counts.closed_timed) / 1000.0;
  return scores;
}

bool AddCounter(Counts& counts, std::string_view counter, int64_t value) {
  struct Named {
    std::string_view name;
    int64_t Counts::*field;
  };
  static constexpr Named kFields[] = {
      {kReported, &Counts::reported},
      {kDuplicates, &Counts::duplicates},
      {kClosed, &Counts::closed},
      {kClosedOnTime, &Counts::closed_on_time},
      {kDue, &Counts::due},
      {kDeferred, &Counts::deferred},
      {kReworked, &Counts::reworked},
      {kReturned, &Counts::returned},
      {kEscalated, &Counts::escalated},
      {kRedispatched, &Counts::redispatched},
      {kSupervised, &Counts::supervised},
      {kAccepted, &Counts::accepted},
      {kAcceptMillis, &Counts::accept_ms},
      {kClosedTimed, &Counts::closed_timed},
      {kCloseMillis, &Counts::close_ms},
  };
  for (const Named& named : kFields) {
    if (named.name == counter) {
      counts.*named.field += value;
      return true;
    }
  }
  return false;
}

std::optional<RollupField> ParseRollupField(std::string_view field) {
  std::vector<std::string> parts =
      absl::StrSplit(absl::string_view(field.data(), field.size()), '|');
  if (parts.size() != 4 || parts[0].empty() || parts[3].empty()) {
    return std::nullopt;
  }
  return RollupField{std::move(parts[0]), std::move(parts[1]), std::move(parts[2]),
                     std::move(parts[3])};
}

std::string RollupPrefix(std::string_view unit_id, std::string_view category_class, int severity) {
  std::string prefix(unit_id);
  prefix.append("|").append(category_class).append("|").append(std::to_string(severity));
  prefix.append("|");
  return prefix;
}

std::string CategoryClass(std::string_view category) {
  if (category.size() < 2) {
    return "";
  }
  return std::string(category.substr(0, 2));
}

namespace {

constexpr Millis kDayMs = 86'400'000;

int64_t FloorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

std::chrono::year_month_day DateOf(int64_t day) {
  return std::chrono::year_month_day{std::chrono::sys_days{std::chrono::days{day}}};
}

}  // namespace

LocalDays::LocalDays(int utc_offset_minutes, Millis day_ms, Millis epoch)
    : LocalDays(utc_offset_minutes) {
  if (day_ms > 0 && day_ms != kDayMs) {
    day_ms_ = day_ms;
    epoch_ = epoch;
    epoch_day_ = FloorDiv(epoch + offset_ms_, kDayMs);
  }
}

int64_t LocalDays::DayOf(Millis at) const {
  if (day_ms_ > 0) {
    return epoch_day_ + FloorDiv(at - epoch_, day_ms_);
  }
  return FloorDiv(at + offset_ms_, kDayMs);
}

Millis LocalDays::StartOf(int64_t day) const {
  if (day_ms_ > 0) {
    return epoch_ + (day - epoch_day_) * day_ms_;
  }
  return day * kDayMs - offset_ms_;
}

std::string DayName(int64_t day) {
  const std::chrono::year_month_day date = DateOf(day);
  char buffer[16];
  std::snprintf(buffer, sizeof(buffer), "%04d%02u%02u", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
  return buffer;
}

std::string DateName(int64_t day) {
  const std::chrono::year_month_day date = DateOf(day);
  char buffer[16];
  std::snprintf(buffer, sizeof(buffer), "%04d-%02u-%02u", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
  return buffer;
}

std::optional<int64_t> ParseDate(std::string_view date) {
  // Exactly YYYY-MM-DD, digits where digits belong.
  if (date.size() != 10 || date[4] != '-' || date[7] != '-') {
    return std::nullopt;
  }
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (date[i] < '0' || date[i] > '9') {
      return std::nullopt;
    }
  }
  auto number = [&](size_t at, size_t length) {
    int value = 0;
    for (size_t i = at; i < at + length; ++i) {
      value = value * 10 + (date[i] - '0');
    }
    return value;
  };
  const std::chrono::year_month_day ymd{std::chrono::year{number(0, 4)},
                                        std::chrono::month{static_cast<unsigned>(number(5, 2))},
                                        std::chrono::day{static_cast<unsigned>(number(8, 2))}};
  if (!ymd.ok()) {
    return std::nullopt;
  }
  return std::chrono::sys_days{ymd}.time_since_epoch().count();
}

std::string OffsetName(int utc_offset_minutes) {
  const int magnitude = utc_offset_minutes < 0 ? -utc_offset_minutes : utc_offset_minutes;
  char buffer[16];
  std::snprintf(buffer, sizeof(buffer), "UTC%c%02d:%02d", utc_offset_minutes < 0 ? '-' : '+',
                magnitude / 60, magnitude % 60);
  return buffer;
}

std::vector<int64_t> DaysInWindow(const std::vector<int64_t>& known, const DayWindow& window) {
  const int64_t first = window.first.value_or(INT64_MIN);
  const int64_t last = window.last.value_or(INT64_MAX);
  std::vector<int64_t> days;
  for (int64_t day : known) {
    if (day >= first && day <= last) {
      days.push_back(day);
    }
  }
  std::sort(days.begin(), days.end());
  days.erase(std::unique(days.begin(), days.end()), days.end());
  return days;
}

const std::vector<double>& ResponseTimeBuckets() {
  static const std::vector<double> kBuckets = {
      0.5,  1,    2,    3,     5,     10,    30,     60,     120,    300,     600,
      1800, 3600, 7200, 14400, 28800, 86400, 172800, 432000, 604800, 1209600, 2592000};
  return kBuckets;
}

}  // namespace grid::metrics
