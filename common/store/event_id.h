// Event ids: unique across replicas and sortable by time within a subdistrict.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/clock/clock.h"

namespace grid::store {

// "<subdistrict>-<10 chars: creation ms, Crockford base32><6 random chars>", e.g.
// "370212001-01JDX3M8ZK4F2QH7". 30 random bits per millisecond per subdistrict make a collision
// between replicas improbable; the create script refuses one anyway.
std::string NewEventId(std::string_view subdistrict, Millis now);

// The subdistrict part of a well-formed id; nullopt when the id is malformed.
std::optional<std::string_view> SubdistrictOfEventId(std::string_view event_id);

}  // namespace grid::store
