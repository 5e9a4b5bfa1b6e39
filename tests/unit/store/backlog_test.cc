// The backlog index (common/store/backlog.h) against a real redis-server: kept by the store's
// filings and moves, read in one call, and built for events filed before it existed.
#include "common/store/backlog.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "common/store/event_id.h"
#include "common/store/event_store.h"
#include "common/store/keys.h"
#include "tests/support/redis_test.h"

namespace grid::store {
namespace {

constexpr char kSd[] = "370212001";
constexpr Millis kT = 1'790'000'000'000;
constexpr Millis kLimit = 100'000;

class BacklogTest : public testing::RedisTest {
 protected:
  void SetUp() override {
    RedisTest::SetUp();
    if (HasFatalFailure()) {
      return;
    }
    store_ = std::make_unique<RedisEventStore>(*client_);
    backlog_ = std::make_unique<BacklogIndex>(*client_);
  }

  void TearDown() override {
    backlog_.reset();
    store_.reset();
    RedisTest::TearDown();
  }

  v1::Event File(int n) {
    v1::Event event;
    event.set_id(NewEventId(kSd, kT + n));
    event.set_subdistrict_id(kSd);
    event.set_grid_id("37021200100101");
    event.set_category("0102");
    event.set_state(v1::EVENT_STATE_REPORTED);
    event.set_version(1);
    event.set_level(v1::LEVEL_GRID);
    *event.mutable_created_at() = ToTimestamp(kT + n);
    v1::EventChange change;
    change.set_event_id(event.id());
    change.set_kind(v1::CHANGE_KIND_REPORTED);
    change.set_version(1);
    auto created =
        Wait<CreateResult>([&](auto done) { store_->Create(event, change, std::move(done)); });
    EXPECT_TRUE(created.ok() && created->outcome == CreateResult::Outcome::kCreated);
    return event;
  }

  // Moves `event` to `state` at `level`, with an accept clock of kLimit from kT while
  // DISPATCHED, and the overdue flag as given.
  v1::Event Move(const v1::Event& event, v1::EventState state, v1::Level level,
                 bool overdue = false) {
    store::Move move;
    move.event = event;
    move.event.set_state(state);
    move.event.set_level(level);
    move.event.set_overdue(overdue);
    move.event.set_version(event.version() + 1);
    v1::Deadlines* d = move.event.mutable_deadlines();
    *d->mutable_started_at() = ToTimestamp(kT);
    d->mutable_accept_limit()->set_seconds(kLimit / 1000);
    *d->mutable_accept_by() = ToTimestamp(kT + kLimit);
    move.change.set_event_id(event.id());
    move.change.set_version(move.event.version());
    move.expected_version = event.version();
    auto applied = Wait<MoveResult>([&](auto done) { store_->Apply(move, std::move(done)); });
    EXPECT_TRUE(applied.ok() && applied->applied) << applied.status();
    return move.event;
  }

  // The figures at `now`, by "<level>|<state>".
  std::map<std::string, BacklogRow> Figures(Millis now, bool* built = nullptr) {
    auto figures =
        Wait<BacklogFigures>([&](auto done) { backlog_->Figures(kSd, now, std::move(done)); });
    EXPECT_TRUE(figures.ok()) << figures.status();
    std::map<std::string, BacklogRow> rows;
    if (!figures.ok()) {
      return rows;
    }
    if (built != nullptr) {
      *built = figures->built;
    }
    for (const BacklogRow& row : figures->rows) {
      if (row.open != 0) {
        rows[std::to_string(row.level) + "|" + std::to_string(row.state)] = row;
      }
    }
    return rows;
  }

  absl::Status Build() {
    return Wait<bool>([&](auto done) {
             backlog_->Build(
                 kSd, [](const v1::Event&) { return Millis{0}; }, 2,
                 [done](absl::Status status) {
                   if (status.ok()) {
                     done(true);
                   } else {
                     done(status);
                   }
                 });
           })
        .status();
  }

