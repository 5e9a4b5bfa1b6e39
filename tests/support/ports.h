#pragma once

namespace grid::testing {

// A TCP port on 127.0.0.1 for a test's server: free now, below the kernel's ephemeral range (so
// no outgoing connection takes it), and never handed to another test process of this machine
// while this one lives (a lock file per port under $TMPDIR/grid-test-ports). Aborts the test
// binary if none can be had.
int FreePort();

}  // namespace grid::testing
