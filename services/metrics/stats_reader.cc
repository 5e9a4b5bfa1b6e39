#include "services/metrics/stats_reader.h"

#include <atomic>
#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/lifecycle/state_machine.h"
#include "common/policy/deadlines.h"
#include "common/redis/reply.h"
#include "common/store/keys.h"
#include "grid/v1/event.pb.h"
#include "services/metrics/change_recorder.h"
#include "services/metrics/metrics_keys.h"

namespace grid::metrics {
namespace {

// The unit's ancestor that is a direct child of `root_id`; the unit itself when it is the root or
// not below it.
std::string ChildOf(const topology::Topology& topology, const std::string& root_id,
                    const std::string& unit_id) {
  std::string current = unit_id;
  for (int depth = 0; depth < 8 && current != root_id; ++depth) {
    const v1::Unit* unit = topology.Find(current);
    if (unit == nullptr || unit->parent_id().empty()) {
      return unit_id;
    }
    if (unit->parent_id() == root_id) {
      return current;
    }
    current = unit->parent_id();
  }
  return current;
}

std::string RowKey(const std::map<std::string, std::string>& group) {
  std::string key;
  for (const auto& [name, value] : group) {
    absl::StrAppend(&key, name, "=", value, ";");
  }
  return key;
}

// Calls `done` once `pending` drops to zero; every callback of a query runs on the Redis
// client's executor, one at a time, so the state needs no lock besides the counter.
struct Pending {
  std::atomic<int> count{1};
  std::function<void()> done;
  void Add() { count.fetch_add(1); }
  void Release() {
    if (count.fetch_sub(1) == 1) {
      // Moved out first: `done` may own the state that owns this.
      auto finish = std::move(done);
      done = nullptr;
      finish();
    }
  }
};

// OK for an array reply; the failure (Redis failures map in one place, redis::StatusOf), or
// what the server answered instead, otherwise.
absl::Status ArrayOrError(const absl::StatusOr<redis::Reply>& reply) {
  if (absl::Status status = redis::StatusOf(reply); !status.ok()) {
    return status;
  }
  return reply->Expect(redis::Reply::Type::kArray);
}

}  // namespace

std::map<std::string, std::string> GroupOf(const std::vector<v1::StatsDimension>& dimensions,
                                           const topology::Topology& topology,
                                           const std::string& root_id, const std::string& unit_id,
                                           const std::string& subdistrict,
                                           const std::string& category_class, int severity) {
  std::map<std::string, std::string> group;
  for (v1::StatsDimension dimension : dimensions) {
    switch (dimension) {
      case v1::STATS_DIMENSION_LEVEL: {
        const v1::Unit* unit = topology.Find(unit_id);
        group["level"] = unit != nullptr ? LevelLabel(unit->level()) : "unspecified";
        break;
      }
      case v1::STATS_DIMENSION_SUBDISTRICT:
        group["subdistrict"] = subdistrict;
        break;
      case v1::STATS_DIMENSION_DISTRICT: {
        const v1::Unit* district = topology.DistrictOf(subdistrict);
        group["district"] = district != nullptr ? district->id() : "";
        break;
      }
      case v1::STATS_DIMENSION_CATEGORY_CLASS:
        group["category_class"] = category_class;
        break;
      case v1::STATS_DIMENSION_SEVERITY:
        group["severity"] = SeverityLabel(severity);
        break;
      case v1::STATS_DIMENSION_UNIT:
        group["unit"] = ChildOf(topology, root_id.empty() ? topology.root_id() : root_id, unit_id);
        break;
      default:
        break;
    }
  }
  return group;
}

void FillRow(const Counts& counts, v1::StatsRow& row) {
  row.set_reported(counts.reported);
  row.set_duplicates(counts.duplicates);
  row.set_closed(counts.closed);
  row.set_closed_on_time(counts.closed_on_time);
  row.set_due(counts.due);
  row.set_deferred(counts.deferred);
  row.set_reworked(counts.reworked);
  row.set_returned(counts.returned);
  row.set_escalated(counts.escalated);
  row.set_redispatched(counts.redispatched);
  row.set_open(counts.open);
  row.set_overdue(counts.overdue);
  const Scores scores = ScoresOf(counts);
  row.set_on_time_closure_rate(scores.on_time_closure_rate);
  row.set_closure_rate(scores.closure_rate);
  row.set_rework_rate(scores.rework_rate);
  row.set_first_dispatch_accuracy(scores.first_dispatch_accuracy);
  row.set_accepted(counts.accepted);
  row.set_accept_seconds_sum(static_cast<double>(counts.accept_ms) / 1000.0);
  row.set_accept_seconds_mean(scores.accept_seconds_mean);
  row.set_closed_timed(counts.closed_timed);
  row.set_close_seconds_sum(static_cast<double>(counts.close_ms) / 1000.0);
  row.set_close_seconds_mean(scores.close_seconds_mean);
}

absl::StatusOr<DayWindow> ResolveWindow(const v1::GetStatsRequest& request, Millis now,
                                        const LocalDays& days) {
  const bool by_time = request.has_from() || request.has_to();
  const bool by_date = !request.first_day().empty() || !request.last_day().empty();
  const bool by_count = request.last_days() != 0;
  if (by_time + by_date + by_count > 1) {
    const char* field = by_count ? "last_days" : "first_day";
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": give the window one way only: from/to, first_day/last_day or last_days"));
  }
  DayWindow window;
  if (by_time) {
    const Millis from = request.has_from() ? FromTimestamp(request.from()) : 0;
    const Millis to = request.has_to() ? FromTimestamp(request.to()) : 0;
    if (request.has_from() && request.has_to() && to <= from) {
      return absl::InvalidArgumentError("to: must be after from");
    }
    if (request.has_from()) {
      window.first = days.DayOf(from);
    }
    if (request.has_to()) {
      // [from, to) ends on the day of to - 1 ms.
      window.last = days.DayOf(to - 1);
    }
  } else if (by_date) {
    auto parse = [](std::string_view field,
                    const std::string& date) -> absl::StatusOr<std::optional<int64_t>> {
      if (date.empty()) {
        return std::optional<int64_t>();
      }
      std::optional<int64_t> day = ParseDate(date);
      if (!day) {
        return absl::InvalidArgumentError(absl::StrCat(
            std::string(field), ": not a date like 2026-12-01: \"", date.substr(0, 32), "\""));
      }
      return day;
    };
    auto first = parse("first_day", request.first_day());
    if (!first.ok()) {
      return first.status();
    }
    auto last = parse("last_day", request.last_day());
    if (!last.ok()) {
      return last.status();
    }
    if (*first && *last && **last < **first) {
      return absl::InvalidArgumentError(absl::StrCat("last_day: ", request.last_day(),
                                                     " is before first_day ", request.first_day()));
    }
    window.first = *first;
    window.last = *last;
  } else if (by_count) {
    if (request.last_days() < 1 || request.last_days() > kMaxLastDays) {
      return absl::InvalidArgumentError(absl::StrCat("last_days: must be 1 (today) to ",
                                                     kMaxLastDays, ", not ", request.last_days()));
    }
    const int64_t today = days.DayOf(now);
    window.first = today - request.last_days() + 1;
    window.last = today;
  }
  return window;
}

