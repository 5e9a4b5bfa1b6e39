// The command line of grid-topogen, apart from main so that tests can parse real flag lists.
#pragma once

#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "tools/topogen/generator.h"

namespace grid::topogen {

// What one run of grid-topogen does.
struct CommandLine {
  // What to generate.
  Options options;
  // Where to write the JSON; empty or "-" means stdout.
  std::string out_path;
  // --districts above 1: a region of several districts instead (RegionOptions; its grids,
  // workers, seed and version come from `options`, and --grids defaults to 654 a district).
  int districts = 1;
  int cities = 1;
  std::string root_id;
  std::string root_name;
  // With --districts: a policy written for one generated district (deploy/config/policy.json),
  // and the directory where each district's copy goes (<district>.json; DistrictPolicies).
  std::string policy_model;
  std::string policy_dir;
  // Which of the district-only flags were given (refused with --districts).
  bool grids_given = false;
  std::vector<std::string> district_only_given;
};

// The topology the command line asks for: Generate, or GenerateRegion with --districts.
absl::StatusOr<grid::v1::Topology> GenerateFrom(const CommandLine& command_line);

// With --policy-dir: writes one policy per district of `topology` there, from --policy-model.
// Returns how many it wrote; errors name the file or the department at fault.
absl::StatusOr<int> WriteDistrictPolicies(const CommandLine& command_line,
                                          const grid::v1::Topology& topology);

// Registers grid-topogen's flags on `app`; parsing writes into `command_line`, which must outlive
// the parse. Counts left unset stay unset in `command_line.options` and are derived later.
void AddFlags(CLI::App& app, CommandLine& command_line);

}  // namespace grid::topogen
