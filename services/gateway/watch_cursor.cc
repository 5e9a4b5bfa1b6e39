#include "services/gateway/watch_cursor.h"

#include <algorithm>
#include <charconv>

#include "absl/strings/str_cat.h"
#include "common/input/text.h"

namespace grid::gateway {
namespace {

constexpr std::string_view kPrefix = "w2:";
// The first form: every subdistrict named, no base.
constexpr std::string_view kFirstPrefix = "w1:";

bool ParseNumber(std::string_view text, std::uint64_t& out) {
  if (text.empty() || text.size() > 20) {
    return false;
  }
  const char* end = text.data() + text.size();
  auto [ptr, error] = std::from_chars(text.data(), end, out);
  return error == std::errc() && ptr == end;
}

absl::Status Malformed(const std::string& why) {
  return absl::InvalidArgumentError(
      absl::StrCat("cursor: ", why, " (pass a cursor exactly as a previous watch returned it)"));
}

// Splits on ',' (absl::StrSplit would give Debian's absl::string_view).
std::vector<std::string_view> SplitParts(std::string_view text) {
  std::vector<std::string_view> parts;
  while (true) {
    const std::size_t comma = text.find(',');
    parts.push_back(text.substr(0, comma));
    if (comma == std::string_view::npos) {
      return parts;
    }
    text.remove_prefix(comma + 1);
  }
}

}  // namespace

std::optional<StreamId> StreamId::Parse(std::string_view text) {
  const std::size_t dash = text.find('-');
  if (dash == std::string_view::npos) {
    return std::nullopt;
  }
  StreamId id;
  if (!ParseNumber(text.substr(0, dash), id.ms) || !ParseNumber(text.substr(dash + 1), id.seq)) {
    return std::nullopt;
  }
  return id;
}

std::string StreamId::ToString() const { return absl::StrCat(ms, "-", seq); }

std::string EncodeCursor(const std::vector<std::string>& subdistricts,
                         const StreamPositions& positions) {
  const std::size_t count = std::min(subdistricts.size(), positions.size());
  StreamId base = count == 0 ? StreamId{} : positions[0];
  for (std::size_t i = 1; i < count; ++i) {
    base = std::min(base, positions[i]);
  }
  std::string out(kPrefix);
  absl::StrAppend(&out, base.ms, "-", base.seq);
  for (std::size_t i = 0; i < count; ++i) {
    if (positions[i] != base) {
      absl::StrAppend(&out, ",", subdistricts[i], "=", positions[i].ms, "-", positions[i].seq);
    }
  }
  return out;
}

absl::StatusOr<StreamPositions> DecodeCursor(std::string_view text,
                                             const std::vector<std::string>& subdistricts) {
  const bool first_form = text.substr(0, kFirstPrefix.size()) == kFirstPrefix;
  if (!first_form && text.substr(0, kPrefix.size()) != kPrefix) {
    return Malformed("not a watch cursor");
  }
  text.remove_prefix(kPrefix.size());
  std::vector<std::string_view> parts = SplitParts(text);
  std::optional<StreamId> base;
  if (!first_form) {
    base = StreamId::Parse(parts.front());
    if (!base) {
      return Malformed(absl::StrCat("bad base position ", input::Quote(parts.front())));
    }
    parts.erase(parts.begin());
  }
  StreamPositions positions(subdistricts.size());
  std::vector<bool> seen(subdistricts.size(), false);
  std::vector<std::string_view> names;
  std::optional<StreamId> earliest;
  for (std::string_view part : parts) {
    const std::size_t equals = part.find('=');
    if (equals == std::string_view::npos) {
      return Malformed(absl::StrCat(input::Quote(part), " is not <subdistrict>=<position>"));
    }
    const std::string_view name = part.substr(0, equals);
    if (std::find(names.begin(), names.end(), name) != names.end()) {
      return Malformed(absl::StrCat("subdistrict ", input::Quote(name), " given twice"));
    }
    names.push_back(name);
    const std::optional<StreamId> id = StreamId::Parse(part.substr(equals + 1));
    if (!id) {
      return Malformed(absl::StrCat("bad position ", input::Quote(part.substr(equals + 1))));
    }
    earliest = earliest ? std::min(*earliest, *id) : *id;
    const auto it = std::find(subdistricts.begin(), subdistricts.end(), name);
    if (it == subdistricts.end()) {
      continue;  // A subdistrict the topology no longer has.
    }
    const auto index = static_cast<std::size_t>(it - subdistricts.begin());
    seen[index] = true;
    positions[index] = *id;
  }
  if (!base) {
    if (!earliest) {
      return Malformed("no positions");
    }
    base = earliest;
  }
  for (std::size_t i = 0; i < subdistricts.size(); ++i) {
    if (!seen[i]) {
      positions[i] = *base;
    }
  }
  return positions;
}

StreamPositions Max(const StreamPositions& a, const StreamPositions& b) {
  StreamPositions out = a;
  for (std::size_t i = 0; i < out.size() && i < b.size(); ++i) {
    out[i] = std::max(out[i], b[i]);
  }
  return out;
}

}  // namespace grid::gateway