StatsReader::StatsReader(redis::Client& redis, const topology::Topology& topology,
                         const policy::Policy& policy, const Clock& clock)
    : redis_(redis),
      topology_(topology),
      policy_(policy),
      clock_(clock),
      days_(policy.data().calendar().utc_offset_minutes()) {}

OpenEvent StatsReader::OpenEventOf(const v1::Event& event, const std::string& subdistrict,
                                   Millis now) const {
  OpenEvent open;
  open.subdistrict = subdistrict;
  open.unit_id = event.unit_id().empty() ? event.grid_id() : event.unit_id();
  open.level = event.level();
  open.category_class = CategoryClass(event.category());
  open.severity = event.severity();
  open.state = event.state();
  open.light = policy::TrafficLightAt(event.deadlines(), event.state(), now, policy_.calendar());
  open.overdue = event.overdue() || open.light == v1::TRAFFIC_LIGHT_RED;
  return open;
}

void StatsReader::OpenEvents(const std::vector<std::string>& subdistricts, OpenDone done) {
  // First the open events' ids of every subdistrict, then their records a chunk at a time: the
  // Redis client lets only so many commands wait for replies (20,000 by default), and a backlog
  // can be larger.
  struct State {
    Pending pending;
    // (subdistrict, id) of every open event.
    std::vector<std::pair<std::string, std::string>> ids;
    std::vector<OpenEvent> events;
    absl::Status error;
    OpenDone done;
  };
  auto state = std::make_shared<State>();
  state->done = std::move(done);
  const Millis now = clock_.Now();
  state->pending.done = [this, state, now] {
    if (!state->error.ok()) {
      auto finish = std::move(state->done);
      finish(state->error);
      return;
    }
    ReadOpenRecords(state, 0, now);
  };
  for (const std::string& subdistrict : subdistricts) {
    state->pending.Add();
    redis_.Command({"HKEYS", OpenEventsKey(subdistrict)},
                   [state, subdistrict](absl::StatusOr<redis::Reply> reply) {
                     if (absl::Status status = ArrayOrError(reply); !status.ok()) {
                       state->error = status;
                     } else {
                       for (redis::Reply& id : reply->elements) {
                         state->ids.emplace_back(subdistrict, std::move(id.str));
                       }
                     }
                     state->pending.Release();
                   });
  }
  state->pending.Release();
}

