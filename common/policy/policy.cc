#include "common/policy/policy.h"

#include <google/protobuf/util/message_differencer.h>
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/config/json_file.h"

namespace grid::policy {
namespace {

using google::protobuf::util::TimeUtil;

bool IsDigits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool ValidDate(std::string_view s) {
  // YYYY-MM-DD, digits in the right places; calendars need no more.
  return s.size() == 10 && s[4] == '-' && s[7] == '-' && IsDigits(s.substr(0, 4)) &&
         IsDigits(s.substr(5, 2)) && IsDigits(s.substr(8, 2));
}

absl::Status CheckRule(const v1::Rule& rule, const std::string& field,
                       const absl::flat_hash_map<std::string, int>& categories,
                       const topology::Topology& topology) {
  if (rule.id().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".id: required"));
  }
  if (!rule.category_prefix().empty() && !categories.contains(rule.category_prefix())) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".category_prefix: unknown category \"", rule.category_prefix(), "\""));
  }
  if (rule.start_level() < v1::LEVEL_GRID || rule.start_level() > v1::LEVEL_DISTRICT) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".start_level: required"));
  }
  auto check_department = [&](const std::string& id, const std::string& at) -> absl::Status {
    const v1::Unit* unit = topology.Find(id);
    if (unit == nullptr || unit->kind() != v1::UNIT_KIND_DEPARTMENT) {
      return absl::InvalidArgumentError(absl::StrCat(at, ": unknown department \"", id, "\""));
    }
    return absl::OkStatus();
  };
  if (!rule.department_id().empty()) {
    if (auto s = check_department(rule.department_id(), field + ".department_id"); !s.ok()) {
      return s;
    }
  }
  for (int j = 0; j < rule.fallback_department_ids_size(); ++j) {
    if (auto s = check_department(rule.fallback_department_ids(j),
                                  absl::StrCat(field, ".fallback_department_ids[", j, "]"));
        !s.ok()) {
      return s;
    }
  }
  for (int j = 0; j < rule.limits_size(); ++j) {
    const v1::LevelLimit& limit = rule.limits(j);
    const std::string at = absl::StrCat(field, ".limits[", j, "]");
    if (limit.level() < v1::LEVEL_GRID || limit.level() > v1::LEVEL_DISTRICT) {
      return absl::InvalidArgumentError(absl::StrCat(at, ".level: required"));
    }
    if (TimeUtil::DurationToMilliseconds(limit.accept()) <= 0) {
      return absl::InvalidArgumentError(absl::StrCat(at, ".accept: must be positive"));
    }
    if (limit.resolve() < limit.accept()) {
      return absl::InvalidArgumentError(
          absl::StrCat(at, ".resolve: must not be shorter than accept"));
    }
  }
  for (int level = rule.start_level(); level <= v1::LEVEL_DISTRICT; ++level) {
    if (LimitAt(rule, static_cast<v1::Level>(level)) == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".limits: no limit for ", v1::Level_Name(static_cast<v1::Level>(level)),
          " (rule \"", rule.id(), "\" starts at ", v1::Level_Name(rule.start_level()), ")"));
    }
  }
  return absl::OkStatus();
}

