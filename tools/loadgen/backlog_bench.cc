// grid-loadgen backlog: see benchmarks.h.
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <future>
#include <map>
#include <thread>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/redis/asio_client.h"
#include "common/store/backlog.h"
#include "common/store/event_id.h"
#include "common/store/event_store.h"
#include "common/store/keys.h"
#include "services/metrics/metrics_keys.h"
#include "services/routing/queries.h"
#include "tests/support/redis_server.h"
#include "tools/loadgen/bench_stack.h"
#include "tools/loadgen/benchmarks.h"
#include "tools/loadgen/redis_probe.h"
#include "tools/loadgen/seeder.h"
#include "tools/loadgen/summary.h"
#include "tools/loadgen/workload.h"

namespace grid::loadgen {
namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr std::chrono::seconds kSeedStall{60};

// What one read cost Redis: commands run (those a script runs included, INFO's own excluded),
// bytes received and sent, and the wall time.
struct Cost {
  long long commands = 0;
  long long bytes_in = 0;
  long long bytes_out = 0;
  double ms = 0;
};

struct Counters {
  long long commands = 0;
  long long info_calls = 0;
  long long bytes_in = 0;
  long long bytes_out = 0;
};

absl::StatusOr<Counters> Read(redis::Client& redis) {
  Counters counters;
  auto stats = RedisCommand(redis, {"INFO", "commandstats"});
  if (!stats.ok()) {
    return stats.status();
  }
  for (absl::string_view line : absl::StrSplit(stats->str, '\n')) {
    // cmdstat_hget:calls=12,usec=...
    if (!absl::ConsumePrefix(&line, "cmdstat_")) {
      continue;
    }
    const size_t colon = line.find(":calls=");
    long long calls = 0;
    if (colon == std::string_view::npos ||
        !absl::SimpleAtoi(line.substr(colon + 7, line.find(',') - colon - 7), &calls)) {
      continue;
    }
    if (line.substr(0, colon) == "info") {
      counters.info_calls = calls;
    } else {
      counters.commands += calls;
    }
  }
  auto in = InfoField(redis, "stats", "total_net_input_bytes");
  auto out = InfoField(redis, "stats", "total_net_output_bytes");
  if (!in.ok() || !out.ok()) {
    return in.ok() ? out.status() : in.status();
  }
  counters.bytes_in = *in;
  counters.bytes_out = *out;
  return counters;
}

// The cost of `read` (which waits for its answer), less what measuring costs (the INFO calls:
// measured around an empty read).
absl::StatusOr<Cost> Measure(redis::Client& redis, const std::function<absl::Status()>& read) {
  auto once = [&redis](const std::function<absl::Status()>& what) -> absl::StatusOr<Cost> {
    auto before = Read(redis);
    if (!before.ok()) {
      return before.status();
    }
    const auto begin = SteadyClock::now();
    if (absl::Status status = what(); !status.ok()) {
      return status;
    }
    const double ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - begin).count();
    auto after = Read(redis);
    if (!after.ok()) {
      return after.status();
    }
    return Cost{after->commands - before->commands, after->bytes_in - before->bytes_in,
                after->bytes_out - before->bytes_out, ms};
  };
  auto empty = once([] { return absl::OkStatus(); });
  if (!empty.ok()) {
    return empty.status();
  }
  // Median wall time of three; the counts are the same every time.
  std::vector<double> ms;
  absl::StatusOr<Cost> cost;
  for (int i = 0; i < 3; ++i) {
    cost = once(read);
    if (!cost.ok()) {
      return cost.status();
    }
    ms.push_back(cost->ms);
  }
  std::sort(ms.begin(), ms.end());
  cost->ms = ms[1];
  cost->commands -= empty->commands;
  cost->bytes_in -= empty->bytes_in;
  cost->bytes_out -= empty->bytes_out;
  return cost;
}

// What the open-backlog gauges read now: the backlog index of every subdistrict.
absl::Status ReadIndex(store::BacklogIndex& index, const std::vector<std::string>& subdistricts,
                       Millis now, long long* open) {
  *open = 0;
  for (const std::string& sd : subdistricts) {
    std::promise<absl::StatusOr<store::BacklogFigures>> promise;
    index.Figures(sd, now, [&promise](absl::StatusOr<store::BacklogFigures> figures) {
      promise.set_value(std::move(figures));
    });
    auto figures = promise.get_future().get();
    if (!figures.ok()) {
      return figures.status();
    }
    for (const store::BacklogRow& row : figures->rows) {
      *open += row.open;
    }
  }
  return absl::OkStatus();
}

