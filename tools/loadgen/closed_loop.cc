#include "tools/loadgen/closed_loop.h"

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>

namespace grid::loadgen {
namespace {

using Clock = std::chrono::steady_clock;

// The run's shared state. A slot has one call in flight at a time, so its samples need no lock.
struct Run {
  const AsyncCall& call;
  Clock::time_point start;
  Clock::time_point stop;
  std::atomic<int> next{0};
  std::atomic<bool> stopping{false};
  std::vector<std::vector<double>> samples;  // Per slot.

  std::mutex mutex;
  std::condition_variable idle;
  int active = 0;              // Guarded by mutex.
  int failed = 0;              // Guarded by mutex.
  absl::Status first_error;    // Guarded by mutex.
  Clock::time_point last_end;  // Guarded by mutex.

  void Start(std::size_t slot) {
    const int index = next.fetch_add(1);
    const Clock::time_point begin = Clock::now();
    call(index, [this, slot, begin](absl::Status status) { Done(slot, begin, std::move(status)); });
  }

  void Done(std::size_t slot, Clock::time_point begin, absl::Status status) {
    const Clock::time_point end = Clock::now();
    if (status.ok()) {
      samples[slot].push_back(std::chrono::duration<double, std::milli>(end - begin).count());
    } else {
      stopping = true;
    }
    {
      std::lock_guard lock(mutex);
      last_end = std::max(last_end, end);
      if (!status.ok() && failed++ == 0) {
        first_error = std::move(status);
      }
    }
    if (!stopping && end < stop) {
      Start(slot);
      return;
    }
    std::lock_guard lock(mutex);
    if (--active == 0) {
      idle.notify_all();
    }
  }
};

}  // namespace

ClosedLoopResult RunClosedLoop(const ClosedLoopOptions& options, const AsyncCall& call) {
  const auto slots = static_cast<std::size_t>(std::max(options.outstanding, 1));
  auto run = std::make_unique<Run>(call);
  run->samples.resize(slots);
  run->start = Clock::now();
  run->stop = run->start + options.duration;
  run->last_end = run->start;
  run->active = static_cast<int>(slots);
  for (std::size_t slot = 0; slot < slots; ++slot) {
    run->Start(slot);
  }
  std::unique_lock lock(run->mutex);
  run->idle.wait(lock, [&] { return run->active == 0; });

  ClosedLoopResult result;
  for (const std::vector<double>& samples : run->samples) {
    result.latency_ms.insert(result.latency_ms.end(), samples.begin(), samples.end());
  }
  result.started = run->next.load();
  result.failed = run->failed;
  result.first_error = run->first_error;
  result.elapsed_seconds = std::chrono::duration<double>(run->last_end - run->start).count();
  return result;
}

}  // namespace grid::loadgen