int Specificity(const v1::Rule& rule) {
  return static_cast<int>(rule.category_prefix().size()) * 4 + (rule.severities_size() > 0) * 2 +
         (rule.sources_size() > 0);
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Policy>> Policy::Build(v1::Policy data,
                                                            const topology::Topology& topology) {
  std::shared_ptr<Policy> policy(new Policy(std::move(data)));
  if (auto status = policy->Index(topology); !status.ok()) {
    return status;
  }
  return std::shared_ptr<const Policy>(std::move(policy));
}

absl::StatusOr<std::shared_ptr<const Policy>> Policy::Load(const std::string& path,
                                                           const topology::Topology& topology) {
  v1::Policy data;
  if (auto status = config::LoadJsonFile(path, data); !status.ok()) {
    return status;
  }
  auto built = Build(std::move(data), topology);
  if (!built.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", built.status().message()));
  }
  return built;
}

absl::Status Policy::Index(const topology::Topology& topology) {
  for (int i = 0; i < data_.categories_size(); ++i) {
    const v1::Category& category = data_.categories(i);
    const std::string field = absl::StrCat("categories[", i, "].code");
    if ((category.code().size() != 2 && category.code().size() != 4) ||
        !IsDigits(category.code())) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": \"", category.code(), "\" is not a 2- or 4-digit code"));
    }
    if (!categories_.emplace(category.code(), i).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": duplicate category \"", category.code(), "\""));
    }
  }
  if (data_.rules_size() == 0) {
    return absl::InvalidArgumentError("rules: at least one rule is required");
  }
  for (int i = 0; i < data_.rules_size(); ++i) {
    const v1::Rule& rule = data_.rules(i);
    const std::string field = absl::StrCat("rules[", i, "]");
    if (auto status = CheckRule(rule, field, categories_, topology); !status.ok()) {
      return status;
    }
    if (!rules_.emplace(rule.id(), i).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".id: duplicate rule \"", rule.id(), "\""));
    }
  }
  const v1::Calendar& calendar = data_.calendar();
  for (int i = 0; i < calendar.working_weekdays_size(); ++i) {
    if (calendar.working_weekdays(i) < 1 || calendar.working_weekdays(i) > 7) {
      return absl::InvalidArgumentError(
          absl::StrCat("calendar.working_weekdays[", i, "]: must be 1 (Monday) to 7 (Sunday)"));
    }
  }
  for (int i = 0; i < calendar.hours_size(); ++i) {
    const v1::WorkingHours& hours = calendar.hours(i);
    if (hours.start_minute() < 0 || hours.end_minute() > 24 * 60 ||
        hours.start_minute() >= hours.end_minute()) {
      return absl::InvalidArgumentError(
          absl::StrCat("calendar.hours[", i, "]: need 0 <= start_minute < end_minute <= 1440"));
    }
  }
  for (int i = 0; i < calendar.holidays_size(); ++i) {
    if (!ValidDate(calendar.holidays(i))) {
      return absl::InvalidArgumentError(absl::StrCat("calendar.holidays[", i, "]: \"",
                                                     calendar.holidays(i), "\" is not YYYY-MM-DD"));
    }
  }
  for (int i = 0; i < calendar.extra_working_days_size(); ++i) {
    if (!ValidDate(calendar.extra_working_days(i))) {
      return absl::InvalidArgumentError(absl::StrCat("calendar.extra_working_days[", i, "]: \"",
                                                     calendar.extra_working_days(i),
                                                     "\" is not YYYY-MM-DD"));
    }
  }
  const v1::Calendar& calendar_data = data_.calendar();
  if (calendar_data.hours_size() > 0 || calendar_data.working_weekdays_size() > 0) {
    auto built = WorkingCalendar::Build(calendar_data);
    if (!built.ok()) {
      return built.status();
    }
    calendar_.emplace(*std::move(built));
  }
  for (int i = 0; i < data_.rules_size(); ++i) {
    if (data_.rules(i).time_basis() == v1::TIME_BASIS_WORKING_TIME && !calendar_) {
      return absl::InvalidArgumentError(absl::StrCat("calendar: required, rules[", i, "] (\"",
                                                     data_.rules(i).id(),
                                                     "\") counts working time"));
    }
  }
  if (data_.duplicates().radius_meters() < 0) {
    return absl::InvalidArgumentError("duplicates.radius_meters: must not be negative");
  }
  if (data_.has_offline_window() && TimeUtil::DurationToMilliseconds(data_.offline_window()) <= 0) {
    return absl::InvalidArgumentError("offline_window: must be positive");
  }
  return absl::OkStatus();
}

