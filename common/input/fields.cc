#include "common/input/fields.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/time_util.h>

#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/input/text.h"

namespace grid::input {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using google::protobuf::util::TimeUtil;

// The bytes an id may not hold besides spaces and control characters: Redis pattern syntax,
// hash-tag braces, and quotes (an id is quoted in messages and logs).
constexpr std::string_view kNotInIds = "{}*?[]\\\"'";

enum class Kind { kId, kText, kMediaRef, kToken };

struct Rule {
  Kind kind;
  int max;  // characters for text, bytes otherwise
  int max_count = kMaxRepeated;
};

// One table for every request: the rule of a string field by its name.
Rule RuleOf(const FieldDescriptor& field) {
  const std::string& name = field.name();
  if (name == "description") {
    return {Kind::kText, kMaxDescriptionChars};
  }
  if (name == "address") {
    return {Kind::kText, kMaxAddressChars};
  }
  if (name == "note") {
    return {Kind::kText, kMaxNoteChars};
  }
  if (name == "reason") {
    return {Kind::kText, kMaxReasonChars};
  }
  if (name == "media") {
    return {Kind::kMediaRef, kMaxMediaRefBytes, kMaxMedia};
  }
  if (name == "page_token") {
    return {Kind::kToken, kMaxPageTokenBytes};
  }
  if (name == "cursor") {
    return {Kind::kToken, kMaxCursorBytes};
  }
  return {Kind::kId, kMaxIdBytes};
}

// absl::string_view is not std::string_view in the Abseil we build with.
absl::string_view Absl(std::string_view text) { return {text.data(), text.size()}; }

absl::Status Invalid(std::string_view path, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(Absl(path), ": ", Absl(what)));
}

std::string Join(std::string_view prefix, std::string_view name) {
  return prefix.empty() ? std::string(name) : absl::StrCat(Absl(prefix), ".", Absl(name));
}

bool Printable(char c) { return c > 0x20 && c < 0x7F; }

absl::Status CheckBytes(std::string_view path, std::string_view value, int max) {
  if (value.size() > static_cast<std::size_t>(max)) {
    return Invalid(path,
                   absl::StrCat("is ", value.size(), " bytes, at most ", max, " are allowed"));
  }
  return absl::OkStatus();
}

