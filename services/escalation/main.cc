// grid-escalation: the response-time clocks — automatic escalation up the five levels when a
// limit passes, reminders at DISTRICT level, manual escalation (上报) and supervision (督办).
#include <spdlog/spdlog.h>

#include "common/log/log.h"
#include "common/server/runtime.h"
#include "common/store/event_store.h"
#include "common/store/timer_store.h"
#include "services/escalation/escalation_service.h"
#include "services/escalation/escalator.h"

int main(int argc, char** argv) {
  grid::server::StartProcess();
  CLI::App app{"gridline escalation: the response-time clocks"};
  grid::server::CommonFlags flags;
  grid::server::AddCommonFlags(app, flags, "127.0.0.1:7073", "127.0.0.1:9104");
  grid::escalation::Escalator::Options options;
  int tick_ms = static_cast<int>(options.tick.count());
  int lease_ms = static_cast<int>(options.lease.count());
  app.add_option("--tick-ms", tick_ms, "how often to look for due timers")->capture_default_str();
  app.add_option("--lease-ms", lease_ms,
                 "how long a claimed timer is ours before another escalator may take it")
      ->capture_default_str();
  app.add_option("--batch", options.batch, "timers claimed per subdistrict per look")
      ->capture_default_str();
  app.add_option("--max-in-flight", options.max_in_flight,
                 "claimed timers being handled at most; beyond, claiming waits")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--claims-per-second", options.claims_per_second,
                 "claims a second at most over all subdistricts when nothing is due (0: every "
                 "subdistrict every tick)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  grid::log::Init("escalation", flags.log_level);
  options.tick = std::chrono::milliseconds(tick_ms);
  options.lease = std::chrono::milliseconds(lease_ms);

  auto created = grid::server::Runtime::Create(flags, "escalation");
  if (!created.ok()) {
    spdlog::error("{}", created.status().ToString());
    return 2;
  }
  grid::server::Runtime& runtime = **created;
  grid::store::RedisEventStore store(runtime.redis(), runtime.io().get_executor(),
                                     runtime.script_batch());
  grid::store::TimerStore timers(runtime.redis());
  grid::escalation::EscalatorMetrics metrics(runtime.telemetry().registry());
  grid::escalation::Escalator escalator(runtime.io(), store, timers, runtime.topology(),
                                        runtime.policy(), runtime.clock(), metrics, options);
  escalator.Start();
  runtime.OnDrain([&escalator](std::function<void()> done) { escalator.Drain(std::move(done)); });
  grid::escalation::EscalationServiceImpl service(runtime.redis(), store, runtime.topology(),
                                                  runtime.policy(), runtime.clock());
  return runtime.Serve({{&service, grid::v1::EscalationService::service_full_name()}});
}