template <class State>
void StatsReader::ReadOpenRecords(std::shared_ptr<State> state, size_t first, Millis now) {
  const size_t last = std::min(state->ids.size(), first + kOpenRecordsChunk);
  auto chunk = std::make_shared<Pending>();
  chunk->done = [this, state, last, now] {
    if (!state->error.ok() || last == state->ids.size()) {
      auto finish = std::move(state->done);
      if (!state->error.ok()) {
        finish(state->error);
      } else {
        finish(std::move(state->events));
      }
      return;
    }
    ReadOpenRecords(state, last, now);
  };
  for (size_t i = first; i < last; ++i) {
    const auto& [subdistrict, id] = state->ids[i];
    chunk->Add();
    redis_.Command({"HGET", store::EventKey(subdistrict, id), "pb"},
                   [this, state, chunk, i, now](absl::StatusOr<redis::Reply> record) {
                     const auto& [subdistrict, id] = state->ids[i];
                     v1::Event event;
                     if (absl::Status status = redis::StatusOf(record); !status.ok()) {
                       state->error = status;
                     } else if (record->IsString() && event.ParseFromString(record->str)) {
                       if (lifecycle::IsFinal(event.state())) {
                         // The record is the truth: a backlog entry left by an older step delivered
                         // after the event's bookkeeping expired goes.
                         redis_.Command({"HDEL", OpenEventsKey(subdistrict), id},
                                        [](absl::StatusOr<redis::Reply>) {});
                       } else {
                         state->events.push_back(OpenEventOf(event, subdistrict, now));
                       }
                     }
                     chunk->Release();
                   });
  }
  chunk->Release();
}

namespace {

// The error a subdistrict whose rollups are not complete yet answers with.
absl::Status Rederiving(const std::string& subdistrict) {
  return absl::UnavailableError(
      absl::StrCat("metrics: the rollups of subdistrict ", subdistrict,
                   " are being re-derived from the event records after an upgrade; retry shortly"));
}

// Adds one rollup hash (HGETALL) to `add(field, count)`; false when it is not a hash reply.
template <class Add>
absl::Status ForEachField(const absl::StatusOr<redis::Reply>& hash, Add add) {
  if (absl::Status status = ArrayOrError(hash); !status.ok()) {
    return status;
  }
  const auto& e = hash->elements;
  for (size_t i = 0; i + 1 < e.size(); i += 2) {
    auto field = ParseRollupField(e[i].str);
    long long count = 0;
    if (!field || !absl::SimpleAtoi(e[i + 1].str, &count)) {
      continue;
    }
    add(*field, count);
  }
  return absl::OkStatus();
}

}  // namespace