absl::Status CheckString(std::string_view path, const Rule& rule, std::string_view value) {
  switch (rule.kind) {
    case Kind::kText: {
      const int length = Utf8Length(value);
      if (length < 0) {
        return Invalid(path, "is not valid UTF-8");
      }
      if (length > rule.max) {
        return Invalid(
            path, absl::StrCat("is ", length, " characters, at most ", rule.max, " are allowed"));
      }
      return absl::OkStatus();
    }
    case Kind::kMediaRef:
      return CheckMediaRef(path, value);
    case Kind::kToken:
      if (absl::Status size = CheckBytes(path, value, rule.max); !size.ok()) {
        return size;
      }
      for (const char c : value) {
        if (!Printable(c)) {
          return Invalid(path, "is not a token this service issued; pass it back unchanged");
        }
      }
      return absl::OkStatus();
    case Kind::kId:
      if (absl::Status size = CheckBytes(path, value, rule.max); !size.ok()) {
        return size;
      }
      for (const char c : value) {
        if (!Printable(c) || kNotInIds.find(c) != std::string_view::npos) {
          return Invalid(path, absl::StrCat("may not contain ", Quote(std::string_view(&c, 1)),
                                            " (ids are printable ASCII without spaces or any of "
                                            "{ } * ? [ ] \\ \" ')"));
        }
      }
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

absl::Status CheckTimestamp(std::string_view path, const Message& message) {
  const google::protobuf::Timestamp* ts =
      google::protobuf::DynamicCastToGenerated<google::protobuf::Timestamp>(&message);
  if (ts == nullptr) {
    return absl::OkStatus();
  }
  if (ts->seconds() < TimeUtil::kTimestampMinSeconds ||
      ts->seconds() > TimeUtil::kTimestampMaxSeconds || ts->nanos() < 0 ||
      ts->nanos() > 999'999'999) {
    return Invalid(path,
                   "is not a valid timestamp (0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z, "
                   "nanos 0 to 999999999)");
  }
  return absl::OkStatus();
}

absl::Status CheckDuration(std::string_view path, const Message& message) {
  const google::protobuf::Duration* d =
      google::protobuf::DynamicCastToGenerated<google::protobuf::Duration>(&message);
  if (d == nullptr) {
    return absl::OkStatus();
  }
  const bool same_sign =
      (d->seconds() >= 0 && d->nanos() >= 0) || (d->seconds() <= 0 && d->nanos() <= 0);
  if (d->seconds() < TimeUtil::kDurationMinSeconds ||
      d->seconds() > TimeUtil::kDurationMaxSeconds || d->nanos() < -999'999'999 ||
      d->nanos() > 999'999'999 || !same_sign) {
    return Invalid(path,
                   "is not a valid duration (at most 10,000 years either way, nanos of the "
                   "seconds' sign)");
  }
  return absl::OkStatus();
}

absl::Status CheckLocation(std::string_view path, const Message& message) {
  const google::protobuf::Descriptor& type = *message.GetDescriptor();
  const Reflection& reflection = *message.GetReflection();
  const FieldDescriptor* lat = type.FindFieldByName("lat");
  const FieldDescriptor* lng = type.FindFieldByName("lng");
  if (lat == nullptr || lng == nullptr) {
    return absl::OkStatus();
  }
  for (const auto& [field, bound] : {std::pair{lat, 90.0}, std::pair{lng, 180.0}}) {
    const double value = reflection.GetDouble(message, field);
    if (!std::isfinite(value) || value < -bound || value > bound) {
      return Invalid(Join(path, field->name()),
                     absl::StrCat(value, " is outside -", bound, "..", bound));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckMessage(const Message& message, std::string_view path);

absl::Status CheckField(const Message& message, const FieldDescriptor& field,
                        std::string_view path) {
  const Reflection& reflection = *message.GetReflection();
  const std::string name = Join(path, field.name());
  if (field.is_repeated()) {
    const int count = reflection.FieldSize(message, &field);
    const Rule rule = RuleOf(field);
    if (count > rule.max_count) {
      return Invalid(name, absl::StrCat(count, " items, at most ", rule.max_count, " are allowed"));
    }
    for (int i = 0; i < count; ++i) {
      const std::string item = absl::StrCat(name, "[", i, "]");
      if (field.cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
        std::string scratch;
        const std::string& value =
            reflection.GetRepeatedStringReference(message, &field, i, &scratch);
        if (absl::Status s = CheckString(item, rule, value); !s.ok()) {
          return s;
        }
      } else if (field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        if (absl::Status s = CheckMessage(reflection.GetRepeatedMessage(message, &field, i), item);
            !s.ok()) {
          return s;
        }
      }
    }
    return absl::OkStatus();
  }
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string scratch;
      return CheckString(name, RuleOf(field),
                         reflection.GetStringReference(message, &field, &scratch));
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return CheckMessage(reflection.GetMessage(message, &field), name);
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64:
      if (field.name() == "page_size" || field.name() == "expected_version") {
        const std::int64_t value = field.cpp_type() == FieldDescriptor::CPPTYPE_INT32
                                       ? reflection.GetInt32(message, &field)
                                       : reflection.GetInt64(message, &field);
        if (value < 0) {
          return Invalid(name, absl::StrCat("must not be negative, got ", value));
        }
      }
      return absl::OkStatus();
    default:
      return absl::OkStatus();
  }
}

absl::Status CheckMessage(const Message& message, std::string_view path) {
  const std::string& type = message.GetDescriptor()->full_name();
  if (type == "google.protobuf.Timestamp") {
    return CheckTimestamp(path, message);
  }
  if (type == "google.protobuf.Duration") {
    return CheckDuration(path, message);
  }
  if (type == "grid.v1.Location") {
    return CheckLocation(path, message);
  }
  std::vector<const FieldDescriptor*> fields;
  message.GetReflection()->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    if (absl::Status s = CheckField(message, *field, path); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckFields(const Message& message, std::string_view prefix) {
  return CheckMessage(message, prefix);
}

absl::Status CheckMediaRef(std::string_view field, std::string_view ref) {
  static constexpr char kAllowed[] =
      "must be an https, http, s3 or oss URL or an object key without a scheme";
  if (ref.empty()) {
    return Invalid(field, absl::StrCat("is empty; ", kAllowed));
  }
  if (absl::Status size = CheckBytes(field, ref, kMaxMediaRefBytes); !size.ok()) {
    return size;
  }
  if (Utf8Length(ref) < 0) {
    return Invalid(field, "is not valid UTF-8");
  }
  for (const char c : ref) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7F) {
      return Invalid(field, "may not contain spaces or control characters");
    }
  }
  const std::size_t end = ref.find_first_of(":/?#");
  if (end == std::string_view::npos || ref[end] != ':') {
    // An object key. "//host/x" would be a URL of whatever scheme the page showing it has.
    if (ref.substr(0, 2) == "//") {
      return Invalid(field, absl::StrCat("starts with \"//\"; ", kAllowed));
    }
    return absl::OkStatus();
  }
  const std::string scheme = absl::AsciiStrToLower(Absl(ref.substr(0, end)));
  if (scheme != "https" && scheme != "http" && scheme != "s3" && scheme != "oss") {
    return Invalid(field, absl::StrCat("scheme ", Quote(scheme), " is not allowed; ", kAllowed));
  }
  const std::string_view rest = ref.substr(end + 1);
  if (rest.size() < 3 || rest.substr(0, 2) != "//" || rest[2] == '/') {
    return Invalid(
        field, absl::StrCat("a ", scheme, " URL needs a host or bucket after \"", scheme, "://\""));
  }
  return absl::OkStatus();
}

}  // namespace grid::input
