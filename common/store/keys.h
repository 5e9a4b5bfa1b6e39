// Redis key names. Every key about one subdistrict carries the {hash tag} of that subdistrict,
// and one atomic step only touches keys of one subdistrict, so the same code runs on Redis
// Cluster sharded by subdistrict. A key that is not about one subdistrict (a client request id,
// which holds for any grid) has a tag of its own and is only ever used on its own.
#pragma once

#include <string>
#include <string_view>

namespace grid::store {

// The event record (hash: pb, state, version).
std::string EventKey(std::string_view subdistrict, std::string_view event_id);
// The event's history (list of serialized EventChange, oldest first).
std::string HistoryKey(std::string_view subdistrict, std::string_view event_id);
// New events waiting for routing (stream; field id = event id).
std::string RoutingStream(std::string_view subdistrict);
// Every lifecycle change, capped (stream; field c = serialized EventChange).
std::string LiveStream(std::string_view subdistrict);
// Entries of the subdistrict's streams that could not be handled, with the reason (stream; see
// common/store/lua/dead_letter.lua for the fields).
std::string DeadLetterStream(std::string_view subdistrict);
// The dead-letter stream of the subdistrict whose {hash tag} `stream` carries; empty when it
// carries none.
std::string DeadLetterStreamOf(std::string_view stream);
// The subdistrict of a key's {hash tag}; empty when it carries none.
std::string_view SubdistrictOfKey(std::string_view key);
// A unit's work queue within one subdistrict (sorted set of event ids by due time).
std::string QueueKey(std::string_view subdistrict, std::string_view unit_id);
// Events by creation time (sorted set of event ids).
std::string EventsIndexKey(std::string_view subdistrict);

// A reporter's client request id, reserved for the event it stands for (string: the serialized
// grid.v1.Event as reserved; expires after kRequestKeyTtlSeconds): "req:{<reporter>:<id>}", so
// that request keys spread over every slot of a cluster.
std::string RequestKey(std::string_view reporter_id, std::string_view client_request_id);
// Open events of one grid and category by location (geo set), for the duplicate check.
std::string OpenIndexKey(std::string_view subdistrict, std::string_view grid_id,
                         std::string_view category);
// How many times each unit returned an event (hash: unit id -> count).
std::string ReturnCountsKey(std::string_view subdistrict);

// Escalation timers (sorted set: event id by the UTC ms its running limit or next reminder is
// due; see TimerDue).
std::string TimersKey(std::string_view subdistrict);
// Events overdue at DISTRICT level, where nobody is above them (sorted set: event id by the
// deadline that passed).
std::string OverdueKey(std::string_view subdistrict);
// The prefix of the backlog index's keys (common/store/backlog.h, lua/backlog.lua).
std::string BacklogPrefix(std::string_view subdistrict);
// The prefix of the event records' keys, EventKey(subdistrict, id) == this + id.
std::string EventKeyPrefix(std::string_view subdistrict);

// Apps queue reports offline for days: a request id is remembered for eight.
inline constexpr int kRequestKeyTtlSeconds = 8 * 24 * 3600;

// Consumer group names on the streams.
inline constexpr std::string_view kRoutingGroup = "routing";

}  // namespace grid::store
