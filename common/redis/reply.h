#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// hiredis's reply type; only reply.cc and the client see its definition.
struct redisReply;

namespace grid::redis {

// A Redis reply as a plain value, deep-copied out of hiredis's redisReply so it can outlive
// the hiredis callback and cross threads.
//
// Both a nil reply and an error reply (`-ERR ...`) are results, not failures: whether a missing
// key or a script's `redis.error_reply` is a problem is the caller's decision. Transport
// failures (not connected, timeout, connection lost) arrive as a non-OK absl::Status instead.
struct Reply {
  enum class Type { kNil, kString, kStatus, kInteger, kArray, kError };

  Type type = Type::kNil;
  std::string str;              // kString (binary-safe), kStatus, kError.
  long long integer = 0;        // kInteger.
  std::vector<Reply> elements;  // kArray.

  // Builders, mainly for test doubles of Client.
  static Reply Nil();
  static Reply String(std::string s);
  static Reply Status(std::string s);
  static Reply Integer(long long i);
  static Reply Array(std::vector<Reply> elements);
  static Reply Error(std::string message);

  bool IsNil() const { return type == Type::kNil; }
  bool IsString() const { return type == Type::kString; }
  bool IsStatus() const { return type == Type::kStatus; }
  bool IsInteger() const { return type == Type::kInteger; }
  bool IsArray() const { return type == Type::kArray; }
  bool IsError() const { return type == Type::kError; }

  // OK if the reply has type `want`; otherwise a status that says what arrived instead. An
  // error reply becomes ErrorStatus(), anything else INTERNAL (the server answered, but not in
  // the shape this code was written against).
  absl::Status Expect(Type want) const;

  // The text of a kString or kStatus reply; Expect()'s failure otherwise.
  absl::StatusOr<std::string> AsString() const;
  // A kInteger reply, or a kString holding a decimal integer (HGET, GET of a counter);
  // Expect()'s failure otherwise, INTERNAL for a string that is not a number.
  absl::StatusOr<long long> AsInteger() const;

  // For kError: the error code, i.e. the first word ("ERR", "WRONGTYPE", "NOSCRIPT"); empty
  // for other types.
  std::string_view ErrorCode() const;
  // For kError: the reply as a status, the mapping StatusOf() applies. Codes meaning "try again"
  // (LOADING, BUSY, TRYAGAIN, MASTERDOWN, READONLY, CLUSTERDOWN) map to UNAVAILABLE, the rest
  // (OOM, WRONGTYPE, ERR, a script's own errors...) to INTERNAL. OK for other types.
  absl::Status ErrorStatus() const;

  // One line, for logs and test failure messages; long strings and arrays are abbreviated.
  std::string DebugString() const;

  bool operator==(const Reply&) const = default;
};

std::string_view TypeName(Reply::Type type);

// How every UNAVAILABLE made by StatusOf() begins, so that the gateway can tell "the store is
// down" (retry later) from "the service is unreachable" without parsing anything else.
inline constexpr char kStoreUnavailable[] = "the event store is unavailable";

// The one mapping from the outcome of a Redis command to the status a caller of the store sees;
// every store call that answers a caller goes through it (or through Checked()):
//   - Redis answered with anything but an error reply: OK (a nil is a result, not a failure);
//   - an error reply: ErrorStatus();
//   - no answer (not connected, connection lost, no reply by the deadline, the client busy):
//     UNAVAILABLE, worth a retry;
//   - a command the client could not send (our bug) or anything else: INTERNAL.
// Every UNAVAILABLE message starts with kStoreUnavailable and ends with "; retry later". No
// message names the server's address (the client's messages never do).
absl::Status StatusOf(const absl::StatusOr<Reply>& result);

// The reply when StatusOf(result) is OK, else that status: the usual first line of a reply
// callback.
absl::StatusOr<Reply> Checked(absl::StatusOr<Reply> result);

// Deep copy of a hiredis reply. An unknown reply type (not produced by hiredis 0.14) becomes a
// kError reply rather than a crash: it comes from the network.
Reply ReplyFromHiredis(const redisReply& reply);

}  // namespace grid::redis
