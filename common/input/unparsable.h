// Why bytes that should hold a message do not parse as one, in terms of the message's fields.
#pragma once

#include <string>
#include <string_view>

#include "google/protobuf/descriptor.h"

namespace grid::input {

// For bytes that failed to parse as a `type` message: what is wrong, naming the field at fault
// by its path ("report.media[2]: is not valid UTF-8"). Protobuf refuses a whole message when one
// proto3 string field holds invalid UTF-8 and does not say which; the bytes are read again here
// as unknown fields and walked with the descriptor: a length-delimited field declared as a string
// that is not UTF-8 is the culprit, and a message field is searched the same way. Bytes that are
// not protobuf at all (truncated, garbage) give "request: is not a valid <type>" (or the path of
// the nested message that is not).
std::string WhyUnparsable(std::string_view bytes, const google::protobuf::Descriptor& type);

}  // namespace grid::input
