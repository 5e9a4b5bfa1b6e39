// The event store's Lua scripts against a real redis-server.
#include "common/store/event_store.h"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <future>
#include <thread>

#include "common/redis/asio_client.h"
#include "common/store/event_id.h"
#include "common/store/keys.h"
#include "tests/support/redis_test.h"

namespace grid::store {
namespace {

constexpr char kSd[] = "370212001";

class EventStoreTest : public testing::RedisTest {
 protected:
  void SetUp() override {
    RedisTest::SetUp();
    if (HasFatalFailure()) {
      return;
    }
    store_ = std::make_unique<RedisEventStore>(*client_);
  }

  void TearDown() override {
    store_.reset();
    RedisTest::TearDown();
  }

  CreateResult::Outcome Create(const v1::Event& event) {
    auto result = Wait<CreateResult>(
        [&](auto done) { store_->Create(event, Change(event, v1::CHANGE_KIND_REPORTED), done); });
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? result->outcome : CreateResult::Outcome::kIdTaken;
  }

  static v1::Event Reported() {
    v1::Event event;
    event.set_id(NewEventId(kSd, 1'790'000'000'000));
    event.set_subdistrict_id(kSd);
    event.set_grid_id("37021200100101");
    event.set_category("0102");
    event.set_state(v1::EVENT_STATE_REPORTED);
    event.set_version(1);
    event.mutable_created_at()->set_seconds(1'790'000'000);
    return event;
  }

  static v1::EventChange Change(const v1::Event& event, v1::ChangeKind kind) {
    v1::EventChange change;
    change.set_event_id(event.id());
    change.set_kind(kind);
    change.set_version(event.version());
    return change;
  }

  static Move Dispatch(const v1::Event& event, std::int64_t expected) {
    Move move;
    move.event = event;
    move.event.set_state(v1::EVENT_STATE_DISPATCHED);
    move.event.set_unit_id("37021200100101");
    move.event.set_version(expected + 1);
    move.change = Change(move.event, v1::CHANGE_KIND_DISPATCHED);
    move.expected_version = expected;
    move.join_queue_unit = "37021200100101";
    move.join_queue_score = 1'790'000'600'000;
    return move;
  }

  std::unique_ptr<RedisEventStore> store_;
};

TEST_F(EventStoreTest, CreateFilesTheEventItsHistoryAndItsRoutingEntry) {
  const v1::Event event = Reported();
  auto created = Wait<CreateResult>(
      [&](auto done) { store_->Create(event, Change(event, v1::CHANGE_KIND_REPORTED), done); });
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->outcome, CreateResult::Outcome::kCreated);
  EXPECT_EQ(created->event_id, event.id());

  auto got = Wait<std::optional<v1::Event>>([&](auto done) { store_->Get(event.id(), done); });
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->id(), event.id());
  EXPECT_EQ((*got)->state(), v1::EVENT_STATE_REPORTED);

  EXPECT_EQ(Redis({"XLEN", RoutingStream(kSd)}).integer, 1);
  EXPECT_EQ(Redis({"XLEN", LiveStream(kSd)}).integer, 1);
  EXPECT_EQ(Redis({"ZCARD", EventsIndexKey(kSd)}).integer, 1);
  auto history =
      Wait<std::vector<v1::EventChange>>([&](auto done) { store_->History(event.id(), done); });
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ((*history)[0].kind(), v1::CHANGE_KIND_REPORTED);
}

TEST_F(EventStoreTest, CreatingAnExistingIdWritesNothing) {
  const v1::Event event = Reported();
  const v1::EventChange change = Change(event, v1::CHANGE_KIND_REPORTED);
  ASSERT_EQ(Wait<CreateResult>([&](auto done) { store_->Create(event, change, done); })->outcome,
            CreateResult::Outcome::kCreated);
  auto again = Wait<CreateResult>([&](auto done) { store_->Create(event, change, done); });
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->outcome, CreateResult::Outcome::kIdTaken);
  EXPECT_EQ(Redis({"XLEN", RoutingStream(kSd)}).integer, 1);
  EXPECT_EQ(Redis({"LLEN", HistoryKey(kSd, event.id())}).integer, 1);
}