  std::unique_ptr<RedisEventStore> store_;
  std::unique_ptr<BacklogIndex> backlog_;
};

const std::string kGridReported = "1|1";       // LEVEL_GRID, REPORTED
const std::string kGridDispatched = "1|2";     // LEVEL_GRID, DISPATCHED
const std::string kCommunityAccepted = "2|3";  // LEVEL_COMMUNITY, ACCEPTED

TEST(BacklogEntryTest, SaysStateLevelFlagAndWhenTheLightTurns) {
  v1::Event event;
  event.set_state(v1::EVENT_STATE_DISPATCHED);
  event.set_level(v1::LEVEL_COMMUNITY);
  event.mutable_deadlines()->mutable_accept_limit()->set_seconds(100);
  *event.mutable_deadlines()->mutable_accept_by() = ToTimestamp(kT + kLimit);
  // Wall-clock time unless told: a fifth of the limit before the deadline.
  EXPECT_EQ(BacklogEntry(event, 0),
            "2|2|0|" + std::to_string(kT + 80'000) + "|" + std::to_string(kT + kLimit + 1));
  event.set_overdue(true);
  EXPECT_EQ(BacklogEntry(event, kT + 5),
            "2|2|1|" + std::to_string(kT + 5) + "|" + std::to_string(kT + kLimit + 1));
  event.set_state(v1::EVENT_STATE_RESOLVED);  // no clock runs
  EXPECT_EQ(BacklogEntry(event, 0), "4|2|1|0|0");
  for (v1::EventState final_state :
       {v1::EVENT_STATE_CLOSED, v1::EVENT_STATE_VOIDED, v1::EVENT_STATE_CANCELLED}) {
    event.set_state(final_state);
    EXPECT_EQ(BacklogEntry(event, 0), "");
  }
}

TEST_F(BacklogTest, FilingsAndMovesKeepTheFiguresAndTheLightsFollowTheClock) {
  v1::Event a = File(1);
  v1::Event b = File(2);
  v1::Event c = File(3);
  auto rows = Figures(kT);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[kGridReported].open, 3);
  EXPECT_EQ(rows[kGridReported].green + rows[kGridReported].yellow + rows[kGridReported].red, 0)
      << "no clock runs while REPORTED: no light";

  a = Move(a, v1::EVENT_STATE_DISPATCHED, v1::LEVEL_GRID);
  b = Move(b, v1::EVENT_STATE_DISPATCHED, v1::LEVEL_GRID);
  rows = Figures(kT + 79'999);
  EXPECT_EQ(rows[kGridReported].open, 1);
  EXPECT_EQ(rows[kGridDispatched].open, 2);
  EXPECT_EQ(rows[kGridDispatched].green, 2);
  EXPECT_EQ(rows[kGridDispatched].overdue, 0);
  rows = Figures(kT + 80'000);
  EXPECT_EQ(rows[kGridDispatched].yellow, 2);
  EXPECT_EQ(rows[kGridDispatched].green, 0);
  rows = Figures(kT + kLimit + 1);
  EXPECT_EQ(rows[kGridDispatched].red, 2);
  EXPECT_EQ(rows[kGridDispatched].overdue, 2);

  // Flagged overdue (escalated for a missed limit) counts as overdue while green.
  b = Move(b, v1::EVENT_STATE_ACCEPTED, v1::LEVEL_COMMUNITY, /*overdue=*/true);
  rows = Figures(kT);
  EXPECT_EQ(rows[kGridDispatched].open, 1);
  EXPECT_EQ(rows[kCommunityAccepted].open, 1);
  EXPECT_EQ(rows[kCommunityAccepted].overdue, 1);

  // A final state leaves the backlog; the same entry twice changes nothing.
  a = Move(a, v1::EVENT_STATE_CLOSED, v1::LEVEL_GRID);
  c = Move(c, v1::EVENT_STATE_REPORTED, v1::LEVEL_GRID);
  rows = Figures(kT + kLimit + 1);
  EXPECT_EQ(rows.count(kGridDispatched), 0u);
  EXPECT_EQ(rows[kGridReported].open, 1);
  EXPECT_EQ(rows[kCommunityAccepted].open, 1);
  EXPECT_EQ(Redis({"HEXISTS", EventKey(kSd, a.id()), "bl"}).integer, 0);
  EXPECT_EQ(Redis({"ZCARD", BacklogPrefix(kSd) + "y:1|2"}).integer, 0)
      << "the closed event left the light's sorted sets";
}

TEST_F(BacklogTest, BuildIndexesTheEventsFiledBeforeTheIndexOnceAndNotTheClosedOnes) {
  std::vector<v1::Event> events;
  for (int i = 0; i < 7; ++i) {
    events.push_back(File(i));
  }
  events[0] = Move(events[0], v1::EVENT_STATE_DISPATCHED, v1::LEVEL_GRID);
  events[1] = Move(events[1], v1::EVENT_STATE_CLOSED, v1::LEVEL_GRID);
  // As an older version of the store left them: records without entries, and no index.
  for (const v1::Event& event : events) {
    Redis({"HDEL", EventKey(kSd, event.id()), "bl"});
  }
  for (const redis::Reply& key : Redis({"KEYS", BacklogPrefix(kSd) + "*"}).elements) {
    Redis({"DEL", key.str});
  }
  bool built = true;
  EXPECT_TRUE(Figures(kT, &built).empty());
  EXPECT_FALSE(built);

  // One moves before the build: its step indexes it, and the build leaves it.
  events[2] = Move(events[2], v1::EVENT_STATE_DISPATCHED, v1::LEVEL_GRID);
  ASSERT_TRUE(Build().ok());
  auto rows = Figures(kT + kLimit + 1, &built);
  EXPECT_TRUE(built);
  EXPECT_EQ(rows[kGridDispatched].open, 2);
  EXPECT_EQ(rows[kGridDispatched].red, 2);
  EXPECT_EQ(rows[kGridReported].open, 4) << "the closed one is not in the backlog";

  // Built once: a second build, and the moves after it, count nothing twice.
  ASSERT_TRUE(Build().ok());
  events[3] = Move(events[3], v1::EVENT_STATE_DISPATCHED, v1::LEVEL_GRID);
  events[0] = Move(events[0], v1::EVENT_STATE_CANCELLED, v1::LEVEL_GRID);
  rows = Figures(kT);
  EXPECT_EQ(rows[kGridDispatched].open, 2);
  EXPECT_EQ(rows[kGridDispatched].green, 2);
  EXPECT_EQ(rows[kGridReported].open, 3);
}

}  // namespace
}  // namespace grid::store
