#include "common/telemetry/telemetry.h"

#include <prometheus/gauge.h>

#include <stdexcept>

#include "common/telemetry/process_metrics.h"

namespace grid::telemetry {

absl::StatusOr<std::unique_ptr<Telemetry>> Telemetry::Start(const std::string& address,
                                                            const std::string& service) {
  std::unique_ptr<Telemetry> telemetry(new Telemetry());
  telemetry->registry_ = std::make_shared<prometheus::Registry>();
  try {
    // civetweb, under the exposer, throws when it cannot bind.
    telemetry->exposer_ = std::make_unique<prometheus::Exposer>(address, 2);
  } catch (const std::exception& e) {
    return absl::UnavailableError("metrics listen address " + address + ": " + e.what());
  }
  prometheus::BuildGauge()
      .Name("grid_build_info")
      .Help("Always 1; labels name the service and version")
      .Register(*telemetry->registry_)
      .Add({{"service", service}, {"version", GRID_VERSION}})
      .Set(1);
  telemetry->process_ = MakeProcessCollector();
  telemetry->exposer_->RegisterCollectable(telemetry->registry_);
  telemetry->exposer_->RegisterCollectable(telemetry->process_);
  return telemetry;
}

int Telemetry::port() const {
  auto ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

}  // namespace grid::telemetry
