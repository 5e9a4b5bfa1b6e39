#pragma once

namespace grid::testing {

// A TCP port on 127.0.0.1 that was free a moment ago: the kernel picks it (bind to port 0), we
// read it back and close the socket. Another process could take it before the caller binds it,
// which is rare enough for tests. Aborts the test binary if no socket can be had at all.
int FreePort();

}  // namespace grid::testing
