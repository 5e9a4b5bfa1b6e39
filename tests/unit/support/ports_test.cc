// FreePort: ports for the servers of tests that run side by side in many processes.
#include "tests/support/ports.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

namespace grid::testing {
namespace {

TEST(FreePortTest, IsBelowTheEphemeralRangeAndNeverTheSameTwice) {
  std::set<int> ports;
  for (int i = 0; i < 200; ++i) {
    const int port = FreePort();
    EXPECT_GE(port, 20000);
    EXPECT_LE(port, 32767);
    EXPECT_TRUE(ports.insert(port).second) << port << " given twice";
  }
}

// Run as another process (this binary again, with GRID_FREE_PORT_CHILD set): prints 100 ports
// and exits before any test runs.
const bool kIsChild = [] {
  if (std::getenv("GRID_FREE_PORT_CHILD") == nullptr) {
    return false;
  }
  for (int i = 0; i < 100; ++i) {
    std::printf("%d\n", FreePort());
  }
  std::fflush(stdout);
  ::_exit(0);
}();

TEST(FreePortTest, TwoProcessesNeverGetTheSamePort) {
  // Another process takes ports while this one holds its own: none may be one of ours.
  std::set<int> ours;
  for (int i = 0; i < 100; ++i) {
    ours.insert(FreePort());
  }
  ::setenv("GRID_FREE_PORT_CHILD", "1", 1);
  // This binary's own path (in the shell popen runs, /proc/self/exe would be the shell).
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  FILE* child = ::popen(("'" + self + "'").c_str(), "r");
  ::unsetenv("GRID_FREE_PORT_CHILD");
  ASSERT_NE(child, nullptr);
  std::vector<int> theirs;
  int port = 0;
  while (std::fscanf(child, "%d", &port) == 1) {
    theirs.push_back(port);
  }
  ASSERT_EQ(::pclose(child), 0);
  ASSERT_EQ(theirs.size(), 100u);
  for (const int their_port : theirs) {
    EXPECT_EQ(ours.count(their_port), 0u) << their_port << " given to both processes";
  }
}

}  // namespace
}  // namespace grid::testing
