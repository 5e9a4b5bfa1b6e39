// The entries of a live stream as the watch hub reads them (XREAD, XRANGE). The reply comes from
// the network, so parsing skips what does not have the shape rather than trusting it.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "common/redis/reply.h"
#include "services/gateway/watch_cursor.h"

namespace grid::gateway::live_stream {

// One entry of a subdistrict's live stream.
struct Entry {
  std::size_t subdistrict = 0;  // Index in Topology::subdistrict_ids().
  StreamId id;
  std::string payload;  // Field `c`: a serialized EventChange; empty when the entry has none.
};

// Appends the entries of an XRANGE-shaped reply ([[id, [field, value, ...]], ...]) of the
// subdistrict with index `subdistrict`. Entries without an id and a field list are skipped.
void ParseEntries(std::size_t subdistrict, const redis::Reply& entries, std::vector<Entry>& out);

}  // namespace grid::gateway::live_stream
