// The command line of grid-topogen, apart from main so that tests can parse real flag lists.
#pragma once

#include <string>

#include "CLI/CLI.hpp"
#include "tools/topogen/generator.h"

namespace grid::topogen {

// What one run of grid-topogen does.
struct CommandLine {
  // What to generate.
  Options options;
  // Where to write the JSON; empty or "-" means stdout.
  std::string out_path;
};

// Registers grid-topogen's flags on `app`; parsing writes into `command_line`, which must outlive
// the parse. Counts left unset stay unset in `command_line.options` and are derived later.
void AddFlags(CLI::App& app, CommandLine& command_line);

}  // namespace grid::topogen
