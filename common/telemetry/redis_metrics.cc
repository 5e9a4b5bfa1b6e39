#include "common/telemetry/redis_metrics.h"

#include <cctype>

namespace grid::telemetry {

RedisMetrics::RedisMetrics(prometheus::Registry& registry)
    : command_seconds(prometheus::BuildHistogram()
                          .Name("grid_redis_command_seconds")
                          .Help("Redis command latency, submission to reply.")
                          .Register(registry)),
      command_errors(prometheus::BuildCounter()
                         .Name("grid_redis_command_errors_total")
                         .Help("Redis commands that failed or got an error reply.")
                         .Register(registry)),
      group_lag(prometheus::BuildGauge()
                    .Name("grid_stream_group_lag")
                    .Help("Stream entries not yet delivered to the consumer group.")
                    .Register(registry)),
      group_pending(prometheus::BuildGauge()
                        .Name("grid_stream_group_pending")
                        .Help("Stream entries delivered to the group and not acknowledged.")
                        .Register(registry)),
      group_consumers(prometheus::BuildGauge()
                          .Name("grid_stream_group_consumers")
                          .Help("Consumers in the consumer group.")
                          .Register(registry)),
      group_oldest_pending(
          prometheus::BuildGauge()
              .Name("grid_stream_group_oldest_pending_seconds")
              .Help("Age of the oldest entry delivered to the group and not acknowledged.")
              .Register(registry)),
      group_oldest_unacked(prometheus::BuildGauge()
                               .Name("grid_stream_group_oldest_unacked_seconds")
                               .Help("Age of the oldest entry the group has not acknowledged, "
                                     "delivered or not (routing: the oldest undispatched report).")
                               .Register(registry)),
      dead_letters(prometheus::BuildCounter()
                       .Name("grid_dead_letters_total")
                       .Help("Stream entries moved to a dead-letter stream, by reason class.")
                       .Register(registry)),
      trimmed(prometheus::BuildCounter()
                  .Name("grid_stream_trimmed_entries_total")
                  .Help("Entries trimmed from a stream: acknowledged, or older than its window.")
                  .Register(registry)) {}

std::string CommandLabel(std::string_view command) {
  std::string label;
  for (char c : command.substr(0, 24)) {
    label.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return label.empty() ? "UNKNOWN" : label;
}

void RedisMetrics::Observe(std::string_view command, double seconds, bool ok) {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
  const std::string label = CommandLabel(command);
  command_seconds.Add({{"command", label}}, kBuckets).Observe(seconds);
  if (!ok) {
    command_errors.Add({{"command", label}}).Increment();
  }
}

}  // namespace grid::telemetry
