// The cap on concurrent watches per subject: one caller (a leaked token, a runaway script) cannot
// hold the gateway's watch capacity, which every watcher's queue and the fan-out cost.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"

namespace grid::gateway {

// Thread-safe. Holds one count per subject that has a watch open, so its memory is bounded by
// the open watches.
class WatchQuota final {
 public:
  // `per_subject`: watches one subject may hold at once; 0: no cap.
  explicit WatchQuota(std::size_t per_subject) : per_subject_(per_subject) {}

  // One watch's slot, given back when the lease is destroyed (the watch's end).
  class Lease final {
   public:
    Lease() = default;
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&& other) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();

   private:
    friend class WatchQuota;
    Lease(WatchQuota* quota, std::string subject) : quota_(quota), subject_(std::move(subject)) {}
    void Release();
    WatchQuota* quota_ = nullptr;
    std::string subject_;
  };

  // A slot for `subject`, or RESOURCE_EXHAUSTED naming the cap when it holds them all. The quota
  // must outlive the lease.
  absl::StatusOr<Lease> Acquire(const std::string& subject);

  std::size_t open(const std::string& subject) const;
  std::size_t per_subject() const { return per_subject_; }

 private:
  void Release(const std::string& subject);

  const std::size_t per_subject_;
  mutable std::mutex mu_;
  absl::flat_hash_map<std::string, std::size_t> open_;
};

}  // namespace grid::gateway
