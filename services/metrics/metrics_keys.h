// The metrics service's Redis keys. Each carries its subdistrict's {hash tag}, like every key of
// common/store/keys.h, so record_change.lua touches one subdistrict's keys only.
//
// The keys are versioned: "mx2" rollups count local days (the policy calendar's) and per-event
// bookkeeping by version; "mx" (version 1, UTC days) is only read to be removed once the
// subdistrict's rollups have been re-derived from the event records (rederive.h).
#pragma once

#include <string>
#include <string_view>

namespace grid::metrics {

// The consumer group of the metrics service on the live streams.
inline constexpr std::string_view kMetricsGroup = "metrics";

namespace internal {
inline std::string Key(std::string_view subdistrict, std::string_view rest) {
  return std::string("{").append(subdistrict).append("}:mx2:").append(rest);
}
}  // namespace internal

// What the metrics service remembers of one event (hash: "last" the highest version applied,
// "fin" once a final version is applied, and one field per version applied: "r" counted by the
// re-derivation, "l" delivered live).
inline std::string EventStateKey(std::string_view subdistrict, std::string_view event_id) {
  return internal::Key(subdistrict, std::string("ev:").append(event_id));
}
// The open events (hash: event id -> state number).
inline std::string OpenEventsKey(std::string_view subdistrict) {
  return internal::Key(subdistrict, "open");
}
// One local day's rollup (hash: "<unit>|<cc>|<sev>|<counter>" -> count); `day` is yyyymmdd.
inline std::string DayRollupKey(std::string_view subdistrict, std::string_view day) {
  return internal::Key(subdistrict, std::string("day:").append(day));
}
// The days that have a rollup (sorted set: yyyymmdd by day number).
inline std::string RollupDaysKey(std::string_view subdistrict) {
  return internal::Key(subdistrict, "days");
}
// Set (to the UTC ms it finished) once the subdistrict's rollups were re-derived from the event
// records; until then GetStats answers UNAVAILABLE for the subdistrict.
inline std::string RederivedKey(std::string_view subdistrict) {
  return internal::Key(subdistrict, "rederived");
}

// Version 1 (UTC days), removed after the re-derivation.
namespace legacy {
inline std::string EventStateKey(std::string_view subdistrict, std::string_view event_id) {
  return std::string("{").append(subdistrict).append("}:mx:ev:").append(event_id);
}
inline std::string OpenEventsKey(std::string_view subdistrict) {
  return std::string("{").append(subdistrict).append("}:mx:open");
}
inline std::string DayRollupKey(std::string_view subdistrict, std::string_view day) {
  return std::string("{").append(subdistrict).append("}:mx:day:").append(day);
}
inline std::string RollupDaysKey(std::string_view subdistrict) {
  return std::string("{").append(subdistrict).append("}:mx:days");
}
}  // namespace legacy

// How long rollups are kept: a little over a year.
inline constexpr int kRollupTtlSeconds = 400 * 86400;
// How long an open event's bookkeeping lives after its last change (the same year: an event
// parked that long without a change loses only the guard of its open-backlog entry).
inline constexpr int kOpenEventStateTtlSeconds = kRollupTtlSeconds;
// How long a closed (voided, cancelled) event's bookkeeping lives after its last entry is
// counted: eight days. Redeliveries of counted entries are caught by the consumer group itself
// (XACK of an entry no longer pending); what the bookkeeping adds is the version check (an entry
// counted by the re-derivation, a change written twice) and the open-backlog guard, which a
// closed event no longer needs once its entries have long been delivered. StatsReader drops an
// open-backlog entry whose record is closed.
inline constexpr int kClosedEventStateTtlSeconds = 8 * 86400;

}  // namespace grid::metrics
