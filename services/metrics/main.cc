// grid-metrics: response-time monitoring: reads every subdistrict's live stream in its own
// consumer group into rollups kept in Redis and Prometheus figures, and serves GetStats.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "common/log/log.h"
#include "common/server/runtime.h"
#include "common/store/keys.h"
#include "common/store/stream_consumer.h"
#include "services/metrics/change_recorder.h"
#include "services/metrics/metrics_keys.h"
#include "services/metrics/metrics_service.h"
#include "services/metrics/rederive.h"
#include "services/metrics/stats_reader.h"

int main(int argc, char** argv) {
  grid::server::BlockTerminationSignals();
  CLI::App app{"gridline metrics: response-time monitoring: scores, backlog, Prometheus figures"};
  grid::server::CommonFlags flags;
  grid::server::AddCommonFlags(app, flags, "127.0.0.1:7074", "127.0.0.1:9105");
  char host[256] = "metrics";
  gethostname(host, sizeof(host) - 1);
  std::string consumer = std::string(host) + "-" + std::to_string(getpid());
  app.add_option("--consumer", consumer, "consumer name in the metrics group (unique per replica)")
      ->envname("GRID_CONSUMER");
  int reclaim_idle_ms = 30000;
  app.add_option("--reclaim-idle-ms", reclaim_idle_ms,
                 "take over live-stream entries another consumer left pending this long")
      ->capture_default_str();
  int gauge_interval_ms = 5000;
  app.add_option("--gauge-interval-ms", gauge_interval_ms,
                 "how often the open-event gauges are refreshed from Redis")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  grid::log::Init("metrics", flags.log_level);

  auto created = grid::server::Runtime::Create(flags, "metrics");
  if (!created.ok()) {
    spdlog::error("{}", created.status().ToString());
    return 2;
  }
  grid::server::Runtime& runtime = **created;
  grid::metrics::ResponseMetrics metrics(runtime.telemetry().registry());
  // Days are the policy calendar's local days (a Beijing day for Laoshan), never UTC days.
  const grid::metrics::LocalDays days(runtime.policy().data().calendar().utc_offset_minutes());
  grid::metrics::ChangeRecorder recorder(runtime.redis(), runtime.topology(), days, metrics);
  // Rollups of a subdistrict not yet counted in local days are re-derived from the event records
  // while the live stream is consumed (both count each event version once).
  grid::metrics::Rederiver rederiver(runtime.io(), runtime.redis(), recorder, runtime.clock(),
                                     runtime.topology().subdistrict_ids(),
                                     metrics.rederive_remaining, {});

  grid::store::StreamConsumer::Options options;
  for (const auto& subdistrict : runtime.topology().subdistrict_ids()) {
    options.streams.push_back(grid::store::LiveStream(subdistrict));
  }
  options.group = std::string(grid::metrics::kMetricsGroup);
  options.consumer = consumer;
  options.group_start = "0";
  options.reclaim_min_idle = std::chrono::milliseconds(reclaim_idle_ms);
  options.reclaim_interval = std::min(options.reclaim_interval, options.reclaim_min_idle);
  grid::store::StreamConsumer consumer_loop(
      runtime.io(), runtime.NewRedisConnection("live-reader"), runtime.redis(), options,
      [&recorder](const grid::store::StreamEntry& entry,
                  std::function<void(grid::store::Outcome)> done) {
        recorder.Handle(entry, std::move(done));
      });
  consumer_loop.Start();
  rederiver.Start();
  runtime.MonitorStreamGroup(options.streams, options.group);

  grid::metrics::StatsReader reader(runtime.redis(), runtime.topology(), runtime.policy(),
                                    runtime.clock());
  grid::metrics::OpenEventsGauges gauges(runtime.io(), reader, runtime.topology().subdistrict_ids(),
                                         metrics, std::chrono::milliseconds(gauge_interval_ms));
  gauges.Start();

  grid::metrics::MetricsServiceImpl service(reader);
  const int code = runtime.Serve({&service});
  consumer_loop.Stop();
  rederiver.Stop();
  gauges.Stop();
  return code;
}
