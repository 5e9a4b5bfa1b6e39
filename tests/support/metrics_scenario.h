// A known scenario for the metrics tests (unit and integration): eight events of one
// subdistrict whose histories cross both day boundaries that matter in Beijing: 08:00 (UTC
// midnight, which used to split the command centre's day) and midnight. Times are minutes from
// 2026-12-01 07:50 Beijing time.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "common/clock/clock.h"
#include "common/store/keys.h"
#include "grid/v1/event.pb.h"

namespace grid::metrics::testing {

inline constexpr char kSubdistrict[] = "370212001";
inline constexpr char kZone[] = "370212001Z01";
inline constexpr char kCommunity[] = "370212001001";
inline constexpr char kGrid[] = "37021200100101";

// 2026-12-01T07:50:00+08:00.
inline constexpr Millis kT0 = 1'796'082'600'000;
inline constexpr Millis kMinute = 60'000;
inline Millis At(double minutes) { return kT0 + static_cast<Millis>(minutes * kMinute); }
// 2026-12-01 and 2026-12-02, Beijing days.
inline constexpr char kDec1[] = "2026-12-01";
inline constexpr char kDec2[] = "2026-12-02";

struct ScenarioEvent {
  v1::Event record;                      // As it stands at the end.
  std::vector<v1::EventChange> history;  // Version n is history[n - 1].
};

// Builds one event's history step by step.
class EventBuilder {
 public:
  EventBuilder(const std::string& id, v1::Severity severity = v1::SEVERITY_NORMAL) {
    event_.record.set_id(id);
    event_.record.set_grid_id(kGrid);
    event_.record.set_subdistrict_id(kSubdistrict);
    event_.record.set_category("0408");
    event_.record.set_severity(severity);
  }

  // One step: `kind` at `minute`, moving the event to `state` at `unit` (empty: where it is);
  // `due_minute` is the deadline that ran before the step (< 0: none).
  EventBuilder& Step(v1::ChangeKind kind, double minute, v1::EventState state,
                     const std::string& unit = "", double due_minute = -1,
                     v1::ChangeReason reason = v1::CHANGE_REASON_UNSPECIFIED) {
    v1::Event& record = event_.record;
    if (event_.history.empty()) {
      *record.mutable_created_at() = ToTimestamp(At(minute));
    }
    v1::EventChange change;
    change.set_event_id(record.id());
    change.set_kind(kind);
    *change.mutable_at() = ToTimestamp(At(minute));
    change.set_from_level(record.level());
    change.set_from_unit_id(record.unit_id());
    change.set_from_state(record.state());
    const std::string to = unit.empty() ? record.unit_id() : unit;
    change.set_to_unit_id(to);
    change.set_to_level(LevelOf(to));
    change.set_to_state(state);
    change.set_reason_code(reason);
    change.set_version(static_cast<int64_t>(event_.history.size()) + 1);
    change.set_grid_id(record.grid_id());
    change.set_subdistrict_id(record.subdistrict_id());
    change.set_category(record.category());
    change.set_severity(record.severity());
    if (due_minute >= 0) {
      *change.mutable_due_by() = ToTimestamp(At(due_minute));
      *change.mutable_clock_started_at() = ToTimestamp(At(due_minute - 1));
    }
    // An acceptance carries the start of the accepting unit's clock, as routing writes it: the
    // step that last sent the event to a unit (dispatch, escalation, return, rework).
    if (kind == v1::CHANGE_KIND_ACCEPTED) {
      *change.mutable_clock_started_at() = ToTimestamp(At(clock_minute_));
    }
    if (kind == v1::CHANGE_KIND_DISPATCHED || kind == v1::CHANGE_KIND_ESCALATED ||
        kind == v1::CHANGE_KIND_RETURNED || kind == v1::CHANGE_KIND_REWORK) {
      clock_minute_ = minute;
    }
    if (kind != v1::CHANGE_KIND_REPORTED) {
      *change.mutable_created_at() = record.created_at();
    } else {
      change.set_to_level(v1::LEVEL_GRID);
      change.set_to_unit_id(record.grid_id());
    }
    record.set_state(state);
    record.set_unit_id(kind == v1::CHANGE_KIND_REPORTED ? "" : to);
    record.set_level(kind == v1::CHANGE_KIND_REPORTED ? v1::LEVEL_UNSPECIFIED : LevelOf(to));
    record.set_version(change.version());
    event_.history.push_back(std::move(change));
    return *this;
  }