// What they read before the index: every open event's record (HKEYS of the metrics service's
// open-events hash, then HGET of each record), pipelined as the metrics service sent them.
absl::Status ReadSnapshot(redis::Client& redis, const std::vector<std::string>& subdistricts,
                          long long* open) {
  *open = 0;
  for (const std::string& sd : subdistricts) {
    auto ids = RedisCommand(redis, {"HKEYS", metrics::OpenEventsKey(sd)});
    if (!ids.ok()) {
      return ids.status();
    }
    // In chunks: the client takes at most 20,000 commands waiting for replies (the metrics
    // service, which sent them all at once, failed past that many open events in a subdistrict).
    constexpr size_t kChunk = 10000;
    for (size_t first = 0; first < ids->elements.size(); first += kChunk) {
      const size_t last = std::min(ids->elements.size(), first + kChunk);
      std::promise<absl::Status> all;
      auto remaining = std::make_shared<std::atomic<size_t>>(last - first + 1);
      // The first failure (the callbacks run on the client's one thread).
      auto failed = std::make_shared<absl::Status>();
      auto release = [&all, remaining, failed] {
        if (remaining->fetch_sub(1) == 1) {
          all.set_value(*failed);
        }
      };
      for (size_t i = first; i < last; ++i) {
        const std::string& id = ids->elements[i].str;
        redis.Command({"HGET", store::EventKey(sd, id), "pb"},
                      [release, failed, id](absl::StatusOr<redis::Reply> reply) {
                        if (failed->ok() && (!reply.ok() || !reply->IsString())) {
                          *failed = reply.ok() ? absl::NotFoundError("no record of " + id)
                                               : reply.status();
                        }
                        release();
                      });
      }
      release();
      if (absl::Status status = all.get_future().get(); !status.ok()) {
        return status;
      }
    }
    *open += static_cast<long long>(ids->elements.size());
  }
  return absl::OkStatus();
}

// One ListEvents call, as routing answers it; `listed` gets the page's size.
absl::Status ListEvents(routing::EventQueries& queries, const v1::ListEventsRequest& request,
                        int* listed) {
  std::promise<absl::StatusOr<v1::ListEventsResponse>> promise;
  queries.ListEvents(request, [&promise](absl::StatusOr<v1::ListEventsResponse> response) {
    promise.set_value(std::move(response));
  });
  auto response = promise.get_future().get();
  if (!response.ok()) {
    return response.status();
  }
  *listed = response->events_size();
  return absl::OkStatus();
}

}  // namespace

