// EventQueries against a real redis-server, over events filed and moved through the event store,
// with the shipped Laoshan topology.
#include "services/routing/queries.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <future>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/policy/deadlines.h"
#include "common/redis/asio_client.h"
#include "common/store/event_id.h"
#include "common/store/event_store.h"
#include "common/store/keys.h"
#include "tests/support/paths.h"
#include "tests/support/redis_test.h"

namespace grid::routing {
namespace {

using google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr Millis kT0 = 1'790'000'000'000;
constexpr Millis kMinute = 60'000;

constexpr char kSd1[] = "370212001";
constexpr char kSd2[] = "370212002";
constexpr char kGrid1[] = "37021200100101";       // Community 370212001001, subdistrict 001.
constexpr char kGrid1b[] = "37021200100102";      // Community 370212001001.
constexpr char kGrid1Other[] = "37021200100201";  // Community 370212001002.
constexpr char kGrid2[] = "37021200200101";       // Subdistrict 002.
constexpr char kGrid5[] = "37021200500101";       // Subdistrict 005.
constexpr char kCommunity1[] = "370212001001";
constexpr char kDepartment[] = "370212D01";

// Where an event stands once filed: REPORTED, or moved to a unit with a running clock.
struct Placement {
  v1::EventState state = v1::EVENT_STATE_REPORTED;
  v1::Level level = v1::LEVEL_UNSPECIFIED;
  std::string unit_id;
  Millis started = 0;
  Millis limit = 0;
  bool supervised = false;
  v1::Severity severity = v1::SEVERITY_NORMAL;
};

Placement At(v1::EventState state, v1::Level level, const std::string& unit, Millis started = kT0,
             Millis limit = 60 * kMinute) {
  return Placement{state, level, unit, started, limit, false};
}

class QueriesTest : public testing::RedisTest {
 protected:
  static void SetUpTestSuite() {
    auto topology =
        topology::Topology::Load(testing::SourcePath("deploy/config/laoshan-topology.json"));
    ASSERT_TRUE(topology.ok()) << topology.status();
    topology_ = new topology::TopologyPtr(*std::move(topology));
  }
  static void TearDownTestSuite() { delete topology_; }

  void SetUp() override {
    RedisTest::SetUp();
    if (HasFatalFailure()) {
      return;
    }
    store_ = std::make_unique<store::RedisEventStore>(*client_);
    queries_ = std::make_unique<EventQueries>(*client_, **topology_, clock_);
  }

  void TearDown() override {
    queries_.reset();
    store_.reset();
    RedisTest::TearDown();
  }

  absl::StatusOr<v1::ListUnitQueueResponse> Queue(const v1::ListUnitQueueRequest& request) {
    return Wait<v1::ListUnitQueueResponse>(
        [&](auto done) { queries_->ListUnitQueue(request, done); });
  }
  absl::StatusOr<v1::ListUnitQueueResponse> Queue(const std::string& unit_id, int page_size = 0,
                                                  const std::string& token = "") {
    v1::ListUnitQueueRequest request;
    request.set_unit_id(unit_id);
    request.set_page_size(page_size);
    request.set_page_token(token);
    return Queue(request);
  }
  absl::StatusOr<v1::ListEventsResponse> List(const v1::ListEventsRequest& request,
                                              EventQueries* queries = nullptr) {
    EventQueries& q = queries ? *queries : *queries_;
    return Wait<v1::ListEventsResponse>([&](auto done) { q.ListEvents(request, done); });
  }

  // Files an event through the store, created at `created` in the subdistrict of `grid`
  // (reported then too unless `reported` says otherwise), then moves it as `placement` says,
  // into its unit's queue while its clock runs. Returns its id; `name` names it in assertions.
  std::string File(const std::string& name, const std::string& grid, const std::string& category,
                   Millis created, const Placement& placement = {},
                   std::optional<Millis> reported = std::nullopt) {
    const std::string sd = grid.substr(0, 9);
    v1::Event event;
    event.set_id(store::NewEventId(sd, created));
    event.set_subdistrict_id(sd);
    event.set_grid_id(grid);
    event.set_category(category);
    event.set_severity(placement.severity);
    event.set_state(v1::EVENT_STATE_REPORTED);
    event.set_version(1);
    *event.mutable_created_at() = ToTimestamp(created);
    *event.mutable_reported_at() = ToTimestamp(reported.value_or(created));
    *event.mutable_updated_at() = ToTimestamp(created);
    v1::EventChange change;
    change.set_event_id(event.id());
    change.set_kind(v1::CHANGE_KIND_REPORTED);
    change.set_version(1);
    auto created_result = Wait<store::CreateResult>(
        [&](auto done) { store_->Create(event, change, std::move(done)); });
    EXPECT_TRUE(created_result.ok()) << created_result.status();
    if (!created_result.ok()) {
      return event.id();
    }
    EXPECT_EQ(created_result->outcome, store::CreateResult::Outcome::kCreated);
    names_[event.id()] = name;
    if (placement.state == v1::EVENT_STATE_REPORTED) {
      return event.id();
    }

    store::Move move;
    move.expected_version = 1;
    v1::Event& next = move.event;
    next = event;
    next.set_state(placement.state);
    next.set_level(placement.level);
    next.set_unit_id(placement.unit_id);
    next.set_supervised(placement.supervised);
    next.set_version(2);
    v1::Deadlines& deadlines = *next.mutable_deadlines();
    *deadlines.mutable_started_at() = ToTimestamp(placement.started);
    *deadlines.mutable_accept_limit() = TimeUtil::MillisecondsToDuration(placement.limit);
    *deadlines.mutable_resolve_limit() = TimeUtil::MillisecondsToDuration(placement.limit);
    *deadlines.mutable_accept_by() = ToTimestamp(placement.started + placement.limit);
    *deadlines.mutable_resolve_by() = ToTimestamp(placement.started + placement.limit);
    *next.mutable_updated_at() = ToTimestamp(std::max(created, placement.started));
    move.change = change;
    move.change.set_kind(v1::CHANGE_KIND_DISPATCHED);
    move.change.set_version(2);
    if (placement.state == v1::EVENT_STATE_DISPATCHED ||
        placement.state == v1::EVENT_STATE_ACCEPTED) {
      move.join_queue_unit = placement.unit_id;
      move.join_queue_score =
          static_cast<double>(policy::RunningDeadline(next.deadlines(), next.state()));
    }
    auto applied = Wait<store::MoveResult>([&](auto done) { store_->Apply(move, done); });
    EXPECT_TRUE(applied.ok()) << applied.status();
    EXPECT_TRUE(applied.ok() && applied->applied);
    return event.id();
  }