TEST_F(EventStoreTest, GetOfAnUnknownEventIsEmptyAndOfAMalformedIdInvalid) {
  auto missing =
      Wait<std::optional<v1::Event>>([&](auto done) { store_->Get(NewEventId(kSd, 1), done); });
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  auto malformed = Wait<std::optional<v1::Event>>([&](auto done) { store_->Get("x", done); });
  EXPECT_EQ(malformed.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(EventStoreTest, ApplyMovesTheEventQueuesItAndAcknowledgesTheEntry) {
  const v1::Event event = Reported();
  ASSERT_EQ(Create(event), CreateResult::Outcome::kCreated);
  // Deliver the routing entry to a consumer, as the routing service would.
  Redis({"XGROUP", "CREATE", RoutingStream(kSd), std::string(kRoutingGroup), "0"});
  redis::Reply read = Redis({"XREADGROUP", "GROUP", std::string(kRoutingGroup), "c1", "STREAMS",
                             RoutingStream(kSd), ">"});
  const std::string entry = read.elements.at(0).elements.at(1).elements.at(0).elements.at(0).str;

  Move move = Dispatch(event, 1);
  move.ack_group = std::string(kRoutingGroup);
  move.ack_entry_id = entry;
  auto applied = Wait<MoveResult>([&](auto done) { store_->Apply(move, done); });
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_TRUE(applied->applied);
  EXPECT_EQ(applied->version, 2);

  EXPECT_EQ(Redis({"HGET", EventKey(kSd, event.id()), "version"}).str, "2");
  EXPECT_EQ(Redis({"ZSCORE", QueueKey(kSd, "37021200100101"), event.id()}).str, "1790000600000");
  EXPECT_EQ(
      Redis({"XPENDING", RoutingStream(kSd), std::string(kRoutingGroup)}).elements.at(0).integer, 0)
      << "the entry was acknowledged in the same step";
  EXPECT_EQ(Redis({"LLEN", HistoryKey(kSd, event.id())}).integer, 2);
  EXPECT_EQ(Redis({"XLEN", LiveStream(kSd)}).integer, 2);
}

TEST_F(EventStoreTest, ApplyOnAStaleVersionChangesNothing) {
  const v1::Event event = Reported();
  ASSERT_EQ(Create(event), CreateResult::Outcome::kCreated);
  ASSERT_TRUE(
      Wait<MoveResult>([&](auto done) { store_->Apply(Dispatch(event, 1), done); })->applied);
  // A second dispatcher that read version 1 loses.
  Move late = Dispatch(event, 1);
  late.join_queue_unit = "370212001001";
  auto result = Wait<MoveResult>([&](auto done) { store_->Apply(late, done); });
  ASSERT_TRUE(result.ok());
  EXPECT_FALSE(result->applied);
  EXPECT_EQ(result->version, 2);
  EXPECT_EQ(Redis({"LLEN", HistoryKey(kSd, event.id())}).integer, 2);
  EXPECT_EQ(Redis({"ZCARD", QueueKey(kSd, "370212001001")}).integer, 0);
}

TEST_F(EventStoreTest, ApplyOnAMissingEventIsNotFound) {
  auto result = Wait<MoveResult>([&](auto done) { store_->Apply(Dispatch(Reported(), 1), done); });
  EXPECT_EQ(result.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(EventStoreTest, ARepeatedRequestIdFilesNothingAndAnswersTheFirstEvent) {
  v1::Event first = Reported();
  first.set_reporter_id("W3702120010010101");
  first.set_client_request_id("app-42");
  ASSERT_EQ(Create(first), CreateResult::Outcome::kCreated);
  v1::Event retry = Reported();  // a new id, as intake would give a retried report
  retry.set_reporter_id("W3702120010010101");
  retry.set_client_request_id("app-42");
  auto replay = Wait<CreateResult>(
      [&](auto done) { store_->Create(retry, Change(retry, v1::CHANGE_KIND_REPORTED), done); });
  ASSERT_TRUE(replay.ok());
  EXPECT_EQ(replay->outcome, CreateResult::Outcome::kReplayed);
  EXPECT_EQ(replay->event_id, first.id());
  EXPECT_EQ(Redis({"EXISTS", EventKey(kSd, retry.id())}).integer, 0);
  EXPECT_EQ(Redis({"XLEN", RoutingStream(kSd)}).integer, 1);
  // Remembered for at least seven days.
  EXPECT_GE(Redis({"TTL", RequestKey(kSd, "W3702120010010101", "app-42")}).integer, 7 * 24 * 3600);
  auto found = Wait<std::optional<std::string>>(
      [&](auto done) { store_->FindRequest(kSd, "W3702120010010101", "app-42", done); });
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->value_or(""), first.id());
  // The same request id from another reporter is another request.
  v1::Event other = Reported();
  other.set_reporter_id("W3702120010010201");
  other.set_client_request_id("app-42");
  EXPECT_EQ(Create(other), CreateResult::Outcome::kCreated);
}

TEST_F(EventStoreTest, OpenEventsAreFoundNearestFirstUntilTheyClose) {
  v1::Event near = Reported();
  near.mutable_location()->set_lat(36.1133);
  near.mutable_location()->set_lng(120.4337);
  v1::Event far = Reported();
  far.mutable_location()->set_lat(36.1140);  // about 80 m north
  far.mutable_location()->set_lng(120.4337);
  ASSERT_EQ(Create(far), CreateResult::Outcome::kCreated);
  ASSERT_EQ(Create(near), CreateResult::Outcome::kCreated);
  v1::Event probe = Reported();
  probe.mutable_location()->set_lat(36.11331);
  probe.mutable_location()->set_lng(120.43371);
  auto ids =
      Wait<std::vector<std::string>>([&](auto done) { store_->FindOpenNear(probe, 100, done); });
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<std::string>{near.id(), far.id()}));
  auto within_ten =
      Wait<std::vector<std::string>>([&](auto done) { store_->FindOpenNear(probe, 10, done); });
  EXPECT_EQ(*within_ten, std::vector<std::string>{near.id()});

  // Closing an event takes it out of the index.
  Move closed = Dispatch(near, 1);
  closed.event.set_state(v1::EVENT_STATE_VOIDED);
  closed.join_queue_unit.clear();
  closed.leave_open_index = true;
  ASSERT_TRUE(Wait<MoveResult>([&](auto done) { store_->Apply(closed, done); })->applied);
  ids = Wait<std::vector<std::string>>([&](auto done) { store_->FindOpenNear(probe, 100, done); });
  EXPECT_EQ(*ids, std::vector<std::string>{far.id()});
}

TEST_F(EventStoreTest, MergeDuplicateFilesTheReportAndBumpsTheOpenEventTogether) {
  const v1::Event open = Reported();
  ASSERT_EQ(Create(open), CreateResult::Outcome::kCreated);
  v1::Event duplicate = Reported();
  duplicate.set_state(v1::EVENT_STATE_VOIDED);
  duplicate.set_duplicate_of(open.id());
  Move merged;
  merged.event = open;
  merged.event.set_version(2);
  merged.event.set_duplicate_count(1);
  merged.change = Change(merged.event, v1::CHANGE_KIND_DUPLICATE_MERGED);
  merged.expected_version = 1;
  auto result = Wait<CreateResult>([&](auto done) {
    store_->MergeDuplicate(duplicate, Change(duplicate, v1::CHANGE_KIND_REPORTED), merged, done);
  });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outcome, CreateResult::Outcome::kCreated);
  EXPECT_EQ(Redis({"HGET", EventKey(kSd, open.id()), "version"}).str, "2");
  EXPECT_EQ(Redis({"LLEN", HistoryKey(kSd, open.id())}).integer, 2);
  EXPECT_EQ(Redis({"HGET", EventKey(kSd, duplicate.id()), "state"}).str,
            std::to_string(v1::EVENT_STATE_VOIDED));
  EXPECT_EQ(Redis({"XLEN", RoutingStream(kSd)}).integer, 1) << "the duplicate is not routed";

  // A merge decided on a stale version of the open event writes nothing.
  v1::Event second = Reported();
  second.set_state(v1::EVENT_STATE_VOIDED);
  second.set_duplicate_of(open.id());
  auto stale = Wait<CreateResult>([&](auto done) {
    store_->MergeDuplicate(second, Change(second, v1::CHANGE_KIND_REPORTED), merged, done);
  });
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ(stale->outcome, CreateResult::Outcome::kOpenEventMoved);
  EXPECT_EQ(Redis({"EXISTS", EventKey(kSd, second.id())}).integer, 0);
}

TEST_F(EventStoreTest, AReturnCountsAgainstTheReturningUnit) {
  const v1::Event event = Reported();
  ASSERT_EQ(Create(event), CreateResult::Outcome::kCreated);
  Move move = Dispatch(event, 1);
  move.count_return_unit = "37021200100101";
  ASSERT_TRUE(Wait<MoveResult>([&](auto done) { store_->Apply(move, done); })->applied);
  EXPECT_EQ(Redis({"HGET", ReturnCountsKey(kSd), "37021200100101"}).str, "1");
}

TEST_F(EventStoreTest, CallsWhileRedisIsDownFailFastWithUnavailable) {
  ASSERT_TRUE(redis_.Stop().ok());
  const auto start = std::chrono::steady_clock::now();
  auto got =
      Wait<std::optional<v1::Event>>([&](auto done) { store_->Get(NewEventId(kSd, 1), done); });
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

}  // namespace
}  // namespace grid::store
