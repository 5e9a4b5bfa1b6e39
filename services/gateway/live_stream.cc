#include "services/gateway/live_stream.h"

#include <optional>
#include <utility>

namespace grid::gateway::live_stream {

void ParseEntries(std::size_t subdistrict, const redis::Reply& entries, std::vector<Entry>& out) {
  for (const redis::Reply& entry : entries.elements) {
    if (entry.elements.size() != 2) {
      continue;
    }
    const std::optional<StreamId> id = StreamId::Parse(entry.elements[0].str);
    if (!id) {
      continue;
    }
    Entry parsed{subdistrict, *id, {}};
    const std::vector<redis::Reply>& fields = entry.elements[1].elements;
    for (std::size_t f = 0; f + 1 < fields.size(); f += 2) {
      if (fields[f].str == "c") {
        parsed.payload = fields[f + 1].str;
      }
    }
    out.push_back(std::move(parsed));
  }
}

}  // namespace grid::gateway::live_stream
