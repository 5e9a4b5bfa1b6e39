// grid-escalation: the response-time clocks: automatic and manual escalation, supervision,
// reminders. The service runs, answers health checks and exposes /metrics; its RPCs answer
// UNIMPLEMENTED until its logic lands.
#include <spdlog/spdlog.h>

#include "common/log/log.h"
#include "common/server/runtime.h"
#include "grid/v1/escalation.grpc.pb.h"

int main(int argc, char** argv) {
  grid::server::BlockTerminationSignals();
  CLI::App app{
      "gridline escalation: the response-time clocks: automatic and manual escalation, "
      "supervision, reminders"};
  grid::server::CommonFlags flags;
  grid::server::AddCommonFlags(app, flags, "127.0.0.1:7073", "127.0.0.1:9104");
  CLI11_PARSE(app, argc, argv);
  grid::log::Init("escalation", flags.log_level);

  auto runtime = grid::server::Runtime::Create(flags, "escalation");
  if (!runtime.ok()) {
    spdlog::error("{}", runtime.status().ToString());
    return 2;
  }
  grid::v1::EscalationService::CallbackService service;
  return (*runtime)->Serve({&service});
}
