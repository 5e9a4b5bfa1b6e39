// The whole stack on a Redis Cluster (three masters, --redis-cluster): reports of every
// subdistrict are filed, dispatched, seen live by a watcher of the district, counted by the
// metrics service and listed, with each subdistrict's keys on the master of its slot.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/redis/slot.h"
#include "common/store/keys.h"
#include "tests/support/poll.h"
#include "tests/support/shipped_config.h"
#include "tests/support/stack.h"
#include "tests/support/stack_test.h"

namespace grid {
namespace {

using testing::PollUntil;
using testing::Stack;

constexpr std::chrono::seconds kDeadline{30};

class ClusterStackTest : public testing::StackTest {
 protected:
  void SetUp() override {
    Stack::Options options;
    options.redis_cluster = 3;
    StartStack(std::move(options));
  }

  // The first grid of each subdistrict of the shipped topology.
  static std::map<std::string, std::string> FirstGrids() {
    std::map<std::string, std::string> grids;
    for (const v1::Unit& unit : testing::ShippedTopology().data().units()) {
      if (unit.level() == v1::LEVEL_GRID) {
        grids.emplace(unit.id().substr(0, 9), unit.id());
      }
    }
    return grids;
  }
};

TEST_F(ClusterStackTest, ReportsOfEverySubdistrictAreDispatchedWatchedCountedAndListed) {
  const std::map<std::string, std::string> grids = FirstGrids();
  ASSERT_EQ(grids.size(), 5u);
  // The subdistricts' slots are spread over more than one master.
  std::set<int> slots;
  for (const auto& [sd, grid] : grids) {
    slots.insert(redis::KeySlot(store::LiveStream(sd)));
  }
  ASSERT_GT(slots.size(), 1u);

  // A watcher of the whole district, live from now.
  grpc::ClientContext watch_context;
  watch_context.set_deadline(std::chrono::system_clock::now() + 2 * kDeadline);
  stack_->Authorize(watch_context, Stack::Admin());
  v1::WatchEventsRequest watch_request;
  auto watch = gateway().WatchEvents(&watch_context, watch_request);

  constexpr int kPerSubdistrict = 4;
  std::map<std::string, std::string> subdistrict_of;  // event id -> subdistrict
  for (const auto& [sd, grid] : grids) {
    for (int i = 0; i < kPerSubdistrict; ++i) {
      v1::ReportEventRequest request;
      request.mutable_report()->set_grid_id(grid);
      request.mutable_report()->set_category("0102");
      request.mutable_report()->set_severity(v1::SEVERITY_NORMAL);
      request.mutable_report()->set_description(absl::StrCat("暴露垃圾 ", sd, " ", i));
      request.mutable_report()->set_client_request_id(absl::StrCat("cluster-", sd, "-", i));
      v1::ReportEventResponse response;
      const grpc::Status status = gateway().ReportEvent(Context().get(), request, &response);
      ASSERT_TRUE(status.ok()) << status.error_message();
      EXPECT_EQ(response.event().subdistrict_id(), sd);
      subdistrict_of[response.event_id()] = sd;
    }
  }
  const size_t events = subdistrict_of.size();
  ASSERT_EQ(events, grids.size() * kPerSubdistrict);

  // Routing dispatches every one (its consumers read a slot each).
  for (const auto& [id, sd] : subdistrict_of) {
    const v1::Event event = AwaitWhere(
        id, [](const v1::Event& e) { return e.state() == v1::EVENT_STATE_DISPATCHED; }, kDeadline);
    EXPECT_EQ(event.subdistrict_id(), sd);
  }

  // The watcher saw each event's REPORTED and DISPATCHED changes, from every subdistrict (the
  // gateway reads a slot per XREAD).
  std::map<std::string, std::set<v1::ChangeKind>> seen;
  v1::WatchEventsResponse message;
  size_t complete = 0;
  while (complete < events && watch->Read(&message)) {
    if (!message.has_change() || subdistrict_of.count(message.change().event_id()) == 0) {
      continue;
    }
    auto& kinds = seen[message.change().event_id()];
    const bool was_complete =
        kinds.count(v1::CHANGE_KIND_REPORTED) > 0 && kinds.count(v1::CHANGE_KIND_DISPATCHED) > 0;
    kinds.insert(message.change().kind());
    if (!was_complete && kinds.count(v1::CHANGE_KIND_REPORTED) > 0 &&
        kinds.count(v1::CHANGE_KIND_DISPATCHED) > 0) {
      ++complete;
    }
  }
  watch_context.TryCancel();
  EXPECT_EQ(complete, events);

  // The metrics service counted each report and dispatch once, reading a slot per consumer.
  std::string page;
  EXPECT_TRUE(PollUntil(
      [&] {
        page = testing::HttpGet(stack_->metrics_port("grid-metrics"), "/metrics");
        return testing::MetricSample(page, "grid_event_dispatch_seconds_count") >=
               static_cast<double>(events);
      },
      kDeadline));
  EXPECT_EQ(testing::MetricSample(page, "grid_events_reported_total"), events) << page;

  // The scores of the district count every report, from the rollups of every subdistrict.
  v1::GetStatsRequest stats_request;
  stats_request.set_last_days(1);
  v1::GetStatsResponse stats;
  EXPECT_TRUE(PollUntil(
      [&] {
        stats.Clear();
        if (!gateway().GetStats(Context().get(), stats_request, &stats).ok()) {
          return false;
        }
        long long reported = 0;
        for (const auto& row : stats.rows()) {
          reported += row.reported();
        }
        return reported == static_cast<long long>(events);
      },
      kDeadline))
      << stats.ShortDebugString();

  // A list of the district finds them all.
  v1::ListEventsRequest list;
  list.set_page_size(100);
  v1::ListEventsResponse listed;
  const grpc::Status status = gateway().ListEvents(Context().get(), list, &listed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::set<std::string> ids;
  for (const v1::Event& event : listed.events()) {
    ids.insert(event.id());
  }
  for (const auto& [id, sd] : subdistrict_of) {
    EXPECT_TRUE(ids.count(id)) << id;
  }

  // Each master holds keys: the data is spread.
  int holding = 0;
  for (int i = 0; i < stack_->cluster()->size(); ++i) {
    testing::RedisServer& node = stack_->cluster()->node(i);
    absl::StatusOr<std::string> keyspace =
        testing::RedisText(node.host(), node.port(), "INFO keyspace");
    ASSERT_TRUE(keyspace.ok()) << keyspace.status();
    holding += absl::StrContains(*keyspace, "keys=") ? 1 : 0;
  }
  EXPECT_GT(holding, 1);

  // No service sent a command the cluster refuses or the client cannot route.
  const std::string logs = stack_->Logs();
  EXPECT_THAT(logs, ::testing::Not(::testing::HasSubstr("CROSSSLOT")));
  EXPECT_THAT(logs, ::testing::Not(::testing::HasSubstr("cluster client knows")));
  EXPECT_THAT(logs, ::testing::Not(::testing::HasSubstr("to find its keys")));
}

}  // namespace
}  // namespace grid
