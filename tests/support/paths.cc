#include "tests/support/paths.h"

#include <cstdlib>

namespace grid::testing {
namespace {

std::string FromEnv(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

}  // namespace

std::string SourcePath(const std::string& relative) {
  if (!relative.empty() && relative.front() == '/') {
    return relative;  // Absolute already.
  }
  return FromEnv("GRID_SOURCE_DIR", GRID_TEST_SOURCE_DIR) + "/" + relative;
}

std::string BinPath(const std::string& name) {
  return FromEnv("GRID_BIN_DIR", GRID_TEST_BIN_DIR) + "/" + name;
}

}  // namespace grid::testing
