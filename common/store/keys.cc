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

std::string DeadLetterStream(std::string_view subdistrict) {
  return Tagged(subdistrict, ":dead", "");
}

std::string_view SubdistrictOfKey(std::string_view key) {
  if (key.empty() || key.front() != '{') {
    return {};
  }
  const auto close = key.find('}');
  return close == std::string_view::npos ? std::string_view() : key.substr(1, close - 1);
}

std::string DeadLetterStreamOf(std::string_view stream) {
  const std::string_view subdistrict = SubdistrictOfKey(stream);
  return subdistrict.empty() ? std::string() : DeadLetterStream(subdistrict);
}

std::string QueueKey(std::string_view subdistrict, std::string_view unit_id) {
  return Tagged(subdistrict, ":queue:", unit_id);
}

std::string EventsIndexKey(std::string_view subdistrict) {
  return Tagged(subdistrict, ":events", "");
}

std::string RequestKey(std::string_view reporter_id, std::string_view client_request_id) {
  std::string key("req:{");
  key.append(reporter_id).append(":").append(client_request_id).append("}");
  return key;
}

std::string OpenIndexKey(std::string_view subdistrict, std::string_view grid_id,
                         std::string_view category) {
  std::string rest(grid_id);
  rest.append(":").append(category);
  return Tagged(subdistrict, ":open:", rest);
}

std::string TimersKey(std::string_view subdistrict) { return Tagged(subdistrict, ":timers", ""); }

std::string OverdueKey(std::string_view subdistrict) { return Tagged(subdistrict, ":overdue", ""); }

std::string BacklogPrefix(std::string_view subdistrict) { return Tagged(subdistrict, ":bl:", ""); }

std::string EventKeyPrefix(std::string_view subdistrict) { return EventKey(subdistrict, ""); }

std::string ReturnCountsKey(std::string_view subdistrict) {
  return Tagged(subdistrict, ":returns", "");
}

}  // namespace grid::store
