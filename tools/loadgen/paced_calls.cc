#include "tools/loadgen/paced_calls.h"

#include <atomic>
#include <mutex>
#include <thread>

namespace grid::loadgen {

std::vector<double> PacedResult::Succeeded() const {
  std::vector<double> ok;
  ok.reserve(latency_ms.size());
  for (double latency : latency_ms) {
    if (latency >= 0) {
      ok.push_back(latency);
    }
  }
  return ok;
}

PacedResult RunPaced(const PacedOptions& options, const std::function<absl::Status(int)>& call) {
  using Clock = std::chrono::steady_clock;
  PacedResult result;
  result.latency_ms.assign(static_cast<std::size_t>(std::max(options.count, 0)), -1.0);
  std::atomic<int> next{0};
  std::atomic<int> issued{0};
  std::mutex mutex;  // Guards failed and first_error.
  const Clock::time_point start = Clock::now();
  const Clock::time_point stop_issuing = start + options.time_limit;
  const auto due = [&](int index) {
    if (options.rate <= 0) {
      return start;
    }
    return start + std::chrono::duration_cast<Clock::duration>(
                       std::chrono::duration<double>(index / options.rate));
  };

  const auto caller = [&] {
    while (true) {
      const int index = next.fetch_add(1);
      if (index >= options.count) {
        return;
      }
      const Clock::time_point at = due(index);
      // Unpaced calls (rate <= 0) are all due at the start: the clock stops them.
      if (at >= stop_issuing || Clock::now() >= stop_issuing) {
        return;
      }
      std::this_thread::sleep_until(at);
      issued.fetch_add(1);
      const Clock::time_point begin = Clock::now();
      const absl::Status status = call(index);
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - begin).count();
      if (status.ok()) {
        result.latency_ms[static_cast<std::size_t>(index)] = ms;
      } else {
        std::lock_guard lock(mutex);
        if (result.failed++ == 0) {
          result.first_error = status;
        }
      }
    }
  };
  {
    std::vector<std::jthread> callers;
    for (int i = 0; i < std::max(options.concurrency, 1); ++i) {
      callers.emplace_back(caller);
    }
  }
  result.issued = issued.load();
  result.elapsed_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

}  // namespace grid::loadgen
