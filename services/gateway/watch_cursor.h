// The position of a watcher in the live streams, and its text form, the watch cursor.
//
// A position names, for every subdistrict, the id of the last live-stream entry that the watcher
// has been given or passed over (filtered out): resuming from it delivers exactly the entries
// after those ids. Most streams stand at the same place, the reader's watermark: the gateway
// knows that it has read every entry of every stream up to a millisecond W (WatchHub), so an idle
// stream stands at "W-<max seq>", not at its last entry. The cursor writes that common place once
// and lists only the streams that stand elsewhere (those with changes after W, a handful at any
// moment), so that it stays small with any number of subdistricts (a province's ~1,800 too) and
// does not depend on the watcher's scope or on the topology staying the same.
//
// Clients treat the cursor as opaque. Its text is "w2:<ms>-<seq>" (the base), then
// ",<subdistrict>=<ms>-<seq>" for each stream not at the base, in topology order. A stream the
// cursor does not name (a subdistrict added since) starts at the base; a name the topology no
// longer has is ignored. The first form, "w1:" with every subdistrict named, is still read.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace grid::gateway {

// A Redis stream entry id, "<ms>-<seq>". Ordered as Redis orders them.
struct StreamId {
  std::uint64_t ms = 0;
  std::uint64_t seq = 0;

  // "1718000000000-3"; nullopt for anything else (also the special ids "$", "-", "+").
  static std::optional<StreamId> Parse(std::string_view text);
  std::string ToString() const;

  // "All of millisecond `ms`": the last id a stream can give within it.
  static constexpr StreamId EndOf(std::uint64_t ms) { return StreamId{ms, ~std::uint64_t{0}}; }

  auto operator<=>(const StreamId&) const = default;
};

// One StreamId per subdistrict, indexed as Topology::subdistrict_ids().
using StreamPositions = std::vector<StreamId>;

// The cursor text of `positions` (the base: the earliest of them); `subdistricts` gives the
// names, in the same order.
std::string EncodeCursor(const std::vector<std::string>& subdistricts,
                         const StreamPositions& positions);

// Parses a cursor against the current subdistricts. INVALID_ARGUMENT naming `cursor` when the
// text is malformed or names a subdistrict twice. Subdistricts it does not name start at its
// base (w1: at the earliest position it names); names the topology does not have are ignored.
absl::StatusOr<StreamPositions> DecodeCursor(std::string_view text,
                                             const std::vector<std::string>& subdistricts);

// Component-wise maximum, for a watcher whose cursor is ahead of this gateway's reader.
StreamPositions Max(const StreamPositions& a, const StreamPositions& b);

}  // namespace grid::gateway
