#include "services/webhooks/receivers.h"

#include <algorithm>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/config/json_file.h"
#include "common/topology/jurisdiction.h"

namespace grid::webhooks {

namespace {

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > 40) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

}  // namespace

absl::StatusOr<ReceiversPtr> Receivers::Build(v1::WebhookConfig config,
                                              const topology::Topology& topology) {
  auto receivers = std::make_shared<Receivers>();
  std::set<std::string> names;
  for (int i = 0; i < config.receivers_size(); ++i) {
    const v1::WebhookReceiver& r = config.receivers(i);
    const std::string at = absl::StrCat("receivers[", i, "].");
    if (!ValidName(r.name())) {
      return absl::InvalidArgumentError(absl::StrCat(
          at, "name: \"", r.name(), "\" must be 1 to 40 characters of a-z, 0-9 and -"));
    }
    if (!names.insert(r.name()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(at, "name: \"", r.name(), "\" is used by another receiver"));
    }
    if (r.unit_id().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(at, "unit_id: required"));
    }
    if (topology.Find(r.unit_id()) == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(at, "unit_id: unknown unit \"", r.unit_id(), "\""));
    }
    auto url = ParseUrl(r.url());
    if (!url.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(at, "url: \"", r.url(), "\" ", url.status().message()));
    }
    if (r.secret().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(at, "secret: required (the signing key)"));
    }
    for (int k = 0; k < r.kinds_size(); ++k) {
      if (r.kinds(k) == v1::CHANGE_KIND_UNSPECIFIED || !v1::ChangeKind_IsValid(r.kinds(k))) {
        return absl::InvalidArgumentError(absl::StrCat(at, "kinds[", k, "]: not a change kind"));
      }
    }
    for (int p = 0; p < r.category_prefixes_size(); ++p) {
      if (r.category_prefixes(p).empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat(at, "category_prefixes[", p, "]: empty (leave the list empty for all)"));
      }
    }
    (r.disabled() ? receivers->disabled_ : receivers->receivers_)
        .emplace(r.name(), Receiver{r, *std::move(url)});
  }
  for (const auto& [name, receiver] : receivers->receivers_) {
    receivers->by_unit_.emplace(receiver.config.unit_id(), &receiver);
  }
  return receivers;
}

absl::StatusOr<ReceiversPtr> Receivers::Load(const std::string& path,
                                             const topology::Topology& topology) {
  v1::WebhookConfig config;
  if (auto status = config::LoadJsonFile(path, config); !status.ok()) {
    return status;
  }
  auto built = Build(std::move(config), topology);
  if (!built.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", built.status().message()));
  }
  return built;
}

const Receiver* Receivers::Find(std::string_view name) const {
  auto it = receivers_.find(name);
  return it == receivers_.end() ? nullptr : &it->second;
}

const Receiver* Receivers::FindConfigured(std::string_view name) const {
  if (const Receiver* enabled = Find(name); enabled != nullptr) {
    return enabled;
  }
  auto it = disabled_.find(name);
  return it == disabled_.end() ? nullptr : &it->second;
}

bool WantsChange(const v1::WebhookReceiver& receiver, const v1::EventChange& change) {
  if (receiver.kinds_size() > 0 && std::find(receiver.kinds().begin(), receiver.kinds().end(),
                                             change.kind()) == receiver.kinds().end()) {
    return false;
  }
  if (receiver.category_prefixes_size() > 0 &&
      std::none_of(receiver.category_prefixes().begin(), receiver.category_prefixes().end(),
                   [&change](const std::string& prefix) {
                     return absl::StartsWith(change.category(), prefix);
                   })) {
    return false;
  }
  return true;
}

std::vector<std::string> Receivers::Matching(const v1::EventChange& change,
                                             const topology::Topology& topology) const {
  std::vector<std::string> names;
  if (by_unit_.empty()) {
    return names;
  }
  for (const std::string_view root : topology::RootsOfChange(topology, change)) {
    auto [first, last] = by_unit_.equal_range(root);
    for (auto it = first; it != last; ++it) {
      if (WantsChange(it->second->config, change)) {
        names.push_back(it->second->config.name());
      }
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::chrono::milliseconds RetryDelay(int attempt, std::chrono::milliseconds base,
                                     std::chrono::milliseconds cap, double jitter) {
  double delay = static_cast<double>(base.count());
  for (int i = 1; i < attempt && delay < static_cast<double>(cap.count()); ++i) {
    delay *= 2;
  }
  delay = std::min(delay, static_cast<double>(cap.count()));
  jitter = std::clamp(jitter, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<long long>(delay * (0.5 + 0.5 * jitter)));
}

}  // namespace grid::webhooks
