// grid-routing: dispatches new events to the unit the policy names, and serves event reads.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "common/log/log.h"
#include "common/server/runtime.h"
#include "common/store/event_store.h"
#include "common/store/keys.h"
#include "common/store/stream_consumer.h"
#include "services/routing/dispatcher.h"
#include "services/routing/routing_service.h"

int main(int argc, char** argv) {
  grid::server::BlockTerminationSignals();
  CLI::App app{"gridline routing: dispatch and the lifecycle of events"};
  grid::server::CommonFlags flags;
  grid::server::AddCommonFlags(app, flags, "127.0.0.1:7072", "127.0.0.1:9103");
  char host[256] = "routing";
  gethostname(host, sizeof(host) - 1);
  std::string consumer = std::string(host) + "-" + std::to_string(getpid());
  app.add_option("--consumer", consumer, "consumer name in the routing group (unique per replica)")
      ->envname("GRID_CONSUMER");
  int reclaim_idle_ms = 30000;
  app.add_option("--reclaim-idle-ms", reclaim_idle_ms,
                 "take over routing entries another consumer left pending this long")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  grid::log::Init("routing", flags.log_level);

  auto created = grid::server::Runtime::Create(flags, "routing");
  if (!created.ok()) {
    spdlog::error("{}", created.status().ToString());
    return 2;
  }
  grid::server::Runtime& runtime = **created;
  grid::store::RedisEventStore store(runtime.redis());
  grid::routing::DispatchMetrics metrics(runtime.telemetry().registry());
  grid::routing::Dispatcher dispatcher(store, runtime.topology(), runtime.policy(), runtime.clock(),
                                       metrics);

  grid::store::StreamConsumer::Options options;
  for (const auto& subdistrict : runtime.topology().subdistrict_ids()) {
    options.streams.push_back(grid::store::RoutingStream(subdistrict));
  }
  options.group = std::string(grid::store::kRoutingGroup);
  options.consumer = consumer;
  options.reclaim_min_idle = std::chrono::milliseconds(reclaim_idle_ms);
  options.reclaim_interval = std::min(options.reclaim_interval, options.reclaim_min_idle);
  grid::store::StreamConsumer consumer_loop(
      runtime.io(), runtime.NewRedisConnection("routing-reader"), runtime.redis(), options,
      [&dispatcher](const grid::store::StreamEntry& entry,
                    std::function<void(grid::store::Outcome)> done) {
        dispatcher.Handle(entry, std::move(done));
      });
  consumer_loop.Start();
  runtime.MonitorStreamGroup(options.streams, options.group);

  grid::routing::EventQueries::Options query_options;
  query_options.calendar = runtime.policy().calendar();
  // Lists and queues read in bulk (a ListEvents page can be 2,000 HGETs) on a connection of
  // their own, so that they never queue ahead of the moves and dispatches on the main one.
  grid::routing::EventQueries queries(runtime.NewRedisConnection("queries"), runtime.topology(),
                                      runtime.clock(), query_options);
  grid::routing::RoutingServiceImpl service(store, queries, runtime.topology(), runtime.policy(),
                                            runtime.clock());
  const int code = runtime.Serve({&service});
  consumer_loop.Stop();
  return code;
}
