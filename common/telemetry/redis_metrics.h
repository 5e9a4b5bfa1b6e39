// Redis command latency and errors, fed by redis::AsioClient's observer hook (the redis library
// does not depend on prometheus), and the consumer groups' backlog.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <string>
#include <string_view>

namespace grid::telemetry {

// grid_redis_command_seconds{command}, grid_redis_command_errors_total{command},
// grid_stream_group_lag{stream, group}, grid_stream_group_pending{stream, group}. `command` is
// argv[0] upper-cased: the fixed set of commands the code sends.
struct RedisMetrics {
  explicit RedisMetrics(prometheus::Registry& registry);

  // For redis::AsioClient::Options::observer; thread-safe.
  void Observe(std::string_view command, double seconds, bool ok);

  prometheus::Family<prometheus::Histogram>& command_seconds;
  prometheus::Family<prometheus::Counter>& command_errors;
  // Entries of the stream not yet delivered to the group (XINFO GROUPS lag).
  prometheus::Family<prometheus::Gauge>& group_lag;
  // Entries delivered to the group and not yet acknowledged.
  prometheus::Family<prometheus::Gauge>& group_pending;
};

// The command label: upper case, at most 24 characters ("EVALSHA", "XREADGROUP").
std::string CommandLabel(std::string_view command);

}  // namespace grid::telemetry
