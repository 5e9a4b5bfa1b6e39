// grid-intake: files reports from the gateway into Redis and queues them for routing.
#include <spdlog/spdlog.h>

#include "common/log/log.h"
#include "common/server/runtime.h"
#include "common/store/event_store.h"
#include "services/intake/intake.h"
#include "services/intake/intake_service.h"

int main(int argc, char** argv) {
  grid::server::BlockTerminationSignals();
  CLI::App app{"gridline intake: validates and files reports"};
  grid::server::CommonFlags flags;
  grid::server::AddCommonFlags(app, flags, "127.0.0.1:7071", "127.0.0.1:9102");
  CLI11_PARSE(app, argc, argv);
  grid::log::Init("intake", flags.log_level);

  auto runtime = grid::server::Runtime::Create(flags, "intake");
  if (!runtime.ok()) {
    spdlog::error("{}", runtime.status().ToString());
    return 2;
  }
  grid::store::RedisEventStore store((*runtime)->redis());
  grid::intake::Intake intake(store, (*runtime)->topology(), (*runtime)->policy(),
                              (*runtime)->clock());
  grid::intake::IntakeServiceImpl service(intake);
  return (*runtime)->Serve({{&service, grid::v1::IntakeService::service_full_name()}});
}