  EventBuilder& Overdue() {
    event_.record.set_overdue(true);
    return *this;
  }

  ScenarioEvent Build() const { return event_; }

 private:
  static v1::Level LevelOf(const std::string& unit) {
    if (unit == kGrid) {
      return v1::LEVEL_GRID;
    }
    if (unit == kCommunity) {
      return v1::LEVEL_COMMUNITY;
    }
    if (unit == kZone) {
      return v1::LEVEL_ZONE;
    }
    return v1::LEVEL_UNSPECIFIED;
  }
  ScenarioEvent event_;
  double clock_minute_ = 0;
};

// The scenario. Totals: reported 8 (one a duplicate report), duplicates 1, closed 3, on time 1,
// due 4, deferred 1, reworked 1, returned 1, escalated 3, redispatched 1, supervised 1; open 3,
// overdue 1. Everything falls on 2026-12-01 (Beijing) but the last report, at 00:01 on
// 2026-12-02. Response times: accepted 4 (E1 in 1 min at the grid; E2 in 6 min, E3 in 4 min and,
// after its rework, in 1 min at the community: 12 min in all, 11 of them at the community);
// closed_timed 3 (E1 2 min at the grid, E2 12 min and E3 13 min at the community: 27 min).
inline std::vector<ScenarioEvent> Scenario() {
  using K = v1::ChangeKind;
  using S = v1::EventState;
  std::vector<ScenarioEvent> events;
  // Reported at 07:59, closed on time at 08:01: one Beijing day, two UTC days.
  events.push_back(EventBuilder("370212001-E1")
                       .Step(K::CHANGE_KIND_REPORTED, 9, S::EVENT_STATE_REPORTED)
                       .Step(K::CHANGE_KIND_DISPATCHED, 10, S::EVENT_STATE_DISPATCHED, kGrid)
                       .Step(K::CHANGE_KIND_ACCEPTED, 11, S::EVENT_STATE_ACCEPTED, "", 40)
                       .Step(K::CHANGE_KIND_RESOLVED, 11, S::EVENT_STATE_RESOLVED, "", 100)
                       .Step(K::CHANGE_KIND_VERIFIED, 11, S::EVENT_STATE_CLOSED)
                       .Build());
  // Escalated on a breached accept limit, then closed: late. Its ESCALATED delivered after its
  // VERIFIED used to make the closure on time.
  events.push_back(EventBuilder("370212001-E2")
                       .Step(K::CHANGE_KIND_REPORTED, 0, S::EVENT_STATE_REPORTED)
                       .Step(K::CHANGE_KIND_DISPATCHED, 1, S::EVENT_STATE_DISPATCHED, kGrid)
                       .Step(K::CHANGE_KIND_ESCALATED, 3, S::EVENT_STATE_DISPATCHED, kCommunity, 2,
                             v1::CHANGE_REASON_ACCEPT_TIMEOUT)
                       .Step(K::CHANGE_KIND_ACCEPTED, 9, S::EVENT_STATE_ACCEPTED, "", 20)
                       .Step(K::CHANGE_KIND_RESOLVED, 10, S::EVENT_STATE_RESOLVED, "", 100)
                       .Step(K::CHANGE_KIND_VERIFIED, 12, S::EVENT_STATE_CLOSED)
                       .Build());
  // Returned, suspended (deferred), reworked, closed: re-dispatched, never on time.
  events.push_back(EventBuilder("370212001-E3")
                       .Step(K::CHANGE_KIND_REPORTED, 2, S::EVENT_STATE_REPORTED)
                       .Step(K::CHANGE_KIND_DISPATCHED, 3, S::EVENT_STATE_DISPATCHED, kGrid)
                       .Step(K::CHANGE_KIND_RETURNED, 4, S::EVENT_STATE_DISPATCHED, kCommunity, 30)
                       .Step(K::CHANGE_KIND_SUSPENDED, 5, S::EVENT_STATE_SUSPENDED, "", 30)
                       .Step(K::CHANGE_KIND_RESUMED, 6, S::EVENT_STATE_DISPATCHED)
                       .Step(K::CHANGE_KIND_ACCEPTED, 8, S::EVENT_STATE_ACCEPTED, "", 40)
                       .Step(K::CHANGE_KIND_RESOLVED, 9, S::EVENT_STATE_RESOLVED, "", 100)
                       .Step(K::CHANGE_KIND_REWORK, 11, S::EVENT_STATE_DISPATCHED)
                       .Step(K::CHANGE_KIND_ACCEPTED, 12, S::EVENT_STATE_ACCEPTED, "", 60)
                       .Step(K::CHANGE_KIND_RESOLVED, 13, S::EVENT_STATE_RESOLVED, "", 100)
                       .Step(K::CHANGE_KIND_VERIFIED, 15, S::EVENT_STATE_CLOSED)
                       .Build());
  // Open and overdue at the zone: a duplicate merged into it, two timeout escalations, pressed.
  events.push_back(EventBuilder("370212001-E4")
                       .Step(K::CHANGE_KIND_REPORTED, 0, S::EVENT_STATE_REPORTED)
                       .Step(K::CHANGE_KIND_DISPATCHED, 1, S::EVENT_STATE_DISPATCHED, kGrid)
                       .Step(K::CHANGE_KIND_DUPLICATE_MERGED, 2, S::EVENT_STATE_DISPATCHED)
                       .Step(K::CHANGE_KIND_ESCALATED, 4, S::EVENT_STATE_DISPATCHED, kCommunity, 3,
                             v1::CHANGE_REASON_ACCEPT_TIMEOUT)
                       .Step(K::CHANGE_KIND_SUPERVISED, 6, S::EVENT_STATE_DISPATCHED)
                       .Step(K::CHANGE_KIND_ESCALATED, 8, S::EVENT_STATE_DISPATCHED, kZone, 7,
                             v1::CHANGE_REASON_ACCEPT_TIMEOUT)
                       .Overdue()
                       .Build());
  // The duplicate report merged into E4: filed VOIDED at once.
  events.push_back(
      EventBuilder("370212001-E5").Step(K::CHANGE_KIND_REPORTED, 2, S::EVENT_STATE_VOIDED).Build());
  // Cancelled by its reporter.
  events.push_back(EventBuilder("370212001-E6", v1::SEVERITY_HIGH)
                       .Step(K::CHANGE_KIND_REPORTED, 20, S::EVENT_STATE_REPORTED)
                       .Step(K::CHANGE_KIND_DISPATCHED, 21, S::EVENT_STATE_DISPATCHED, kGrid)
                       .Step(K::CHANGE_KIND_CANCELLED, 22, S::EVENT_STATE_CANCELLED)
                       .Build());
  // Reported at 23:59 on 2026-12-01, dispatched at 00:01 on 2026-12-02; open.
  events.push_back(EventBuilder("370212001-E7")
                       .Step(K::CHANGE_KIND_REPORTED, 969, S::EVENT_STATE_REPORTED)
                       .Step(K::CHANGE_KIND_DISPATCHED, 971, S::EVENT_STATE_DISPATCHED, kGrid)
                       .Build());
  // Reported at 00:01 on 2026-12-02; open.
  events.push_back(EventBuilder("370212001-E8")
                       .Step(K::CHANGE_KIND_REPORTED, 971, S::EVENT_STATE_REPORTED)
                       .Build());
  return events;
}

// The Redis commands that file the scenario's events as the event store keeps them (record,
// history, time index), without their live-stream entries.
inline std::vector<std::vector<std::string>> RecordCommands(
    const std::vector<ScenarioEvent>& events) {
  std::vector<std::vector<std::string>> commands;
  for (const ScenarioEvent& event : events) {
    const std::string& id = event.record.id();
    commands.push_back(
        {"HSET", store::EventKey(kSubdistrict, id), "pb", event.record.SerializeAsString(), "state",
         std::to_string(event.record.state()), "version", std::to_string(event.record.version())});
    for (const v1::EventChange& change : event.history) {
      commands.push_back(
          {"RPUSH", store::HistoryKey(kSubdistrict, id), change.SerializeAsString()});
    }
    commands.push_back({"ZADD", store::EventsIndexKey(kSubdistrict),
                        std::to_string(FromTimestamp(event.record.created_at())), id});
  }
  return commands;
}

// Every change of the scenario, by time (the order the services wrote them in).
inline std::vector<v1::EventChange> ChangesInOrder(const std::vector<ScenarioEvent>& events) {
  std::vector<v1::EventChange> changes;
  for (const ScenarioEvent& event : events) {
    changes.insert(changes.end(), event.history.begin(), event.history.end());
  }
  std::stable_sort(changes.begin(), changes.end(), [](const auto& a, const auto& b) {
    return FromTimestamp(a.at()) < FromTimestamp(b.at());
  });
  return changes;
}

}  // namespace grid::metrics::testing
