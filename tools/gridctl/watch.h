// gridctl watch: the live stream of changes, as a terminal view or as JSON lines.
#pragma once

#include <chrono>
#include <ostream>

#include "grid/v1/gateway.grpc.pb.h"
#include "tools/gridctl/commands.h"

namespace grid::gridctl {

struct WatchOptions {
  // Filters and the cursor to start after (empty: live from now).
  v1::WatchEventsRequest request;
  // Each change as protobuf JSON (proto field names) on one line.
  bool json = false;
  // Colour the traffic light with ANSI codes (when stdout is a terminal).
  bool color = false;
  // Stop after this many changes (0: never).
  int max_changes = 0;
  // Stop after this long (zero: never).
  std::chrono::milliseconds duration{0};
  // Wait before reconnecting after a dropped connection or a cut-off, doubled on each failure in
  // a row up to max_backoff.
  std::chrono::milliseconds backoff{500};
  std::chrono::milliseconds max_backoff{5000};
};

// Prints one line per change: time, level, unit, category, state, traffic light, kind, event id
// (or the change as JSON). Remembers the last cursor and, when the stream ends UNAVAILABLE (the
// gateway went away) or RESOURCE_EXHAUSTED (cut off for falling behind, with a cursor in the
// trailing metadata), reconnects from it after a back-off. Returns 0 when --max or --for ends it,
// 1 on any other error (printed to `err`).
int Watch(v1::GatewayService::StubInterface& gateway, const WatchOptions& options,
          const CallOptions& call, std::ostream& out, std::ostream& err);

// The terminal line of one change.
std::string FormatChange(const v1::EventChange& change, bool color);

}  // namespace grid::gridctl
