// Token buckets per subject: each subject may make `burst` calls at once and `per_second` calls a
// second on average. Subjects are spread over shards, each with its own lock held for a hash probe
// and some arithmetic, so that one subject's burst does not queue the others.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "common/clock/clock.h"

namespace grid::auth {

// Thread-safe.
class RateLimiter final {
 public:
  struct Options {
    // Calls a second per subject, on average; 0 turns limiting off.
    double per_second = 0;
    // Calls a subject may make at once (the bucket's size); at least 1.
    double burst = 1;
    // The most subjects remembered. A bucket that has filled up again is the same as no bucket, so
    // those go first when the table is full; if none has, the fullest goes. Memory stays bounded
    // whatever the number of subjects.
    std::size_t max_subjects = 100000;
  };

  struct Decision {
    bool allowed = true;
    // When refused: how long until the next call would be allowed.
    Millis retry_after_ms = 0;
  };

  // Borrows the clock.
  RateLimiter(Options options, const Clock& clock);

  // Takes one call from `subject`'s bucket.
  Decision Take(std::string_view subject);

  bool enabled() const { return options_.per_second > 0; }
  const Options& options() const { return options_; }
  // Subjects remembered now (for tests of the bound).
  std::size_t size() const;

 private:
  struct Bucket {
    double tokens = 0;
    Millis updated = 0;
  };
  struct Shard {
    mutable absl::Mutex mu;
    absl::flat_hash_map<std::string, Bucket> buckets ABSL_GUARDED_BY(mu);
  };
  static constexpr std::size_t kShards = 16;

  double Refilled(const Bucket& bucket, Millis now) const;
  void MakeRoom(Shard& shard, Millis now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);

  Options options_;
  const Clock& clock_;
  std::size_t per_shard_;
  std::array<Shard, kShards> shards_;
};

}  // namespace grid::auth
