// Enum values on the command line: the full name (SEVERITY_NORMAL) or the short form (normal).
#pragma once

#include <google/protobuf/descriptor.h>

#include <optional>
#include <string>
#include <string_view>

namespace grid::gridctl {

// The value of `type` named by `text`, case-insensitively, with or without the enum's prefix
// (for Severity: SEVERITY_HIGH, severity_high, HIGH, high). nullopt for an unknown name and for
// the *_UNSPECIFIED value.
std::optional<int> ParseEnum(const google::protobuf::EnumDescriptor& type, std::string_view text);

// The accepted short forms of `type`, for help and error messages: "low, normal, high, critical".
std::string ShortNames(const google::protobuf::EnumDescriptor& type);

// The short form of one value: "normal" for SEVERITY_NORMAL.
std::string ShortName(const google::protobuf::EnumDescriptor& type, int value);

}  // namespace grid::gridctl
