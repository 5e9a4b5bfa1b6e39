#include "common/input/text.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_format.h"

namespace grid::input {
namespace {

// The length of the valid UTF-8 sequence at the start of `text`, or 0 when it is not one.
std::size_t SequenceLength(std::string_view text) {
  const auto c = static_cast<unsigned char>(text[0]);
  std::size_t extra = 0;
  std::uint32_t code = 0;
  if (c < 0x80) {
    return 1;
  } else if ((c & 0xE0) == 0xC0) {
    extra = 1;
    code = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    extra = 2;
    code = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    extra = 3;
    code = c & 0x07;
  } else {
    return 0;
  }
  if (extra >= text.size()) {
    return 0;  // truncated sequence
  }
  for (std::size_t k = 1; k <= extra; ++k) {
    const auto next = static_cast<unsigned char>(text[k]);
    if ((next & 0xC0) != 0x80) {
      return 0;
    }
    code = (code << 6) | (next & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
  static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
  if (code < kMin[extra] || (code >= 0xD800 && code <= 0xDFFF) || code > 0x10FFFF) {
    return 0;
  }
  return extra + 1;
}

}  // namespace

int Utf8Length(std::string_view text) {
  int count = 0;
  while (!text.empty()) {
    const std::size_t length = SequenceLength(text);
    if (length == 0) {
      return -1;
    }
    text.remove_prefix(length);
    ++count;
  }
  return count;
}

std::string Quote(std::string_view text) {
  std::string out = "\"";
  std::size_t taken = 0;
  while (!text.empty()) {
    std::size_t length = SequenceLength(text);
    if (taken + std::max<std::size_t>(length, 1) > kMaxQuotedBytes) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(text[0]);
    if (length == 0) {
      out += absl::StrFormat("\\x%02X", c);
      length = 1;
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7F) {
      out += absl::StrFormat("\\x%02X", c);
    } else {
      out.append(text.data(), length);
    }
    taken += length;
    text.remove_prefix(length);
  }
  out += '"';
  return out;
}

}  // namespace grid::input
