// grid-intake: files reports from the gateway into Redis and queues them for routing.
#include <spdlog/spdlog.h>

#include <csignal>
#include <memory>

#include "common/log/log.h"
#include "common/server/runtime.h"
#include "common/store/durable_event_store.h"
#include "common/store/event_store.h"
#include "services/intake/intake.h"
#include "services/intake/intake_service.h"

int main(int argc, char** argv) {
  grid::server::StartProcess();
  CLI::App app{"gridline intake: validates and files reports"};
  grid::server::CommonFlags flags;
  grid::server::AddCommonFlags(app, flags, "127.0.0.1:7071", "127.0.0.1:9102");
  bool stop_after_reservation = false;
  app.add_flag("--test-stop-after-reservation", stop_after_reservation,
               "TEST ONLY: stop the whole process (SIGSTOP) right after reserving a client "
               "request id, before filing the event, so that a crash test can kill it there");
  int redis_wait_ms = 500;
  app.add_option("--redis-wait-ms", redis_wait_ms,
                 "on a Redis Cluster with replicas, a report is acknowledged once a replica has "
                 "it (WAIT 1 <ms>), else UNAVAILABLE; 0: at once, as soon as its master has it")
      ->envname("GRID_REDIS_WAIT_MS")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  grid::log::Init("intake", flags.log_level);

  auto runtime = grid::server::Runtime::Create(flags, "intake");
  if (!runtime.ok()) {
    spdlog::error("{}", runtime.status().ToString());
    return 2;
  }
  grid::store::RedisEventStore redis_store((*runtime)->redis(), (*runtime)->io().get_executor(),
                                           (*runtime)->script_batch());
  // On a cluster with replicas, filings wait for a replica (store::DurableEventStore).
  std::unique_ptr<grid::store::DurableEventStore> durable;
  if (grid::redis::Durability* durability =
          (*runtime)->ReplicaDurability(std::chrono::milliseconds(redis_wait_ms))) {
    durable = std::make_unique<grid::store::DurableEventStore>(redis_store, *durability);
  }
  grid::store::EventStore& store =
      durable != nullptr ? static_cast<grid::store::EventStore&>(*durable) : redis_store;
  grid::intake::Intake::Options options;
  if (stop_after_reservation) {
    spdlog::warn("--test-stop-after-reservation: this process stops at its first reservation");
    options.after_reservation = [] { std::raise(SIGSTOP); };
  }
  grid::intake::Intake intake(store, (*runtime)->topology(), (*runtime)->policy(),
                              (*runtime)->clock(), std::move(options));
  grid::intake::IntakeServiceImpl service(intake);
  return (*runtime)->Serve({{&service, grid::v1::IntakeService::service_full_name()}});
}
