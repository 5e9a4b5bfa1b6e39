#include "tools/loadgen/workload.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace grid::loadgen {

using google::protobuf::util::TimeUtil;

std::vector<std::string> GridIds(const topology::Topology& topology) {
  std::vector<std::string> grids;
  for (const v1::Unit& unit : topology.data().units()) {
    if (unit.level() == v1::LEVEL_GRID) {
      grids.push_back(unit.id());
    }
  }
  return grids;
}

std::vector<std::string> SpreadCategories(const policy::Policy& policy) {
  std::vector<std::string> categories;
  std::string large;
  for (const v1::Category& category : policy.data().categories()) {
    const std::string& code = category.code();
    if (code.size() == 4 && code.substr(0, 2) != large) {
      large = code.substr(0, 2);
      categories.push_back(code);
    }
  }
  return categories;
}

v1::ReportEventRequest DispatchReport(int index, const std::vector<std::string>& grids,
                                      const std::vector<std::string>& categories,
                                      const std::string& run_id, const std::string& district_id) {
  v1::ReportEventRequest request;
  v1::Report& report = *request.mutable_report();
  report.set_client_request_id(absl::StrCat(run_id, "-", index));
  report.set_grid_id(grids[static_cast<std::size_t>(index) % grids.size()]);
  report.set_category(categories[static_cast<std::size_t>(index) % categories.size()]);
  report.set_severity(v1::SEVERITY_NORMAL);
  report.set_source(v1::SOURCE_OPERATOR);
  report.set_description(absl::StrCat("grid-loadgen dispatch report ", index));
  v1::Actor& actor = *request.mutable_actor();
  actor.set_subject("grid-loadgen");
  actor.set_role(v1::ROLE_OPERATOR);
  actor.set_unit_id(district_id);
  return request;
}

v1::ReportEventRequest WorkerReport(int index, const v1::Worker& worker,
                                    const std::vector<std::string>& categories,
                                    const std::string& run_id) {
  v1::ReportEventRequest request;
  v1::Report& report = *request.mutable_report();
  report.set_client_request_id(absl::StrCat(run_id, "-", index));
  report.set_grid_id(worker.grid_id());
  report.set_category(categories[static_cast<std::size_t>(index) % categories.size()]);
  report.set_severity(v1::SEVERITY_NORMAL);
  report.set_source(v1::SOURCE_GRID_WORKER);
  report.set_description(absl::StrCat("grid-loadgen ingest report ", index));
  v1::Actor& actor = *request.mutable_actor();
  actor.set_subject(worker.id());
  actor.set_role(v1::ROLE_WORKER);
  actor.set_unit_id(worker.grid_id());
  return request;
}

absl::StatusOr<SeedRule> PickSeedRule(const policy::Policy& policy) {
  for (const v1::Rule& rule : policy.data().rules()) {
    if (rule.start_level() != v1::LEVEL_GRID || rule.time_basis() == v1::TIME_BASIS_WORKING_TIME) {
      continue;
    }
    const v1::LevelLimit* limit = policy::LimitAt(rule, v1::LEVEL_GRID);
    if (limit == nullptr) {
      continue;
    }
    // Normal severity where the rule allows it, else the first it names.
    v1::Severity severity = v1::SEVERITY_NORMAL;
    if (!rule.severities().empty() && std::find(rule.severities().begin(), rule.severities().end(),
                                                v1::SEVERITY_NORMAL) == rule.severities().end()) {
      severity = static_cast<v1::Severity>(rule.severities(0));
    }
    for (const v1::Category& category : policy.data().categories()) {
      if (category.code().size() == 4 && category.code().starts_with(rule.category_prefix()) &&
          policy.Match(category.code(), severity, v1::SOURCE_GRID_WORKER) == &rule) {
        return SeedRule{&rule, category.code(), severity, limit};
      }
    }
  }
  return absl::FailedPreconditionError(
      "policy: no rule starts at LEVEL_GRID with wall-clock limits and a category it routes");
}

