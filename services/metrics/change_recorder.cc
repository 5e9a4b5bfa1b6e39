#include "services/metrics/change_recorder.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/clock/clock.h"
#include "common/store/keys.h"
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
                  .Register(registry)),
      today(prometheus::BuildGauge()
                .Name("grid_events_today")
                .Help("Today's counts (the policy calendar's local day), by figure.")
                .Register(registry)),
      today_start(prometheus::BuildGauge()
                      .Name("grid_today_start_timestamp_seconds")
                      .Help("When the local day of grid_events_today started.")
                      .Register(registry)),
      rederive_remaining(
          prometheus::BuildGauge()
              .Name("grid_rollup_rederive_remaining_events")
              .Help("Events still to be counted by the re-derivation of the rollups.")
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

namespace {

// What one step says on its own, without the steps before it.
struct Step {
  bool breached = false;
  bool suspension = false;
  bool closure = false;
  bool dispatch = false;
  // DISPATCHED, RETURNED or REASSIGNED: the event goes to a unit (again); escalation and rework
  // are no re-dispatch.
  bool sends = false;
  // The first of a breach, a suspension and a closure makes the event fall due.
  bool falls_due() const { return breached || suspension || closure; }
};

Step StepOf(const v1::EventChange& change) {
  Step step;
  const Millis at = FromTimestamp(change.at());
  const bool late = change.has_due_by() && at > FromTimestamp(change.due_by());
  const bool timeout = change.kind() == v1::CHANGE_KIND_ESCALATED &&
                       (change.reason_code() == v1::CHANGE_REASON_ACCEPT_TIMEOUT ||
                        change.reason_code() == v1::CHANGE_REASON_RESOLVE_TIMEOUT);
  step.breached = late || timeout || change.kind() == v1::CHANGE_KIND_REMINDED;
  step.suspension = change.kind() == v1::CHANGE_KIND_SUSPENDED;
  step.closure = change.kind() == v1::CHANGE_KIND_VERIFIED;
  step.dispatch = change.kind() == v1::CHANGE_KIND_DISPATCHED;
  step.sends = step.dispatch || change.kind() == v1::CHANGE_KIND_RETURNED ||
               change.kind() == v1::CHANGE_KIND_REASSIGNED;
  return step;
}

}  // namespace

bool NeedsHistory(const v1::EventChange& change) {
  const Step step = StepOf(change);
  return step.dispatch || step.falls_due();
}

ChangeFacts FactsOf(const v1::EventChange& change, const std::vector<v1::EventChange>& before) {
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
  const Step step = StepOf(change);
  facts.breached = step.breached;
  facts.final_state = change.to_state() == v1::EVENT_STATE_CLOSED ||
                      change.to_state() == v1::EVENT_STATE_VOIDED ||
                      change.to_state() == v1::EVENT_STATE_CANCELLED;

  // What happened before this version, whatever order the changes come in.
  bool dispatched = false;
  bool suspended = false;
  bool breached = false;
  bool fell_due = false;
  int sends = 0;
  for (const v1::EventChange& earlier : before) {
    if (earlier.version() >= change.version()) {
      continue;
    }
    const Step was = StepOf(earlier);
    dispatched = dispatched || was.dispatch;
    suspended = suspended || was.suspension;
    breached = breached || was.breached;
    fell_due = fell_due || was.falls_due();
    sends += was.sends ? 1 : 0;
  }
  facts.first_dispatch = step.dispatch && !dispatched;
  facts.closed_on_time = step.closure && !step.breached && !breached && !suspended;

  auto count = [&facts](std::string_view counter) { facts.counters.push_back(counter); };
  // A response time, counted with its count when the change carries its start and the step did
  // not come before it (as the Prometheus histograms take them, see Observe).
  const Millis at = FromTimestamp(change.at());
  auto time = [&](bool known, const google::protobuf::Timestamp& from, std::string_view counter,
                  std::string_view sum) {
    if (!known || at < FromTimestamp(from)) {
      return;
    }
    count(counter);
    facts.amounts.emplace_back(sum, at - FromTimestamp(from));
  };
  switch (change.kind()) {
    case v1::CHANGE_KIND_REPORTED:
      count(kReported);
      break;
    case v1::CHANGE_KIND_DUPLICATE_MERGED:
      count(kDuplicates);
      break;
    case v1::CHANGE_KIND_RETURNED:
      count(kReturned);
      break;
    case v1::CHANGE_KIND_REWORK:
      count(kReworked);
      break;
    case v1::CHANGE_KIND_ESCALATED:
      count(kEscalated);
      break;
    case v1::CHANGE_KIND_SUPERVISED:
      count(kSupervised);
      break;
    case v1::CHANGE_KIND_SUSPENDED:
      if (!suspended) {
        count(kDeferred);
      }
      break;
    case v1::CHANGE_KIND_ACCEPTED:
      time(change.has_clock_started_at(), change.clock_started_at(), kAccepted, kAcceptMillis);
      break;
    case v1::CHANGE_KIND_VERIFIED:
      count(kClosed);
      time(change.has_created_at(), change.created_at(), kClosedTimed, kCloseMillis);
      if (sends > 1) {
        count(kRedispatched);
      }
      if (facts.closed_on_time) {
        count(kClosedOnTime);
      }
      break;
    default:
      break;
  }
  if (step.falls_due() && !fell_due) {
    count(kDue);
  }
  return facts;
}

std::vector<v1::EventChange> ParseHistory(const redis::Reply& reply) {
  std::vector<v1::EventChange> changes;
  if (!reply.IsArray()) {
    return changes;
  }
  changes.reserve(reply.elements.size());
  for (const redis::Reply& item : reply.elements) {
    v1::EventChange change;
    if (item.IsString() && change.ParseFromString(item.str)) {
      changes.push_back(std::move(change));
    }
  }
  return changes;
}

ChangeRecorder::ChangeRecorder(redis::Client& redis, const topology::Topology& topology,
                               LocalDays days, ResponseMetrics& metrics,
                               std::chrono::seconds rollup_ttl)
    : redis_(redis),
      topology_(topology),
      days_(days),
      metrics_(metrics),
      script_(redis::Script::FromSource(std::string(store::kRecordChangeLua))),
      rollup_ttl_(rollup_ttl) {}

void ChangeRecorder::BatchOn(boost::asio::any_io_executor executor, size_t max_batch) {
  batch_ = max_batch > 1 ? std::make_unique<redis::BatchedScript>(redis_, std::move(executor),
                                                                  script_, max_batch)
                         : nullptr;
}

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
  if (change->version() <= 0) {
    // Counting is idempotent per version; a change without one cannot be counted exactly once.
    spdlog::warn("not counting {} ({}): the change has no version", entry.id, change->event_id());
    done(store::Outcome::kAck);
    return;
  }
  auto record = [this, change, id = entry.id,
                 done](const std::vector<v1::EventChange>& before) mutable {
    auto facts = std::make_shared<ChangeFacts>(FactsOf(*change, before));
    Record(id, *change, *facts,
           [this, change, facts, id, done = std::move(done)](absl::StatusOr<Recorded> recorded) {
             if (!recorded.ok()) {
               // Logged (throttled) by the consumer, and dead-lettered if it keeps failing.
               done(store::Verdict::Retry(absl::StrCat("counting ", id, " (", change->event_id(),
                                                       "): ", recorded.status().ToString())));
               return;
             }
             if (recorded->observe) {
               Observe(*change, *facts);
             }
             done(store::Outcome::kAcked);
           });
  };
  if (!NeedsHistory(*change)) {
    record({});
    return;
  }
  redis_.Command(
      {"LRANGE", store::HistoryKey(change->subdistrict_id(), change->event_id()), "0", "-1"},
      [change, id = entry.id, record = std::move(record),
       done](absl::StatusOr<redis::Reply> reply) mutable {
        absl::Status status =
            reply.ok() ? reply->Expect(redis::Reply::Type::kArray) : reply.status();
        if (!status.ok()) {
          done(store::Verdict::Retry(absl::StrCat("history of ", change->event_id(), " for ", id,
                                                  ": ", status.ToString())));
          return;
        }
        record(ParseHistory(*reply));
      });
}

