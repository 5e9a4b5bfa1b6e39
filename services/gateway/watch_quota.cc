#include "services/gateway/watch_quota.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace grid::gateway {

WatchQuota::Lease::Lease(Lease&& other) noexcept
    : quota_(std::exchange(other.quota_, nullptr)), subject_(std::move(other.subject_)) {}

WatchQuota::Lease& WatchQuota::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    Release();
    quota_ = std::exchange(other.quota_, nullptr);
    subject_ = std::move(other.subject_);
  }
  return *this;
}

WatchQuota::Lease::~Lease() { Release(); }

void WatchQuota::Lease::Release() {
  if (quota_ != nullptr) {
    std::exchange(quota_, nullptr)->Release(subject_);
  }
}

absl::StatusOr<WatchQuota::Lease> WatchQuota::Acquire(const std::string& subject) {
  std::lock_guard lock(mu_);
  std::size_t& open = open_[subject];
  if (per_subject_ != 0 && open >= per_subject_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("watch: subject \"", subject, "\" already has ", open,
                     " watches open, the most one subject may hold; end one and retry"));
  }
  ++open;
  return Lease(this, subject);
}

std::size_t WatchQuota::open(const std::string& subject) const {
  std::lock_guard lock(mu_);
  const auto found = open_.find(subject);
  return found == open_.end() ? 0 : found->second;
}

void WatchQuota::Release(const std::string& subject) {
  std::lock_guard lock(mu_);
  const auto found = open_.find(subject);
  if (found != open_.end() && --found->second == 0) {
    open_.erase(found);
  }
}

}  // namespace grid::gateway