absl::Status RunBacklog(const BacklogOptions& options, std::ostream& out) {
  if (options.small <= 0 || options.large <= options.small || options.window <= 0) {
    return absl::InvalidArgumentError(
        "backlog: --small and --window must be positive and --large more than --small");
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
  const std::vector<std::string> grids = GridIds(*config->topology);
  out << absl::StrFormat(
      "grid-loadgen backlog: what the open-backlog gauges cost Redis per refresh with %d and with "
      "%d open events (%zu subdistricts); machine: %u cores\n",
      options.small, options.large, subdistricts.size(), Cores());

  SystemClock clock;
  const SystemClock& clock_for_queries = clock;
  testing::RedisServer server;
  if (absl::Status started = server.Start(); !started.ok()) {
    return started;
  }
  boost::asio::io_context io;
  auto guard = boost::asio::make_work_guard(io);
  std::thread thread([&io] { io.run(); });
  redis::AsioClient::Options client_options;
  client_options.port = server.port();
  client_options.command_timeout = std::chrono::seconds(60);
  redis::AsioClient redis(io, client_options);
  redis.Start();
  struct Stop {
    redis::AsioClient& redis;
    decltype(guard)& work;
    boost::asio::io_context& io;
    std::thread& thread;
    ~Stop() {
      redis.Stop();
      work.reset();
      io.stop();
      thread.join();
    }
  } stop{redis, guard, io, thread};
  if (absl::Status connected = redis.WaitConnected(std::chrono::seconds(5)); !connected.ok()) {
    return connected;
  }

  store::RedisEventStore store(redis, io.get_executor());
  store::BacklogIndex index(redis);
  routing::EventQueries queries(redis, *config->topology, clock_for_queries);
  // A community's open events: its subtree, DISPATCHED (every seeded event is), the first page.
  const v1::Unit* community =
      config->topology->Find(config->topology->Find(grids.front())->parent_id());
  v1::ListEventsRequest newest;
  newest.set_page_size(50);
  v1::ListEventsRequest of_community = newest;
  of_community.set_unit_id(community->id());
  of_community.add_states(v1::EVENT_STATE_DISPATCHED);
  Seeder seeder(store, options.window);
  absl::flat_hash_set<std::string> ids;
  const Millis now = clock.Now();
  int seeded = 0;
  std::map<int, Cost> index_costs;
  std::map<int, Cost> snapshot_costs;
  std::map<int, long long> index_memory;
  std::map<int, Cost> newest_costs;
  std::map<int, Cost> community_costs;
  std::map<int, int> community_listed;
  for (int target : {options.small, options.large}) {
    const auto seed_begin = SteadyClock::now();
    for (; seeded < target; ++seeded) {
      const std::string& grid = grids[static_cast<std::size_t>(seeded) % grids.size()];
      const std::string subdistrict(config->topology->SubdistrictOf(grid));
      std::string id = store::NewEventId(subdistrict, now - seeded);
      while (!ids.insert(id).second) {
        id = store::NewEventId(subdistrict, now - seeded);
      }
      SeedEvent seed = ReportedEvent(id, grid, subdistrict, *rule, now);
      // A quarter past their accept deadline (red), the rest within it.
      const Millis due = seeded % 4 == 0 ? now - 60'000 : now + 3'600'000 + seeded;
      store::Move dispatch = DispatchAt(seed.event, *rule, now, due);
      // As the metrics service's open-events hash lists it (the snapshot reads it).
      redis.Command({"HSET", metrics::OpenEventsKey(subdistrict), id, "2"},
                    [](absl::StatusOr<redis::Reply>) {});
      if (auto status = seeder.Add(std::move(seed), std::move(dispatch), kSeedStall);
          !status.ok()) {
        (void)seeder.Wait(kSeedStall);
        return status;
      }
    }
    if (auto status = seeder.Wait(kSeedStall); !status.ok()) {
      return status;
    }
    out << absl::StrFormat("seeded %d open events (filed and dispatched) in %.1f s\n", target,
                           std::chrono::duration<double>(SteadyClock::now() - seed_begin).count());

    long long open = 0;
    auto cost = Measure(redis, [&] { return ReadIndex(index, subdistricts, clock.Now(), &open); });
    if (!cost.ok()) {
      return cost.status();
    }
    if (open != target) {
      return absl::InternalError(
          absl::StrCat("backlog: the index counts ", open, " open events, not ", target));
    }
    index_costs[target] = *cost;
    auto snapshot = Measure(redis, [&] { return ReadSnapshot(redis, subdistricts, &open); });
    if (!snapshot.ok()) {
      return snapshot.status();
    }
    snapshot_costs[target] = *snapshot;
    long long bytes = 0;
    for (const std::string& sd : subdistricts) {
      auto keys = RedisCommand(redis, {"KEYS", store::BacklogPrefix(sd) + "*"});
      if (!keys.ok()) {
        return keys.status();
      }
      for (const redis::Reply& key : keys->elements) {
        auto usage = RedisCommand(redis, {"MEMORY", "USAGE", key.str, "SAMPLES", "0"});
        if (usage.ok() && usage->type == redis::Reply::Type::kInteger) {
          bytes += usage->integer;
        }
      }
    }
    index_memory[target] = bytes;
    int listed = 0;
    auto page = Measure(redis, [&] { return ListEvents(queries, newest, &listed); });
    if (!page.ok()) {
      return page.status();
    }
    newest_costs[target] = *page;
    auto community_page =
        Measure(redis, [&] { return ListEvents(queries, of_community, &listed); });
    if (!community_page.ok()) {
      return community_page.status();
    }
    community_costs[target] = *community_page;
    community_listed[target] = listed;
    out << absl::StrFormat(
        "%8d open: ListEvents newest 50: %5lld commands, %8lld bytes out, %7.2f ms | of "
        "community %s, DISPATCHED: %d listed, %5lld commands, %8lld bytes out, %7.2f ms\n",
        target, page->commands, page->bytes_out, page->ms, community->id(), listed,
        community_page->commands, community_page->bytes_out, community_page->ms);
    out << absl::StrFormat(
        "%8d open: index read %5lld commands, %7lld bytes in, %7lld bytes out, %8.2f ms | "
        "record snapshot %8lld commands, %10lld bytes in, %11lld bytes out, %9.1f ms | index "
        "memory %.0f B per open event\n",
        target, cost->commands, cost->bytes_in, cost->bytes_out, cost->ms, snapshot->commands,
        snapshot->bytes_in, snapshot->bytes_out, snapshot->ms, static_cast<double>(bytes) / target);
  }
  const Cost& small = index_costs[options.small];
  const Cost& large = index_costs[options.large];
  auto ratio = [](long long a, long long b) {
    return b == 0 ? 0.0 : static_cast<double>(a) / static_cast<double>(b);
  };
  out << absl::StrFormat(
      "backlog_small=%d backlog_large=%d index_commands_ratio=%.2f index_bytes_ratio=%.2f "
      "index_ms_ratio=%.2f snapshot_commands_ratio=%.1f snapshot_bytes_ratio=%.1f "
      "index_bytes_per_open_event=%.0f list_newest_commands_ratio=%.2f "
      "list_community_commands_ratio=%.2f\n",
      options.small, options.large, ratio(large.commands, small.commands),
      ratio(large.bytes_in + large.bytes_out, small.bytes_in + small.bytes_out),
      small.ms == 0 ? 0.0 : large.ms / small.ms,
      ratio(snapshot_costs[options.large].commands, snapshot_costs[options.small].commands),
      ratio(snapshot_costs[options.large].bytes_in + snapshot_costs[options.large].bytes_out,
            snapshot_costs[options.small].bytes_in + snapshot_costs[options.small].bytes_out),
      static_cast<double>(index_memory[options.large]) / options.large,
      ratio(newest_costs[options.large].commands, newest_costs[options.small].commands),
      ratio(community_costs[options.large].commands, community_costs[options.small].commands));
  return absl::OkStatus();
}

}  // namespace grid::loadgen
