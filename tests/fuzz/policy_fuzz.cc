// Loading a policy: JSON text through the parser and the checks the services start with
// (config::ParseJson, policy::Policy::Build against the shipped topology, as Policy::Load does).
// A policy is either refused with INVALID_ARGUMENT, or built, and then what routing and escalation
// compute from it (the matching rule, the clock at every level, time left, the traffic light) is
// computed without undefined behaviour, and working time adds up: Between(t, Add(t, d)) == d.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/config/json_file.h"
#include "common/policy/deadlines.h"
#include "common/policy/policy.h"
#include "tests/support/shipped_config.h"

namespace {

// Monday 2026-11-30 08:30 in Beijing, in UTC milliseconds: the start of a working day.
constexpr grid::Millis kNow = 1795998600000;

void Compute(const grid::policy::Policy& policy) {
  const grid::policy::WorkingCalendar* calendar = policy.calendar();
  for (const grid::v1::Category& category : policy.data().categories()) {
    for (int severity = grid::v1::SEVERITY_LOW; severity <= grid::v1::SEVERITY_CRITICAL;
         ++severity) {
      (void)policy.Match(category.code(), static_cast<grid::v1::Severity>(severity),
                         grid::v1::SOURCE_GRID_WORKER);
    }
  }
  for (const grid::v1::Rule& rule : policy.data().rules()) {
    for (int level = rule.start_level(); level <= grid::v1::LEVEL_DISTRICT; ++level) {
      const grid::v1::Deadlines deadlines =
          grid::policy::StartClock(rule, static_cast<grid::v1::Level>(level), kNow, calendar);
      for (const grid::v1::EventState state :
           {grid::v1::EVENT_STATE_DISPATCHED, grid::v1::EVENT_STATE_ACCEPTED}) {
        const grid::Millis deadline = grid::policy::RunningDeadline(deadlines, state);
        (void)grid::policy::TimeLeft(deadlines, deadline, kNow + 1000, calendar);
        (void)grid::policy::Resumed(deadlines, deadline, kNow + 1000, kNow + 86400000, calendar);
        (void)grid::policy::TrafficLightAt(deadlines, state, kNow + 3600000, calendar);
      }
      if (calendar != nullptr && deadlines.working_time()) {
        const grid::Millis limit =
            grid::policy::RunningLimit(deadlines, grid::v1::EVENT_STATE_DISPATCHED);
        if (calendar->Between(kNow, calendar->Add(kNow, limit)) != limit) {
          std::abort();
        }
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  grid::v1::Policy parsed;
  if (absl::Status status = grid::config::ParseJson(json, "policy.json", parsed); !status.ok()) {
    if (status.code() != absl::StatusCode::kInvalidArgument) {
      std::abort();
    }
    return 0;
  }
  auto built = grid::policy::Policy::Build(std::move(parsed), grid::testing::ShippedTopology());
  if (!built.ok()) {
    if (built.status().code() != absl::StatusCode::kInvalidArgument) {
      std::abort();
    }
    return 0;
  }
  Compute(**built);
  return 0;
}
