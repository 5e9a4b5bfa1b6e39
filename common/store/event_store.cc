#include "common/store/event_store.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "common/clock/clock.h"
#include "common/store/event_id.h"
#include "common/store/keys.h"
#include "common/store/timers.h"

namespace grid::store {

extern const std::string_view kCreateEventLua;
extern const std::string_view kApplyMoveLua;
extern const std::string_view kMergeDuplicateLua;

namespace {

absl::Status ErrorReply(const redis::Reply& reply) {
  return absl::InternalError(absl::StrCat("redis: ", reply.str));
}

// The {code, id} reply of the create and merge scripts.
absl::StatusOr<CreateResult> ParseCreateReply(const absl::StatusOr<redis::Reply>& reply) {
  if (!reply.ok()) {
    return reply.status();
  }
  if (reply->type == redis::Reply::Type::kError) {
    return ErrorReply(*reply);
  }
  if (reply->type != redis::Reply::Type::kArray || reply->elements.size() != 2) {
    return absl::InternalError("redis: unexpected reply to a create script");
  }
  CreateResult result;
  switch (reply->elements[0].integer) {
    case 1:
      result.outcome = CreateResult::Outcome::kCreated;
      break;
    case 0:
      result.outcome = CreateResult::Outcome::kReplayed;
      break;
    case 2:
      result.outcome = CreateResult::Outcome::kIdTaken;
      break;
    default:
      result.outcome = CreateResult::Outcome::kOpenEventMoved;
      break;
  }
  result.event_id = reply->elements[1].str;
  return result;
}

// Degrees with 7 decimals (about a centimetre); absl::StrCat would keep only six digits.
std::string Degrees(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.7f", value);
  return buffer;
}

std::string RequestTtl(const v1::Event& event) {
  return event.client_request_id().empty() ? std::string() : std::to_string(kRequestKeyTtlSeconds);
}

absl::StatusOr<std::string> SubdistrictOf(const std::string& event_id) {
  auto subdistrict = SubdistrictOfEventId(event_id);
  if (!subdistrict) {
    return absl::InvalidArgumentError(
        absl::StrCat("event_id: \"", event_id, "\" is not a well-formed event id"));
  }
  return std::string(*subdistrict);
}

}  // namespace

RedisEventStore::RedisEventStore(redis::Client& client)
    : client_(client),
      create_(redis::Script::FromSource(std::string(kCreateEventLua))),
      apply_(redis::Script::FromSource(std::string(kApplyMoveLua))),
      merge_(redis::Script::FromSource(std::string(kMergeDuplicateLua))) {}

void RedisEventStore::Create(const v1::Event& event, const v1::EventChange& change,
                             Callback<CreateResult> done) {
  const std::string& sd = event.subdistrict_id();
  std::vector<std::string> keys = {EventKey(sd, event.id()),
                                   HistoryKey(sd, event.id()),
                                   RoutingStream(sd),
                                   LiveStream(sd),
                                   EventsIndexKey(sd),
                                   RequestKey(sd, event.reporter_id(), event.client_request_id()),
                                   OpenIndexKey(sd, event.grid_id(), event.category())};
  std::vector<std::string> args = {event.SerializeAsString(),
                                   std::to_string(static_cast<int>(event.state())),
                                   change.SerializeAsString(),
                                   event.id(),
                                   std::to_string(kLiveStreamMaxLength),
                                   std::to_string(FromTimestamp(event.created_at())),
                                   RequestTtl(event),
                                   event.has_location() ? Degrees(event.location().lng()) : "",
                                   Degrees(event.location().lat())};
  client_.Eval(create_, std::move(keys), std::move(args),
               [done = std::move(done)](absl::StatusOr<redis::Reply> reply) {
                 done(ParseCreateReply(reply));
               });
}

void RedisEventStore::MergeDuplicate(const v1::Event& duplicate, const v1::EventChange& change,
                                     const Move& open, Callback<CreateResult> done) {
  const std::string& sd = duplicate.subdistrict_id();
  std::vector<std::string> keys = {
      EventKey(sd, duplicate.id()),
      HistoryKey(sd, duplicate.id()),
      LiveStream(sd),
      EventsIndexKey(sd),
      RequestKey(sd, duplicate.reporter_id(), duplicate.client_request_id()),
      EventKey(sd, open.event.id()),
      HistoryKey(sd, open.event.id())};
  std::vector<std::string> args = {duplicate.SerializeAsString(),
                                   std::to_string(static_cast<int>(duplicate.state())),
                                   change.SerializeAsString(),
                                   duplicate.id(),
                                   std::to_string(kLiveStreamMaxLength),
                                   std::to_string(FromTimestamp(duplicate.created_at())),
                                   RequestTtl(duplicate),
                                   std::to_string(open.expected_version),
                                   open.event.SerializeAsString(),
                                   std::to_string(static_cast<int>(open.event.state())),
                                   open.change.SerializeAsString()};
  client_.Eval(merge_, std::move(keys), std::move(args),
               [done = std::move(done)](absl::StatusOr<redis::Reply> reply) {
                 done(ParseCreateReply(reply));
               });
}

void RedisEventStore::FindRequest(const std::string& subdistrict, const std::string& reporter_id,
                                  const std::string& client_request_id,
                                  Callback<std::optional<std::string>> done) {
  client_.Command({"GET", RequestKey(subdistrict, reporter_id, client_request_id)},
                  [done = std::move(done)](absl::StatusOr<redis::Reply> reply) {
                    if (!reply.ok()) {
                      done(reply.status());
                    } else if (reply->IsNil()) {
                      done(std::optional<std::string>());
                    } else if (reply->IsString()) {
                      done(std::optional<std::string>(reply->str));
                    } else {
                      done(ErrorReply(*reply));
                    }
                  });
}

void RedisEventStore::FindOpenNear(const v1::Event& event, double radius_meters,
                                   Callback<std::vector<std::string>> done) {
  if (!event.has_location()) {
    done(std::vector<std::string>());
    return;
  }
  client_.Command(
      {"GEOSEARCH", OpenIndexKey(event.subdistrict_id(), event.grid_id(), event.category()),
       "FROMLONLAT", Degrees(event.location().lng()), Degrees(event.location().lat()), "BYRADIUS",
       absl::StrCat(radius_meters), "m", "ASC", "COUNT", "20"},
      [done = std::move(done)](absl::StatusOr<redis::Reply> reply) {
        if (!reply.ok()) {
          done(reply.status());
          return;
        }
        if (reply->IsError()) {
          done(ErrorReply(*reply));
          return;
        }
        std::vector<std::string> ids;
        for (const redis::Reply& element : reply->elements) {
          ids.push_back(element.str);
        }
        done(std::move(ids));
      });
}

void RedisEventStore::Get(const std::string& event_id, Callback<std::optional<v1::Event>> done) {
  auto sd = SubdistrictOf(event_id);
  if (!sd.ok()) {
    done(sd.status());
    return;
  }
  client_.Command({"HGET", EventKey(*sd, event_id), "pb"}, [done = std::move(done), event_id](
                                                               absl::StatusOr<redis::Reply> reply) {
    if (!reply.ok()) {
      done(reply.status());
      return;
    }
    if (reply->type == redis::Reply::Type::kNil) {
      done(std::optional<v1::Event>());
      return;
    }
    if (reply->type != redis::Reply::Type::kString) {
      done(ErrorReply(*reply));
      return;
    }
    v1::Event event;
    if (!event.ParseFromString(reply->str)) {
      done(absl::DataLossError(absl::StrCat("event \"", event_id, "\": stored record is corrupt")));
      return;
    }
    done(std::optional<v1::Event>(std::move(event)));
  });
}

void RedisEventStore::Apply(const Move& move, Callback<MoveResult> done) {
  const v1::Event& event = move.event;
  const std::string& sd = event.subdistrict_id();
  // Keys that a move does not use still name keys of the same subdistrict, so that the script
  // stays within one hash slot.
  const std::string leave = QueueKey(sd, move.leave_queue_unit);
  const std::string join = QueueKey(sd, move.join_queue_unit);
  const Millis timer_due = TimerDue(event);
  std::vector<std::string> keys = {EventKey(sd, event.id()),
                                   HistoryKey(sd, event.id()),
                                   LiveStream(sd),
                                   leave,
                                   join,
                                   RoutingStream(sd),
                                   OpenIndexKey(sd, event.grid_id(), event.category()),
                                   ReturnCountsKey(sd),
                                   TimersKey(sd),
                                   OverdueKey(sd)};
  std::vector<std::string> args = {
      std::to_string(move.expected_version),
      event.SerializeAsString(),
      std::to_string(static_cast<int>(event.state())),
      move.change.SerializeAsString(),
      std::to_string(kLiveStreamMaxLength),
      event.id(),
      move.leave_queue_unit.empty() ? "0" : "1",
      move.join_queue_unit.empty() ? "0" : "1",
      absl::StrCat(static_cast<std::int64_t>(move.join_queue_score)),
      move.ack_group,
      move.ack_entry_id,
      move.leave_open_index ? "1" : "0",
      move.count_return_unit,
      timer_due == 0 ? std::string() : std::to_string(timer_due),
      event.overdue() ? std::to_string(RunningDeadline(event)) : std::string()};
  client_.Eval(apply_, std::move(keys), std::move(args),
               [done = std::move(done), id = event.id()](absl::StatusOr<redis::Reply> reply) {
                 if (!reply.ok()) {
                   done(reply.status());
                   return;
                 }
                 if (reply->type == redis::Reply::Type::kError) {
                   if (reply->str.rfind("NOTFOUND", 0) == 0) {
                     done(absl::NotFoundError(absl::StrCat("event \"", id, "\" not found")));
                   } else {
                     done(ErrorReply(*reply));
                   }
                   return;
                 }
                 if (reply->type != redis::Reply::Type::kArray || reply->elements.size() != 2) {
                   done(absl::InternalError("redis: unexpected reply to apply_move"));
                   return;
                 }
                 done(MoveResult{reply->elements[0].integer == 1, reply->elements[1].integer});
               });
}

void RedisEventStore::History(const std::string& event_id,
                              Callback<std::vector<v1::EventChange>> done) {
  auto sd = SubdistrictOf(event_id);
  if (!sd.ok()) {
    done(sd.status());
    return;
  }
  client_.Command({"LRANGE", HistoryKey(*sd, event_id), "0", "-1"},
                  [done = std::move(done)](absl::StatusOr<redis::Reply> reply) {
                    if (!reply.ok()) {
                      done(reply.status());
                      return;
                    }
                    std::vector<v1::EventChange> changes;
                    changes.reserve(reply->elements.size());
                    for (const redis::Reply& element : reply->elements) {
                      changes.emplace_back();
                      if (!changes.back().ParseFromString(element.str)) {
                        done(absl::DataLossError("event history: stored change is corrupt"));
                        return;
                      }
                    }
                    done(std::move(changes));
                  });
}

}  // namespace grid::store
