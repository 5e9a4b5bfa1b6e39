// grid-metrics: response-time monitoring: scores, backlog, Prometheus figures.
// The service runs, answers health checks and exposes /metrics; its RPCs answer UNIMPLEMENTED
// until its logic lands.
#include <spdlog/spdlog.h>

#include "common/log/log.h"
#include "common/server/runtime.h"
#include "grid/v1/metrics.grpc.pb.h"

int main(int argc, char** argv) {
  grid::server::BlockTerminationSignals();
  CLI::App app{"gridline metrics: response-time monitoring: scores, backlog, Prometheus figures"};
  grid::server::CommonFlags flags;
  grid::server::AddCommonFlags(app, flags, "127.0.0.1:7074", "127.0.0.1:9105");
  CLI11_PARSE(app, argc, argv);
  grid::log::Init("metrics", flags.log_level);

  auto runtime = grid::server::Runtime::Create(flags, "metrics");
  if (!runtime.ok()) {
    spdlog::error("{}", runtime.status().ToString());
    return 2;
  }
  grid::v1::MetricsService::CallbackService service;
  return (*runtime)->Serve({&service});
}
