// grid-loadgen escalation: see benchmarks.h.
#include <signal.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/store/event_id.h"
#include "common/store/event_store.h"
#include "common/store/keys.h"
#include "tools/loadgen/bench_stack.h"
#include "tools/loadgen/benchmarks.h"
#include "tools/loadgen/live_streams.h"
#include "tools/loadgen/prometheus_text.h"
#include "tools/loadgen/seeder.h"
#include "tools/loadgen/summary.h"
#include "tools/loadgen/workload.h"

namespace grid::loadgen {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr std::chrono::seconds kSeedStall{30};
constexpr std::chrono::milliseconds kRedisTimeout{10000};
// After the last timer's due time, how long every due event has to show its escalation.
constexpr std::chrono::seconds kEscalationGrace{30};
// Once all have, how long to keep watching for a second escalation of any of them.
constexpr std::chrono::seconds kSettle{2};
constexpr std::chrono::milliseconds kPollStep{250};
constexpr double kGoalP99Ms = 250;
// The seeding rate assumed when there is no first phase to measure it by.
constexpr double kAssumedSeedRate = 2000;

absl::StatusOr<redis::Reply> Run(redis::Client& client, std::vector<std::string> argv) {
  auto reply = redis::CommandSync(client, std::move(argv), kRedisTimeout);
  if (reply.ok() && reply->IsError()) {
    return reply->ErrorStatus();
  }
  return reply;
}

// Seeds events on the grids in turn, each under the seed rule and due when `due_of(i)` says;
// unique ids (an id is random within a millisecond: a repeat is drawn again).
class SeedRun final {
 public:
  SeedRun(Seeder& seeder, const topology::Topology& topology, const SeedRule& rule)
      : seeder_(seeder), topology_(topology), rule_(rule), grids_(GridIds(topology)) {}

  // Seeds `count` events; `on_seed(i, id, due)` sees each. The events per second.
  absl::StatusOr<double> Seed(int count, const std::function<Millis(int)>& due_of,
                              const std::function<void(const std::string&, Millis)>& on_seed) {
    const auto begin = SteadyClock::now();
    for (int i = 0; i < count; ++i) {
      const std::string& grid = grids_[static_cast<std::size_t>(next_grid_++) % grids_.size()];
      const std::string subdistrict(topology_.SubdistrictOf(grid));
      const Millis now = clock_.Now();
      std::string id = store::NewEventId(subdistrict, now);
      while (!ids_.insert(id).second) {
        id = store::NewEventId(subdistrict, now);
      }
      const Millis due = due_of(i);
      SeedEvent seed = ReportedEvent(id, grid, subdistrict, rule_, now);
      store::Move dispatch = DispatchAt(seed.event, rule_, now, due);
      if (auto status = seeder_.Add(std::move(seed), std::move(dispatch), kSeedStall);
          !status.ok()) {
        // The events in flight still call back into the store: let them land first.
        (void)seeder_.Wait(kSeedStall);
        return status;
      }
      on_seed(id, due);
    }
    if (auto status = seeder_.Wait(kSeedStall); !status.ok()) {
      return status;
    }
    const double seconds = std::chrono::duration<double>(SteadyClock::now() - begin).count();
    return seconds > 0 ? count / seconds : 0.0;
  }

