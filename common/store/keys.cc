#include "common/store/keys.h"

namespace grid::store {
namespace {

// "{<subdistrict>}<middle><id>": the braces make the subdistrict the Redis Cluster hash tag.
std::string Tagged(std::string_view subdistrict, std::string_view middle, std::string_view id) {
  std::string key;
  key.reserve(subdistrict.size() + middle.size() + id.size() + 2);
  key.append("{").append(subdistrict).append("}").append(middle).append(id);
  return key;
}

}  // namespace

std::string EventKey(std::string_view subdistrict, std::string_view event_id) {
  return Tagged(subdistrict, ":ev:", event_id);
}

std::string HistoryKey(std::string_view subdistrict, std::string_view event_id) {
  return Tagged(subdistrict, ":hist:", event_id);
}

std::string RoutingStream(std::string_view subdistrict) {
  return Tagged(subdistrict, ":routing", "");
}

std::string LiveStream(std::string_view subdistrict) { return Tagged(subdistrict, ":live", ""); }

std::string QueueKey(std::string_view subdistrict, std::string_view unit_id) {
  return Tagged(subdistrict, ":queue:", unit_id);
}

std::string EventsIndexKey(std::string_view subdistrict) {
  return Tagged(subdistrict, ":events", "");
}

}  // namespace grid::store
