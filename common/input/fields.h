// The rules every field of a public request obeys, checked from the message's descriptor: one
// walk covers every request, and a field added to a request is bounded from the start. Each rule
// is written down in the proto comments of the fields it governs. What a value means (a known
// grid, a state a move may start from) is for the handlers; this is only the shape.
#pragma once

#include <string_view>

#include "absl/status/status.h"
#include "google/protobuf/message.h"

namespace grid::input {

inline constexpr int kMaxIdBytes = 128;
inline constexpr int kMaxDescriptionChars = 4000;
inline constexpr int kMaxAddressChars = 500;
inline constexpr int kMaxNoteChars = 4000;
inline constexpr int kMaxReasonChars = 1000;
inline constexpr int kMaxMedia = 9;
inline constexpr int kMaxMediaRefBytes = 2048;
inline constexpr int kMaxPageTokenBytes = 1024;
// Watch cursors name a stream position per subdistrict, so they grow with the topology.
inline constexpr int kMaxCursorBytes = 64 * 1024;
inline constexpr int kMaxRepeated = 100;

// OK, or INVALID_ARGUMENT naming the first field at fault by its path, `prefix` first (with
// prefix "report": "report.media[2]: ..."). By field:
// - description, address, note, reason: valid UTF-8 of at most kMaxDescriptionChars,
//   kMaxAddressChars, kMaxNoteChars, kMaxReasonChars characters;
// - media: at most kMaxMedia media references (CheckMediaRef);
// - page_token, cursor: printable ASCII, at most kMaxPageTokenBytes, kMaxCursorBytes;
// - every other string (ids, codes, subjects): an id, at most kMaxIdBytes of printable ASCII
//   without spaces or any of { } * ? [ ] \ " ' (Redis hash tags and pattern syntax, quotes);
// - page_size, expected_version: not negative;
// - other repeated fields: at most kMaxRepeated items;
// - google.protobuf.Timestamp and Duration: inside the ranges their definitions allow;
// - grid.v1.Location: lat finite and within -90..90, lng within -180..180.
// Enum numbers are not checked here: what an unknown one means depends on the field (a filter, a
// report's severity), so each handler decides.
absl::Status CheckFields(const google::protobuf::Message& message, std::string_view prefix = "");

// OK, or INVALID_ARGUMENT naming `field`: a media reference is 1 to kMaxMediaRefBytes of UTF-8
// without whitespace or control characters: a URL of scheme https, http, s3 or oss with a host
// (or bucket) after "://", or an object key without a scheme ("photos/2026/1.jpg": no ':' before
// its first '/', and not starting "//"). Anything else (javascript:, data:, file:...) could make
// a console that shows the media run or fetch what a reporter chose.
absl::Status CheckMediaRef(std::string_view field, std::string_view ref);

}  // namespace grid::input
