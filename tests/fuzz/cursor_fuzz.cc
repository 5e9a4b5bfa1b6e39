// The watch cursor codec (services/gateway/watch_cursor.*). Chosen by the first byte:
//   0: cursor text against the shipped subdistricts: decoded, or refused with INVALID_ARGUMENT;
//      what decodes encodes back to a cursor that decodes to the same positions;
//   1: positions against the shipped subdistricts: decode(encode(positions)) == positions;
//   2: the same for the subdistricts of a topology whose ids are fuzzed too: whatever ids the
//      topology loader accepts, cursors over them round-trip.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/topology/topology.h"
#include "services/gateway/watch_cursor.h"
#include "tests/support/shipped_config.h"

namespace {

using grid::gateway::StreamPositions;

void RoundTrip(const std::vector<std::string>& subdistricts, const StreamPositions& positions) {
  const std::string text = grid::gateway::EncodeCursor(subdistricts, positions);
  const absl::StatusOr<StreamPositions> decoded = grid::gateway::DecodeCursor(text, subdistricts);
  if (!decoded.ok() || *decoded != positions) {
    std::abort();
  }
}

StreamPositions Positions(FuzzedDataProvider& input, std::size_t count) {
  StreamPositions positions(count);
  for (grid::gateway::StreamId& id : positions) {
    id.ms = input.ConsumeIntegral<std::uint64_t>();
    id.seq = input.ConsumeIntegral<std::uint64_t>();
  }
  return positions;
}

void Decode(const std::string& text) {
  const std::vector<std::string>& subdistricts = grid::testing::ShippedTopology().subdistrict_ids();
  const absl::StatusOr<StreamPositions> decoded = grid::gateway::DecodeCursor(text, subdistricts);
  if (!decoded.ok()) {
    if (decoded.status().code() != absl::StatusCode::kInvalidArgument) {
      std::abort();
    }
    return;
  }
  RoundTrip(subdistricts, *decoded);
  if (const auto id = grid::gateway::StreamId::Parse(text); id.has_value()) {
    if (grid::gateway::StreamId::Parse(id->ToString()) != id) {
      std::abort();
    }
  }
}

// A district with fuzzed subdistrict ids, as far as the topology loader lets them through.
void FuzzedSubdistricts(FuzzedDataProvider& input) {
  grid::v1::Topology data;
  data.set_district_id("370212");
  grid::v1::Unit* district = data.add_units();
  district->set_id("370212");
  district->set_level(grid::v1::LEVEL_DISTRICT);
  const int count = input.ConsumeIntegralInRange<int>(1, 6);
  for (int i = 0; i < count; ++i) {
    grid::v1::Unit* unit = data.add_units();
    unit->set_id(input.ConsumeRandomLengthString(16));
    unit->set_level(grid::v1::LEVEL_SUBDISTRICT);
    unit->set_parent_id("370212");
  }
  const auto topology = grid::topology::Topology::Build(std::move(data));
  if (!topology.ok()) {
    return;
  }
  const std::vector<std::string>& subdistricts = (*topology)->subdistrict_ids();
  RoundTrip(subdistricts, Positions(input, subdistricts.size()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  switch (input.ConsumeIntegralInRange<int>(0, 2)) {
    case 0:
      Decode(input.ConsumeRemainingBytesAsString());
      break;
    case 1: {
      const std::vector<std::string>& subdistricts =
          grid::testing::ShippedTopology().subdistrict_ids();
      RoundTrip(subdistricts, Positions(input, subdistricts.size()));
      break;
    }
    default:
      FuzzedSubdistricts(input);
      break;
  }
  return 0;
}
