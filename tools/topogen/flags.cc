#include "tools/topogen/flags.h"

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
}

}  // namespace grid::topogen
