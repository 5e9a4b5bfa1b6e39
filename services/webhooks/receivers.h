// The webhook receivers of deploy/config/webhooks.json (grid.v1.WebhookConfig), validated against
// the topology, and which of them a change goes to. Immutable once loaded: a reload builds a new
// set and swaps it in (webhooks.h), so a set may be shared by const pointer across components.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/topology/topology.h"
#include "grid/v1/event.pb.h"
#include "grid/v1/webhooks.pb.h"
#include "services/webhooks/target.h"

namespace grid::webhooks {

struct Receiver {
  v1::WebhookReceiver config;
  Url url;
};

class Receivers final {
 public:
  // Validates `config`: every receiver has a unique name ([a-z0-9-], at most 40), a unit of the
  // topology, an http(s) URL, a secret, set kinds and non-empty prefixes. The error names the
  // field at fault, e.g. `receivers[1].unit_id: unknown unit "370212D99"`.
  static absl::StatusOr<std::shared_ptr<const Receivers>> Build(v1::WebhookConfig config,
                                                                const topology::Topology& topology);
  // Reads and validates `path` (protobuf's JSON parser: a misspelt key is an error).
  static absl::StatusOr<std::shared_ptr<const Receivers>> Load(const std::string& path,
                                                               const topology::Topology& topology);

  // The enabled receivers, by name.
  const std::map<std::string, Receiver, std::less<>>& all() const { return receivers_; }
  const Receiver* Find(std::string_view name) const;
  // The disabled receivers, by name: in the file, validated, sent nothing.
  const std::map<std::string, Receiver, std::less<>>& disabled() const { return disabled_; }
  // An enabled or disabled receiver; nullptr when the file has none of that name.
  const Receiver* FindConfigured(std::string_view name) const;

  // The names of the enabled receivers that want `change`: it lies in the subtree of the
  // receiver's unit (topology::RootsOfChange, the jurisdiction rule of every door), and its kind
  // and category pass the receiver's filters. In name order.
  std::vector<std::string> Matching(const v1::EventChange& change,
                                    const topology::Topology& topology) const;

 private:
  std::map<std::string, Receiver, std::less<>> receivers_;
  std::map<std::string, Receiver, std::less<>> disabled_;
  // Enabled receivers by unit id.
  std::multimap<std::string, const Receiver*, std::less<>> by_unit_;
};

using ReceiversPtr = std::shared_ptr<const Receivers>;

// Whether a receiver's kinds and category prefixes let `change` through (empty: all).
bool WantsChange(const v1::WebhookReceiver& receiver, const v1::EventChange& change);

// The wait before attempt `attempt` + 1 after `attempt` (>= 1) failed: base doubled per failure,
// at most `cap`, times a jitter factor in [0.5, 1] from `jitter` (uniform in [0, 1)), so that
// receivers coming back are not hit by every queue at once.
std::chrono::milliseconds RetryDelay(int attempt, std::chrono::milliseconds base,
                                     std::chrono::milliseconds cap, double jitter);

}  // namespace grid::webhooks
