// The position of a watcher in the live streams, and its text form, the watch cursor.
//
// A cursor names, for every subdistrict, the id of the last live-stream entry that the watcher has
// been given or passed over (filtered out): resuming from it delivers exactly the entries after
// those ids. Clients treat it as opaque; its text is "w1:" followed by "<subdistrict>=<ms>-<seq>"
// per subdistrict, joined by ",", in topology order.
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

  auto operator<=>(const StreamId&) const = default;
};

// One StreamId per subdistrict, indexed as Topology::subdistrict_ids().
using StreamPositions = std::vector<StreamId>;

// The cursor text of `positions`; `subdistricts` gives the names, in the same order.
std::string EncodeCursor(const std::vector<std::string>& subdistricts,
                         const StreamPositions& positions);

// Parses a cursor against the current subdistricts. INVALID_ARGUMENT naming `cursor` when the
// text is malformed, names an unknown subdistrict, names one twice or leaves one out (a cursor of
// another district or topology).
absl::StatusOr<StreamPositions> DecodeCursor(std::string_view text,
                                             const std::vector<std::string>& subdistricts);

// Component-wise maximum, for a watcher whose cursor is ahead of this gateway's reader.
StreamPositions Max(const StreamPositions& a, const StreamPositions& b);

}  // namespace grid::gateway
