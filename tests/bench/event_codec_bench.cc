// The Event and EventChange as the services pass them: serialized by intake into the record and
// the change, parsed and re-serialized by routing, parsed again by metrics and the gateway.
#include <benchmark/benchmark.h>
#include <google/protobuf/util/time_util.h>

#include "grid/v1/event.pb.h"

namespace grid::bench {
namespace {

using google::protobuf::util::TimeUtil;

// A report as intake files it and routing dispatches it: the fields a real one carries.
v1::Event DispatchedEvent() {
  v1::Event event;
  event.set_id("370212001-01JDZ8W4M2N6Q9T3V5X7Z1B3D5");
  event.set_client_request_id("W3702120010010101-000123");
  event.set_reporter_id("W3702120010010101");
  event.set_grid_id("37021200100101");
  event.set_subdistrict_id("370212001");
  event.set_category("0102");
  event.set_severity(v1::SEVERITY_NORMAL);
  event.set_source(v1::SOURCE_GRID_WORKER);
  event.set_description("暴露垃圾 at the market gate, two bags beside the bins since the morning");
  event.set_address("崂山区 中韩街道 海尔路 1 号");
  event.mutable_location()->set_lat(36.10);
  event.mutable_location()->set_lng(120.47);
  event.add_media("s3://photos/2026/12/01/W3702120010010101-000123-1.jpg");
  event.set_state(v1::EVENT_STATE_DISPATCHED);
  event.set_level(v1::LEVEL_GRID);
  event.set_unit_id("37021200100101");
  event.set_rule_id("city-appearance-normal");
  event.set_version(2);
  event.set_dispatch_count(1);
  const auto now = TimeUtil::MillisecondsToTimestamp(1764547200000);
  *event.mutable_reported_at() = now;
  *event.mutable_created_at() = now;
  *event.mutable_updated_at() = now;
  *event.mutable_dispatched_at() = now;
  v1::Deadlines& deadlines = *event.mutable_deadlines();
  *deadlines.mutable_started_at() = now;
  *deadlines.mutable_accept_by() = TimeUtil::MillisecondsToTimestamp(1764547200000 + 3600000);
  *deadlines.mutable_resolve_by() = TimeUtil::MillisecondsToTimestamp(1764547200000 + 14400000);
  event.set_traffic_light(v1::TRAFFIC_LIGHT_GREEN);
  return event;
}

v1::EventChange DispatchedChange(const v1::Event& event) {
  v1::EventChange change;
  change.set_event_id(event.id());
  change.set_kind(v1::CHANGE_KIND_DISPATCHED);
  *change.mutable_at() = event.dispatched_at();
  change.set_from_level(v1::LEVEL_GRID);
  change.set_from_state(v1::EVENT_STATE_REPORTED);
  change.set_to_level(v1::LEVEL_GRID);
  change.set_to_unit_id(event.unit_id());
  change.set_to_state(v1::EVENT_STATE_DISPATCHED);
  change.set_reason_code(v1::CHANGE_REASON_POLICY);
  change.set_reason("rule city-appearance-normal");
  change.set_version(event.version());
  change.set_grid_id(event.grid_id());
  change.set_subdistrict_id(event.subdistrict_id());
  change.set_category(event.category());
  change.set_severity(event.severity());
  change.set_traffic_light(v1::TRAFFIC_LIGHT_GREEN);
  return change;
}

void BM_EventEncode(benchmark::State& state) {
  const v1::Event event = DispatchedEvent();
  std::string bytes;
  for (auto _ : state) {
    bytes.clear();
    event.SerializeToString(&bytes);
    benchmark::DoNotOptimize(bytes.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes.size()));
  state.counters["bytes"] = static_cast<double>(bytes.size());
}
BENCHMARK(BM_EventEncode);

void BM_EventDecode(benchmark::State& state) {
  const std::string bytes = DispatchedEvent().SerializeAsString();
  v1::Event event;
  for (auto _ : state) {
    benchmark::DoNotOptimize(event.ParseFromString(bytes));
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes.size()));
}
BENCHMARK(BM_EventDecode);

// Routing's step per entry: parse the record, make the dispatched copy, serialize it and its
// change.
void BM_EventDecodeMoveEncode(benchmark::State& state) {
  v1::Event reported = DispatchedEvent();
  reported.set_state(v1::EVENT_STATE_REPORTED);
  reported.set_version(1);
  const std::string bytes = reported.SerializeAsString();
  for (auto _ : state) {
    v1::Event event;
    event.ParseFromString(bytes);
    event.set_state(v1::EVENT_STATE_DISPATCHED);
    event.set_version(event.version() + 1);
    std::string record = event.SerializeAsString();
    std::string change = DispatchedChange(event).SerializeAsString();
    benchmark::DoNotOptimize(record.data());
    benchmark::DoNotOptimize(change.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EventDecodeMoveEncode);

void BM_ChangeDecode(benchmark::State& state) {
  const std::string bytes = DispatchedChange(DispatchedEvent()).SerializeAsString();
  v1::EventChange change;
  for (auto _ : state) {
    benchmark::DoNotOptimize(change.ParseFromString(bytes));
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes.size()));
}
BENCHMARK(BM_ChangeDecode);

}  // namespace
}  // namespace grid::bench
