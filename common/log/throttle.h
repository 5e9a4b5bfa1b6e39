// Logging a condition that repeats (Redis unreachable, an entry that keeps failing) without
// flooding the log: an outage must cost a few lines, not a hundred a second.
#pragma once

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

namespace grid::log {

// Logs the first occurrence at once, then at most one line per `interval`, which says how many
// occurrences were held back since the last line; Clear() ends the run with one line saying it
// is over (only when something was logged). One Throttle per kind of condition, e.g. per loop.
//
// Threading: every method may be called from any thread.
class Throttle final {
 public:
  using Now = std::function<std::chrono::steady_clock::time_point()>;

  explicit Throttle(
      std::chrono::milliseconds interval = std::chrono::seconds(30),
      Now now = [] { return std::chrono::steady_clock::now(); });

  // One occurrence: logged at `level` when due, else counted. True when it was logged.
  bool Log(spdlog::level::level_enum level, std::string_view message);
  bool Warn(std::string_view message) { return Log(spdlog::level::warn, message); }
  bool Error(std::string_view message) { return Log(spdlog::level::err, message); }

  // The condition is over: "<what>: fine again after N occurrences" at info, if any occurrence
  // was logged since the last Clear.
  void Clear(std::string_view what);

  // Occurrences since the last Clear.
  std::int64_t occurrences() const;

 private:
  const std::chrono::milliseconds interval_;
  const Now now_;
  mutable std::mutex mu_;
  bool logged_ = false;
  std::chrono::steady_clock::time_point last_;
  std::int64_t held_back_ = 0;
  std::int64_t occurrences_ = 0;
};

}  // namespace grid::log
