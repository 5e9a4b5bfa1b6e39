// grid-loadgen: benchmarks that start their own stack on free ports and print their figures.
//
//   grid-loadgen dispatch   [--events 2000] [--rate 200] [--concurrency 8]
//   grid-loadgen ingest     [--outstanding 64] [--channels 4] [--seconds 10]
//   grid-loadgen escalation [--pending 100000] [--rate 1000] [--seconds 30]
//   grid-loadgen watch      [--watchers 1000] [--rate 1000] [--seconds 10] [--via intake]
//   grid-loadgen soak       [--days 7] [--day-seconds 60] [--reports-per-day 400]
//   grid-loadgen console    [--clients 500] [--rate 200] [--seconds 10] [--grpc-watchers 500]
//   grid-loadgen rederive   [--events 20000]
//   grid-loadgen backlog    [--small 1000 --large 1000000]
//   grid-loadgen webhooks   [--events 2000] [--rate 100] [--concurrency 8]
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "absl/synchronization/mutex.h"
#include "tools/loadgen/benchmarks.h"
#include "tools/loadgen/chaos.h"

int main(int argc, char** argv) {
  // As the services do (server::StartProcess): the client's CPU is measured too.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  CLI::App app{
      "gridline benchmarks: each starts redis-server and the five services on free ports of "
      "127.0.0.1, drives them, and prints medians and p99s"};
  app.require_subcommand(1);

  grid::loadgen::DispatchOptions dispatch;
  CLI::App* dispatch_command = app.add_subcommand(
      "dispatch",
      "report-to-DISPATCHED latency and the ReportEvent round trip, against gRPC "
      "health checks of the same gateway");
  dispatch_command->add_option("--events", dispatch.events, "reports measured")
      ->capture_default_str();
  dispatch_command->add_option("--rate", dispatch.rate, "reports started per second")
      ->capture_default_str();
  dispatch_command->add_option("--concurrency", dispatch.concurrency, "concurrent callers")
      ->capture_default_str();
  dispatch_command->add_option("--warmup", dispatch.warmup, "reports before the measured ones")
      ->capture_default_str();

  grid::loadgen::ClusterOptions cluster;
  CLI::App* cluster_command = app.add_subcommand(
      "cluster",
      "scale-out: one redis-server vs a Redis Cluster (latency at a fixed rate, ingest at "
      "saturation), and Laoshan's topology vs a province-sized one (routing latency)");
  cluster_command->add_option("--events", cluster.events, "reports of each fixed-rate phase")
      ->capture_default_str();
  cluster_command->add_option("--rate", cluster.rate, "reports started per second")
      ->capture_default_str();
  cluster_command->add_option("--concurrency", cluster.concurrency, "fixed-rate callers")
      ->capture_default_str();
  cluster_command
      ->add_option("--outstanding", cluster.outstanding, "saturation: callers, one call each")
      ->capture_default_str();
  cluster_command->add_option("--seconds", cluster.seconds, "saturation: for how long (0: none)")
      ->capture_default_str();
  cluster_command->add_option("--masters", cluster.masters, "masters of the cluster")
      ->capture_default_str();
  cluster_command
      ->add_option("--province-grids", cluster.province_grids,
                   "grids of the province-sized topology (0: skip it)")
      ->capture_default_str();
  cluster_command
      ->add_option("--province-districts", cluster.province_districts,
                   "districts of the province (tools/topogen --districts)")
      ->capture_default_str();
  cluster_command
      ->add_option("--province-cities", cluster.province_cities,
                   "cities of the province (tools/topogen --cities)")
      ->capture_default_str();

  grid::loadgen::WebhooksOptions webhooks;
  CLI::App* webhooks_command = app.add_subcommand(
      "webhooks",
      "change-to-receiver latency of grid-webhooks: reports at a fixed rate, one HTTP receiver "
      "of the district");
  webhooks_command->add_option("--events", webhooks.events, "reports measured (two changes each)")
      ->capture_default_str();
  webhooks_command->add_option("--rate", webhooks.rate, "reports started per second")
      ->capture_default_str();
  webhooks_command->add_option("--concurrency", webhooks.concurrency, "concurrent callers")
      ->capture_default_str();
  webhooks_command->add_option("--warmup", webhooks.warmup, "reports before the measured ones")
      ->capture_default_str();

  grid::loadgen::IngestOptions ingest;
  CLI::App* ingest_command = app.add_subcommand(
      "ingest",
      "ingest at saturation (closed loop, until routing and metrics have no backlog) beside the "
      "bare gRPC health check and Prometheus Alertmanager; CPU per report per process");
  ingest_command->add_option("--outstanding", ingest.outstanding, "calls in flight at all times")
      ->capture_default_str();
  ingest_command->add_option("--channels", ingest.channels, "connections to the gateway")
      ->capture_default_str();
  ingest_command->add_option("--seconds", ingest.seconds, "length of the saturation phases")
      ->capture_default_str();
  ingest_command->add_option("--warmup-seconds", ingest.warmup_seconds, "warm-up, not counted")
      ->capture_default_str();
  ingest_command
      ->add_option("--paced-rate", ingest.paced_rate, "the fixed-rate phase: reports per second")
      ->capture_default_str();
  ingest_command
      ->add_option("--paced-seconds", ingest.paced_seconds,
                   "the fixed-rate phase's length (0: none)")
      ->capture_default_str();
  ingest_command
      ->add_option("--alertmanager-seconds", ingest.alertmanager_seconds,
                   "the peer's run under wrk (0: skip it)")
      ->capture_default_str();

  grid::loadgen::DurabilityOptions durability;
  CLI::App* durability_command = app.add_subcommand(
      "durability",
      "the cost of WAIT on a Redis Cluster with replicas: ReportEvent one at a time and at "
      "saturation, intake with and without --redis-wait-ms");
  durability_command->add_option("--runs", durability.runs, "runs of each setting")
      ->capture_default_str();
  durability_command->add_option("--masters", durability.masters, "masters, a replica each")
      ->capture_default_str();
  durability_command->add_option("--wait-ms", durability.wait_ms, "intake's --redis-wait-ms")
      ->capture_default_str();
  durability_command->add_option("--seconds", durability.seconds, "length of each phase")
      ->capture_default_str();
  durability_command
      ->add_option("--outstanding", durability.outstanding, "calls in flight when saturated")
      ->capture_default_str();

  grid::loadgen::EscalationOptions escalation;
  CLI::App* escalation_command = app.add_subcommand(
      "escalation",
      "escalation lateness: timers seeded in Redis fall due at a rate while many "
      "more stay pending");
  escalation_command->add_option("--pending", escalation.pending, "timers pending in all")
      ->capture_default_str();
  escalation_command->add_option("--rate", escalation.rate, "timers falling due per second")
      ->capture_default_str();
  escalation_command->add_option("--seconds", escalation.seconds, "for how long")
      ->capture_default_str();
  escalation_command->add_option("--window", escalation.window, "events in flight while seeding")
      ->capture_default_str();
  escalation_command
      ->add_option("--baseline-rate", escalation.baseline_rate,
                   "baseline: timers falling due per second before the load")
      ->capture_default_str();
  escalation_command
      ->add_option("--baseline-seconds", escalation.baseline_seconds,
                   "baseline: for how long (0: no baseline)")
      ->capture_default_str();

  grid::loadgen::WatchOptions watch;
  CLI::App* watch_command = app.add_subcommand(
      "watch",
      "live-stream delivery latency: many watchers on one gateway while reports flow, "
      "without and with a deliberately slow watcher");
  watch_command->add_option("--watchers", watch.watchers, "concurrent watchers")
      ->capture_default_str();
  watch_command
      ->add_option("--district-watchers", watch.district_watchers,
                   "of them, watchers of the whole district (the rest watch one community each)")
      ->capture_default_str();
  watch_command->add_option("--channels", watch.channels, "connections the watchers share")
      ->capture_default_str();
  watch_command->add_option("--rate", watch.rate, "reports per second")->capture_default_str();
  watch_command->add_option("--seconds", watch.seconds, "length of each phase")
      ->capture_default_str();
  watch_command->add_option("--via", watch.via, "where reports go: intake or gateway")
      ->capture_default_str();
  watch_command->add_option("--concurrency", watch.concurrency, "concurrent report callers")
      ->capture_default_str();
  watch_command->add_option("--slow", watch.slow, "slow watchers in the second phase")
      ->capture_default_str();
  watch_command
      ->add_option("--slow-rate", watch.slow_rate, "messages a slow watcher reads a second")
      ->capture_default_str();

  grid::loadgen::SoakOptions soak;
  CLI::App* soak_command = app.add_subcommand(
      "soak",
      "Redis memory over a simulated week of Laoshan's traffic through the whole loop, the "
      "windows and retentions scaled from days to seconds");
  soak_command->add_option("--days", soak.days, "simulated days")->capture_default_str();
  soak_command->add_option("--day-seconds", soak.day_seconds, "real seconds per simulated day")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  soak_command->add_option("--reports-per-day", soak.reports_per_day, "reports a simulated day")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  soak_command
      ->add_option("--window-days", soak.window_days,
                   "the live stream's window and the rollups' life, in simulated days")
      ->capture_default_str();
  soak_command
      ->add_option("--retention-days", soak.retention_days,
                   "closed events' retention, in simulated days")
      ->capture_default_str();
  soak_command
      ->add_option("--fill-days", soak.fill_days,
                   "the windows have filled by the start of this day (0-based)")
      ->capture_default_str();
  soak_command->add_option("--concurrency", soak.concurrency, "concurrent callers")
      ->capture_default_str();

  grid::loadgen::ConsoleBenchOptions console;
  CLI::App* console_command = app.add_subcommand(
      "console",
      "live-feed delivery latency through the console (Server-Sent Events) beside gRPC "
      "watchers of the gateway in the same run");
  console_command->add_option("--clients", console.clients, "SSE clients on the console")
      ->capture_default_str();
  console_command
      ->add_option("--district-clients", console.district_clients,
                   "of them, clients of the whole district (the rest watch one community each); "
                   "the gRPC watchers take the same mix")
      ->capture_default_str();
  console_command
      ->add_option("--grpc-watchers", console.grpc_watchers,
                   "gRPC WatchEvents watchers on the gateway at the same time (the baseline)")
      ->capture_default_str();
  console_command->add_option("--channels", console.channels, "connections the gRPC watchers share")
      ->capture_default_str();
  console_command->add_option("--rate", console.rate, "reports per second")->capture_default_str();
  console_command->add_option("--seconds", console.seconds, "length of the measured window")
      ->capture_default_str();
  console_command->add_option("--via", console.via, "where reports go: intake or gateway")
      ->capture_default_str();
  console_command->add_option("--concurrency", console.concurrency, "concurrent report callers")
      ->capture_default_str();

  grid::loadgen::RederiveOptions rederive;
  CLI::App* rederive_command = app.add_subcommand(
      "rederive",
      "the metrics service's upgrade in place: re-deriving local-day rollups from the event "
      "records");
  rederive_command->add_option("--events", rederive.events, "events in the records")
      ->capture_default_str();
  rederive_command->add_option("--window", rederive.window, "events in flight while seeding")
      ->capture_default_str();
  rederive_command
      ->add_option("--timeout-seconds", rederive.timeout_seconds,
                   "fail when the re-derivation takes longer")
      ->capture_default_str();

  grid::loadgen::BacklogOptions backlog;
  CLI::App* backlog_command = app.add_subcommand(
      "backlog",
      "what the open-backlog gauges cost Redis per refresh, with a small and a large backlog");
  backlog_command->add_option("--small", backlog.small, "open events in the small backlog")
      ->capture_default_str();
  backlog_command->add_option("--large", backlog.large, "open events in the large backlog")
      ->capture_default_str();
  backlog_command->add_option("--window", backlog.window, "events in flight while seeding")
      ->capture_default_str();

  grid::loadgen::ChaosOptions chaos;
  CLI::App* chaos_command = app.add_subcommand(
      "chaos",
      "kill -9s of every service and restarts of Redis under a steady load of reports; then "
      "proves nothing was lost, doubled or left behind");
  chaos_command->add_option("--seconds", chaos.seconds, "length of the loaded part")
      ->capture_default_str();
  chaos_command->add_option("--seed", chaos.seed, "the kill schedule's seed (0: draw one)")
      ->capture_default_str();
  chaos_command->add_option("--rate", chaos.rate, "reports per second")->capture_default_str();
  chaos_command->add_option("--concurrency", chaos.concurrency, "concurrent report callers")
      ->capture_default_str();
  chaos_command->add_option("--kills", chaos.kills, "kill -9s of services (at least 10)")
      ->capture_default_str();

  CLI11_PARSE(app, argc, argv);
  // The stack's own Redis client logs its connects at info; the figures are what matters here.
  spdlog::set_level(spdlog::level::warn);

  const absl::Status status =
      dispatch_command->parsed()     ? grid::loadgen::RunDispatch(dispatch, std::cout)
      : watch_command->parsed()      ? grid::loadgen::RunWatch(watch, std::cout)
      : soak_command->parsed()       ? grid::loadgen::RunSoak(soak, std::cout)
      : console_command->parsed()    ? grid::loadgen::RunConsole(console, std::cout)
      : rederive_command->parsed()   ? grid::loadgen::RunRederive(rederive, std::cout)
      : backlog_command->parsed()    ? grid::loadgen::RunBacklog(backlog, std::cout)
      : chaos_command->parsed()      ? grid::loadgen::RunChaos(chaos, std::cout)
      : ingest_command->parsed()     ? grid::loadgen::RunIngest(ingest, std::cout)
      : cluster_command->parsed()    ? grid::loadgen::RunCluster(cluster, std::cout)
      : durability_command->parsed() ? grid::loadgen::RunDurability(durability, std::cout)
      : webhooks_command->parsed()   ? grid::loadgen::RunWebhooks(webhooks, std::cout)
                                     : grid::loadgen::RunEscalation(escalation, std::cout);
  std::cout << std::flush;
  if (!status.ok()) {
    std::cerr << "grid-loadgen: FAILED: " << status.message() << '\n';
    return 1;
  }
  return 0;
}
