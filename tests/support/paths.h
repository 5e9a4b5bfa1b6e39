// Where the tests find the source tree and the built binaries: the environment variables
// GRID_SOURCE_DIR and GRID_BIN_DIR when set, else the paths of the build that compiled them.
#pragma once

#include <string>

namespace grid::testing {

// An absolute path to `relative` in the source tree, e.g. "deploy/config/policy.json".
std::string SourcePath(const std::string& relative);
// An absolute path to a built binary, e.g. "grid-intake".
std::string BinPath(const std::string& name);

}  // namespace grid::testing
