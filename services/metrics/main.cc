// grid-metrics: response-time monitoring: reads every subdistrict's live stream in its own
// consumer group into rollups kept in Redis and Prometheus figures, and serves GetStats. It also
// keeps the live streams to their window (it is the group that must have read what goes).
#include <spdlog/spdlog.h>

#include "common/log/log.h"
#include "common/policy/deadlines.h"
#include "common/server/runtime.h"
#include "common/store/keys.h"
#include "services/metrics/change_recorder.h"
#include "services/metrics/metrics_keys.h"
#include "services/metrics/metrics_service.h"
#include "services/metrics/rederive.h"
#include "services/metrics/stats_reader.h"

int main(int argc, char** argv) {
  grid::server::StartProcess();
  CLI::App app{"gridline metrics: response-time monitoring: scores, backlog, Prometheus figures"};
  grid::server::CommonFlags flags;
  grid::server::AddCommonFlags(app, flags, "127.0.0.1:7074", "127.0.0.1:9105");
  grid::server::ConsumerFlags consumer;
  grid::server::AddConsumerFlags(app, consumer, "live-stream");
  int gauge_interval_ms = 5000;
  app.add_option("--gauge-interval-ms", gauge_interval_ms,
                 "how often the open-event gauges are refreshed from Redis")
      ->capture_default_str();
  int live_window_seconds = 7 * 86400;
  int trim_interval_seconds = 60;
  int rollup_ttl_seconds = grid::metrics::kRollupTtlSeconds;
  app.add_option("--live-window-seconds", live_window_seconds,
                 "the live streams keep changes this long (watch cursors resume within it); "
                 "older ones go once this service has counted them")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--trim-interval-seconds", trim_interval_seconds,
                 "how often the live streams are trimmed to their window")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--rollup-ttl-seconds", rollup_ttl_seconds,
                 "how long daily rollups and each event's figures are kept")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  int day_seconds = 86400;
  app.add_option("--day-seconds", day_seconds,
                 "length of a rollup day: 86400 in service; shorter only for benchmarks that "
                 "compress days (the soak), counted from this process's start")
      ->check(CLI::PositiveNumber)
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
  const grid::metrics::LocalDays days(runtime.policy().data().calendar().utc_offset_minutes(),
                                      grid::Millis{day_seconds} * 1000, runtime.clock().Now());
  grid::metrics::ChangeRecorder recorder(runtime.redis(), runtime.topology(), days, metrics,
                                         std::chrono::seconds(rollup_ttl_seconds));
  recorder.BatchOn(runtime.io().get_executor(), runtime.script_batch());
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
  options.group_start = "0";
  consumer.Apply(options);
  runtime.Trim({.streams = options.streams,
                .window = std::chrono::seconds(live_window_seconds),
                .interval = std::chrono::seconds(trim_interval_seconds)});
  runtime.Consume(options, [&recorder](const grid::store::StreamEntry& entry,
                                       std::function<void(grid::store::Verdict)> done) {
    recorder.Handle(entry, std::move(done));
  });
  rederiver.Start();

  grid::metrics::StatsReader reader(runtime.redis(), runtime.topology(), runtime.policy(),
                                    runtime.clock());
  grid::store::BacklogIndex backlog(runtime.redis());
  const grid::policy::Policy& policy = runtime.policy();
  grid::metrics::OpenEventsGauges gauges(
      runtime.io(), reader, backlog,
      [&policy](const grid::v1::Event& event) {
        return grid::policy::YellowAt(event.deadlines(), event.state(), policy.calendar());
      },
      runtime.clock(), runtime.topology().subdistrict_ids(), metrics,
      std::chrono::milliseconds(gauge_interval_ms));
  gauges.Start();
  runtime.OnDrain([&gauges, &rederiver](std::function<void()> done) {
    rederiver.Stop();
    gauges.Stop();
    done();
  });

  grid::metrics::MetricsServiceImpl service(reader);
  return runtime.Serve({{&service, grid::v1::MetricsService::service_full_name()}});
}
