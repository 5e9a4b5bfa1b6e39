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

// grid_redis_command_seconds{command}, grid_redis_command_errors_total{command}, and per
// consumer group: grid_stream_group_lag, _pending, _consumers, _oldest_pending_seconds,
// _oldest_unacked_seconds{stream, group}, grid_dead_letters_total{stream, group, reason_class},
// grid_stream_trimmed_entries_total{stream}. `command` is argv[0] upper-cased: the fixed set of
// commands the code sends.
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
  // Consumers in the group (a restart must not leave one behind).
  prometheus::Family<prometheus::Gauge>& group_consumers;
  // Age of the oldest entry delivered and not acknowledged; 0 when none.
  prometheus::Family<prometheus::Gauge>& group_oldest_pending;
  // Age of the oldest entry the group has not acknowledged, delivered or not; 0 when none. For
  // the routing group: the age of the oldest undispatched report.
  prometheus::Family<prometheus::Gauge>& group_oldest_unacked;
  // Entries moved to a dead-letter stream, by reason class (permanent, exhausted).
  prometheus::Family<prometheus::Counter>& dead_letters;
  // Entries trimmed from a stream (acknowledged, or older than its window).
  prometheus::Family<prometheus::Counter>& trimmed;
};

// The command label: upper case, at most 24 characters ("EVALSHA", "XREADGROUP").
std::string CommandLabel(std::string_view command);

}  // namespace grid::telemetry
