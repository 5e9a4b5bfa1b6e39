#pragma once

#include <algorithm>
#include <chrono>
#include <thread>

namespace grid::testing {

// Calls `pred` until it returns true or `deadline` passes; true if it did. Tests wait for things
// this way, never with a bare sleep: the deadline is a generous correctness bound, and the wait
// ends as soon as the condition holds. `pred` is called once more at the deadline.
template <class F>
bool PollUntil(F pred, std::chrono::milliseconds deadline,
               std::chrono::milliseconds step = std::chrono::milliseconds(20)) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (true) {
    if (pred()) {
      return true;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= end) {
      return false;
    }
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(step, end - now));
  }
}

}  // namespace grid::testing
