// gridctl's command line: the CLI11 definition of every subcommand and the dispatch to the
// commands, apart from main() so that tests can run whole command lines.
#pragma once

#include <istream>
#include <ostream>

namespace grid::gridctl {

// Parses `argv` (argv[0] is the program name), runs the command against the gateway it names and
// returns the process exit code: 0 on success, 1 when a call failed, CLI11's code for a bad
// command line (its message goes to `err`, --help to `out`). `in` is what "upload -" reads.
int Run(int argc, const char* const* argv, std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace grid::gridctl