void StatsReader::TodayTotals(const std::vector<std::string>& subdistricts, TotalsDone done) {
  struct State {
    Pending pending;
    // Set for the subdistricts that are ready and were read.
    std::vector<std::optional<DayTotals>> totals;
    std::vector<bool> ready;
    absl::Status error;
  };
  auto state = std::make_shared<State>();
  state->totals.resize(subdistricts.size());
  state->ready.resize(subdistricts.size(), false);
  state->pending.done = [state, done = std::move(done)] {
    if (!state->error.ok()) {
      done(state->error);
      return;
    }
    std::vector<DayTotals> totals;
    for (size_t i = 0; i < state->totals.size(); ++i) {
      if (state->ready[i] && state->totals[i]) {
        totals.push_back(std::move(*state->totals[i]));
      }
    }
    done(std::move(totals));
  };
  const int64_t day = days_.DayOf(clock_.Now());
  const std::string today = DayName(day);
  for (size_t i = 0; i < subdistricts.size(); ++i) {
    const std::string& subdistrict = subdistricts[i];
    state->pending.Add();
    redis_.Command({"GET", RederivedKey(subdistrict)},
                   [state, i](absl::StatusOr<redis::Reply> ready) {
                     if (absl::Status status = redis::StatusOf(ready); !status.ok()) {
                       state->error = status;
                     } else {
                       state->ready[i] = !ready->IsNil();
                     }
                     state->pending.Release();
                   });
    state->pending.Add();
    redis_.Command({"HGETALL", DayRollupKey(subdistrict, today)},
                   [state, i, subdistrict, day](absl::StatusOr<redis::Reply> hash) {
                     DayTotals totals{subdistrict, day, Counts()};
                     absl::Status status =
                         ForEachField(hash, [&totals](const RollupField& field, long long count) {
                           AddCounter(totals.counts, field.counter, count);
                         });
                     if (!status.ok()) {
                       state->error = status;
                     } else {
                       state->totals[i] = std::move(totals);
                     }
                     state->pending.Release();
                   });
  }
  state->pending.Release();
}

