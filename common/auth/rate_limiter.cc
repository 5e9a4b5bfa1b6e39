#include "common/auth/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <functional>

namespace grid::auth {

RateLimiter::RateLimiter(Options options, const Clock& clock)
    : options_(options),
      clock_(clock),
      per_shard_(std::max<std::size_t>(1, (options.max_subjects + kShards - 1) / kShards)) {
  options_.burst = std::max(1.0, options_.burst);
}

double RateLimiter::Refilled(const Bucket& bucket, Millis now) const {
  const double elapsed = static_cast<double>(std::max<Millis>(0, now - bucket.updated)) / 1000.0;
  return std::min(options_.burst, bucket.tokens + elapsed * options_.per_second);
}

void RateLimiter::MakeRoom(Shard& shard, Millis now) {
  // Full buckets carry no information: forget them all.
  absl::erase_if(shard.buckets,
                 [&](const auto& entry) { return Refilled(entry.second, now) >= options_.burst; });
  if (shard.buckets.size() < per_shard_) {
    return;
  }
  // Still full of busy subjects: forget the one closest to a full bucket (the least favour).
  auto fullest = shard.buckets.begin();
  for (auto it = shard.buckets.begin(); it != shard.buckets.end(); ++it) {
    if (Refilled(it->second, now) > Refilled(fullest->second, now)) {
      fullest = it;
    }
  }
  shard.buckets.erase(fullest);
}

RateLimiter::Decision RateLimiter::Take(std::string_view subject) {
  if (!enabled()) {
    return {};
  }
  const Millis now = clock_.Now();
  Shard& shard = shards_[std::hash<std::string_view>{}(subject) % kShards];
  absl::MutexLock lock(&shard.mu);
  const absl::string_view key(subject.data(), subject.size());
  auto it = shard.buckets.find(key);
  if (it == shard.buckets.end()) {
    if (shard.buckets.size() >= per_shard_) {
      MakeRoom(shard, now);
    }
    it = shard.buckets.emplace(std::string(subject), Bucket{options_.burst, now}).first;
  }
  Bucket& bucket = it->second;
  bucket.tokens = Refilled(bucket, now);
  bucket.updated = now;
  if (bucket.tokens >= 1.0) {
    bucket.tokens -= 1.0;
    return {};
  }
  const double wait_s = (1.0 - bucket.tokens) / options_.per_second;
  return {false, std::max<Millis>(1, static_cast<Millis>(std::ceil(wait_s * 1000.0)))};
}

std::size_t RateLimiter::size() const {
  std::size_t total = 0;
  for (const Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    total += shard.buckets.size();
  }
  return total;
}

}  // namespace grid::auth
