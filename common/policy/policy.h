// The routing and time-limit policy, checked against the topology and indexed for matching.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "common/clock/clock.h"
#include "common/policy/calendar.h"
#include "common/topology/topology.h"
#include "grid/v1/policy.pb.h"

namespace grid::policy {

// Immutable once built; safe to share between threads.
//
// A deployment of several districts gives each district its policy: the default policy (no
// district_id) holds the policies of the districts that have their own (BuildAll, LoadAll), and
// For() picks the one of an event's district. One working calendar serves them all (the
// command centre's days and the time limits count the same hours everywhere).
class Policy final {
 public:
  // Checks `data` against `topology`; errors name the field at fault, e.g.
  // "rules[3].department_id: unknown department \"370212D99\"".
  static absl::StatusOr<std::shared_ptr<const Policy>> Build(v1::Policy data,
                                                             const topology::Topology& topology);
  // Loads a JSON file (protobuf JSON of grid.v1.Policy) and builds it.
  static absl::StatusOr<std::shared_ptr<const Policy>> Load(const std::string& path,
                                                            const topology::Topology& topology);

  // The default policy with the policies of single districts: `data` holds at most one without
  // district_id (the default, for every district without its own) and at most one per district;
  // without a default, every district has its own (and the first district's answers For() of a
  // unit outside every district).
  // Besides each policy's own checks: every district_id names a district of `topology`; the
  // departments a policy's rules name belong to every district it serves; every calendar equals
  // the default's. Errors name the policy (its district) and the field, e.g. "policy of district
  // 370213: rules[2].department_id: department \"370212D01\" belongs to district 370212".
  static absl::StatusOr<std::shared_ptr<const Policy>> BuildAll(std::vector<v1::Policy> data,
                                                                const topology::Topology& topology);
  // Loads `default_path` (empty: no default) and `district_paths` (each a JSON file of one
  // district's policy, or a directory of them: its *.json files) and builds them as BuildAll
  // does; errors name the file.
  static absl::StatusOr<std::shared_ptr<const Policy>> LoadAll(
      const std::string& default_path, const std::vector<std::string>& district_paths,
      const topology::Topology& topology);

  const v1::Policy& data() const { return data_; }

  // The policy of `district_id`: the district's own, or this one (the default). Called on the
  // default policy.
  const Policy& For(std::string_view district_id) const;
  // The policy of the district that `unit_id` (a grid, say) belongs to.
  const Policy& ForUnit(const topology::Topology& topology, std::string_view unit_id) const;

  // The listed category with this code, or nullptr.
  const v1::Category* FindCategory(std::string_view code) const;

  // The rule for a report: among the rules whose category prefix, severities and sources match,
  // the most specific (longest prefix, then an explicit severity, then an explicit source); ties
  // go to the rule listed first. nullptr when none matches.
  const v1::Rule* Match(std::string_view category, v1::Severity severity, v1::Source source) const;

  // The rule with this id, or nullptr.
  const v1::Rule* FindRule(std::string_view id) const;

  // How old a report's reported_at may be: offline_window, or kDefaultOfflineWindow when unset.
  Millis OfflineWindow() const;

  // The working calendar, or nullptr when the policy has none (then every limit is wall-clock).
  const WorkingCalendar* calendar() const { return calendar_ ? &*calendar_ : nullptr; }

 private:
  explicit Policy(v1::Policy data) : data_(std::move(data)) {}
  absl::Status Index(const topology::Topology& topology);

  v1::Policy data_;
  absl::flat_hash_map<std::string, int> categories_;
  absl::flat_hash_map<std::string, int> rules_;
  std::optional<WorkingCalendar> calendar_;
  // The policies of districts with their own (on the default policy only).
  absl::flat_hash_map<std::string, std::shared_ptr<const Policy>> districts_;
};

using PolicyPtr = std::shared_ptr<const Policy>;

// The offline window of a policy that sets none: an app may queue reports for a week.
inline constexpr Millis kDefaultOfflineWindow = 7LL * 24 * 3600 * 1000;

// The rule's limits at `level`, or nullptr when the rule sets none there.
const v1::LevelLimit* LimitAt(const v1::Rule& rule, v1::Level level);

// The unit responsible for an event of `grid_id` at `level` under `rule`: the grid's ancestor at
// that level, or at DISTRICT level the rule's department (the district itself when none is
// named). nullptr when the grid is unknown.
const v1::Unit* ResponsibleUnit(const topology::Topology& topology, const v1::Rule& rule,
                                std::string_view grid_id, v1::Level level);

}  // namespace grid::policy
