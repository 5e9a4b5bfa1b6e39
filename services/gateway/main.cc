// grid-gateway: the public API for mobile apps, consoles and gridctl.
#include <spdlog/spdlog.h>

#include "common/log/log.h"
#include "common/server/runtime.h"
#include "common/store/keys.h"
#include "services/gateway/access.h"
#include "services/gateway/gateway_service.h"

int main(int argc, char** argv) {
  grid::server::StartProcess();
  CLI::App app{"gridline gateway: the public API"};
  grid::server::CommonFlags flags;
  grid::server::AddCommonFlags(app, flags, "127.0.0.1:7070", "127.0.0.1:9101");
  std::string intake = "127.0.0.1:7071";
  std::string routing = "127.0.0.1:7072";
  std::string escalation = "127.0.0.1:7073";
  std::string metrics = "127.0.0.1:7074";
  int default_deadline_ms = 10000;
  app.add_option("--intake", intake, "intake service address")->envname("GRID_INTAKE");
  app.add_option("--routing", routing, "routing service address")->envname("GRID_ROUTING");
  app.add_option("--escalation", escalation, "escalation service address")
      ->envname("GRID_ESCALATION");
  app.add_option("--metrics", metrics, "metrics service address")->envname("GRID_METRICS");
  std::string webhooks;
  app.add_option("--webhooks", webhooks,
                 "webhooks service address, for the ADMIN's webhook calls (default: none; they "
                 "answer UNAVAILABLE)")
      ->envname("GRID_WEBHOOKS");
  app.add_option("--default-deadline-ms", default_deadline_ms,
                 "deadline of internal calls when the caller sets none")
      ->capture_default_str();
  grid::gateway::ReportBatcher::Options report_batching;
  app.add_option("--report-batch-above", report_batching.calls_before_batching,
                 "calls to intake in flight beyond which waiting reports go together, in one "
                 "call (0: every report alone)")
      ->envname("GRID_REPORT_BATCH_ABOVE")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--report-batch-max", report_batching.max_batch,
                 "the most reports in one call to intake")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  grid::server::ClientTls backend_tls;
  app.add_option("--backend-ca", backend_tls.ca_file,
                 "speak TLS to the internal services, verifying them against these PEM roots")
      ->envname("GRID_BACKEND_CA");
  app.add_option("--backend-cert", backend_tls.cert_file,
                 "the gateway's PEM client certificate, for services that require mutual TLS")
      ->envname("GRID_BACKEND_CERT");
  app.add_option("--backend-key", backend_tls.key_file, "the private key of --backend-cert")
      ->envname("GRID_BACKEND_KEY");
  std::string jwt_secret_file;
  bool insecure_no_auth = false;
  grid::auth::RateLimiter::Options rate{.per_second = 50, .burst = 100, .max_subjects = 100000};
  app.add_option("--jwt-secret-file", jwt_secret_file,
                 "file holding the HS256 secret of the bearer tokens (at least 32 bytes)")
      ->envname("GRID_JWT_SECRET_FILE");
  std::string api_keys_file;
  app.add_option("--api-keys", api_keys_file,
                 "client systems that call with an api key (grid.v1.ApiClientConfig JSON: name, "
                 "key_sha256, unit_id, source); none when not given")
      ->envname("GRID_API_KEYS");
  grid::auth::VerifyOptions verify;
  int jwt_leeway_seconds = 60;
  app.add_option("--jwt-issuer", verify.issuer, "tokens must carry this iss (default: any)")
      ->envname("GRID_JWT_ISSUER");
  app.add_option("--jwt-audience", verify.audience, "tokens must name this aud (default: any)")
      ->envname("GRID_JWT_AUDIENCE");
  app.add_option("--jwt-leeway-seconds", jwt_leeway_seconds,
                 "how far in the future a token's nbf and iat may lie (clock skew)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_flag("--insecure-no-auth", insecure_no_auth,
               "accept calls without tokens and trust the actor the client sends (tests only)");
  app.add_option("--rate-per-second", rate.per_second,
                 "calls a second per subject, on average (0: no limit)")
      ->capture_default_str();
  app.add_option("--rate-burst", rate.burst, "calls a subject may make at once")
      ->capture_default_str();
  app.add_option("--rate-max-subjects", rate.max_subjects,
                 "subjects the rate limiter remembers at most (bounds its memory)")
      ->capture_default_str();
  grid::gateway::WatchHubOptions watch;
  int watch_heartbeat_seconds = 15;
  app.add_option("--watch-heartbeat-seconds", watch_heartbeat_seconds,
                 "a watcher that got nothing for this long gets a heartbeat")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--watch-queue", watch.queue_capacity,
                 "changes a watcher may fall behind before it is cut off with a cursor")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  std::size_t watches_per_subject = grid::gateway::kDefaultWatchesPerSubject;
  app.add_option("--watch-max-per-subject", watches_per_subject,
                 "watches one subject may hold at once (0: no cap); beyond, RESOURCE_EXHAUSTED")
      ->capture_default_str();
  std::vector<std::string> ready_backends = {"intake", "routing", "escalation", "metrics"};
  app.add_option("--ready-backends", ready_backends,
                 "the services the gateway is ready only while they are (gRPC health \"\")")
      ->delimiter(',')
      ->check(CLI::IsMember({"intake", "routing", "escalation", "metrics"}))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  verify.leeway = std::chrono::seconds(jwt_leeway_seconds);
  grid::log::Init("gateway", flags.log_level);
  if (jwt_secret_file.empty() && !insecure_no_auth) {
    spdlog::error(
        "--jwt-secret-file (or GRID_JWT_SECRET_FILE) is required; "
        "--insecure-no-auth turns authentication off");
    return 2;
  }

  auto backend_credentials = grid::server::MakeChannelCredentials(backend_tls, "--backend-");
  if (!backend_credentials.ok()) {
    spdlog::error("{}", backend_credentials.status().ToString());
    return 2;
  }

  auto runtime = grid::server::Runtime::Create(flags, "gateway");
  if (!runtime.ok()) {
    spdlog::error("{}", runtime.status().ToString());
    return 2;
  }
  static const grid::SystemClock clock;
  grid::gateway::AccessPtr access;
  if (insecure_no_auth) {
    spdlog::warn("authentication is OFF (--insecure-no-auth): every caller is trusted");
  } else {
    absl::StatusOr<std::string> secret = grid::auth::ReadSecretFile(jwt_secret_file);
    if (!secret.ok()) {
      spdlog::error("{}", secret.status().ToString());
      return 2;
    }
    grid::auth::ApiClientsPtr api_clients;
    if (!api_keys_file.empty()) {
      auto loaded = grid::auth::ApiClients::Load(api_keys_file, (*runtime)->topology());
      if (!loaded.ok()) {
        spdlog::error("--api-keys: {}", loaded.status().ToString());
        return 2;
      }
      api_clients = *std::move(loaded);
      spdlog::info("api keys: {} client systems from {}", api_clients->size(), api_keys_file);
    }
    access = std::make_unique<grid::gateway::Access>(
        (*runtime)->topology(),
        grid::gateway::Access::Options{*std::move(secret), rate, std::move(verify),
                                       std::move(api_clients)},
        clock);
  }
  grid::gateway::Backends backends =
      grid::gateway::ConnectBackends(intake, routing, escalation, metrics, *backend_credentials);
  if (!webhooks.empty()) {
    grid::gateway::ConnectWebhooks(backends, webhooks, *std::move(backend_credentials));
  }
  // Ready while the services it fronts are (and Redis, for the live stream).
  for (const std::string& backend : ready_backends) {
    (*runtime)->AddReadinessProbe(
        backend,
        grid::server::GrpcHealthProbe(backends.channels.at(backend),
                                      std::chrono::milliseconds(flags.readiness_interval_ms)));
  }
  grid::gateway::GatewayServiceImpl service(std::move(backends), (*runtime)->topology(),
                                            std::chrono::milliseconds(default_deadline_ms),
                                            std::move(access));
  report_batching.registry = &(*runtime)->telemetry().registry();
  service.SetReportBatching(report_batching);
  service.SetPolicy((*runtime)->policy());
  // One reader of the live streams for every watcher of this process, on a connection of its own
  // (XREAD BLOCK holds it).
  watch.heartbeat = std::chrono::seconds(watch_heartbeat_seconds);
  grid::gateway::WatchMetrics watch_metrics((*runtime)->telemetry().registry());
  // On a cluster, a reader per slot: an XREAD names the streams of one slot only.
  std::vector<std::string> live_streams;
  for (const std::string& sd : (*runtime)->topology().subdistrict_ids()) {
    live_streams.push_back(grid::store::LiveStream(sd));
  }
  std::vector<grid::gateway::WatchHub::ReadGroup> read_groups;
  for (std::vector<std::string>& streams : (*runtime)->ReadGroups(live_streams)) {
    read_groups.push_back({&(*runtime)->NewRedisConnection("watch"), std::move(streams)});
  }
  auto created_hub =
      grid::gateway::WatchHub::Create((*runtime)->io(), std::move(read_groups), (*runtime)->redis(),
                                      (*runtime)->topology(), watch, &watch_metrics);
  if (!created_hub.ok()) {
    spdlog::error("{}", created_hub.status().ToString());
    return 2;
  }
  std::shared_ptr<grid::gateway::WatchHub> watch_hub = *std::move(created_hub);
  watch_hub->Start();
  if (!watch_hub->WaitReady(std::chrono::seconds(5))) {
    spdlog::warn("watch: live streams not readable yet; WatchEvents is UNAVAILABLE until they are");
  }
  service.SetWatchHub(*watch_hub);
  service.SetWatchesPerSubject(watches_per_subject);
  (*runtime)->OnDrain([watch_hub](std::function<void()> done) {
    watch_hub->Stop();
    done();
  });
  return (*runtime)->Serve({{&service, grid::v1::GatewayService::service_full_name()}});
}
