#include "tools/gridctl/enums.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace grid::gridctl {
namespace {

// The common prefix of an enum's value names: "SEVERITY_" for Severity.
std::string Prefix(const google::protobuf::EnumDescriptor& type) {
  const std::string& first = type.value(0)->name();
  const auto unspecified = first.rfind("UNSPECIFIED");
  return unspecified == std::string::npos ? std::string() : first.substr(0, unspecified);
}

}  // namespace

std::optional<int> ParseEnum(const google::protobuf::EnumDescriptor& type, std::string_view text) {
  const std::string upper = absl::AsciiStrToUpper(absl::string_view(text.data(), text.size()));
  const std::string prefix = Prefix(type);
  for (const std::string& candidate : {upper, absl::StrCat(prefix, upper)}) {
    const google::protobuf::EnumValueDescriptor* value = type.FindValueByName(candidate);
    if (value != nullptr && value->number() != 0) {
      return value->number();
    }
  }
  return std::nullopt;
}

std::string ShortName(const google::protobuf::EnumDescriptor& type, int value) {
  const google::protobuf::EnumValueDescriptor* found = type.FindValueByNumber(value);
  if (found == nullptr) {
    return absl::StrCat(value);
  }
  std::string name = found->name();
  const std::string prefix = Prefix(type);
  if (absl::StartsWith(name, prefix)) {
    name = name.substr(prefix.size());
  }
  return absl::AsciiStrToLower(name);
}

std::string ShortNames(const google::protobuf::EnumDescriptor& type) {
  std::string out;
  for (int i = 1; i < type.value_count(); ++i) {
    absl::StrAppend(&out, i > 1 ? ", " : "", ShortName(type, type.value(i)->number()));
  }
  return out;
}

}  // namespace grid::gridctl
