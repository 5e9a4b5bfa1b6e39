#include "tools/topogen/flags.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"

namespace grid::topogen {

void AddFlags(CLI::App& app, CommandLine& command_line) {
  Options& options = command_line.options;
  app.add_option("--grids", options.grids,
                 "Base grids; the other counts scale from it with Laoshan's ratios")
      ->capture_default_str();
  app.add_option_function<int>(
      "--communities", [&options](const int& value) { options.communities = value; },
      "Communities (default: grids * 139 / 654)");
  app.add_option_function<int>(
      "--workers", [&options](const int& value) { options.workers = value; },
      "Grid workers (default: grids * 735 / 654)");
  app.add_option_function<int>(
      "--subdistricts", [&options](const int& value) { options.subdistricts = value; },
      "Subdistricts (default: communities * 5 / 139); beyond the real five, names are invented");
  app.add_option("--seed", options.seed, "Seed of the invented names, weights and positions")
      ->capture_default_str();
  app.add_option("--district-id", options.district_id, "The district's 6-digit code")
      ->capture_default_str();
  app.add_option("--district-name", options.district_name, "The district's name")
      ->capture_default_str();
  app.add_option("--data-version", options.version,
                 "Topology.version (default: laoshan-2021 for Laoshan's counts, else a label "
                 "naming the counts)");
  app.add_option("-o,--out", command_line.out_path, "Output file (default: stdout)");
  app.add_option("--districts", command_line.districts,
                 "Districts: above 1, a city's or a province's region of that many districts, "
                 "each with Laoshan's ratios (--grids defaults to 654 a district)")
      ->capture_default_str();
  app.add_option("--cities", command_line.cities,
                 "With --districts: cities; above 1, a province over them")
      ->capture_default_str();
  app.add_option("--root-id", command_line.root_id,
                 "With --districts: the top unit's code (default 370200, or 370000 for a "
                 "province)");
  app.add_option("--root-name", command_line.root_name,
                 "With --districts: the top unit's name (default 青岛市, or 山东省)");
  app.add_option("--policy-model", command_line.policy_model,
                 "With --districts and --policy-dir: a policy written for one district (its "
                 "department ids are moved to each district's)");
  app.add_option("--policy-dir", command_line.policy_dir,
                 "With --districts: write each district's policy here (<district>.json), for "
                 "the services' --district-policy");
  app.callback([&app, &command_line] {
    command_line.grids_given = app.count("--grids") > 0;
    for (const char* flag :
         {"--communities", "--subdistricts", "--district-id", "--district-name"}) {
      if (app.count(flag) > 0) {
        command_line.district_only_given.emplace_back(flag);
      }
    }
  });
}

absl::StatusOr<grid::v1::Topology> GenerateFrom(const CommandLine& command_line) {
  if (command_line.districts <= 1) {
    return Generate(command_line.options);
  }
  if (!command_line.district_only_given.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(command_line.district_only_given.front(),
                     ": not with --districts (each district's counts follow Laoshan's ratios)"));
  }
  RegionOptions region;
  region.districts = command_line.districts;
  region.cities = command_line.cities;
  region.root_id = command_line.root_id;
  region.root_name = command_line.root_name;
  region.grids = command_line.grids_given ? command_line.options.grids
                                          : kLaoshanGrids * command_line.districts;
  region.workers = command_line.options.workers;
  region.seed = command_line.options.seed;
  region.version = command_line.options.version;
  return GenerateRegion(region);
}

absl::StatusOr<int> WriteDistrictPolicies(const CommandLine& command_line,
                                          const grid::v1::Topology& topology) {
  if (command_line.policy_dir.empty()) {
    return 0;
  }
  if (command_line.districts <= 1 || command_line.policy_model.empty()) {
    return absl::InvalidArgumentError("--policy-dir: needs --districts and --policy-model");
  }
  std::ifstream in(command_line.policy_model);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("--policy-model: cannot read ", command_line.policy_model));
  }
  grid::v1::Policy model;
  if (auto status = google::protobuf::util::JsonStringToMessage(text.str(), &model); !status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(command_line.policy_model, ": ", std::string(status.message())));
  }
  auto policies = DistrictPolicies(topology, model);
  if (!policies.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(command_line.policy_model, ": ", policies.status().message()));
  }
  std::error_code error;
  std::filesystem::create_directories(command_line.policy_dir, error);
  if (error) {
    return absl::InvalidArgumentError(
        absl::StrCat("--policy-dir: ", command_line.policy_dir, ": ", error.message()));
  }
  for (const grid::v1::Policy& policy : *policies) {
    const std::string path =
        (std::filesystem::path(command_line.policy_dir) / (policy.district_id() + ".json"))
            .string();
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << ToJson(policy);
    out.close();
    if (!out) {
      return absl::InvalidArgumentError(absl::StrCat("--policy-dir: cannot write ", path));
    }
  }
  return static_cast<int>(policies->size());
}

}  // namespace grid::topogen
