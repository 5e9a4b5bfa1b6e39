// Text from clients: its length in characters, and how an error message may quote it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace grid::input {

// The number of Unicode code points in `text`, or -1 when it is not valid UTF-8 (overlong forms,
// surrogates and values past U+10FFFF are not).
int Utf8Length(std::string_view text);

// At most this many bytes of client input appear in an error message.
inline constexpr std::size_t kMaxQuotedBytes = 64;

// `text` in double quotes, for an error message: at most kMaxQuotedBytes of it, cut on a
// character boundary and followed by "..." when longer; control characters, quotes, backslashes
// and bytes that are not UTF-8 escaped (\n, \", \\, \xFF). A message that quotes client input
// this way stays short (a long one would not fit gRPC's status trailer) and never carries raw
// control characters into logs.
std::string Quote(std::string_view text);

}  // namespace grid::input