  std::string Name(const std::string& id) const {
    auto it = names_.find(id);
    return it == names_.end() ? id : it->second;
  }
  std::vector<std::string> Names(const v1::ListUnitQueueResponse& response) const {
    std::vector<std::string> names;
    for (const v1::QueueItem& item : response.items()) {
      names.push_back(Name(item.event().id()));
    }
    return names;
  }
  std::vector<std::string> Names(const v1::ListEventsResponse& response) const {
    std::vector<std::string> names;
    for (const v1::Event& event : response.events()) {
      names.push_back(Name(event.id()));
    }
    return names;
  }

  // The names of the events matching `request`, every page read with the same filters.
  std::vector<std::string> ListAll(v1::ListEventsRequest request) {
    std::vector<std::string> names;
    for (int page = 0; page < 100; ++page) {
      auto response = List(request);
      EXPECT_TRUE(response.ok()) << response.status();
      if (!response.ok()) {
        break;
      }
      for (const std::string& name : Names(*response)) {
        names.push_back(name);
      }
      if (response->next_page_token().empty()) {
        break;
      }
      request.set_page_token(response->next_page_token());
    }
    return names;
  }

  static topology::TopologyPtr* topology_;
  std::unique_ptr<store::RedisEventStore> store_;
  FakeClock clock_{kT0};
  std::unique_ptr<EventQueries> queries_;
  std::map<std::string, std::string> names_;
};
topology::TopologyPtr* QueriesTest::topology_ = nullptr;

// ---- ListUnitQueue ----

TEST_F(QueriesTest, QueueIsInOrderOfUrgencyAndPaged) {
  Placement supervised =
      At(v1::EVENT_STATE_DISPATCHED, v1::LEVEL_COMMUNITY, kCommunity1, kT0 - kMinute);
  supervised.supervised = true;
  File("supervised", kGrid1, "0701", kT0 - 2 * kMinute, supervised);
  const std::string overdue =
      File("overdue", kGrid1, "0701", kT0 - 80 * kMinute,
           At(v1::EVENT_STATE_DISPATCHED, v1::LEVEL_COMMUNITY, kCommunity1, kT0 - 70 * kMinute));
  File("yellow", kGrid1b, "0701", kT0 - 60 * kMinute,
       At(v1::EVENT_STATE_ACCEPTED, v1::LEVEL_COMMUNITY, kCommunity1, kT0 - 50 * kMinute));
  // Due before "yellow" (in 8 minutes against 10) but with less of its limit used.
  File("green", kGrid1, "0701", kT0 - 3 * kMinute,
       At(v1::EVENT_STATE_DISPATCHED, v1::LEVEL_COMMUNITY, kCommunity1, kT0 - 2 * kMinute,
          10 * kMinute));
  // Someone else's work, in the same subdistrict.
  File("other-unit", kGrid1Other, "0701", kT0,
       At(v1::EVENT_STATE_DISPATCHED, v1::LEVEL_COMMUNITY, "370212001002", kT0 - 59 * kMinute));
  // A queued id whose record is gone is skipped.
  Redis({"ZADD", store::QueueKey(kSd1, kCommunity1), "0", store::NewEventId(kSd1, kT0)});

  auto all = Queue(kCommunity1);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_THAT(Names(*all), ElementsAre("supervised", "overdue", "yellow", "green"));
  EXPECT_THAT(all->next_page_token(), IsEmpty());
  const v1::QueueItem& late = all->items(1);
  EXPECT_EQ(late.event().id(), overdue);
  EXPECT_TRUE(late.overdue());
  EXPECT_EQ(late.traffic_light(), v1::TRAFFIC_LIGHT_RED);
  EXPECT_EQ(late.event().traffic_light(), v1::TRAFFIC_LIGHT_RED);
  EXPECT_EQ(TimeUtil::DurationToMilliseconds(late.time_left()), -10 * kMinute);
  EXPECT_EQ(TimeUtil::DurationToMilliseconds(all->items(3).time_left()), 8 * kMinute);

  auto first = Queue(kCommunity1, 3);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_THAT(Names(*first), ElementsAre("supervised", "overdue", "yellow"));
  ASSERT_THAT(first->next_page_token(), ::testing::Not(IsEmpty()));
  auto second = Queue(kCommunity1, 3, first->next_page_token());
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_THAT(Names(*second), ElementsAre("green"));
  EXPECT_THAT(second->next_page_token(), IsEmpty());
}

// A queue longer than the Redis client lets wait for replies at once (20,000): its records are
// read a chunk at a time, and the page is the queue's first.
TEST_F(QueriesTest, AQueueLongerThanTheClientsPendingLimitIsListed) {
  constexpr int kQueued = 25'000;
  v1::Event event;
  event.set_subdistrict_id(kSd1);
  event.set_grid_id(kGrid1);
  event.set_category("0701");
  event.set_state(v1::EVENT_STATE_RESOLVED);  // no clock runs: ordered by update, then id
  event.set_level(v1::LEVEL_COMMUNITY);
  event.set_unit_id(kCommunity1);
  // One script writes them all: the test's own client would meet the same limit.
  Redis({"EVAL",
         "for i = 1, tonumber(ARGV[1]) do local id = string.format('%s-%016d', ARGV[4], i); "
         "redis.call('HSET', ARGV[2] .. id, 'pb', ARGV[3], 'state', '4', 'version', '1'); "
         "redis.call('ZADD', KEYS[1], i, id) end return 1",
         "1", store::QueueKey(kSd1, kCommunity1), std::to_string(kQueued),
         store::EventKeyPrefix(kSd1), event.SerializeAsString(), kSd1});
  auto page = Queue(kCommunity1, 10);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->items_size(), 10);
  EXPECT_THAT(page->next_page_token(), ::testing::Not(IsEmpty()));
}

TEST_F(QueriesTest, OrderFollowsTheClock) {
  File("long", kGrid1, "0701", kT0,
       At(v1::EVENT_STATE_DISPATCHED, v1::LEVEL_COMMUNITY, kCommunity1, kT0, 100 * kMinute));
  File("short", kGrid1, "0701", kT0,
       At(v1::EVENT_STATE_DISPATCHED, v1::LEVEL_COMMUNITY, kCommunity1, kT0 + 30 * kMinute,
          10 * kMinute));
  clock_.Set(kT0 + 35 * kMinute);  // long: 35% used; short: 50%.
  EXPECT_THAT(Names(*Queue(kCommunity1)), ElementsAre("short", "long"));
  clock_.Set(kT0 + 39 * kMinute);  // long: 39%; short: 90%, yellow.
  auto later = Queue(kCommunity1);
  EXPECT_THAT(Names(*later), ElementsAre("short", "long"));
  EXPECT_EQ(later->items(0).traffic_light(), v1::TRAFFIC_LIGHT_YELLOW);
  clock_.Set(kT0 + 45 * kMinute);  // short is 5 minutes overdue.
  auto overdue = Queue(kCommunity1);
  EXPECT_TRUE(overdue->items(0).overdue());
  EXPECT_EQ(TimeUtil::DurationToMilliseconds(overdue->items(0).time_left()), -5 * kMinute);
}

TEST_F(QueriesTest, ADepartmentsQueueSpansSubdistricts) {
  File("sd1-green", kGrid1, "0102", kT0 - 10 * kMinute,
       At(v1::EVENT_STATE_DISPATCHED, v1::LEVEL_DISTRICT, kDepartment, kT0 - 10 * kMinute));
  File("sd2-overdue", kGrid2, "0102", kT0 - 90 * kMinute,
       At(v1::EVENT_STATE_ACCEPTED, v1::LEVEL_DISTRICT, kDepartment, kT0 - 90 * kMinute));
  File("sd5-yellow", kGrid5, "0102", kT0 - 55 * kMinute,
       At(v1::EVENT_STATE_DISPATCHED, v1::LEVEL_DISTRICT, kDepartment, kT0 - 55 * kMinute));
  File("grid-work", kGrid1, "0102", kT0,
       At(v1::EVENT_STATE_DISPATCHED, v1::LEVEL_GRID, kGrid1, kT0 - 59 * kMinute));
  ASSERT_EQ(Redis({"ZCARD", store::QueueKey(kSd1, kDepartment)}).integer, 1);
  ASSERT_EQ(Redis({"ZCARD", store::QueueKey(kSd2, kDepartment)}).integer, 1);

  auto queue = Queue(kDepartment);
  ASSERT_TRUE(queue.ok()) << queue.status();
  EXPECT_THAT(Names(*queue), ElementsAre("sd2-overdue", "sd5-yellow", "sd1-green"));

  auto grid = Queue(kGrid1);
  ASSERT_TRUE(grid.ok()) << grid.status();
  EXPECT_THAT(Names(*grid), ElementsAre("grid-work"));
}

TEST_F(QueriesTest, AnEmptyQueueIsAnEmptyPage) {
  auto queue = Queue("370212003");
  ASSERT_TRUE(queue.ok()) << queue.status();
  EXPECT_EQ(queue->items_size(), 0);
  EXPECT_THAT(queue->next_page_token(), IsEmpty());
}

TEST_F(QueriesTest, QueueRequestsAreChecked) {
  auto missing = Queue("");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(missing.status().message(), "unit_id: required");

  auto unknown = Queue("370212999");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(unknown.status().message(), "unit_id: unknown unit \"370212999\"");

  auto negative = Queue(kCommunity1, -1);
  EXPECT_EQ(negative.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(negative.status().message(), HasSubstr("page_size"));

  for (const std::string token : {"not base64!", "bm9uc2Vuc2U", "cTF8LTF8MzcwMjEyMDAxMDAx"}) {
    auto bad = Queue(kCommunity1, 0, token);
    EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument) << token;
    EXPECT_THAT(bad.status().message(), HasSubstr("page_token")) << token;
  }

  for (int i = 0; i < 3; ++i) {
    File("e", kGrid1, "0701", kT0,
         At(v1::EVENT_STATE_DISPATCHED, v1::LEVEL_COMMUNITY, kCommunity1, kT0 - i * kMinute));
  }
  auto page = Queue(kCommunity1, 1);
  ASSERT_TRUE(page.ok()) << page.status();
  auto elsewhere = Queue("370212001002", 1, page->next_page_token());
  EXPECT_EQ(elsewhere.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(elsewhere.status().message(), HasSubstr("page_token"));
}

// ---- ListEvents ----

TEST_F(QueriesTest, EventsAreNewestFirstAcrossSubdistricts) {
  File("sd2-t0", kGrid2, "0102", kT0);
  File("sd1-t1", kGrid1, "0102", kT0 + 1);
  File("sd5-t2", kGrid5, "0102", kT0 + 2);
  File("sd2-t3", kGrid2, "0102", kT0 + 3);
  File("sd1-t4", kGrid1, "0102", kT0 + 4,
       At(v1::EVENT_STATE_DISPATCHED, v1::LEVEL_GRID, kGrid1, kT0 - 50 * kMinute));

  auto all = List(v1::ListEventsRequest());
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_THAT(Names(*all), ElementsAre("sd1-t4", "sd2-t3", "sd5-t2", "sd1-t1", "sd2-t0"));
  EXPECT_THAT(all->next_page_token(), IsEmpty());
  // With its light as of now, not as stored.
  EXPECT_EQ(all->events(0).traffic_light(), v1::TRAFFIC_LIGHT_YELLOW);
}

class ListFiltersTest : public QueriesTest {
 protected:
  void SetUp() override {
    QueriesTest::SetUp();
    // Reported an hour before it was filed (an offline upload).
    File("a", kGrid1, "0102", kT0 + 1,
         At(v1::EVENT_STATE_DISPATCHED, v1::LEVEL_GRID, kGrid1, kT0 + 1), kT0 - 60 * kMinute);
    File("b", kGrid1Other, "0701", kT0 + 2,
         At(v1::EVENT_STATE_DISPATCHED, v1::LEVEL_COMMUNITY, "370212001002", kT0 + 2));
    File("c", kGrid1b, "0103", kT0 + 3);  // Not dispatched yet.
    File("d", kGrid2, "0102", kT0 + 4,
         At(v1::EVENT_STATE_ACCEPTED, v1::LEVEL_DISTRICT, kDepartment, kT0 + 4));
    File("e", kGrid5, "0501", kT0 + 5,
         At(v1::EVENT_STATE_ACCEPTED, v1::LEVEL_SUBDISTRICT, "370212005", kT0 + 5));
    File("f", kGrid2, "0102", kT0 + 6, At(v1::EVENT_STATE_CLOSED, v1::LEVEL_GRID, kGrid2, kT0 + 6));
  }
};

TEST_F(ListFiltersTest, NoFilterListsEverything) {
  EXPECT_THAT(ListAll({}), ElementsAre("f", "e", "d", "c", "b", "a"));
}

TEST_F(ListFiltersTest, UnitMeansItsSubtreeAndAnUndispatchedEventsGrid) {
  v1::ListEventsRequest request;
  request.set_unit_id(kCommunity1);
  EXPECT_THAT(ListAll(request), ElementsAre("c", "a"));
  request.set_unit_id(kSd1);
  EXPECT_THAT(ListAll(request), ElementsAre("c", "b", "a"));
  request.set_unit_id(kDepartment);
  EXPECT_THAT(ListAll(request), ElementsAre("d"));
  request.set_unit_id("370212");  // The district: everything, departments' work included.
  EXPECT_THAT(ListAll(request), ElementsAre("f", "e", "d", "c", "b", "a"));
  request.set_unit_id(kGrid2);  // Its grid's events, the one at a department included.
  EXPECT_THAT(ListAll(request), ElementsAre("f", "d"));
}

// Issue 10: a community's list (a community operator's ListEvents without a unit) left out its
// grid's event once it sat at the zone, though the operator could GetEvent it. A unit's list
// holds the events whose grid or current unit lies in its subtree (topology::EventInSubtree).
TEST_F(QueriesTest, AUnitsListHoldsItsGridsEventsWhereverTheyAreNow) {
  File("at-zone", kGrid1, "0502", kT0 + 1,
       At(v1::EVENT_STATE_DISPATCHED, v1::LEVEL_ZONE, "370212001Z01", kT0 + 1));
  File("at-subdistrict", kGrid1, "0501", kT0 + 2,
       At(v1::EVENT_STATE_DISPATCHED, v1::LEVEL_SUBDISTRICT, kSd1, kT0 + 2));
  File("at-department", kGrid1, "0408", kT0 + 3,
       At(v1::EVENT_STATE_DISPATCHED, v1::LEVEL_DISTRICT, kDepartment, kT0 + 3));
  File("neighbours-at-zone", kGrid1Other, "0502", kT0 + 4,
       At(v1::EVENT_STATE_DISPATCHED, v1::LEVEL_ZONE, "370212001Z01", kT0 + 4));
  File("other-sd-at-department", kGrid2, "0408", kT0 + 5,
       At(v1::EVENT_STATE_DISPATCHED, v1::LEVEL_DISTRICT, kDepartment, kT0 + 5));
  v1::ListEventsRequest request;
  request.set_unit_id(kCommunity1);
  EXPECT_THAT(ListAll(request), ElementsAre("at-department", "at-subdistrict", "at-zone"));
  request.set_unit_id(kGrid1);
  EXPECT_THAT(ListAll(request), ElementsAre("at-department", "at-subdistrict", "at-zone"));
  request.set_unit_id("370212001Z01");
  EXPECT_THAT(ListAll(request),
              ElementsAre("neighbours-at-zone", "at-department", "at-subdistrict", "at-zone"));
  request.set_unit_id(kDepartment);
  EXPECT_THAT(ListAll(request), ElementsAre("other-sd-at-department", "at-department"));
  request.set_unit_id("370212D02");
  EXPECT_THAT(ListAll(request), IsEmpty());
}

TEST_F(ListFiltersTest, StatesAndLevels) {
  v1::ListEventsRequest request;
  request.add_states(v1::EVENT_STATE_DISPATCHED);
  request.add_states(v1::EVENT_STATE_ACCEPTED);
  EXPECT_THAT(ListAll(request), ElementsAre("e", "d", "b", "a"));
  request.clear_states();
  request.add_states(v1::EVENT_STATE_REPORTED);
  EXPECT_THAT(ListAll(request), ElementsAre("c"));

  v1::ListEventsRequest levels;
  levels.add_levels(v1::LEVEL_DISTRICT);
  levels.add_levels(v1::LEVEL_SUBDISTRICT);
  EXPECT_THAT(ListAll(levels), ElementsAre("e", "d"));
}

// The 督办 list asks for the pressed events only: a page holds pressed events, never fewer
// because the others were dropped after the read.
TEST_F(QueriesTest, SupervisedIsATriStateFilter) {
  Placement pressed = At(v1::EVENT_STATE_DISPATCHED, v1::LEVEL_GRID, kGrid1, kT0 + 1);
  pressed.supervised = true;
  File("pressed", kGrid1, "0102", kT0 + 1, pressed);
  File("plain", kGrid1, "0102", kT0 + 2,
       At(v1::EVENT_STATE_DISPATCHED, v1::LEVEL_GRID, kGrid1, kT0 + 2));
  Placement pressed_closed = At(v1::EVENT_STATE_CLOSED, v1::LEVEL_GRID, kGrid2, kT0 + 3);
  pressed_closed.supervised = true;
  File("pressed-closed", kGrid2, "0102", kT0 + 3, pressed_closed);

  v1::ListEventsRequest request;
  EXPECT_THAT(ListAll(request), ElementsAre("pressed-closed", "plain", "pressed")) << "unset: both";
  request.set_supervised(true);
  EXPECT_THAT(ListAll(request), ElementsAre("pressed-closed", "pressed"));
  request.set_supervised(false);
  EXPECT_THAT(ListAll(request), ElementsAre("plain"));
  request.set_supervised(true);
  request.add_states(v1::EVENT_STATE_DISPATCHED);
  EXPECT_THAT(ListAll(request), ElementsAre("pressed")) << "open and pressed";
}

TEST_F(QueriesTest, MinSeverityKeepsThatSeverityAndAbove) {
  auto placed = [](v1::Severity severity, Millis at) {
    Placement placement = At(v1::EVENT_STATE_DISPATCHED, v1::LEVEL_GRID, kGrid1, at);
    placement.severity = severity;
    return placement;
  };
  File("low", kGrid1, "0102", kT0 + 1, placed(v1::SEVERITY_LOW, kT0 + 1));
  File("normal", kGrid1, "0102", kT0 + 2, placed(v1::SEVERITY_NORMAL, kT0 + 2));
  File("high", kGrid1, "0102", kT0 + 3, placed(v1::SEVERITY_HIGH, kT0 + 3));
  File("critical", kGrid2, "0501", kT0 + 4, placed(v1::SEVERITY_CRITICAL, kT0 + 4));

  v1::ListEventsRequest request;
  EXPECT_THAT(ListAll(request), ElementsAre("critical", "high", "normal", "low"));
  request.set_min_severity(v1::SEVERITY_NORMAL);
  EXPECT_THAT(ListAll(request), ElementsAre("critical", "high", "normal"));
  request.set_min_severity(v1::SEVERITY_HIGH);
  EXPECT_THAT(ListAll(request), ElementsAre("critical", "high"));
  request.set_min_severity(v1::SEVERITY_CRITICAL);
  EXPECT_THAT(ListAll(request), ElementsAre("critical"));
  request.set_subdistrict_id(kSd1);
  EXPECT_THAT(ListAll(request), IsEmpty()) << "filters combine with and";

  // A page token is bound to the severity it was issued for.
  v1::ListEventsRequest paged;
  paged.set_min_severity(v1::SEVERITY_NORMAL);
  paged.set_page_size(1);
  auto first = List(paged);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_THAT(first->next_page_token(), ::testing::Not(IsEmpty()));
  paged.set_page_token(first->next_page_token());
  paged.set_min_severity(v1::SEVERITY_HIGH);
  auto other = List(paged);
  EXPECT_EQ(other.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(other.status().message(), HasSubstr("page_token"));
}

TEST_F(ListFiltersTest, SubdistrictAndCategoryPrefix) {
  v1::ListEventsRequest request;
  request.set_subdistrict_id(kSd2);
  EXPECT_THAT(ListAll(request), ElementsAre("f", "d"));

  v1::ListEventsRequest category;
  category.set_category_prefix("01");
  EXPECT_THAT(ListAll(category), ElementsAre("f", "d", "c", "a"));
  category.set_category_prefix("0102");
  EXPECT_THAT(ListAll(category), ElementsAre("f", "d", "a"));
}

TEST_F(ListFiltersTest, ReportedTimeRangeIsOnReportedAtNotCreation) {
  v1::ListEventsRequest request;
  *request.mutable_reported_after() = ToTimestamp(kT0 - 30 * kMinute);
  // "a" was filed after that but reported an hour before kT0.
  EXPECT_THAT(ListAll(request), ElementsAre("f", "e", "d", "c", "b"));

  v1::ListEventsRequest range;
  *range.mutable_reported_after() = ToTimestamp(kT0 + 2);
  *range.mutable_reported_before() = ToTimestamp(kT0 + 5);  // Exclusive.
  EXPECT_THAT(ListAll(range), ElementsAre("d", "c", "b"));

  v1::ListEventsRequest before;
  *before.mutable_reported_before() = ToTimestamp(kT0);
  EXPECT_THAT(ListAll(before), ElementsAre("a"));

  v1::ListEventsRequest empty;
  *empty.mutable_reported_after() = ToTimestamp(kT0 + 3);
  *empty.mutable_reported_before() = ToTimestamp(kT0 + 3);
  EXPECT_THAT(ListAll(empty), IsEmpty());
}

TEST_F(ListFiltersTest, FiltersCombineWithAnd) {
  v1::ListEventsRequest request;
  request.set_subdistrict_id(kSd2);
  request.set_category_prefix("0102");
  request.add_states(v1::EVENT_STATE_ACCEPTED);
  EXPECT_THAT(ListAll(request), ElementsAre("d"));

  v1::ListEventsRequest disjoint;  // A unit of subdistrict 001 inside subdistrict 002.
  disjoint.set_unit_id(kCommunity1);
  disjoint.set_subdistrict_id(kSd2);
  auto none = List(disjoint);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(none->events_size(), 0);
  EXPECT_THAT(none->next_page_token(), IsEmpty());

  v1::ListEventsRequest department;  // District work, within one subdistrict.
  department.set_unit_id(kDepartment);
  department.set_subdistrict_id(kSd2);
  EXPECT_THAT(ListAll(department), ElementsAre("d"));
}

TEST_F(QueriesTest, PagesNeitherRepeatNorSkipWhileEventsArrive) {
  // Several events share a millisecond, within a shard and across shards, so that page
  // boundaries fall inside a millisecond.
  std::vector<std::pair<Millis, std::string>> expected;  // (created, id)
  int n = 0;
  const char* grids[] = {kGrid1, kGrid2, kGrid5};
  for (int i = 0; i < 8; ++i) {
    const Millis created = kT0 + i * 10;
    for (int copies = 0; copies < (i % 3 == 0 ? 4 : 1); ++copies) {
      const std::string grid = grids[(i + copies) % 3];
      const std::string name = absl::StrCat("e", n++);
      expected.emplace_back(created, File(name, grid, "0102", created));
    }
    if (i == 3) {
      // Four more in one shard, in one millisecond.
      for (int copies = 0; copies < 4; ++copies) {
        const std::string name = absl::StrCat("e", n++);
        expected.emplace_back(created, File(name, kGrid1, "0102", created));
      }
    }
  }
  std::sort(expected.begin(), expected.end(), [](const auto& x, const auto& y) {
    return x.first != y.first ? x.first > y.first : x.second > y.second;
  });
  std::vector<std::string> want;
  for (const auto& [created, id] : expected) {
    want.push_back(Name(id));
  }

  v1::ListEventsRequest request;
  request.set_page_size(3);
  std::vector<std::string> got;
  int pages = 0;
  while (true) {
    auto page = List(request);
    ASSERT_TRUE(page.ok()) << page.status();
    ++pages;
    EXPECT_LE(page->events_size(), 3);
    for (const std::string& name : Names(*page)) {
      got.push_back(name);
    }
    if (page->next_page_token().empty()) {
      break;
    }
    ASSERT_LT(pages, 50);
    // Newer events arrive between pages, in every subdistrict.
    for (const char* grid : grids) {
      File("new", grid, "0102", kT0 + 1000 + pages);
    }
    request.set_page_token(page->next_page_token());
  }
  EXPECT_EQ(got, want);
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()).size(), got.size());
  // Newest first, from the top again, the new ones show.
  auto top = List(v1::ListEventsRequest());
  ASSERT_TRUE(top.ok());
  EXPECT_EQ(Name(top->events(0).id()), "new");
}

TEST_F(QueriesTest, ABoundOnWorkGivesShortPagesThatStillContinue) {
  EventQueries::Options options;
  options.max_candidates_per_shard = 4;
  EventQueries bounded(*client_, **topology_, clock_, options);
  // One fire in five events, spread over two subdistricts.
  std::vector<std::string> fires;
  for (int i = 0; i < 40; ++i) {
    const bool fire = i % 5 == 0;
    const std::string name = absl::StrCat(fire ? "fire" : "rubbish", i);
    File(name, i % 2 == 0 ? kGrid1 : kGrid2, fire ? "0501" : "0102", kT0 + i);
    if (fire) {
      fires.insert(fires.begin(), name);
    }
  }
  v1::ListEventsRequest request;
  request.set_category_prefix("05");
  request.set_page_size(5);
  std::vector<std::string> got;
  bool short_page_with_token = false;
  int pages = 0;
  while (true) {
    auto page = List(request, &bounded);
    ASSERT_TRUE(page.ok()) << page.status();
    ASSERT_LT(++pages, 50);
    for (const std::string& name : Names(*page)) {
      got.push_back(name);
    }
    if (page->next_page_token().empty()) {
      break;
    }
    short_page_with_token |= page->events_size() < 5;
    request.set_page_token(page->next_page_token());
  }
  EXPECT_TRUE(short_page_with_token);
  EXPECT_EQ(got, fires);
}

TEST_F(QueriesTest, ManyEventsInOneMillisecondAreWalkedPastWithATightBound) {
  // More events share a millisecond than a call may examine: each call must skip the ones of
  // that millisecond it has seen, and still get past them.
  EventQueries::Options options;
  options.max_candidates_per_shard = 2;
  EventQueries bounded(*client_, **topology_, clock_, options);
  std::vector<std::string> ids;
  for (int i = 0; i < 7; ++i) {
    ids.push_back(File(absl::StrCat("same", i), kGrid1, "0102", kT0 + 5));
  }
  ids.push_back(File("older", kGrid1, "0102", kT0));
  ids.push_back(File("newer", kGrid1, "0102", kT0 + 9));
  ids.push_back(File("other-shard", kGrid2, "0102", kT0 + 5));
  std::sort(ids.begin(), ids.end(), [](const std::string& x, const std::string& y) {
    // Same creation ms as well as NewEventId order: "newer" first, "older" last.
    return x.substr(10, 10) != y.substr(10, 10) ? x.substr(10, 10) > y.substr(10, 10) : x > y;
  });
  std::vector<std::string> want;
  for (const std::string& id : ids) {
    want.push_back(Name(id));
  }

  v1::ListEventsRequest request;
  request.set_page_size(10);
  std::vector<std::string> got;
  for (int calls = 0; calls < 20; ++calls) {
    auto page = List(request, &bounded);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const std::string& name : Names(*page)) {
      got.push_back(name);
    }
    if (page->next_page_token().empty()) {
      break;
    }
    request.set_page_token(page->next_page_token());
  }
  EXPECT_EQ(got, want);
}