namespace {

// The departments the rules of `data` name must belong to `district`.
absl::Status CheckDepartmentsOf(const v1::Policy& data, const topology::Topology& topology,
                                const std::string& district) {
  for (int i = 0; i < data.rules_size(); ++i) {
    const v1::Rule& rule = data.rules(i);
    std::vector<std::pair<std::string, std::string>> named;
    if (!rule.department_id().empty()) {
      named.emplace_back(absl::StrCat("rules[", i, "].department_id"), rule.department_id());
    }
    for (int j = 0; j < rule.fallback_department_ids_size(); ++j) {
      named.emplace_back(absl::StrCat("rules[", i, "].fallback_department_ids[", j, "]"),
                         rule.fallback_department_ids(j));
    }
    for (const auto& [field, id] : named) {
      const v1::Unit* owner = topology.DistrictOf(id);
      if (owner == nullptr || owner->id() != district) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, ": department \"", id, "\" belongs to district ",
                         owner == nullptr ? std::string("(none)") : owner->id(), ", not to ",
                         district, ", which this policy serves"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Policy>> Policy::BuildAll(std::vector<v1::Policy> data,
                                                               const topology::Topology& topology) {
  std::shared_ptr<Policy> fallback;
  absl::flat_hash_map<std::string, std::shared_ptr<const Policy>> districts;
  for (v1::Policy& one : data) {
    const std::string district = one.district_id();
    const std::string label = district.empty() ? std::string("default policy")
                                               : absl::StrCat("policy of district ", district);
    if (!district.empty()) {
      const v1::Unit* unit = topology.Find(district);
      if (unit == nullptr || unit->level() != v1::LEVEL_DISTRICT ||
          unit->kind() == v1::UNIT_KIND_DEPARTMENT) {
        return absl::InvalidArgumentError(absl::StrCat(label, ": district_id: \"", district,
                                                       "\" is not a district of the topology"));
      }
      if (districts.contains(district)) {
        return absl::InvalidArgumentError(
            absl::StrCat(label, ": district_id: a second policy for district ", district));
      }
    } else if (fallback != nullptr) {
      return absl::InvalidArgumentError(
          "district_id: two policies without one; only the default policy leaves it empty");
    }
    std::shared_ptr<Policy> policy(new Policy(std::move(one)));
    if (auto status = policy->Index(topology); !status.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(label, ": ", status.message()));
    }
    if (district.empty()) {
      fallback = std::move(policy);
    } else {
      if (auto status = CheckDepartmentsOf(policy->data(), topology, district); !status.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(label, ": ", status.message()));
      }
      districts.emplace(district, std::move(policy));
    }
  }
  if (fallback == nullptr) {
    // No default: every district has its own, and the first district's stands for the others
    // where no district applies (a copy, so that it does not hold itself).
    for (const std::string& district : topology.district_ids()) {
      if (!districts.contains(district)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "district_id: district ", district,
            " has no policy and there is no default policy (one without district_id)"));
      }
    }
    if (districts.empty()) {
      return absl::InvalidArgumentError("no policy given");
    }
    fallback.reset(new Policy(districts.at(topology.district_ids().front())->data()));
    if (auto status = fallback->Index(topology); !status.ok()) {
      return status;
    }
  }
  for (const std::string& district : topology.district_ids()) {
    if (!districts.contains(district)) {
      if (auto status = CheckDepartmentsOf(fallback->data(), topology, district); !status.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("default policy: ", status.message(),
                                                       " (give district ", district,
                                                       " a policy of its own)"));
      }
    }
  }
  for (const auto& [district, policy] : districts) {
    if (!google::protobuf::util::MessageDifferencer::Equals(policy->data().calendar(),
                                                            fallback->data().calendar())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "policy of district ", district,
          ": calendar: differs from the default policy's (one deployment keeps one working "
          "calendar)"));
    }
  }
  fallback->districts_ = std::move(districts);
  return std::shared_ptr<const Policy>(std::move(fallback));
}

