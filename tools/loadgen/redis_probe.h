// What the benchmarks read straight from the stack's Redis: single commands, INFO fields and the
// consumer groups' backlog.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/redis/client.h"
#include "tests/support/stack.h"

namespace grid::loadgen {

// One command on the stack's own Redis client, within 5 s.
absl::StatusOr<redis::Reply> RedisCommand(testing::Stack& stack, std::vector<std::string> argv);
absl::StatusOr<redis::Reply> RedisCommand(redis::Client& redis, std::vector<std::string> argv);

// A numeric field of INFO `section` (e.g. "memory", "used_memory"); NOT_FOUND when it has none.
absl::StatusOr<long long> InfoField(redis::Client& redis, const std::string& section,
                                    const std::string& field);

// The work the consumer groups of the routing and live streams (routing's, metrics') have not
// finished, over every subdistrict.
struct Backlog {
  // Entries delivered to a consumer and not acknowledged.
  long long pending = 0;
  // Groups that have not been delivered the stream's last entry yet.
  long long behind = 0;
  // One group with work left, for messages ("" when none).
  std::string where;

  bool Empty() const { return pending == 0 && behind == 0; }
};
absl::StatusOr<Backlog> ConsumerBacklog(redis::Client& redis,
                                        const std::vector<std::string>& subdistricts);

}  // namespace grid::loadgen