TEST_F(QueriesTest, PageSizeDefaultsTo50AndIsClampedTo500) {
  for (int i = 0; i < 501; ++i) {
    File("e", i % 2 == 0 ? kGrid1 : kGrid2, "0102", kT0 + i);
  }
  auto by_default = List(v1::ListEventsRequest());
  ASSERT_TRUE(by_default.ok()) << by_default.status();
  EXPECT_EQ(by_default->events_size(), 50);

  v1::ListEventsRequest request;
  request.set_page_size(100000);
  auto first = List(request);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->events_size(), 500);
  ASSERT_THAT(first->next_page_token(), ::testing::Not(IsEmpty()));
  request.set_page_token(first->next_page_token());
  auto last = List(request);
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_EQ(last->events_size(), 1);
  EXPECT_THAT(last->next_page_token(), IsEmpty());

  auto queue = Queue(kCommunity1, 100000);
  ASSERT_TRUE(queue.ok()) << queue.status();
}

TEST_F(QueriesTest, AnEventWhoseRecordIsGoneIsSkipped) {
  File("kept", kGrid1, "0102", kT0);
  Redis({"ZADD", store::EventsIndexKey(kSd1), std::to_string(kT0 + 1),
         store::NewEventId(kSd1, kT0 + 1)});
  auto all = List(v1::ListEventsRequest());
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_THAT(Names(*all), ElementsAre("kept"));
}

