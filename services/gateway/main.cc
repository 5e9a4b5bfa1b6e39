// grid-gateway: the public API for mobile apps, consoles and gridctl.
#include <spdlog/spdlog.h>

#include "common/log/log.h"
#include "common/server/runtime.h"
#include "services/gateway/gateway_service.h"

int main(int argc, char** argv) {
  grid::server::BlockTerminationSignals();
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
  app.add_option("--default-deadline-ms", default_deadline_ms,
                 "deadline of internal calls when the caller sets none")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  grid::log::Init("gateway", flags.log_level);

  auto runtime = grid::server::Runtime::Create(flags, "gateway");
  if (!runtime.ok()) {
    spdlog::error("{}", runtime.status().ToString());
    return 2;
  }
  grid::gateway::GatewayServiceImpl service(
      grid::gateway::ConnectBackends(intake, routing, escalation, metrics), (*runtime)->topology(),
      std::chrono::milliseconds(default_deadline_ms));
  return (*runtime)->Serve({&service});
}
