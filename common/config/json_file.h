// Loading configuration (topology, policy) from JSON with protobuf's own JSON parser.
#pragma once

#include <google/protobuf/message.h>

#include <filesystem>
#include <string_view>

#include "absl/status/status.h"

namespace grid::config {

// Parses `json` into `message`. Unknown fields are errors, so a misspelt key fails loudly. The
// error names `what` (e.g. the file) and the parser's field path.
absl::Status ParseJson(std::string_view json, std::string_view what,
                       google::protobuf::Message& message);

// Reads `path` and parses it as above; a missing or unreadable file is NOT_FOUND.
absl::Status LoadJsonFile(const std::filesystem::path& path, google::protobuf::Message& message);

// Prints `message` as protobuf JSON with proto field names, pretty or on one line.
std::string ToJson(const google::protobuf::Message& message, bool pretty);

}  // namespace grid::config
