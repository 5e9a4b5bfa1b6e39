// One Prometheus exposition endpoint per process, and the registry its components register in.
#pragma once

#include <prometheus/exposer.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace grid::telemetry {

// Owns the process's registry and the HTTP exposer serving it at /metrics. Components declare
// their metrics in a struct built from registry() (STYLE.md item 9).
class Telemetry final {
 public:
  // Binds `address` ("127.0.0.1:9101"; port 0 is allowed for tests). `service` becomes the
  // `service` label of grid_build_info.
  static absl::StatusOr<std::unique_ptr<Telemetry>> Start(const std::string& address,
                                                          const std::string& service);

  prometheus::Registry& registry() { return *registry_; }
  // The port actually bound.
  int port() const;

 private:
  Telemetry() = default;

  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::shared_ptr<prometheus::Collectable> process_;
};

}  // namespace grid::telemetry
