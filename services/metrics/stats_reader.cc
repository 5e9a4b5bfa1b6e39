#include "services/metrics/stats_reader.h"

#include <atomic>
#include <memory>

#include "absl/strings/str_cat.h"
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

// An array reply, or the failure: Redis errors map in one place (redis::StatusOf).
absl::StatusOr<redis::Reply> ArrayOf(absl::StatusOr<redis::Reply> result) {
  absl::StatusOr<redis::Reply> reply = redis::Checked(std::move(result));
  if (reply.ok()) {
    if (absl::Status status = reply->Expect(redis::Reply::Type::kArray); !status.ok()) {
      return status;
    }
  }
  return reply;
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
      case v1::STATS_DIMENSION_CATEGORY_CLASS:
        group["category_class"] = category_class;
        break;
      case v1::STATS_DIMENSION_SEVERITY:
        group["severity"] = SeverityLabel(severity);
        break;
      case v1::STATS_DIMENSION_UNIT:
        group["unit"] =
            ChildOf(topology, root_id.empty() ? topology.district_id() : root_id, unit_id);
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
}

StatsReader::StatsReader(redis::Client& redis, const topology::Topology& topology,
                         const policy::Policy& policy, const Clock& clock)
    : redis_(redis), topology_(topology), policy_(policy), clock_(clock) {}

void StatsReader::OpenEvents(const std::vector<std::string>& subdistricts, OpenDone done) {
  struct State {
    Pending pending;
    std::vector<OpenEvent> events;
    absl::Status error;
  };
  auto state = std::make_shared<State>();
  state->pending.done = [state, done = std::move(done)] {
    if (!state->error.ok()) {
      done(state->error);
    } else {
      done(std::move(state->events));
    }
  };
  const Millis now = clock_.Now();
  for (const std::string& subdistrict : subdistricts) {
    state->pending.Add();
    redis_.Command({"HKEYS", OpenEventsKey(subdistrict)}, [this, state, subdistrict, now](
                                                              absl::StatusOr<redis::Reply> result) {
      const absl::StatusOr<redis::Reply> reply = ArrayOf(std::move(result));
      if (!reply.ok()) {
        state->error = reply.status();
        state->pending.Release();
        return;
      }
      for (const redis::Reply& id : reply->elements) {
        state->pending.Add();
        redis_.Command(
            {"HGET", store::EventKey(subdistrict, id.str), "pb"},
            [this, state, subdistrict, now](absl::StatusOr<redis::Reply> result) {
              const absl::StatusOr<redis::Reply> record = redis::Checked(std::move(result));
              v1::Event event;
              if (!record.ok()) {
                state->error = record.status();
              } else if (record->IsString() && event.ParseFromString(record->str)) {
                OpenEvent open;
                open.subdistrict = subdistrict;
                open.unit_id = event.unit_id().empty() ? event.grid_id() : event.unit_id();
                open.level = event.level();
                open.category_class = CategoryClass(event.category());
                open.severity = event.severity();
                open.state = event.state();
                open.light = policy::TrafficLightAt(event.deadlines(), event.state(), now,
                                                    policy_.calendar());
                open.overdue = event.overdue() || open.light == v1::TRAFFIC_LIGHT_RED;
                state->events.push_back(std::move(open));
              }
              state->pending.Release();
            });
      }
      state->pending.Release();
    });
  }
  state->pending.Release();
}

void StatsReader::GetStats(const v1::GetStatsRequest& request, Done done) {
  const std::string root = request.unit_id();
  if (!root.empty() && topology_.Find(root) == nullptr) {
    done(absl::InvalidArgumentError(absl::StrCat("unit_id: unknown unit \"", root, "\"")));
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
  const Millis from = request.has_from() ? FromTimestamp(request.from()) : 0;
  const Millis to = request.has_to() ? FromTimestamp(request.to()) : 0;
  if (from != 0 && to != 0 && to <= from) {
    done(absl::InvalidArgumentError("to: must be after from"));
    return;
  }
  std::vector<std::string> subdistricts;
  if (const std::string_view own = root.empty() ? "" : topology_.SubdistrictOf(root);
      !own.empty()) {
    subdistricts.emplace_back(own);
  } else {
    subdistricts = topology_.subdistrict_ids();
  }

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
  state->pending.done = [state, dimensions, done = std::move(done)] {
    if (!state->error.ok()) {
      done(state->error);
      return;
    }
    v1::GetStatsResponse response;
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
    state->pending.Add();
    redis_.Command(
        {"ZRANGE", RollupDaysKey(subdistrict), "0", "-1", "WITHSCORES"},
        [this, state, subdistrict, from, to, in_subtree, add](absl::StatusOr<redis::Reply> result) {
          const absl::StatusOr<redis::Reply> reply = ArrayOf(std::move(result));
          if (!reply.ok()) {
            state->error = reply.status();
            state->pending.Release();
            return;
          }
          std::vector<int64_t> known;
          for (size_t i = 0; i + 1 < reply->elements.size(); i += 2) {
            known.push_back(std::stoll(reply->elements[i + 1].str));
          }
          for (int64_t day : DaysInWindow(known, from, to)) {
            state->pending.Add();
            redis_.Command(
                {"HGETALL", DayRollupKey(subdistrict, DayName(day))},
                [state, subdistrict, in_subtree, add](absl::StatusOr<redis::Reply> result) {
                  const absl::StatusOr<redis::Reply> hash = ArrayOf(std::move(result));
                  if (!hash.ok()) {
                    state->error = hash.status();
                    state->pending.Release();
                    return;
                  }
                  const auto& e = hash->elements;
                  for (size_t i = 0; i + 1 < e.size(); i += 2) {
                    auto field = ParseRollupField(e[i].str);
                    if (!field || !in_subtree(field->unit_id)) {
                      continue;
                    }
                    Counts counts;
                    if (AddCounter(counts, field->counter, std::stoll(e[i + 1].str))) {
                      add(field->unit_id, subdistrict, field->category_class,
                          std::atoi(field->severity.c_str()), counts);
                    }
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