void StatsReader::GetStats(const v1::GetStatsRequest& request, Done done) {
  const std::string root = request.unit_id();
  if (!root.empty() && topology_.Find(root) == nullptr) {
    done(absl::InvalidArgumentError(
        absl::StrCat("unit_id: unknown unit \"", root.substr(0, 64), "\"")));
    return;
  }
  std::vector<v1::StatsDimension> dimensions;
  for (int i = 0; i < request.group_by_size(); ++i) {
    const auto dimension = static_cast<v1::StatsDimension>(request.group_by(i));
    if (dimension == v1::STATS_DIMENSION_UNSPECIFIED || !v1::StatsDimension_IsValid(dimension)) {
      done(absl::InvalidArgumentError(
          absl::StrCat("group_by[", i, "]: must be a dimension (level, subdistrict, ...)")));
      return;
    }
    dimensions.push_back(dimension);
  }
  const Millis now = clock_.Now();
  absl::StatusOr<DayWindow> resolved = ResolveWindow(request, now, days_);
  if (!resolved.ok()) {
    done(resolved.status());
    return;
  }
  const DayWindow window = *resolved;
  const std::vector<std::string> subdistricts = topology_.ShardsOf(root);

  struct State {
    Pending pending;
    std::map<std::string, std::pair<std::map<std::string, std::string>, Counts>> rows;
    absl::Status error;
  };
  auto state = std::make_shared<State>();
  auto in_subtree = [this, root](const std::string& unit) {
    return root.empty() || topology_.InSubtree(unit, root);
  };
  auto add = [this, state, dimensions, root](const std::string& unit, const std::string& sd,
                                             const std::string& cc, int severity,
                                             const Counts& counts) {
    auto group = GroupOf(dimensions, topology_, root, unit, sd, cc, severity);
    auto& row = state->rows[RowKey(group)];
    row.first = std::move(group);
    row.second += counts;
  };
  v1::GetStatsResponse frame;
  if (window.first) {
    frame.set_first_day(DateName(*window.first));
  }
  if (window.last) {
    frame.set_last_day(DateName(*window.last));
  }
  frame.set_today(DateName(days_.DayOf(now)));
  frame.set_utc_offset_minutes(days_.utc_offset_minutes());
  state->pending.done = [state, dimensions, frame = std::move(frame), done = std::move(done)] {
    if (!state->error.ok()) {
      done(state->error);
      return;
    }
    v1::GetStatsResponse response = frame;
    if (dimensions.empty() && state->rows.empty()) {
      FillRow(Counts(), *response.add_rows());
    }
    for (const auto& [key, row] : state->rows) {
      v1::StatsRow& out = *response.add_rows();
      out.mutable_group()->insert(row.first.begin(), row.first.end());
      FillRow(row.second, out);
    }
    done(std::move(response));
  };

  for (const std::string& subdistrict : subdistricts) {
    // Pipelined: the readiness mark, then the days; a subdistrict still being re-derived fails
    // the whole answer rather than give partial counts.
    state->pending.Add();
    redis_.Command({"GET", RederivedKey(subdistrict)},
                   [state, subdistrict](absl::StatusOr<redis::Reply> ready) {
                     if (absl::Status status = redis::StatusOf(ready); !status.ok()) {
                       state->error = status;
                     } else if (ready->IsNil()) {
                       state->error = Rederiving(subdistrict);
                     }
                     state->pending.Release();
                   });
    state->pending.Add();
    redis_.Command(
        {"ZRANGE", RollupDaysKey(subdistrict), "0", "-1", "WITHSCORES"},
        [this, state, subdistrict, window, in_subtree, add](absl::StatusOr<redis::Reply> reply) {
          if (absl::Status status = ArrayOrError(reply); !status.ok()) {
            state->error = status;
            state->pending.Release();
            return;
          }
          std::vector<int64_t> known;
          for (size_t i = 0; i + 1 < reply->elements.size(); i += 2) {
            int64_t day = 0;
            if (absl::SimpleAtoi(reply->elements[i + 1].str, &day)) {
              known.push_back(day);
            }
          }
          for (int64_t day : DaysInWindow(known, window)) {
            state->pending.Add();
            redis_.Command(
                {"HGETALL", DayRollupKey(subdistrict, DayName(day))},
                [state, subdistrict, in_subtree, add](absl::StatusOr<redis::Reply> hash) {
                  absl::Status status =
                      ForEachField(hash, [&](const RollupField& field, long long count) {
                        Counts counts;
                        if (in_subtree(field.unit_id) && AddCounter(counts, field.counter, count)) {
                          add(field.unit_id, subdistrict, field.category_class,
                              std::atoi(field.severity.c_str()), counts);
                        }
                      });
                  if (!status.ok()) {
                    state->error = status;
                  }
                  state->pending.Release();
                });
          }
          state->pending.Release();
        });
  }
  state->pending.Add();
  OpenEvents(subdistricts, [state, in_subtree, add](absl::StatusOr<std::vector<OpenEvent>> open) {
    if (!open.ok()) {
      state->error = open.status();
    } else {
      for (const OpenEvent& event : *open) {
        if (!in_subtree(event.unit_id)) {
          continue;
        }
        Counts counts;
        counts.open = 1;
        counts.overdue = event.overdue ? 1 : 0;
        add(event.unit_id, event.subdistrict, event.category_class, event.severity, counts);
      }
    }
    state->pending.Release();
  });
  state->pending.Release();
}

}  // namespace grid::metrics
