// Redis keys of the webhooks service. A receiver's queue and dead letters are per subdistrict and
// carry its {hash tag}, so that handing a live-stream entry over to the queues (one Lua step with
// the entry's acknowledgement) stays within one slot of a Redis Cluster.
#pragma once

#include <string>
#include <string_view>

namespace grid::webhooks {

// The webhooks consumer group on the live streams.
inline constexpr std::string_view kWebhooksGroup = "webhooks";

// Changes waiting for delivery to `receiver` (stream: c = serialized EventChange, e = serialized
// Event), in live-stream order; the head is the one being delivered.
inline std::string QueueKey(std::string_view subdistrict, std::string_view receiver) {
  return "{" + std::string(subdistrict) + "}:wh:q:" + std::string(receiver);
}
// Changes given up on (stream: c, e, reason, attempts, at), capped, kept for inspection.
inline std::string DeadLetterKey(std::string_view subdistrict, std::string_view receiver) {
  return "{" + std::string(subdistrict) + "}:wh:dead:" + std::string(receiver);
}

}  // namespace grid::webhooks