void ChangeRecorder::Rederive(const v1::EventChange& change,
                              const std::vector<v1::EventChange>& before,
                              std::function<void(absl::Status)> done) {
  if (change.version() <= 0 || change.event_id().empty() || change.subdistrict_id().empty()) {
    done(absl::OkStatus());
    return;
  }
  Record("", change, FactsOf(change, before),
         [done = std::move(done)](absl::StatusOr<Recorded> recorded) { done(recorded.status()); });
}

void ChangeRecorder::Record(const std::string& entry_id, const v1::EventChange& change,
                            const ChangeFacts& facts,
                            std::function<void(absl::StatusOr<Recorded>)> done) {
  const std::string& subdistrict = change.subdistrict_id();
  const int64_t day = days_.DayOf(FromTimestamp(change.at()));
  const std::string day_name = DayName(day);
  std::string counters;
  for (std::string_view counter : facts.counters) {
    counters.append(counters.empty() ? "" : " ").append(counter);
  }
  for (const auto& [sum, amount] : facts.amounts) {
    counters.append(counters.empty() ? "" : " ").append(sum).append("=");
    counters.append(std::to_string(amount));
  }
  std::vector<std::string> keys = {
      store::LiveStream(subdistrict), EventStateKey(subdistrict, change.event_id()),
      OpenEventsKey(subdistrict), DayRollupKey(subdistrict, day_name), RollupDaysKey(subdistrict)};
  std::vector<std::string> args = {
      std::string(kMetricsGroup),
      entry_id,
      change.event_id(),
      std::to_string(change.version()),
      RollupPrefix(facts.unit_id, CategoryClass(change.category()), change.severity()),
      counters,
      std::to_string(change.to_state()),
      facts.final_state ? "1" : "0",
      std::to_string(day),
      day_name,
      std::to_string(rollup_ttl_.count()),
      std::to_string(rollup_ttl_.count()),
      std::to_string(std::min<long long>(kClosedEventStateTtlSeconds, rollup_ttl_.count()))};
  auto recorded = [done = std::move(done)](absl::StatusOr<redis::Reply> reply) {
    if (!reply.ok()) {
      done(reply.status());
      return;
    }
    if (absl::Status shape = reply->Expect(redis::Reply::Type::kArray); !shape.ok()) {
      done(shape);
      return;
    }
    const auto& e = reply->elements;
    if (e.size() < 2 || !e[0].IsInteger() || !e[1].IsInteger()) {
      done(absl::InternalError("record_change.lua: unexpected reply " + reply->DebugString()));
      return;
    }
    done(Recorded{e[0].integer == 1, e[1].integer == 1});
  };
  if (batch_ != nullptr) {
    batch_->Eval(std::move(keys), std::move(args), redis::kNoDeadline, std::move(recorded));
  } else {
    redis_.Eval(script_, std::move(keys), std::move(args), std::move(recorded));
  }
}

void ChangeRecorder::Observe(const v1::EventChange& change, const ChangeFacts& facts) {
  const std::string& subdistrict = change.subdistrict_id();
  const std::string severity = SeverityLabel(change.severity());
  const std::string level = LevelOf(facts.unit_id, change.to_level());
  const Millis at = FromTimestamp(change.at());
  // Every move carries the event's creation time; without it nothing is timed from filing.
  const Millis created = change.has_created_at() ? FromTimestamp(change.created_at()) : 0;
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
      if (facts.first_dispatch) {
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
                {"on_time", facts.closed_on_time ? "true" : "false"}})
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
