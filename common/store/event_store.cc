#include "common/store/event_store.h"

#include <cstdio>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/clock/clock.h"
#include "common/redis/reply.h"
#include "common/store/backlog.h"
#include "common/store/event_id.h"
#include "common/store/keys.h"
#include "common/store/timers.h"

namespace grid::store {

extern const std::string_view kFileEventLua;
extern const std::string_view kApplyMoveLua;

namespace {

using redis::Reply;

// The {code, id} reply of file_event.lua.
absl::StatusOr<CreateResult> ParseFileReply(absl::StatusOr<Reply> outcome) {
  absl::StatusOr<Reply> reply = redis::Checked(std::move(outcome));
  if (!reply.ok()) {
    return reply.status();
  }
  if (!reply->IsArray() || reply->elements.size() != 2 || !reply->elements[0].IsInteger()) {
    return absl::InternalError(
        absl::StrCat("event store: unexpected reply to file_event: ", reply->DebugString()));
  }
  CreateResult result;
  switch (reply->elements[0].integer) {
    case 1:
      result.outcome = CreateResult::Outcome::kCreated;
      break;
    case 2:
      result.outcome = CreateResult::Outcome::kExists;
      break;
    case 3:
      result.outcome = CreateResult::Outcome::kStale;
      break;
    default:
      return absl::InternalError(
          absl::StrCat("event store: unexpected reply to file_event: ", reply->DebugString()));
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

// Metres as GEOSEARCH takes them, and as file_event.lua repeats the search: the same text both
// times.
std::string Meters(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.3f", value);
  return buffer;
}

std::vector<std::string> OpenNearSearch(const v1::Event& event, double radius_meters) {
  return {"GEOSEARCH",
          OpenIndexKey(event.subdistrict_id(), event.grid_id(), event.category()),
          "FROMLONLAT",
          Degrees(event.location().lng()),
          Degrees(event.location().lat()),
          "BYRADIUS",
          Meters(radius_meters),
          "m",
          "ASC",
          "COUNT",
          std::to_string(kMaxOpenNear)};
}

absl::StatusOr<std::string> SubdistrictOf(const std::string& event_id) {
  auto subdistrict = SubdistrictOfEventId(event_id);
  if (!subdistrict) {
    return absl::InvalidArgumentError(
        absl::StrCat("event_id: \"", event_id, "\" is not a well-formed event id"));
  }
  return std::string(*subdistrict);
}

// The event in the reply to HGET <event key> pb; nullopt when the record is gone.
absl::StatusOr<std::optional<v1::Event>> ParseEvent(absl::StatusOr<Reply> result,
                                                    const std::string& event_id) {
  absl::StatusOr<Reply> reply = redis::Checked(std::move(result));
  if (!reply.ok()) {
    return reply.status();
  }
  if (reply->IsNil()) {
    return std::optional<v1::Event>();
  }
  if (absl::Status status = reply->Expect(Reply::Type::kString); !status.ok()) {
    return status;
  }
  v1::Event event;
  if (!event.ParseFromString(reply->str)) {
    return absl::DataLossError(absl::StrCat("event \"", event_id, "\": stored record is corrupt"));
  }
  return std::optional<v1::Event>(std::move(event));
}

}  // namespace

RedisEventStore::RedisEventStore(redis::Client& client)
    : client_(client),
      file_(redis::Script::FromSource(WithBacklogStep(kFileEventLua))),
      apply_(redis::Script::FromSource(WithBacklogStep(kApplyMoveLua))) {}

RedisEventStore::RedisEventStore(redis::Client& client, boost::asio::any_io_executor batch_on,
                                 size_t max_batch)
    : RedisEventStore(client) {
  if (max_batch > 1) {
    file_batch_ = std::make_unique<redis::BatchedScript>(client, batch_on, file_, max_batch);
    apply_batch_ = std::make_unique<redis::BatchedScript>(client, batch_on, apply_, max_batch);
  }
}

RedisEventStore::~RedisEventStore() = default;

void RedisEventStore::Run(const redis::Script& script, redis::BatchedScript* batched,
                          std::vector<std::string> keys, std::vector<std::string> args,
                          redis::Deadline deadline, redis::ReplyCallback done) {
  if (batched != nullptr) {
    batched->Eval(std::move(keys), std::move(args), deadline, std::move(done));
  } else {
    client_.Eval(script, std::move(keys), std::move(args), deadline, std::move(done));
  }
}

void RedisEventStore::Reserve(const v1::Event& event, redis::Deadline deadline,
                              Callback<Reservation> done) {
  // SET NX GET: reserves, or answers what was reserved before, in one command.
  client_.Command(
      {"SET", RequestKey(event.reporter_id(), event.client_request_id()), event.SerializeAsString(),
       "NX", "GET", "EX", std::to_string(kRequestKeyTtlSeconds)},
      deadline, [done = std::move(done), event](absl::StatusOr<Reply> result) {
        absl::StatusOr<Reply> reply = redis::Checked(std::move(result));
        if (!reply.ok()) {
          done(reply.status());
          return;
        }
        Reservation reservation;
        if (reply->IsNil()) {
          reservation.made = true;
          reservation.event = event;
          done(std::move(reservation));
          return;
        }
        if (absl::Status status = reply->Expect(Reply::Type::kString); !status.ok()) {
          done(status);
          return;
        }
        if (!reservation.event.ParseFromString(reply->str) ||
            !SubdistrictOfEventId(reservation.event.id())) {
          done(absl::DataLossError(absl::StrCat("client_request_id \"", event.client_request_id(),
                                                "\": its stored reservation is corrupt")));
          return;
        }
        done(std::move(reservation));
      });
}

v1::Event SettledReservation(const v1::Event& event) {
  v1::Event settled;
  settled.set_id(event.id());
  settled.set_reporter_id(event.reporter_id());
  settled.set_client_request_id(event.client_request_id());
  return settled;
}

void RedisEventStore::Settle(const v1::Event& event) {
  if (event.client_request_id().empty()) {
    return;
  }
  // XX: never makes a reservation; KEEPTTL: it ends when the whole one would have.
  client_.Command({"SET", RequestKey(event.reporter_id(), event.client_request_id()),
                   SettledReservation(event).SerializeAsString(), "XX", "KEEPTTL"},
                  [](absl::StatusOr<Reply>) {});
}

void RedisEventStore::FindOpenNear(const v1::Event& event, double radius_meters,
                                   redis::Deadline deadline, Callback<OpenNear> done) {
  if (!event.has_location()) {
    OpenNear none;
    none.radius_meters = radius_meters;
    done(std::move(none));
    return;
  }
  const std::string sd = event.subdistrict_id();
  client_.Command(
      OpenNearSearch(event, radius_meters), deadline,
      [this, sd, radius_meters, deadline, done = std::move(done)](absl::StatusOr<Reply> result) {
        absl::StatusOr<Reply> reply = redis::Checked(std::move(result));
        if (!reply.ok()) {
          done(reply.status());
          return;
        }
        if (absl::Status status = reply->Expect(Reply::Type::kArray); !status.ok()) {
          done(status);
          return;
        }
        // The records, read in one pipeline; the client runs callbacks one at a time, so the
        // gathered state needs no lock.
        struct Gather {
          OpenNear near;
          std::size_t remaining = 0;
          absl::Status status;
          Callback<OpenNear> done;
        };
        auto gather = std::make_shared<Gather>();
        gather->near.radius_meters = radius_meters;
        gather->done = std::move(done);
        for (const Reply& id : reply->elements) {
          gather->near.ids.push_back(id.str);
        }
        gather->near.events.resize(gather->near.ids.size());
        gather->remaining = gather->near.ids.size();
        if (gather->remaining == 0) {
          gather->done(std::move(gather->near));
          return;
        }
        for (std::size_t i = 0; i < gather->near.ids.size(); ++i) {
          const std::string& id = gather->near.ids[i];
          client_.Command({"HGET", EventKey(sd, id), "pb"}, deadline,
                          [gather, i](absl::StatusOr<Reply> record) {
                            auto event = ParseEvent(std::move(record), gather->near.ids[i]);
                            if (!event.ok()) {
                              if (gather->status.ok()) {
                                gather->status = event.status();
                              }
                            } else {
                              gather->near.events[i] = *std::move(event);
                            }
                            if (--gather->remaining > 0) {
                              return;
                            }
                            if (gather->status.ok()) {
                              gather->done(std::move(gather->near));
                            } else {
                              gather->done(gather->status);
                            }
                          });
        }
      });
}

void RedisEventStore::File(const Filing& filing, redis::Deadline deadline,
                           Callback<CreateResult> done) {
  const v1::Event& event = filing.event;
  const std::string& sd = event.subdistrict_id();
  const bool merge = filing.merge.has_value();
  // Keys a step does not use still name keys of the same subdistrict, so that the script stays
  // within one hash slot.
  const std::string& open_id = merge ? filing.merge->event.id() : event.id();
  std::vector<std::string> keys = {
      EventKey(sd, event.id()), HistoryKey(sd, event.id()),
      RoutingStream(sd),        LiveStream(sd),
      EventsIndexKey(sd),       OpenIndexKey(sd, event.grid_id(), event.category()),
      EventKey(sd, open_id),    HistoryKey(sd, open_id),
      BacklogPrefix(sd)};
  std::vector<std::string> args = {
      event.SerializeAsString(),
      std::to_string(static_cast<int>(event.state())),
      filing.change.SerializeAsString(),
      event.id(),
      std::to_string(kLiveStreamMaxLength),
      std::to_string(FromTimestamp(event.created_at())),
      event.has_location() ? Degrees(event.location().lng()) : "",
      Degrees(event.location().lat()),
      filing.decided_on && event.has_location() ? Meters(filing.decided_on->radius_meters) : "",
      std::to_string(kMaxOpenNear),
      merge ? "1" : "0",
      merge ? std::to_string(filing.merge->expected_version) : "",
      merge ? filing.merge->event.SerializeAsString() : "",
      merge ? std::to_string(static_cast<int>(filing.merge->event.state())) : "",
      merge ? filing.merge->change.SerializeAsString() : "",
      BacklogEntry(event, 0),
      merge ? open_id : "",
      merge ? BacklogEntry(filing.merge->event, filing.merge->yellow_at) : ""};
  if (filing.decided_on && event.has_location()) {
    const OpenNear& near = *filing.decided_on;
    for (std::size_t i = 0; i < near.ids.size(); ++i) {
      keys.push_back(EventKey(sd, near.ids[i]));
      args.push_back(near.ids[i]);
      args.push_back(i < near.events.size() && near.events[i]
                         ? std::to_string(near.events[i]->version())
                         : std::string());
    }
  }
  Run(file_, file_batch_.get(), std::move(keys), std::move(args), deadline,
      [done = std::move(done)](absl::StatusOr<Reply> reply) {
        done(ParseFileReply(std::move(reply)));
      });
}

void RedisEventStore::Get(const std::string& event_id, redis::Deadline deadline,
                          Callback<std::optional<v1::Event>> done) {
  auto sd = SubdistrictOf(event_id);
  if (!sd.ok()) {
    done(sd.status());
    return;
  }
  client_.Command({"HGET", EventKey(*sd, event_id), "pb"}, deadline,
                  [done = std::move(done), event_id](absl::StatusOr<Reply> reply) {
                    done(ParseEvent(std::move(reply), event_id));
                  });
}

void RedisEventStore::Apply(const Move& move, redis::Deadline deadline, Callback<MoveResult> done) {
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
                                   OverdueKey(sd),
                                   BacklogPrefix(sd)};
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
      event.overdue() ? std::to_string(RunningDeadline(event)) : std::string(),
      BacklogEntry(event, move.yellow_at)};
  Run(apply_, apply_batch_.get(), std::move(keys), std::move(args), deadline,
      [done = std::move(done), id = event.id()](absl::StatusOr<Reply> result) {
        // The script's own NOTFOUND is an answer about the event, not a failure of the
        // store.
        if (result.ok() && result->IsError() && result->ErrorCode() == "NOTFOUND") {
          done(absl::NotFoundError(absl::StrCat("event \"", id, "\" not found")));
          return;
        }
        absl::StatusOr<Reply> reply = redis::Checked(std::move(result));
        if (!reply.ok()) {
          done(reply.status());
          return;
        }
        if (!reply->IsArray() || reply->elements.size() != 2) {
          done(absl::InternalError(
              absl::StrCat("event store: unexpected reply to apply_move: ", reply->DebugString())));
          return;
        }
        done(MoveResult{reply->elements[0].integer == 1, reply->elements[1].integer});
      });
}

void RedisEventStore::History(const std::string& event_id, redis::Deadline deadline,
                              Callback<std::vector<v1::EventChange>> done) {
  auto sd = SubdistrictOf(event_id);
  if (!sd.ok()) {
    done(sd.status());
    return;
  }
  client_.Command({"LRANGE", HistoryKey(*sd, event_id), "0", "-1"}, deadline,
                  [done = std::move(done)](absl::StatusOr<Reply> result) {
                    absl::StatusOr<Reply> reply = redis::Checked(std::move(result));
                    if (!reply.ok()) {
                      done(reply.status());
                      return;
                    }
                    // An error reply was a failure above; anything but a list is one here, so
                    // a history is never answered empty because Redis said no.
                    if (absl::Status status = reply->Expect(Reply::Type::kArray); !status.ok()) {
                      done(status);
                      return;
                    }
                    std::vector<v1::EventChange> changes;
                    changes.reserve(reply->elements.size());
                    for (const Reply& element : reply->elements) {
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
