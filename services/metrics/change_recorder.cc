#include "services/metrics/change_recorder.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/clock/clock.h"
#include "grid/v1/types.pb.h"
#include "services/metrics/metrics_keys.h"
#include "services/metrics/rollup.h"

namespace grid::store {
extern const std::string_view kRecordChangeLua;
}  // namespace grid::store

namespace grid::metrics {
namespace {

prometheus::Family<prometheus::Histogram>& Histogram(prometheus::Registry& registry,
                                                     const std::string& name,
                                                     const std::string& help) {
  return prometheus::BuildHistogram().Name(name).Help(help).Register(registry);
}

prometheus::Family<prometheus::Counter>& Counter(prometheus::Registry& registry,
                                                 const std::string& name, const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry);
}

// "LEVEL_GRID" -> "grid" for prefix "LEVEL_".
std::string Lower(const std::string& name, std::string_view prefix) {
  std::string out = name.substr(name.rfind(prefix, 0) == 0 ? prefix.size() : 0);
  absl::AsciiStrToLower(&out);
  return out.empty() ? "unspecified" : out;
}

}  // namespace

ResponseMetrics::ResponseMetrics(prometheus::Registry& registry)
    : dispatch_seconds(Histogram(registry, "grid_event_dispatch_seconds",
                                 "Time from filing an event to its first dispatch.")),
      accept_seconds(Histogram(registry, "grid_event_accept_seconds",
                               "Time from the start of a unit's clock to its acceptance.")),
      resolve_seconds(Histogram(registry, "grid_event_resolve_seconds",
                                "Time from filing an event to its resolution.")),
      close_seconds(Histogram(registry, "grid_event_close_seconds",
                              "Time from filing an event to its closure.")),
      reported(Counter(registry, "grid_events_reported_total", "Events reported.")),
      duplicates(Counter(registry, "grid_events_duplicates_merged_total",
                         "Reports merged into an open event as duplicates.")),
      escalations(Counter(registry, "grid_event_escalations_total",
                          "Escalations, by the levels and the reason.")),
      returns(Counter(registry, "grid_event_returns_total", "Events a unit returned (退回).")),
      reworks(Counter(registry, "grid_event_reworks_total", "Verification failures (返工).")),
      supervisions(Counter(registry, "grid_event_supervisions_total",
                           "Events the command centre pressed (督办).")),
      suspensions(Counter(registry, "grid_event_suspensions_total", "Events suspended (挂账).")),
      closed(
          Counter(registry, "grid_events_closed_total", "Events closed (结案), on time or not.")),
      open(prometheus::BuildGauge()
               .Name("grid_events_open")
               .Help("Open events, by level, state and traffic light.")
               .Register(registry)),
      overdue(prometheus::BuildGauge()
                  .Name("grid_events_overdue")
                  .Help("Open events past their limit.")
                  .Register(registry)) {}

std::string LevelLabel(int level) {
  return Lower(v1::Level_Name(static_cast<v1::Level>(level)), "LEVEL_");
}
std::string StateLabel(int state) {
  return Lower(v1::EventState_Name(static_cast<v1::EventState>(state)), "EVENT_STATE_");
}
std::string LightLabel(int light) {
  return Lower(v1::TrafficLight_Name(static_cast<v1::TrafficLight>(light)), "TRAFFIC_LIGHT_");
}
std::string SeverityLabel(int severity) {
  return Lower(v1::Severity_Name(static_cast<v1::Severity>(severity)), "SEVERITY_");
}
std::string ReasonLabel(int reason) {
  return Lower(v1::ChangeReason_Name(static_cast<v1::ChangeReason>(reason)), "CHANGE_REASON_");
}

ChangeFacts FactsOf(const v1::EventChange& change) {
  ChangeFacts facts;
  switch (change.kind()) {
    case v1::CHANGE_KIND_REPORTED:
      facts.unit_id = change.grid_id();
      break;
    default:
      facts.unit_id = !change.from_unit_id().empty() ? change.from_unit_id()
                      : !change.to_unit_id().empty() ? change.to_unit_id()
                                                     : change.grid_id();
      break;
  }
  const Millis at = FromTimestamp(change.at());
  const bool late = change.has_due_by() && at > FromTimestamp(change.due_by());
  const bool timeout = change.kind() == v1::CHANGE_KIND_ESCALATED &&
                       (change.reason_code() == v1::CHANGE_REASON_ACCEPT_TIMEOUT ||
                        change.reason_code() == v1::CHANGE_REASON_RESOLVE_TIMEOUT);
  facts.breached = late || timeout || change.kind() == v1::CHANGE_KIND_REMINDED;
  facts.final_state = change.to_state() == v1::EVENT_STATE_CLOSED ||
                      change.to_state() == v1::EVENT_STATE_VOIDED ||
                      change.to_state() == v1::EVENT_STATE_CANCELLED;
  return facts;
}

ChangeRecorder::ChangeRecorder(redis::Client& redis, const topology::Topology& topology,
                               ResponseMetrics& metrics, std::chrono::seconds rollup_ttl)
    : redis_(redis),
      topology_(topology),
      metrics_(metrics),
      script_(redis::Script::FromSource(std::string(store::kRecordChangeLua))),
      rollup_ttl_(rollup_ttl) {}

std::string ChangeRecorder::LevelOf(const std::string& unit_id, int fallback) const {
  if (const v1::Unit* unit = topology_.Find(unit_id)) {
    return LevelLabel(unit->level());
  }
  return LevelLabel(fallback);
}

