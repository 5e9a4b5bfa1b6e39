#include "tools/loadgen/redis_probe.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/store/keys.h"

namespace grid::loadgen {
namespace {

// The value of `field` in a flat list of field, value pairs (XINFO's answers); null when absent.
const redis::Reply* Field(const redis::Reply& pairs, const std::string& field) {
  for (std::size_t i = 0; i + 1 < pairs.elements.size(); i += 2) {
    if (pairs.elements[i].str == field) {
      return &pairs.elements[i + 1];
    }
  }
  return nullptr;
}

}  // namespace

absl::StatusOr<redis::Reply> RedisCommand(redis::Client& redis, std::vector<std::string> argv) {
  return redis::CommandSync(redis, std::move(argv), std::chrono::seconds(5));
}

absl::StatusOr<redis::Reply> RedisCommand(testing::Stack& stack, std::vector<std::string> argv) {
  return RedisCommand(stack.redis_client(), std::move(argv));
}

absl::StatusOr<long long> InfoField(redis::Client& redis, const std::string& section,
                                    const std::string& field) {
  auto reply = redis::CommandSync(redis, {"INFO", section}, std::chrono::seconds(2));
  if (!reply.ok()) {
    return reply.status();
  }
  const std::string key = "\n" + field + ":";
  const auto at = ("\n" + reply->str).find(key);
  if (at == std::string::npos) {
    return absl::NotFoundError(absl::StrCat("INFO ", section, " has no ", field));
  }
  return std::stoll(reply->str.substr(at + key.size() - 1));
}

absl::StatusOr<Backlog> ConsumerBacklog(redis::Client& redis,
                                        const std::vector<std::string>& subdistricts) {
  Backlog backlog;
  for (const std::string& subdistrict : subdistricts) {
    for (const std::string& stream :
         {store::RoutingStream(subdistrict), store::LiveStream(subdistrict)}) {
      auto groups = RedisCommand(redis, {"XINFO", "GROUPS", stream});
      if (!groups.ok()) {
        return groups.status();
      }
      if (groups->IsError()) {
        continue;  // No such stream yet: nothing to do.
      }
      auto info = RedisCommand(redis, {"XINFO", "STREAM", stream});
      if (!info.ok()) {
        return info.status();
      }
      const redis::Reply* last = Field(*info, "last-generated-id");
      for (const redis::Reply& group : groups->elements) {
        const redis::Reply* name = Field(group, "name");
        const std::string where =
            absl::StrCat(stream, " group ", name != nullptr ? name->str : "?", ": ");
        const redis::Reply* pending = Field(group, "pending");
        if (pending != nullptr && pending->IsInteger() && pending->integer > 0) {
          backlog.pending += pending->integer;
          backlog.where = absl::StrCat(where, pending->integer, " pending");
        }
        const redis::Reply* delivered = Field(group, "last-delivered-id");
        if (last != nullptr && (delivered == nullptr || delivered->str != last->str)) {
          ++backlog.behind;
          backlog.where =
              absl::StrCat(where, "delivered up to ", delivered != nullptr ? delivered->str : "?",
                           " of ", last->str);
        }
      }
    }
  }
  return backlog;
}

}  // namespace grid::loadgen
