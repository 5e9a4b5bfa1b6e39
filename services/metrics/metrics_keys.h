// The metrics service's Redis keys. Each carries its subdistrict's {hash tag}, like every key of
// common/store/keys.h, so record_change.lua touches one subdistrict's keys only.
#pragma once

#include <string>
#include <string_view>

namespace grid::metrics {

// The consumer group of the metrics service on the live streams.
inline constexpr std::string_view kMetricsGroup = "metrics";

// What the metrics service remembers of one event (hash: created, dc, b, due, def).
inline std::string EventStateKey(std::string_view subdistrict, std::string_view event_id) {
  return std::string("{").append(subdistrict).append("}:mx:ev:").append(event_id);
}
// The open events (hash: event id -> state number).
inline std::string OpenEventsKey(std::string_view subdistrict) {
  return std::string("{").append(subdistrict).append("}:mx:open");
}
// One day's rollup (hash: "<unit>|<cc>|<sev>|<counter>" -> count); `day` is yyyymmdd.
inline std::string DayRollupKey(std::string_view subdistrict, std::string_view day) {
  return std::string("{").append(subdistrict).append("}:mx:day:").append(day);
}
// The days that have a rollup (sorted set: yyyymmdd by day number).
inline std::string RollupDaysKey(std::string_view subdistrict) {
  return std::string("{").append(subdistrict).append("}:mx:days");
}

// How long rollups and per-event state are kept: a little over a year.
inline constexpr int kRollupTtlSeconds = 400 * 86400;

}  // namespace grid::metrics
