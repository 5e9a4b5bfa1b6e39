#include "common/policy/calendar.h"

#include <algorithm>
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"

namespace grid::policy {
namespace {

constexpr Millis kMinute = 60'000;
constexpr Millis kDay = 24 * 60 * kMinute;
constexpr int kMaxOffsetMinutes = 18 * 60;
// The last local day whose instants are all representable as Millis, whatever the offset.
constexpr std::int64_t kLastDay = std::numeric_limits<Millis>::max() / kDay - 2;

std::int64_t FloorDiv(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

// 0 = Monday ... 6 = Sunday; 1970-01-01 (day 0) was a Thursday.
int WeekdayIndex(std::int64_t day) { return static_cast<int>(day + 3 - FloorDiv(day + 3, 7) * 7); }

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Days since 1970-01-01 of a real "YYYY-MM-DD" date; false for anything else (2026-02-30
// included: CivilDay would silently normalise it to March).
bool ParseDate(const std::string& s, std::int64_t& day) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') {
    return false;
  }
  for (int i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (!IsDigit(s[i])) {
      return false;
    }
  }
  const auto number = [&](int from, int count) {
    int n = 0;
    for (int i = from; i < from + count; ++i) {
      n = n * 10 + (s[i] - '0');
    }
    return n;
  };
  const int year = number(0, 4);
  const int month = number(5, 2);
  const int dom = number(8, 2);
  const absl::CivilDay civil(year, month, dom);
  if (civil.year() != year || civil.month() != month || civil.day() != dom) {
    return false;
  }
  day = civil - absl::CivilDay(1970, 1, 1);
  return true;
}

absl::Status ParseDates(const google::protobuf::RepeatedPtrField<std::string>& dates,
                        const char* field, std::vector<std::int64_t>& days) {
  for (int i = 0; i < dates.size(); ++i) {
    std::int64_t day = 0;
    if (!ParseDate(dates[i], day)) {
      return absl::InvalidArgumentError(absl::StrCat("calendar.", field, "[", i, "]: \"", dates[i],
                                                     "\" is not a YYYY-MM-DD date"));
    }
    days.push_back(day);
  }
  std::sort(days.begin(), days.end());
  days.erase(std::unique(days.begin(), days.end()), days.end());
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<WorkingCalendar> WorkingCalendar::Build(const v1::Calendar& calendar) {
  WorkingCalendar result;
  if (calendar.utc_offset_minutes() < -kMaxOffsetMinutes ||
      calendar.utc_offset_minutes() > kMaxOffsetMinutes) {
    return absl::InvalidArgumentError(
        absl::StrCat("calendar.utc_offset_minutes: ", calendar.utc_offset_minutes(),
                     " is beyond +-", kMaxOffsetMinutes));
  }
  result.offset_ = calendar.utc_offset_minutes() * kMinute;

  for (int i = 0; i < calendar.working_weekdays_size(); ++i) {
    const int weekday = calendar.working_weekdays(i);
    if (weekday < 1 || weekday > 7) {
      return absl::InvalidArgumentError(absl::StrCat(
          "calendar.working_weekdays[", i, "]: ", weekday, " is not 1 (Monday) to 7 (Sunday)"));
    }
    result.weekdays_[weekday - 1] = true;
  }
  result.weekdays_per_week_ =
      static_cast<int>(std::count(std::begin(result.weekdays_), std::end(result.weekdays_), true));
  if (result.weekdays_per_week_ == 0) {
    // Make-up days alone are finitely many: a limit past the last one would never run out.
    return absl::InvalidArgumentError(
        "calendar.working_weekdays: at least one working weekday is required");
  }

  if (calendar.hours_size() == 0) {
    return absl::InvalidArgumentError(
        "calendar.hours: at least one span of working hours is "
        "required");
  }
  for (int i = 0; i < calendar.hours_size(); ++i) {
    const v1::WorkingHours& hours = calendar.hours(i);
    if (hours.start_minute() < 0 || hours.end_minute() > 24 * 60 ||
        hours.start_minute() >= hours.end_minute()) {
      return absl::InvalidArgumentError(
          absl::StrCat("calendar.hours[", i, "]: ", hours.start_minute(), "-", hours.end_minute(),
                       " is not 0 <= start_minute < end_minute <= 1440"));
    }
    result.spans_.emplace_back(hours.start_minute() * kMinute, hours.end_minute() * kMinute);
  }
  std::sort(result.spans_.begin(), result.spans_.end());
  std::vector<std::pair<Millis, Millis>> merged;
  for (const auto& span : result.spans_) {
    if (!merged.empty() && span.first <= merged.back().second) {
      merged.back().second = std::max(merged.back().second, span.second);
    } else {
      merged.push_back(span);
    }
  }
  result.spans_ = std::move(merged);
  for (const auto& [start, end] : result.spans_) {
    result.day_work_ += end - start;
  }

  std::vector<std::int64_t> holidays;
  std::vector<std::int64_t> extra;
  if (auto status = ParseDates(calendar.holidays(), "holidays", holidays); !status.ok()) {
    return status;
  }
  if (auto status = ParseDates(calendar.extra_working_days(), "extra_working_days", extra);
      !status.ok()) {
    return status;
  }
  // Only the dates that change what the weekday says matter: holidays on working weekdays and
  // make-up days on other weekdays (a holiday wins over a make-up day on the same date).
  for (std::int64_t day : holidays) {
    if (result.IsPatternDay(day)) {
      result.exceptions_.push_back({day, false});
    }
  }
  for (std::int64_t day : extra) {
    if (!result.IsPatternDay(day) && !std::binary_search(holidays.begin(), holidays.end(), day)) {
      result.exceptions_.push_back({day, true});
    }
  }
  std::sort(result.exceptions_.begin(), result.exceptions_.end(),
            [](const Exception& a, const Exception& b) { return a.day < b.day; });
  result.delta_before_.reserve(result.exceptions_.size() + 1);
  result.delta_before_.push_back(0);
  for (const Exception& e : result.exceptions_) {
    result.delta_before_.push_back(result.delta_before_.back() + (e.worked ? 1 : -1));
  }
  return result;
}

bool WorkingCalendar::IsPatternDay(std::int64_t day) const { return weekdays_[WeekdayIndex(day)]; }

bool WorkingCalendar::IsWorkingDay(std::int64_t day) const {
  const auto it = std::lower_bound(exceptions_.begin(), exceptions_.end(), day,
                                   [](const Exception& e, std::int64_t d) { return e.day < d; });
  if (it != exceptions_.end() && it->day == day) {
    return it->worked;
  }
  return IsPatternDay(day);
}

std::int64_t WorkingCalendar::PatternDays(std::int64_t from, std::int64_t to) const {
  const std::int64_t weeks = (to - from) / 7;
  std::int64_t count = weeks * weekdays_per_week_;
  for (std::int64_t day = from + weeks * 7; day < to; ++day) {
    count += IsPatternDay(day) ? 1 : 0;
  }
  return count;
}

std::int64_t WorkingCalendar::WorkingDays(std::int64_t from, std::int64_t to) const {
  if (to <= from) {
    return 0;
  }
  const auto by_day = [](const Exception& e, std::int64_t d) { return e.day < d; };
  const auto lo = std::lower_bound(exceptions_.begin(), exceptions_.end(), from, by_day);
  const auto hi = std::lower_bound(lo, exceptions_.end(), to, by_day);
  return PatternDays(from, to) + delta_before_[hi - exceptions_.begin()] -
         delta_before_[lo - exceptions_.begin()];
}

std::int64_t WorkingCalendar::NthWorkingDay(std::int64_t from, std::int64_t n) const {
  std::int64_t day = from;
  auto it = std::lower_bound(exceptions_.begin(), exceptions_.end(), from,
                             [](const Exception& e, std::int64_t d) { return e.day < d; });
  while (true) {
    // Between `day` and the next exception only the weekday counts.
    if (it == exceptions_.end() || PatternDays(day, it->day) >= n) {
      const std::int64_t weeks = (n - 1) / weekdays_per_week_;
      day += weeks * 7;
      n -= weeks * weekdays_per_week_;
      while (true) {
        if (IsPatternDay(day) && --n == 0) {
          return day;
        }
        ++day;
      }
    }
    n -= PatternDays(day, it->day);
    if (it->worked && --n == 0) {
      return it->day;
    }
    day = it->day + 1;
    ++it;
  }
}

Millis WorkingCalendar::WorkedBefore(Millis time_of_day) const {
  Millis worked = 0;
  for (const auto& [start, end] : spans_) {
    worked += std::clamp(time_of_day - start, Millis{0}, end - start);
  }
  return worked;
}

Millis WorkingCalendar::TimeOfDayAfter(Millis worked) const {
  for (const auto& [start, end] : spans_) {
    if (worked <= end - start) {
      return start + worked;
    }
    worked -= end - start;
  }
  return spans_.back().second;  // Unreachable for worked <= day_work_.
}

Millis WorkingCalendar::Add(Millis start, Millis duration) const {
  if (duration <= 0) {
    return start;
  }
  const Millis local = start + offset_;
  const std::int64_t day = FloorDiv(local, kDay);
  Millis remaining = duration;
  if (IsWorkingDay(day)) {
    const Millis before = WorkedBefore(local - day * kDay);
    const Millis left_today = day_work_ - before;
    if (remaining <= left_today) {
      return day * kDay + TimeOfDayAfter(before + remaining) - offset_;
    }
    remaining -= left_today;
  }
  // Whole working days first; the last day takes the rest, in (0, day_work_], so a limit that
  // runs out at the end of a day ends there and not at the next day's start.
  const std::int64_t whole_days = (remaining - 1) / day_work_;
  const std::int64_t last_day = NthWorkingDay(day + 1, whole_days + 1);
  if (last_day > kLastDay) {
    return std::numeric_limits<Millis>::max();
  }
  return last_day * kDay + TimeOfDayAfter(remaining - whole_days * day_work_) - offset_;
}

Millis WorkingCalendar::Between(Millis a, Millis b) const {
  if (b <= a) {
    return 0;
  }
  const Millis local_a = a + offset_;
  const Millis local_b = b + offset_;
  const std::int64_t day_a = FloorDiv(local_a, kDay);
  const std::int64_t day_b = FloorDiv(local_b, kDay);
  const Millis before_a = IsWorkingDay(day_a) ? WorkedBefore(local_a - day_a * kDay) : 0;
  const Millis before_b = IsWorkingDay(day_b) ? WorkedBefore(local_b - day_b * kDay) : 0;
  if (day_a == day_b) {
    return before_b - before_a;
  }
  const Millis rest_of_a = IsWorkingDay(day_a) ? day_work_ - before_a : 0;
  return rest_of_a + WorkingDays(day_a + 1, day_b) * day_work_ + before_b;
}

bool WorkingCalendar::IsWorking(Millis t) const {
  const Millis local = t + offset_;
  const std::int64_t day = FloorDiv(local, kDay);
  if (!IsWorkingDay(day)) {
    return false;
  }
  const Millis time_of_day = local - day * kDay;
  return std::any_of(spans_.begin(), spans_.end(), [&](const auto& span) {
    return span.first <= time_of_day && time_of_day < span.second;
  });
}

}  // namespace grid::policy
