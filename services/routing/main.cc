// grid-routing: dispatches new events to the unit the policy names, and serves event reads and
// the dead letters.
#include <spdlog/spdlog.h>

#include "common/log/log.h"
#include "common/server/runtime.h"
#include "common/store/event_store.h"
#include "common/store/keys.h"
#include "services/routing/dead_letters.h"
#include "services/routing/dispatcher.h"
#include "services/routing/retention.h"
#include "services/routing/routing_service.h"

int main(int argc, char** argv) {
  grid::server::StartProcess();
  CLI::App app{"gridline routing: dispatch and the lifecycle of events"};
  grid::server::CommonFlags flags;
  grid::server::AddCommonFlags(app, flags, "127.0.0.1:7072", "127.0.0.1:9103");
  grid::server::ConsumerFlags consumer;
  grid::server::AddConsumerFlags(app, consumer, "routing");
  int trim_interval_seconds = 60;
  app.add_option("--trim-interval-seconds", trim_interval_seconds,
                 "how often acknowledged routing entries are trimmed")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  grid::routing::ClosedEventSweeper::Options retention;
  int closed_retention_seconds = 90 * 86400;
  int retention_interval_seconds = 600;
  app.add_option("--closed-retention-seconds", closed_retention_seconds,
                 "closed, voided and cancelled events leave Redis this long after their last move")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--retention-interval-seconds", retention_interval_seconds,
                 "how often closed events past their retention are looked for")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  grid::log::Init("routing", flags.log_level);
  retention.retention = std::chrono::seconds(closed_retention_seconds);
  retention.interval = std::chrono::seconds(retention_interval_seconds);

  auto created = grid::server::Runtime::Create(flags, "routing");
  if (!created.ok()) {
    spdlog::error("{}", created.status().ToString());
    return 2;
  }
  grid::server::Runtime& runtime = **created;
  grid::store::RedisEventStore store(runtime.redis(), runtime.io().get_executor(),
                                     runtime.script_batch());
  grid::routing::DispatchMetrics metrics(runtime.telemetry().registry());
  grid::routing::Dispatcher dispatcher(store, runtime.topology(), runtime.policy(), runtime.clock(),
                                       metrics);

  grid::store::StreamConsumer::Options options;
  for (const auto& subdistrict : runtime.topology().subdistrict_ids()) {
    options.streams.push_back(grid::store::RoutingStream(subdistrict));
  }
  options.group = std::string(grid::store::kRoutingGroup);
  consumer.Apply(options);
  runtime.Trim({.streams = options.streams,
                .window = std::chrono::milliseconds(0),
                .interval = std::chrono::seconds(trim_interval_seconds)});
  runtime.Consume(options, [&dispatcher](const grid::store::StreamEntry& entry,
                                         std::function<void(grid::store::Verdict)> done) {
    dispatcher.Handle(entry, std::move(done));
  });
  grid::routing::ClosedEventSweeper sweeper(runtime.io(), runtime.redis(), runtime.topology(),
                                            runtime.clock(), runtime.telemetry().registry(),
                                            retention);
  sweeper.Start();
  runtime.OnDrain([&sweeper](std::function<void()> done) {
    sweeper.Stop();
    done();
  });

  grid::routing::EventQueries::Options query_options;
  query_options.calendar = runtime.policy().calendar();
  // Lists and queues read in bulk (a ListEvents page can be 2,000 HGETs) on a connection of
  // their own, so that they never queue ahead of the moves and dispatches on the main one.
  grid::routing::EventQueries queries(runtime.NewRedisConnection("queries"), runtime.topology(),
                                      runtime.clock(), query_options);
  grid::routing::RoutingServiceImpl service(store, queries, runtime.topology(), runtime.policy(),
                                            runtime.clock());
  grid::routing::DeadLetterStore dead_letter_store(runtime.redis(), runtime.topology());
  grid::routing::DeadLetterServiceImpl dead_letters(dead_letter_store);
  return runtime.Serve({{&service, grid::v1::RoutingService::service_full_name()},
                        {&dead_letters, grid::v1::DeadLetterService::service_full_name()}});
}
