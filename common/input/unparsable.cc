#include "common/input/unparsable.h"

#include <google/protobuf/unknown_field_set.h>

#include <map>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/input/text.h"

namespace grid::input {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::UnknownField;
using google::protobuf::UnknownFieldSet;

// The fault within `bytes` read as a `type` message at `path` (empty for the request itself);
// nullopt when none is found.
std::optional<std::string> FindFault(std::string_view bytes, const Descriptor& type,
                                     const std::string& path) {
  UnknownFieldSet fields;
  if (!fields.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::StrCat(path.empty() ? "request" : path, ": is not a valid ", type.full_name());
  }
  std::map<int, int> occurrences;  // by field number: the index of a repeated field's item
  for (int i = 0; i < fields.field_count(); ++i) {
    const UnknownField& raw = fields.field(i);
    const int index = occurrences[raw.number()]++;
    const FieldDescriptor* field = type.FindFieldByNumber(raw.number());
    if (field == nullptr || raw.type() != UnknownField::TYPE_LENGTH_DELIMITED) {
      continue;
    }
    std::string name = path.empty() ? field->name() : absl::StrCat(path, ".", field->name());
    if (field->is_repeated()) {
      absl::StrAppend(&name, "[", index, "]");
    }
    if (field->type() == FieldDescriptor::TYPE_STRING && Utf8Length(raw.length_delimited()) < 0) {
      return absl::StrCat(name, ": is not valid UTF-8");
    }
    if (field->type() == FieldDescriptor::TYPE_MESSAGE) {
      if (std::optional<std::string> fault =
              FindFault(raw.length_delimited(), *field->message_type(), name)) {
        return fault;
      }
    }
  }
  return std::nullopt;
}

}  // namespace

std::string WhyUnparsable(std::string_view bytes, const Descriptor& type) {
  return FindFault(bytes, type, "")
      .value_or(absl::StrCat("request: is not a valid ", type.full_name()));
}

}  // namespace grid::input
