#include "common/log/throttle.h"

namespace grid::log {

Throttle::Throttle(std::chrono::milliseconds interval, Now now)
    : interval_(interval), now_(std::move(now)) {}

bool Throttle::Log(spdlog::level::level_enum level, std::string_view message) {
  std::int64_t held_back = 0;
  {
    std::lock_guard lock(mu_);
    ++occurrences_;
    const auto now = now_();
    if (logged_ && now - last_ < interval_) {
      ++held_back_;
      return false;
    }
    held_back = held_back_;
    held_back_ = 0;
    logged_ = true;
    last_ = now;
  }
  if (held_back == 0) {
    spdlog::log(level, "{}", message);
  } else {
    spdlog::log(level, "{} ({} more like it not logged)", message, held_back);
  }
  return true;
}

void Throttle::Clear(std::string_view what) {
  std::int64_t occurrences = 0;
  {
    std::lock_guard lock(mu_);
    if (!logged_) {
      occurrences_ = 0;
      return;
    }
    occurrences = occurrences_;
    logged_ = false;
    held_back_ = 0;
    occurrences_ = 0;
  }
  spdlog::info("{}: fine again after {} failure{}", what, occurrences, occurrences == 1 ? "" : "s");
}

std::int64_t Throttle::occurrences() const {
  std::lock_guard lock(mu_);
  return occurrences_;
}

}  // namespace grid::log