void ChangeRecorder::Handle(const store::StreamEntry& entry,
                            std::function<void(store::Verdict)> done) {
  if (entry.fields.empty()) {
    // Trimmed away since delivery: nothing to count.
    done(store::Outcome::kAck);
    return;
  }
  auto change = std::make_shared<v1::EventChange>();
  const std::string& payload = entry.Field("c");
  if (payload.empty() || !change->ParseFromString(payload) || change->event_id().empty() ||
      change->subdistrict_id().empty()) {
    done(store::Verdict::DeadLetter(
        payload.empty() ? "not a live-stream entry: it has no field \"c\""
                        : "field \"c\" is not an EventChange with an event and a subdistrict"));
    return;
  }
  const std::string& subdistrict = change->subdistrict_id();
  ChangeFacts facts = FactsOf(*change);
  const Millis at = FromTimestamp(change->at());
  const int64_t day = DayOf(at);
  const std::string day_name = DayName(day);
  std::vector<std::string> keys = {entry.stream, EventStateKey(subdistrict, change->event_id()),
                                   OpenEventsKey(subdistrict), DayRollupKey(subdistrict, day_name),
                                   RollupDaysKey(subdistrict)};
  std::vector<std::string> args = {
      std::string(kMetricsGroup),
      entry.id,
      std::to_string(change->kind()),
      std::to_string(at),
      change->event_id(),
      RollupPrefix(facts.unit_id, CategoryClass(change->category()), change->severity()),
      std::to_string(change->to_state()),
      facts.final_state ? "1" : "0",
      facts.breached ? "1" : "0",
      std::to_string(day),
      day_name,
      std::to_string(rollup_ttl_.count())};
  redis_.Eval(script_, std::move(keys), std::move(args),
              [this, change, unit = std::move(facts.unit_id),
               done = std::move(done)](absl::StatusOr<redis::Reply> reply) {
                if (!reply.ok() || !reply->IsArray() || reply->elements.empty()) {
                  // Logged (throttled) by the consumer, and dead-lettered if it keeps failing.
                  done(store::Verdict::Retry(
                      absl::StrCat("counting a change of ", change->event_id(), ": ",
                                   reply.ok() ? reply->DebugString() : reply.status().ToString())));
                  return;
                }
                const auto& e = reply->elements;
                if (e[0].integer == 1 && e.size() >= 5) {
                  Observe(*change, unit, e[1].integer == 1, e[2].integer == 1, e[4].integer);
                }
                done(store::Outcome::kAcked);
              });
}

void ChangeRecorder::Observe(const v1::EventChange& change, const std::string& unit_id,
                             bool first_dispatch, bool on_time, long long created_ms) {
  const std::string& subdistrict = change.subdistrict_id();
  const std::string severity = SeverityLabel(change.severity());
  const std::string level = LevelOf(unit_id, change.to_level());
  const Millis at = FromTimestamp(change.at());
  const Millis created = change.has_created_at() ? FromTimestamp(change.created_at()) : created_ms;
  const std::map<std::string, std::string> timed = {
      {"subdistrict", subdistrict}, {"level", level}, {"severity", severity}};
  auto observe = [&](prometheus::Family<prometheus::Histogram>& family, Millis from) {
    if (from > 0 && at >= from) {
      family.Add(timed, ResponseTimeBuckets()).Observe(static_cast<double>(at - from) / 1000.0);
    }
  };
  const std::map<std::string, std::string> by_level = {{"subdistrict", subdistrict},
                                                       {"level", level}};
  switch (change.kind()) {
    case v1::CHANGE_KIND_REPORTED:
      metrics_.reported
          .Add({{"subdistrict", subdistrict},
                {"category_class", CategoryClass(change.category())},
                {"severity", severity}})
          .Increment();
      break;
    case v1::CHANGE_KIND_DUPLICATE_MERGED:
      metrics_.duplicates
          .Add({{"subdistrict", subdistrict}, {"category_class", CategoryClass(change.category())}})
          .Increment();
      break;
    case v1::CHANGE_KIND_DISPATCHED:
      if (first_dispatch) {
        observe(metrics_.dispatch_seconds, created);
      }
      break;
    case v1::CHANGE_KIND_ACCEPTED:
      if (change.has_clock_started_at()) {
        observe(metrics_.accept_seconds, FromTimestamp(change.clock_started_at()));
      }
      break;
    case v1::CHANGE_KIND_RESOLVED:
      observe(metrics_.resolve_seconds, created);
      break;
    case v1::CHANGE_KIND_VERIFIED:
      observe(metrics_.close_seconds, created);
      metrics_.closed
          .Add({{"subdistrict", subdistrict},
                {"level", level},
                {"on_time", on_time ? "true" : "false"}})
          .Increment();
      break;
    case v1::CHANGE_KIND_ESCALATED:
      metrics_.escalations
          .Add({{"subdistrict", subdistrict},
                {"from_level", LevelLabel(change.from_level())},
                {"to_level", LevelLabel(change.to_level())},
                {"reason", ReasonLabel(change.reason_code())}})
          .Increment();
      break;
    case v1::CHANGE_KIND_RETURNED:
      metrics_.returns.Add(by_level).Increment();
      break;
    case v1::CHANGE_KIND_REWORK:
      metrics_.reworks.Add(by_level).Increment();
      break;
    case v1::CHANGE_KIND_SUPERVISED:
      metrics_.supervisions.Add(by_level).Increment();
      break;
    case v1::CHANGE_KIND_SUSPENDED:
      metrics_.suspensions.Add(by_level).Increment();
      break;
    default:
      break;
  }
}

}  // namespace grid::metrics