SeedEvent ReportedEvent(const std::string& id, const std::string& grid_id,
                        const std::string& subdistrict_id, const SeedRule& rule, Millis now) {
  SeedEvent seed;
  v1::Event& event = seed.event;
  event.set_id(id);
  event.set_reporter_id("grid-loadgen");
  event.set_grid_id(grid_id);
  event.set_subdistrict_id(subdistrict_id);
  event.set_category(rule.category);
  event.set_severity(rule.severity);
  event.set_description("grid-loadgen escalation seed");
  event.set_source(v1::SOURCE_GRID_WORKER);
  event.set_state(v1::EVENT_STATE_REPORTED);
  event.set_level(v1::LEVEL_GRID);
  event.set_version(1);
  *event.mutable_reported_at() = ToTimestamp(now);
  *event.mutable_created_at() = ToTimestamp(now);
  *event.mutable_updated_at() = ToTimestamp(now);

  v1::EventChange& change = seed.change;
  change.set_event_id(id);
  change.set_kind(v1::CHANGE_KIND_REPORTED);
  *change.mutable_at() = ToTimestamp(now);
  change.mutable_actor()->set_subject(event.reporter_id());
  change.set_to_level(v1::LEVEL_GRID);
  change.set_to_unit_id(grid_id);
  change.set_to_state(v1::EVENT_STATE_REPORTED);
  change.set_version(1);
  change.set_grid_id(grid_id);
  change.set_subdistrict_id(subdistrict_id);
  change.set_category(event.category());
  change.set_severity(event.severity());
  return seed;
}

store::Move DispatchAt(const v1::Event& reported, const SeedRule& rule, Millis now, Millis due) {
  store::Move move;
  move.expected_version = reported.version();
  v1::Event& event = move.event;
  event = reported;
  event.set_state(v1::EVENT_STATE_DISPATCHED);
  event.set_version(reported.version() + 1);
  event.set_level(v1::LEVEL_GRID);
  event.set_unit_id(reported.grid_id());
  event.set_rule_id(rule.rule->id());
  event.set_department_id(rule.rule->department_id());
  *event.mutable_notified_levels() = rule.rule->notify_levels();
  v1::Deadlines& deadlines = *event.mutable_deadlines();
  *deadlines.mutable_started_at() = ToTimestamp(now);
  *deadlines.mutable_accept_limit() = rule.grid_limit->accept();
  *deadlines.mutable_resolve_limit() = rule.grid_limit->resolve();
  *deadlines.mutable_accept_by() = ToTimestamp(due);
  // The resolve limit keeps its length relative to the (moved) accept deadline.
  *deadlines.mutable_resolve_by() =
      ToTimestamp(due + TimeUtil::DurationToMilliseconds(rule.grid_limit->resolve()) -
                  TimeUtil::DurationToMilliseconds(rule.grid_limit->accept()));
  event.set_dispatch_count(1);
  *event.mutable_dispatched_at() = ToTimestamp(now);
  *event.mutable_updated_at() = ToTimestamp(now);
  event.set_traffic_light(v1::TRAFFIC_LIGHT_GREEN);

  v1::EventChange& change = move.change;
  change.set_event_id(reported.id());
  change.set_kind(v1::CHANGE_KIND_DISPATCHED);
  *change.mutable_at() = ToTimestamp(now);
  change.set_from_level(reported.level());
  change.set_from_unit_id(reported.unit_id());
  change.set_from_state(reported.state());
  change.set_to_level(event.level());
  change.set_to_unit_id(event.unit_id());
  change.set_to_state(event.state());
  change.set_reason_code(v1::CHANGE_REASON_POLICY);
  change.set_reason(absl::StrCat("rule ", rule.rule->id()));
  change.set_version(event.version());
  change.set_grid_id(reported.grid_id());
  change.set_subdistrict_id(reported.subdistrict_id());
  change.set_category(reported.category());
  change.set_severity(reported.severity());
  change.set_traffic_light(v1::TRAFFIC_LIGHT_GREEN);

  move.join_queue_unit = reported.grid_id();
  move.join_queue_score = static_cast<double>(due);
  return move;
}

Millis TimerPlan::Due(int i, Millis first_due) const {
  const auto offset = [](int k, double rate) {
    return static_cast<Millis>(std::floor(k * 1000.0 / rate));
  };
  if (InBaseline(i)) {
    return first_due + offset(i, baseline_.rate);
  }
  const Millis load_start = baseline_.count == 0
                                ? first_due
                                : first_due + offset(baseline_.count - 1, baseline_.rate) + kGap;
  return load_start + offset(i - baseline_.count, load_.rate);
}

}  // namespace grid::loadgen