 private:
  Seeder& seeder_;
  const topology::Topology& topology_;
  const SeedRule& rule_;
  std::vector<std::string> grids_;
  SystemClock clock_;
  absl::flat_hash_set<std::string> ids_;
  int next_grid_ = 0;
};

// The sum of a per-subdistrict integer reply (ZCARD, ZCOUNT...).
absl::StatusOr<long long> SumOver(
    redis::Client& client, const std::vector<std::string>& subdistricts,
    const std::function<std::vector<std::string>(const std::string&)>& command) {
  long long sum = 0;
  for (const std::string& subdistrict : subdistricts) {
    auto reply = Run(client, command(subdistrict));
    if (!reply.ok()) {
      return reply.status();
    }
    auto value = reply->AsInteger();
    if (!value.ok()) {
      return value.status();
    }
    sum += *value;
  }
  return sum;
}

// A field of /proc/<pid>/status in kB (VmHWM: the peak resident set; VmRSS: the current one);
// -1 when it cannot be read.
long long ProcStatusKb(pid_t pid, std::string_view field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (absl::StartsWith(line, std::string(field) + ":")) {
      long long kb = -1;
      std::istringstream(line.substr(field.size() + 1)) >> kb;
      return kb;
    }
  }
  return -1;
}

std::string Ratio(double value, double baseline) {
  return baseline > 0 ? absl::StrFormat("%.2fx", value / baseline) : std::string("n/a");
}

// The escalation service's own view, when it exposes one: from a timer's due moment to its move.
void PrintServiceHistogram(testing::Stack& stack, std::ostream& out) {
  auto page = HttpGet("127.0.0.1", stack.metrics_port("grid-escalation"), "/metrics",
                      std::chrono::seconds(5));
  auto histogram = page.ok() ? ParseHistogram(*page, "grid_escalation_lateness_seconds")
                             : absl::StatusOr<Histogram>(page.status());
  if (!histogram.ok()) {
    out << "escalation's own grid_escalation_lateness_seconds: unavailable ("
        << histogram.status().message() << ")\n";
    return;
  }
  out << absl::StrFormat(
      "escalation's own grid_escalation_lateness_seconds: count %.0f, mean %.1f ms, "
      "bucket-interpolated p50 %.1f ms, p99 %.1f ms\n",
      histogram->count, histogram->count > 0 ? 1000.0 * histogram->sum / histogram->count : 0.0,
      1000.0 * EstimateQuantile(*histogram, 0.5), 1000.0 * EstimateQuantile(*histogram, 0.99));
}

}  // namespace

