#pragma once

#include <filesystem>
#include <string>

#include "absl/status/statusor.h"

namespace grid::redis {

// A Lua script, called by SHA1 (EVALSHA) so the body crosses the wire only when the server does
// not know it yet (Client::Eval falls back to EVAL on NOSCRIPT). Scripts live in their own .lua
// files, loaded once at start-up; the struct is cheap to share by const reference.
struct Script {
  std::string source;
  std::string sha1;  // Lowercase hex of SHA1(source), the name Redis gives the script.

  static Script FromSource(std::string source);
  // NOT_FOUND if the file cannot be opened, UNAVAILABLE if reading it fails.
  static absl::StatusOr<Script> FromFile(const std::filesystem::path& path);

  bool operator==(const Script&) const = default;
};

}  // namespace grid::redis
