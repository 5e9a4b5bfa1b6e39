// Waiting for several connections at once, as ClusterClient and ReplicaWaiter do for the
// connections to their masters.
#pragma once

#include <algorithm>
#include <chrono>
#include <vector>

#include "absl/status/status.h"

namespace grid::redis {

// Waits for each of `connections` (pointers to anything with WaitConnected(ms)) in turn, until
// `end` in all: OK once all are connected, else the first one's status.
template <class Ptr>
absl::Status WaitEachConnected(const std::vector<Ptr>& connections,
                               std::chrono::steady_clock::time_point end) {
  for (const Ptr& connection : connections) {
    const auto left = std::max(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   end - std::chrono::steady_clock::now()),
                               std::chrono::milliseconds::zero());
    if (absl::Status status = connection->WaitConnected(left); !status.ok()) {
      return status;
    }
  }
  return absl::OkStatus();
}

}  // namespace grid::redis