absl::Status RunEscalation(const EscalationOptions& options, std::ostream& out) {
  if (options.pending <= 0 || options.rate <= 0 || options.seconds <= 0 || options.window <= 0 ||
      options.baseline_rate <= 0 || options.baseline_seconds < 0) {
    return absl::InvalidArgumentError(
        "escalation: --pending, --rate, --seconds and --baseline-rate must be positive");
  }
  const TimerPlan plan(
      options.pending,
      {static_cast<int>(std::llround(options.baseline_rate * options.baseline_seconds)),
       options.baseline_rate},
      {static_cast<int>(std::llround(options.rate * options.seconds)), options.rate});
  if (plan.load().count == 0 || plan.pending_count() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "escalation: ", plan.due_count(), " timers (baseline and --rate x --seconds) cannot fall ",
        "due out of --pending ", options.pending));
  }
  auto config = LoadStackConfig();
  if (!config.ok()) {
    return config.status();
  }
  auto rule = PickSeedRule(*config->policy);
  if (!rule.ok()) {
    return rule.status();
  }
  const std::vector<std::string>& subdistricts = config->topology->subdistrict_ids();
  out << absl::StrFormat(
      "grid-loadgen escalation: %d timers pending; %d fall due at %g/s for %d s (baseline: %d at "
      "%g/s just before); machine: %u cores\n",
      plan.total(), plan.load().count, options.rate, options.seconds, plan.baseline().count,
      options.baseline_rate, Cores());
  out << "seed: rule " << rule->rule->id() << " (LEVEL_GRID, wall clock, accept limit "
      << rule->grid_limit->accept().seconds() << " s), category " << rule->category << ", "
      << v1::Severity_Name(rule->severity) << ", on all " << GridIds(*config->topology).size()
      << " grids\n";

  testing::Stack stack;
  if (auto status = StartStack(stack, out); !status.ok()) {
    return status;
  }
  redis::Client& redis = stack.redis_client();

  // Every Create queues its event for routing; the seed dispatches each itself. Routing stays
  // away meanwhile (so it does not race the seed's dispatch), and its queue is emptied before it
  // comes back (so it does not read every seeded entry while the clock is measured).
  stack.StopService("grid-routing", SIGTERM);
  store::RedisEventStore store(redis);
  Seeder seeder(store, options.window);
  SeedRun run(seeder, *config->topology, *rule);
  SystemClock clock;
  const auto seed_begin = SteadyClock::now();
  const Millis far_from = clock.Now();
  auto pending_rate = run.Seed(
      plan.pending_count(), [&](int i) { return TimerPlan::Pending(i, far_from); },
      [](const std::string&, Millis) {});
  if (!pending_rate.ok()) {
    return pending_rate.status();
  }
  // The due timers go last, in due order, and the first falls due `lead` after they are
  // expected to be seeded (at two thirds of the rate the first phase went at).
  const double rate = plan.pending_count() > 0 ? *pending_rate : kAssumedSeedRate;
  const Millis first_due = clock.Now() +
                           static_cast<Millis>(1500.0 * plan.due_count() / std::max(rate, 1.0)) +
                           options.lead.count();
  const Millis last_due = plan.Due(plan.due_count() - 1, first_due);
  absl::flat_hash_map<std::string, Millis> due;
  absl::flat_hash_set<std::string> baseline_ids;
  due.reserve(static_cast<std::size_t>(plan.due_count()));
  int seeded_due = 0;
  auto due_rate = run.Seed(
      plan.due_count(), [&](int i) { return plan.Due(i, first_due); },
      [&](const std::string& id, Millis at) {
        due.emplace(id, at);
        if (plan.InBaseline(seeded_due++)) {
          baseline_ids.insert(id);
        }
      });
  if (!due_rate.ok()) {
    return due_rate.status();
  }
  const Millis seeded_at = clock.Now();
  const double seed_seconds =
      std::chrono::duration<double>(SteadyClock::now() - seed_begin).count();
  out << absl::StrFormat(
      "seeded %d events (Create + Apply through store::RedisEventStore, %d in flight) in %.1f s: "
      "%.0f events/s\n",
      seeder.seeded(), options.window, seed_seconds, seeder.seeded() / seed_seconds);

  LiveStreamReader reader(redis, [&] {
    std::vector<std::string> streams;
    for (const std::string& subdistrict : subdistricts) {
      streams.push_back(store::LiveStream(subdistrict));
    }
    return streams;
  }());
  if (auto status = reader.SkipToEnd(); !status.ok()) {
    return status;
  }
  for (const std::string& subdistrict : subdistricts) {
    if (auto trimmed = Run(redis, {"XTRIM", store::RoutingStream(subdistrict), "MAXLEN", "0"});
        !trimmed.ok()) {
      return trimmed.status();
    }
  }
  if (auto status = stack.StartService("grid-routing"); !status.ok()) {
    return status;
  }
  auto timers = SumOver(redis, subdistricts, [](const std::string& subdistrict) {
    return std::vector<std::string>{"ZCARD", store::TimersKey(subdistrict)};
  });
  auto due_timers = SumOver(redis, subdistricts, [&](const std::string& subdistrict) {
    return std::vector<std::string>{"ZCOUNT", store::TimersKey(subdistrict), "-inf",
                                    std::to_string(last_due)};
  });
  if (!timers.ok() || !due_timers.ok()) {
    return !timers.ok() ? timers.status() : due_timers.status();
  }
  out << absl::StrFormat(
      "timers in {sd}:timers: %d, %d of them due within %.1f s; the first falls due %.1f s after "
      "seeding ended\n",
      *timers, *due_timers, (last_due - clock.Now()) / 1000.0, (first_due - seeded_at) / 1000.0);
  if (*timers != plan.total() || *due_timers != plan.due_count()) {
    return absl::InternalError(absl::StrCat("escalation: expected ", plan.total(), " timers, ",
                                            plan.due_count(), " of them due in the run"));
  }
  if (first_due <= seeded_at) {
    out << "warning: seeding ended " << seeded_at - first_due
        << " ms after the first timer fell due; the first timers were late from the start\n";
  }

  // Watch the live streams until every due event shows its escalation, or the deadline.
  EscalationTally tally(std::move(due));
  const auto sink = [&](const v1::EventChange& change) { tally.Add(change); };
  // A burst gets time in proportion: at least 1,000 escalations a second on top of the grace.
  const Millis give_up =
      last_due + std::chrono::milliseconds(kEscalationGrace).count() + plan.due_count();
  const pid_t escalation_pid = stack.pid("grid-escalation");
  const long long rss_before_kb = ProcStatusKb(escalation_pid, "VmRSS");
  while (true) {
    auto read = reader.ReadNew(sink);
    if (!read.ok()) {
      return read.status();
    }
    const Millis now = clock.Now();
    if ((tally.missing() == 0 && now > last_due) || now > give_up) {
      break;
    }
    std::this_thread::sleep_for(kPollStep);
  }
  // A second escalation of an event would come later than its first: watch a little longer.
  std::this_thread::sleep_for(kSettle);
  if (auto read = reader.ReadNew(sink); !read.ok()) {
    return read.status();
  }

  const Summary baseline =
      Summarize(tally.LatenessMs([&](const std::string& id) { return baseline_ids.contains(id); }));
  const Summary load = Summarize(
      tally.LatenessMs([&](const std::string& id) { return !baseline_ids.contains(id); }));
  out << SummaryHeader("ms") << "\n";
  if (baseline.count > 0) {
    out << SummaryRow(absl::StrFormat("baseline: lateness at %g/s", options.baseline_rate),
                      baseline)
        << "\n";
  }
  out << SummaryRow(absl::StrFormat("lateness at %g/s", options.rate), load) << "\n";
  out << "lateness = EventChange.at of the ESCALATED change (escalation's clock) - the timer's due "
         "time (ms resolution, same machine)\n";
  if (baseline.count > 0) {
    out << absl::StrFormat("ratio load / baseline: p50 %s, p99 %s\n",
                           Ratio(load.median, baseline.median), Ratio(load.p99, baseline.p99));
  }
  out << absl::StrFormat("earliest: %.0f ms (negative: escalated before due)\n",
                         baseline.count > 0 ? std::min(load.min, baseline.min) : load.min);
  out << absl::StrFormat("goal p99 <= %.0f ms at %g/s: %s\n", kGoalP99Ms, options.rate,
                         load.count == 0          ? "not measured"
                         : load.p99 <= kGoalP99Ms ? "met"
                                                  : "NOT met");
  PrintServiceHistogram(stack, out);
  out << absl::StrFormat(
      "escalation process memory: peak resident %.1f MiB (VmHWM), resident %.1f MiB before the "
      "due timers and %.1f MiB after\n",
      ProcStatusKb(escalation_pid, "VmHWM") / 1024.0, rss_before_kb / 1024.0,
      ProcStatusKb(escalation_pid, "VmRSS") / 1024.0);
  out << "due events escalated: " << tally.escalated() << " of " << tally.expected() << "\n"
      << "due events not escalated: " << tally.missing() << " (must be 0)\n"
      << "due events escalated more than once: " << tally.repeated() << " (must be 0)\n"
      << "events escalated though not due: " << tally.unexpected() << " (must be 0)\n";
  if (tally.missing() > 0 || tally.repeated() > 0 || tally.unexpected() > 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "escalation: ", tally.missing(), " due events not escalated within ",
        kEscalationGrace.count(), " s of the last due time, ", tally.repeated(),
        " escalated more than once, ", tally.unexpected(), " escalated though not due"));
  }
  return absl::OkStatus();
}

}  // namespace grid::loadgen
