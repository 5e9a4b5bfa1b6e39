// The standard process_* metrics of Prometheus client libraries, which prometheus-cpp lacks.
#pragma once

#include <prometheus/collectable.h>

#include <memory>

namespace grid::telemetry {

// process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
// process_open_fds and process_start_time_seconds, read from /proc at scrape time.
std::shared_ptr<prometheus::Collectable> MakeProcessCollector();

}  // namespace grid::telemetry
