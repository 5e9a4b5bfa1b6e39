// grid-webhooks: delivers lifecycle changes to department systems as signed HTTP POSTs. Reads
// every subdistrict's live stream in its own consumer group, hands each change over to the
// queues of the receivers it matches (deploy/config/webhooks.json), and delivers each queue in
// order, at least once, with retries for hours and then a dead letter.
#include <spdlog/spdlog.h>

#include "common/log/log.h"
#include "common/server/runtime.h"
#include "common/store/keys.h"
#include "services/webhooks/admin.h"
#include "services/webhooks/lease.h"
#include "services/webhooks/webhook_keys.h"
#include "services/webhooks/webhooks.h"

int main(int argc, char** argv) {
  grid::server::StartProcess();
  CLI::App app{
      "gridline webhooks: signed, durable HTTP deliveries of changes to department systems"};
  grid::server::CommonFlags flags;
  grid::server::AddCommonFlags(app, flags, "127.0.0.1:7075", "127.0.0.1:9107");
  grid::webhooks::Webhooks::Options options;
  options.config_path = "deploy/config/webhooks.json";
  app.add_option(
         "--config", options.config_path,
         "the receivers (grid.v1.WebhookConfig JSON); re-read when it changes and on SIGHUP")
      ->envname("GRID_WEBHOOKS_CONFIG")
      ->capture_default_str();
  options.handoff.consumer = "webhooks";
  app.add_option("--consumer", options.handoff.consumer,
                 "the consumer's name in the webhooks group; one replica runs at a time")
      ->capture_default_str();
  int lease_ms = 6000;
  app.add_option("--lease-ms", lease_ms,
                 "how long the lease that makes one replica deliver lasts unless extended (every "
                 "third of it); a standby takes over this long after the holder dies")
      ->check(CLI::Range(300, 600000))
      ->capture_default_str();
  app.add_option("--group-start", options.handoff.group_start,
                 "where a new webhooks group starts on the live streams: $ (changes from now on) "
                 "or 0 (every change the streams still hold)")
      ->capture_default_str();
  int retry_base_ms = 1000;
  int retry_max_ms = 600000;
  int max_age_seconds = 86400;
  int timeout_ms = 10000;
  int idle_poll_ms = 1000;
  int reload_interval_ms = 2000;
  app.add_option("--retry-base-ms", retry_base_ms,
                 "the first wait after a failed attempt; doubled per failure, with jitter")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--retry-max-ms", retry_max_ms, "the longest wait between two attempts")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-age-seconds", max_age_seconds,
                 "a change not delivered this long after it was queued goes to the dead letters")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--timeout-ms", timeout_ms,
                 "one attempt: resolving, connecting, TLS, sending and reading the answer")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-response-bytes", options.http.max_response_bytes,
                 "the most of an answer that is read; a longer one fails the attempt")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--ca-file", options.http.ca_file,
                 "PEM roots trusted for https receivers besides the system's")
      ->envname("GRID_WEBHOOKS_CA_FILE");
  app.add_option("--max-queue", options.handoff.max_queue,
                 "the most changes waiting per receiver and subdistrict; beyond, dead letters")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-in-flight", options.delivery.max_in_flight,
                 "requests in flight per receiver and subdistrict (never two of one event)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--idle-poll-ms", idle_poll_ms, "how often an empty queue is looked at")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--reload-interval-ms", reload_interval_ms,
                 "how often the configuration file's modification time is checked")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  grid::log::Init("webhooks", flags.log_level);
  options.delivery.retry_base = std::chrono::milliseconds(retry_base_ms);
  options.delivery.retry_cap = std::chrono::milliseconds(retry_max_ms);
  options.delivery.max_age = std::chrono::seconds(max_age_seconds);
  options.delivery.idle_poll = std::chrono::milliseconds(idle_poll_ms);
  options.http.timeout = std::chrono::milliseconds(timeout_ms);
  options.reload_interval = std::chrono::milliseconds(reload_interval_ms);
  options.handoff.group = std::string(grid::webhooks::kWebhooksGroup);
  options.lease.token = grid::webhooks::Lease::NewToken();
  options.lease.ttl = std::chrono::milliseconds(lease_ms);
  options.lease.renew_every = std::chrono::milliseconds(lease_ms / 3);
  options.lease.retry_every = std::chrono::milliseconds(std::min(1000, lease_ms / 3));

  auto created = grid::server::Runtime::Create(flags, "webhooks");
  if (!created.ok()) {
    spdlog::error("{}", created.status().ToString());
    return 2;
  }
  grid::server::Runtime& runtime = **created;
  std::vector<std::string> streams;
  for (const auto& subdistrict : runtime.topology().subdistrict_ids()) {
    streams.push_back(grid::store::LiveStream(subdistrict));
  }
  std::vector<grid::webhooks::Webhooks::ReadGroup> read_groups;
  for (auto& group : runtime.ReadGroups(streams)) {
    read_groups.push_back({group, &runtime.NewRedisConnection("live-reader")});
  }
  runtime.MonitorStreamGroup(streams, options.handoff.group);
  grid::webhooks::WebhookMetrics metrics(runtime.telemetry().registry());
  grid::webhooks::Webhooks webhooks(runtime.io(), runtime.redis(), std::move(read_groups),
                                    runtime.topology(), runtime.clock(), metrics, options);
  if (auto status = webhooks.Start(); !status.ok()) {
    spdlog::error("{}", status.ToString());
    return 2;
  }
  // Ready while this replica holds the lease and delivers: a standby is NOT_SERVING (alive for
  // the liveness probe), so a Service sends the administration calls to the active one.
  runtime.AddReadinessProbe("lease", [&webhooks](std::function<void(absl::Status)> done) {
    done(webhooks.active()
             ? absl::OkStatus()
             : absl::UnavailableError("standby: another replica holds the webhooks lease"));
  });
  runtime.OnDrain([&webhooks](std::function<void()> done) {
    // Queued changes stay queued; one in flight goes again after the restart (at least once).
    // The lease is given up, so that a standby takes over at once.
    webhooks.Stop();
    done();
  });
  grid::webhooks::WebhookAdmin admin(runtime.io(), runtime.redis(), runtime.topology(),
                                     runtime.clock(), webhooks);
  grid::webhooks::WebhooksServiceImpl service(admin);
  return runtime.Serve({{&service, grid::v1::WebhooksService::service_full_name()}});
}
