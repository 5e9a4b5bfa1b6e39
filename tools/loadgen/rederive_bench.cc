// grid-loadgen rederive: see benchmarks.h.
#include <signal.h>

#include <thread>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/store/event_id.h"
#include "common/store/event_store.h"
#include "common/store/keys.h"
#include "services/metrics/metrics_keys.h"
#include "tools/loadgen/bench_stack.h"
#include "tools/loadgen/benchmarks.h"
#include "tools/loadgen/seeder.h"
#include "tools/loadgen/workload.h"

namespace grid::loadgen {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr std::chrono::seconds kSeedStall{30};
constexpr std::chrono::milliseconds kRedisTimeout{10000};
constexpr std::chrono::milliseconds kPollStep{20};

absl::StatusOr<redis::Reply> Run(redis::Client& client, std::vector<std::string> argv) {
  auto reply = redis::CommandSync(client, std::move(argv), kRedisTimeout);
  if (reply.ok() && reply->IsError()) {
    return reply->ErrorStatus();
  }
  return reply;
}

}  // namespace

absl::Status RunRederive(const RederiveOptions& options, std::ostream& out) {
  if (options.events <= 0 || options.window <= 0 || options.timeout_seconds <= 0) {
    return absl::InvalidArgumentError(
        "rederive: --events, --window and --timeout-seconds must be positive");
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
      "grid-loadgen rederive: %d events in the records; the metrics service starts without "
      "local-day rollups and re-derives them; machine: %u cores\n",
      options.events, Cores());

  testing::Stack stack;
  if (auto status = StartStack(stack, out); !status.ok()) {
    return status;
  }
  redis::Client& redis = stack.redis_client();
  // The records are seeded with routing and metrics away; what metrics would have counted live is
  // taken as counted by the version before the upgrade (its group moves past it).
  stack.StopService("grid-routing", SIGTERM);
  stack.StopService("grid-metrics", SIGTERM);
  store::RedisEventStore store(redis);
  Seeder seeder(store, options.window);
  const std::vector<std::string> grids = GridIds(*config->topology);
  absl::flat_hash_set<std::string> ids;
  SystemClock clock;
  const auto seed_begin = SteadyClock::now();
  for (int i = 0; i < options.events; ++i) {
    const std::string& grid = grids[static_cast<std::size_t>(i) % grids.size()];
    const std::string subdistrict(config->topology->SubdistrictOf(grid));
    const Millis now = clock.Now();
    std::string id = store::NewEventId(subdistrict, now);
    while (!ids.insert(id).second) {
      id = store::NewEventId(subdistrict, now);
    }
    SeedEvent seed = ReportedEvent(id, grid, subdistrict, *rule, now);
    store::Move dispatch = DispatchAt(seed.event, *rule, now, now + TimerPlan::kFarAhead);
    if (auto status = seeder.Add(std::move(seed), std::move(dispatch), kSeedStall); !status.ok()) {
      (void)seeder.Wait(kSeedStall);
      return status;
    }
  }
  if (auto status = seeder.Wait(kSeedStall); !status.ok()) {
    return status;
  }
  out << absl::StrFormat("seeded %d events (REPORTED + DISPATCHED each) in %.1f s\n",
                         seeder.seeded(),
                         std::chrono::duration<double>(SteadyClock::now() - seed_begin).count());
  for (const std::string& subdistrict : subdistricts) {
    for (std::vector<std::string> command :
         {std::vector<std::string>{"XGROUP", "SETID", store::LiveStream(subdistrict), "metrics",
                                   "$"},
          std::vector<std::string>{"XTRIM", store::RoutingStream(subdistrict), "MAXLEN", "0"},
          std::vector<std::string>{"DEL", metrics::RederivedKey(subdistrict)}}) {
      if (auto reply = Run(redis, std::move(command)); !reply.ok()) {
        return reply.status();
      }
    }
  }

  const auto begin = SteadyClock::now();
  if (auto status = stack.StartService("grid-metrics"); !status.ok()) {
    return status;
  }
  const auto deadline = begin + std::chrono::seconds(options.timeout_seconds);
  size_t done = 0;
  while (done < subdistricts.size()) {
    if (SteadyClock::now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("rederive: ", done, " of ", subdistricts.size(),
                       " subdistricts re-derived after ", options.timeout_seconds, " s"));
    }
    std::this_thread::sleep_for(kPollStep);
    done = 0;
    for (const std::string& subdistrict : subdistricts) {
      auto mark = Run(redis, {"EXISTS", metrics::RederivedKey(subdistrict)});
      if (!mark.ok()) {
        return mark.status();
      }
      done += mark->integer == 1 ? 1 : 0;
    }
  }
  const double seconds = std::chrono::duration<double>(SteadyClock::now() - begin).count();

  // The counts must be the seeded ones.
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  stack.Authorize(context, testing::Stack::Admin());
  v1::GetStatsResponse stats;
  const grpc::Status status = stack.gateway().GetStats(&context, v1::GetStatsRequest(), &stats);
  if (!status.ok() || stats.rows_size() != 1) {
    return absl::InternalError(absl::StrCat("rederive: GetStats: ", status.error_message()));
  }
  out << absl::StrFormat(
      "re-derived %d events (%d changes) in %.2f s from the start of grid-metrics: %.0f "
      "events/s, %.0f changes/s (GetStats answers UNAVAILABLE meanwhile)\n",
      options.events, 2 * options.events, seconds, options.events / seconds,
      2 * options.events / seconds);
  out << "GetStats after: reported " << stats.rows(0).reported() << ", open "
      << stats.rows(0).open() << " (must both be " << options.events << ")\n";
  if (stats.rows(0).reported() != options.events || stats.rows(0).open() != options.events) {
    return absl::FailedPreconditionError("rederive: the re-derived counts are not the seeded ones");
  }
  return absl::OkStatus();
}

}  // namespace grid::loadgen