absl::StatusOr<std::shared_ptr<const Policy>> Policy::LoadAll(
    const std::string& default_path, const std::vector<std::string>& district_paths,
    const topology::Topology& topology) {
  // An empty default path: no default policy (every district has its own).
  std::vector<std::string> paths = {default_path};
  for (const std::string& path : district_paths) {
    std::error_code error;
    if (!std::filesystem::is_directory(path, error)) {
      paths.push_back(path);
      continue;
    }
    // A directory: each of its *.json files, in name order.
    std::vector<std::string> files;
    for (const auto& entry : std::filesystem::directory_iterator(path, error)) {
      if (entry.path().extension() == ".json") {
        files.push_back(entry.path().string());
      }
    }
    if (error) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": ", error.message()));
    }
    std::sort(files.begin(), files.end());
    paths.insert(paths.end(), files.begin(), files.end());
  }
  std::vector<v1::Policy> data(paths.size());
  for (size_t i = default_path.empty() ? 1 : 0; i < paths.size(); ++i) {
    if (auto status = config::LoadJsonFile(paths[i], data[i]); !status.ok()) {
      return status;
    }
    if (i == 0 && !data[i].district_id().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(paths[i],
                       ": district_id: set on the default policy (--policy); a district's policy "
                       "goes in --district-policy"));
    }
    if (i > 0 && data[i].district_id().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(paths[i], ": district_id: required in a district's policy"));
    }
  }
  if (default_path.empty()) {
    data.erase(data.begin());
  }
  auto built = BuildAll(data, topology);
  if (!built.ok()) {
    // Name the file of the policy at fault: each message starts with its label.
    std::string message(built.status().message());
    const size_t first = default_path.empty() ? 1 : 0;
    for (size_t i = 1; i < paths.size(); ++i) {
      if (absl::StartsWith(
              message, absl::StrCat("policy of district ", data[i - first].district_id(), ":"))) {
        return absl::InvalidArgumentError(absl::StrCat(paths[i], ": ", message));
      }
    }
    return absl::InvalidArgumentError(default_path.empty() ? message
                                                           : absl::StrCat(paths[0], ": ", message));
  }
  return built;
}

const Policy& Policy::For(std::string_view district_id) const {
  if (districts_.empty()) {
    return *this;
  }
  auto it = districts_.find(absl::string_view(district_id.data(), district_id.size()));
  return it == districts_.end() ? *this : *it->second;
}

const Policy& Policy::ForUnit(const topology::Topology& topology, std::string_view unit_id) const {
  if (districts_.empty()) {
    return *this;
  }
  const v1::Unit* district = topology.DistrictOf(unit_id);
  return district == nullptr ? *this : For(district->id());
}

Millis Policy::OfflineWindow() const {
  return data_.has_offline_window() ? TimeUtil::DurationToMilliseconds(data_.offline_window())
                                    : kDefaultOfflineWindow;
}

const v1::Category* Policy::FindCategory(std::string_view code) const {
  auto it = categories_.find(absl::string_view(code.data(), code.size()));
  return it == categories_.end() ? nullptr : &data_.categories(it->second);
}

const v1::Rule* Policy::FindRule(std::string_view id) const {
  auto it = rules_.find(absl::string_view(id.data(), id.size()));
  return it == rules_.end() ? nullptr : &data_.rules(it->second);
}

const v1::Rule* Policy::Match(std::string_view category, v1::Severity severity,
                              v1::Source source) const {
  const v1::Rule* best = nullptr;
  int best_score = -1;
  for (const v1::Rule& rule : data_.rules()) {
    if (category.substr(0, rule.category_prefix().size()) != rule.category_prefix()) {
      continue;
    }
    if (rule.severities_size() > 0 && std::find(rule.severities().begin(), rule.severities().end(),
                                                severity) == rule.severities().end()) {
      continue;
    }
    if (rule.sources_size() > 0 &&
        std::find(rule.sources().begin(), rule.sources().end(), source) == rule.sources().end()) {
      continue;
    }
    const int score = Specificity(rule);
    if (score > best_score) {
      best = &rule;
      best_score = score;
    }
  }
  return best;
}

const v1::LevelLimit* LimitAt(const v1::Rule& rule, v1::Level level) {
  for (const v1::LevelLimit& limit : rule.limits()) {
    if (limit.level() == level) {
      return &limit;
    }
  }
  return nullptr;
}

const v1::Unit* ResponsibleUnit(const topology::Topology& topology, const v1::Rule& rule,
                                std::string_view grid_id, v1::Level level) {
  const v1::Unit* area = topology.AncestorAt(grid_id, level);
  if (area == nullptr) {
    return nullptr;
  }
  if (level == v1::LEVEL_DISTRICT && !rule.department_id().empty()) {
    return topology.Find(rule.department_id());
  }
  return area;
}

}  // namespace grid::policy
