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
  open += other.open;
  overdue += other.overdue;
  return *this;
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

int64_t DayOf(Millis at) {
  constexpr Millis kDay = 86'400'000;
  return at >= 0 ? at / kDay : -((-at + kDay - 1) / kDay);
}

std::string DayName(int64_t day) {
  const std::chrono::year_month_day date{std::chrono::sys_days{std::chrono::days{day}}};
  char buffer[16];
  std::snprintf(buffer, sizeof(buffer), "%04d%02u%02u", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
  return buffer;
}

std::vector<int64_t> DaysInWindow(const std::vector<int64_t>& known, Millis from, Millis to) {
  const int64_t first = from == 0 ? INT64_MIN : DayOf(from);
  // [from, to) ends on the day of to - 1 ms.
  const int64_t last = to == 0 ? INT64_MAX : DayOf(to - 1);
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
