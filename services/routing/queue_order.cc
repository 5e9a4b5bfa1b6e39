#include "services/routing/queue_order.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <tuple>

#include "common/policy/deadlines.h"

namespace grid::routing {
namespace {

using google::protobuf::util::TimeUtil;

// What the order looks at, computed once per event.
struct Urgency {
  std::size_t index = 0;
  bool runs = false;  // A limit runs.
  bool supervised = false;
  bool overdue = false;
  Millis time_left = 0;  // Meaningful when `runs`.
  Millis deadline = 0;   // Meaningful when `runs`.
  // used / limit. Both are exact in a double (well under 2^53 ms) and IEEE division rounds
  // correctly, so equal shares (e.g. 5/10 and 10/20) compare equal.
  double share = 0;
  Millis updated = 0;
  const std::string* id = nullptr;
};

Urgency UrgencyOf(const v1::Event& event, std::size_t index, Millis now,
                  const policy::WorkingCalendar* calendar) {
  Urgency u;
  u.index = index;
  u.supervised = event.supervised();
  u.updated = FromTimestamp(event.updated_at());
  u.id = &event.id();
  const Millis limit = policy::RunningLimit(event.deadlines(), event.state());
  if (limit <= 0) {
    return u;
  }
  u.runs = true;
  u.deadline = policy::RunningDeadline(event.deadlines(), event.state());
  // Working time left for limits counted in working hours; a pause moved the deadline.
  u.time_left = policy::TimeLeft(event.deadlines(), u.deadline, now, calendar);
  u.overdue = u.time_left < 0;
  const Millis used = limit - u.time_left;
  u.share = static_cast<double>(used) / static_cast<double>(limit);
  return u;
}

// True when `a` comes before `b`.
bool Before(const Urgency& a, const Urgency& b) {
  if (a.runs != b.runs) {
    return a.runs;
  }
  if (!a.runs) {
    return std::tie(a.updated, *a.id) < std::tie(b.updated, *b.id);
  }
  if (a.supervised != b.supervised) {
    return a.supervised;
  }
  if (a.overdue != b.overdue) {
    return a.overdue;
  }
  if (a.overdue && a.time_left != b.time_left) {
    return a.time_left < b.time_left;
  }
  if (a.share != b.share) {
    return a.share > b.share;
  }
  return std::tie(a.deadline, *a.id) < std::tie(b.deadline, *b.id);
}

}  // namespace

std::vector<v1::QueueItem> OrderQueue(std::vector<v1::Event> events, Millis now,
                                      const policy::WorkingCalendar* calendar) {
  std::vector<Urgency> order;
  order.reserve(events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    order.push_back(UrgencyOf(events[i], i, now, calendar));
  }
  std::sort(order.begin(), order.end(), Before);

  std::vector<v1::QueueItem> items(order.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    const Urgency& u = order[i];
    v1::QueueItem& item = items[i];
    v1::Event& event = events[u.index];
    const v1::TrafficLight light =
        policy::TrafficLightAt(event.deadlines(), event.state(), now, calendar);
    event.set_traffic_light(light);
    item.set_traffic_light(light);
    if (u.runs) {
      *item.mutable_time_left() = TimeUtil::MillisecondsToDuration(u.time_left);
      item.set_overdue(u.overdue);
    }
    // The sort is done, so nothing reads `u.id` (which points into the event) any more.
    *item.mutable_event() = std::move(event);
  }
  return items;
}

}  // namespace grid::routing