TEST_F(QueriesTest, ListRequestsAreChecked) {
  v1::ListEventsRequest unknown_unit;
  unknown_unit.set_unit_id("370212999");
  auto unit = List(unknown_unit);
  EXPECT_EQ(unit.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(unit.status().message(), "unit_id: unknown unit \"370212999\"");

  v1::ListEventsRequest unknown_subdistrict;
  unknown_subdistrict.set_subdistrict_id(kCommunity1);  // A unit, but not a subdistrict.
  auto subdistrict = List(unknown_subdistrict);
  EXPECT_EQ(subdistrict.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(subdistrict.status().message(), HasSubstr("subdistrict_id"));

  v1::ListEventsRequest negative;
  negative.set_page_size(-5);
  EXPECT_EQ(List(negative).status().code(), absl::StatusCode::kInvalidArgument);

  v1::ListEventsRequest reversed;
  *reversed.mutable_reported_after() = ToTimestamp(kT0 + 1);
  *reversed.mutable_reported_before() = ToTimestamp(kT0);
  auto range = List(reversed);
  EXPECT_EQ(range.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(range.status().message(), HasSubstr("reported_after"));

  // Enum numbers that are no value of the enum answer INVALID_ARGUMENT naming the field, not an
  // empty list.
  v1::ListEventsRequest unknown_state;
  unknown_state.add_states(static_cast<v1::EventState>(99));
  auto state = List(unknown_state);
  EXPECT_EQ(state.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(state.status().message(), HasSubstr("states[0]"));
  v1::ListEventsRequest unspecified_state;
  unspecified_state.add_states(v1::EVENT_STATE_DISPATCHED);
  unspecified_state.add_states(v1::EVENT_STATE_UNSPECIFIED);
  EXPECT_THAT(List(unspecified_state).status().message(), HasSubstr("states[1]"));
  v1::ListEventsRequest unknown_level;
  unknown_level.add_levels(v1::LEVEL_GRID);
  unknown_level.add_levels(static_cast<v1::Level>(99));
  auto level = List(unknown_level);
  EXPECT_EQ(level.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(level.status().message(), HasSubstr("levels[1]"));

  v1::ListEventsRequest unknown_severity;
  unknown_severity.set_min_severity(static_cast<v1::Severity>(9));
  auto severity = List(unknown_severity);
  EXPECT_EQ(severity.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(severity.status().message(), "min_severity: 9 is not a severity");

  v1::ListEventsRequest invalid_time;
  invalid_time.mutable_reported_before()->set_nanos(-1);
  auto time = List(invalid_time);
  EXPECT_EQ(time.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(time.status().message(), HasSubstr("reported_before"));
}

TEST_F(QueriesTest, ATokenOnlyContinuesItsOwnList) {
  for (int i = 0; i < 4; ++i) {
    File("e", kGrid1, "0102", kT0 + i,
         At(v1::EVENT_STATE_DISPATCHED, v1::LEVEL_COMMUNITY, kCommunity1, kT0 - i * kMinute));
  }
  v1::ListEventsRequest request;
  request.set_page_size(1);
  request.set_category_prefix("01");
  auto first = List(request);
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string token = first->next_page_token();
  ASSERT_THAT(token, ::testing::Not(IsEmpty()));

  // Another page size is fine; other filters are not.
  request.set_page_token(token);
  request.set_page_size(2);
  auto second = List(request);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->events_size(), 2);

  request.set_category_prefix("0102");
  auto other = List(request);
  EXPECT_EQ(other.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(other.status().message(), HasSubstr("page_token"));

  for (const std::string& bad :
       std::vector<std::string>{"garbage!", "ZTF8eHx5fHo", token.substr(0, token.size() / 2)}) {
    v1::ListEventsRequest malformed;
    malformed.set_page_token(bad);
    auto status = List(malformed).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(status.message(), HasSubstr("page_token")) << bad;
  }

  // The tokens of the two lists do not mix.
  auto queue = Queue(kCommunity1, 1);
  ASSERT_TRUE(queue.ok()) << queue.status();
  v1::ListEventsRequest mixed;
  mixed.set_page_token(queue->next_page_token());
  EXPECT_EQ(List(mixed).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Queue(kCommunity1, 1, token).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(QueriesTest, RedisFailuresPassThrough) {
  ASSERT_TRUE(redis_.Stop().ok());
  EXPECT_EQ(Queue(kCommunity1).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Queue(kDepartment).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(List(v1::ListEventsRequest()).status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace grid::routing
