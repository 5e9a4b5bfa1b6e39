#include "common/redis/reply.h"

#include <hiredis/hiredis.h>

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace grid::redis {
namespace {

// Enough of a value to recognise it in a log line without flooding the log with a stream entry.
constexpr size_t kDebugStringMax = 64;
constexpr size_t kDebugElementsMax = 8;

std::string Abbreviate(absl::string_view s) {
  if (s.size() <= kDebugStringMax) {
    return std::string(s);
  }
  return absl::StrCat(s.substr(0, kDebugStringMax), "...(", s.size(), " bytes)");
}

}  // namespace

Reply Reply::Nil() { return Reply{}; }

Reply Reply::String(std::string s) {
  Reply r;
  r.type = Type::kString;
  r.str = std::move(s);
  return r;
}

Reply Reply::Status(std::string s) {
  Reply r;
  r.type = Type::kStatus;
  r.str = std::move(s);
  return r;
}

Reply Reply::Integer(long long i) {
  Reply r;
  r.type = Type::kInteger;
  r.integer = i;
  return r;
}

Reply Reply::Array(std::vector<Reply> elements) {
  Reply r;
  r.type = Type::kArray;
  r.elements = std::move(elements);
  return r;
}

Reply Reply::Error(std::string message) {
  Reply r;
  r.type = Type::kError;
  r.str = std::move(message);
  return r;
}

absl::Status Reply::Expect(Type want) const {
  if (type == want) {
    return absl::OkStatus();
  }
  if (type == Type::kError) {
    return ErrorStatus();
  }
  return absl::InternalError(absl::StrCat("unexpected redis reply: want ",
                                          std::string(TypeName(want)), ", got ", DebugString()));
}

absl::StatusOr<std::string> Reply::AsString() const {
  if (type == Type::kString || type == Type::kStatus) {
    return str;
  }
  return Expect(Type::kString);
}

absl::StatusOr<long long> Reply::AsInteger() const {
  if (type == Type::kInteger) {
    return integer;
  }
  if (type == Type::kString) {
    long long value = 0;
    if (absl::SimpleAtoi(str, &value)) {
      return value;
    }
    return absl::InternalError(
        absl::StrCat("unexpected redis reply: want an integer, got ", DebugString()));
  }
  return Expect(Type::kInteger);
}

std::string_view Reply::ErrorCode() const {
  if (type != Type::kError) {
    return {};
  }
  std::string_view s = str;
  return s.substr(0, s.find(' '));
}

absl::Status Reply::ErrorStatus() const {
  if (type != Type::kError) {
    return absl::OkStatus();
  }
  const absl::string_view code(ErrorCode().data(), ErrorCode().size());
  // Redis is loading its data, busy with a script, failing over or resharding: it will serve
  // again soon, so the caller should retry.
  for (absl::string_view transient :
       {"LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN", "READONLY", "CLUSTERDOWN"}) {
    if (code == transient) {
      return absl::UnavailableError(
          absl::StrCat(kStoreUnavailable, " (", Abbreviate(str), "); retry later"));
    }
  }
  return absl::InternalError(absl::StrCat("event store error: ", str));
}

absl::Status StatusOf(const absl::StatusOr<Reply>& result) {
  if (result.ok()) {
    return result->ErrorStatus();
  }
  const absl::Status& status = result.status();
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    // The client refusing more work in flight (or failing to allocate): not now, maybe soon.
    case absl::StatusCode::kResourceExhausted:
      return absl::UnavailableError(
          absl::StrCat(kStoreUnavailable, " (", status.message(), "); retry later"));
    default:
      return absl::InternalError(absl::StrCat("event store: ", status.message()));
  }
}

absl::StatusOr<Reply> Checked(absl::StatusOr<Reply> result) {
  if (absl::Status status = StatusOf(result); !status.ok()) {
    return status;
  }
  return result;
}

std::string Reply::DebugString() const {
  switch (type) {
    case Type::kNil:
      return "nil";
    case Type::kString:
      return absl::StrCat("\"", absl::CEscape(Abbreviate(str)), "\"");
    case Type::kStatus:
      return absl::StrCat("+", Abbreviate(str));
    case Type::kInteger:
      return absl::StrCat(":", integer);
    case Type::kError:
      return absl::StrCat("-", Abbreviate(str));
    case Type::kArray: {
      std::vector<std::string> parts;
      for (size_t i = 0; i < elements.size() && i < kDebugElementsMax; ++i) {
        parts.push_back(elements[i].DebugString());
      }
      if (elements.size() > kDebugElementsMax) {
        parts.push_back(absl::StrCat("...(", elements.size(), " elements)"));
      }
      return absl::StrCat("[", absl::StrJoin(parts, ", "), "]");
    }
  }
  return "?";
}

std::string_view TypeName(Reply::Type type) {
  switch (type) {
    case Reply::Type::kNil:
      return "nil";
    case Reply::Type::kString:
      return "string";
    case Reply::Type::kStatus:
      return "status";
    case Reply::Type::kInteger:
      return "integer";
    case Reply::Type::kArray:
      return "array";
    case Reply::Type::kError:
      return "error";
  }
  return "?";
}

Reply ReplyFromHiredis(const redisReply& reply) {
  switch (reply.type) {
    case REDIS_REPLY_NIL:
      return Reply::Nil();
    case REDIS_REPLY_STRING:
      return Reply::String(std::string(reply.str, reply.len));
    case REDIS_REPLY_STATUS:
      return Reply::Status(std::string(reply.str, reply.len));
    case REDIS_REPLY_ERROR:
      return Reply::Error(std::string(reply.str, reply.len));
    case REDIS_REPLY_INTEGER:
      return Reply::Integer(reply.integer);
    case REDIS_REPLY_ARRAY: {
      std::vector<Reply> elements;
      elements.reserve(reply.elements);
      for (size_t i = 0; i < reply.elements; ++i) {
        elements.push_back(ReplyFromHiredis(*reply.element[i]));
      }
      return Reply::Array(std::move(elements));
    }
    default:
      return Reply::Error(absl::StrCat("CLIENT unsupported hiredis reply type ", reply.type));
  }
}

}  // namespace grid::redis
