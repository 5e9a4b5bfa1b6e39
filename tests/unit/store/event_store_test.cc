// The event store's Lua scripts against a real redis-server.
#include "common/store/event_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <future>
#include <thread>

#include "common/redis/asio_client.h"
#include "common/redis/reply.h"
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
    return result.ok() ? result->outcome : CreateResult::Outcome::kExists;
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

  static v1::Event Located(v1::Event event) {
    event.set_id(NewEventId(kSd, 1'790'000'000'000));
    event.mutable_location()->set_lat(36.1133);
    event.mutable_location()->set_lng(120.4337);
    *event.mutable_reported_at() = event.created_at();
    return event;
  }

  absl::StatusOr<OpenNear> Near(const v1::Event& event, double radius) {
    return Wait<OpenNear>(
        [&](auto done) { store_->FindOpenNear(event, radius, redis::kNoDeadline, done); });
  }

  absl::StatusOr<CreateResult> File(const Filing& filing) {
    return Wait<CreateResult>([&](auto done) { store_->File(filing, redis::kNoDeadline, done); });
  }

  // `report` filed as a duplicate of `open` (read at version 1), decided on `near`.
  static Filing Merged(const v1::Event& report, const v1::Event& open, const OpenNear& near) {
    v1::Event duplicate = report;
    duplicate.set_state(v1::EVENT_STATE_VOIDED);
    duplicate.set_duplicate_of(open.id());
    Move merged;
    merged.event = open;
    merged.event.set_version(2);
    merged.event.set_duplicate_count(1);
    merged.change = Change(merged.event, v1::CHANGE_KIND_DUPLICATE_MERGED);
    merged.expected_version = 1;
    Filing filing = Decided(duplicate, near);
    filing.merge = merged;
    return filing;
  }

  // `report` filed new, decided on `near`.
  static Filing Decided(const v1::Event& report, const OpenNear& near) {
    Filing filing;
    filing.event = report;
    filing.change = Change(report, v1::CHANGE_KIND_REPORTED);
    filing.decided_on = near;
    return filing;
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
  EXPECT_EQ(again->outcome, CreateResult::Outcome::kExists);
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

TEST_F(EventStoreTest, AClientRequestIdIsReservedOnceForAnyGrid) {
  v1::Event first = Reported();
  first.set_reporter_id("W3702120010010101");
  first.set_client_request_id("app-42");
  auto made =
      Wait<Reservation>([&](auto done) { store_->Reserve(first, redis::kNoDeadline, done); });
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_TRUE(made->made);

  // A retry, with a new id and another subdistrict's grid: the first reservation answers.
  v1::Event retry = Reported();
  retry.set_id(NewEventId("370212004", 1'790'000'000'000));
  retry.set_subdistrict_id("370212004");
  retry.set_grid_id("37021200400101");
  retry.set_reporter_id("W3702120010010101");
  retry.set_client_request_id("app-42");
  auto seen =
      Wait<Reservation>([&](auto done) { store_->Reserve(retry, redis::kNoDeadline, done); });
  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_FALSE(seen->made);
  EXPECT_EQ(seen->event.id(), first.id());
  EXPECT_EQ(seen->event.grid_id(), first.grid_id());
  // Remembered for at least seven days, under a key of no subdistrict's slot.
  const std::string key = RequestKey("W3702120010010101", "app-42");
  EXPECT_EQ(key, "req:{W3702120010010101:app-42}");
  EXPECT_GE(Redis({"TTL", key}).integer, 7 * 24 * 3600);

  // The same request id from another reporter is another request.
  v1::Event other = Reported();
  other.set_reporter_id("W3702120010010201");
  other.set_client_request_id("app-42");
  EXPECT_TRUE(Wait<Reservation>([&](auto done) {
                store_->Reserve(other, redis::kNoDeadline, done);
              })->made);
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
  auto found = Near(probe, 100);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->ids, (std::vector<std::string>{near.id(), far.id()}));
  ASSERT_EQ(found->events.size(), 2u);
  EXPECT_EQ(found->events[0]->id(), near.id());
  EXPECT_EQ(found->events[1]->version(), 1);
  EXPECT_EQ(Near(probe, 10)->ids, std::vector<std::string>{near.id()});

  // Closing an event takes it out of the index.
  Move closed = Dispatch(near, 1);
  closed.event.set_state(v1::EVENT_STATE_VOIDED);
  closed.join_queue_unit.clear();
  closed.leave_open_index = true;
  ASSERT_TRUE(Wait<MoveResult>([&](auto done) { store_->Apply(closed, done); })->applied);
  EXPECT_EQ(Near(probe, 100)->ids, std::vector<std::string>{far.id()});
}

TEST_F(EventStoreTest, AMergeFilesTheDuplicateAndBumpsTheOpenEventTogether) {
  const v1::Event open = Located(Reported());
  ASSERT_EQ(Create(open), CreateResult::Outcome::kCreated);
  const v1::Event report = Located(Reported());
  auto near = Near(report, 100);
  ASSERT_TRUE(near.ok());
  ASSERT_EQ(near->ids, std::vector<std::string>{open.id()});

  auto result = File(Merged(report, open, *near));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outcome, CreateResult::Outcome::kCreated);
  EXPECT_EQ(Redis({"HGET", EventKey(kSd, open.id()), "version"}).str, "2");
  EXPECT_EQ(Redis({"LLEN", HistoryKey(kSd, open.id())}).integer, 2);
  EXPECT_EQ(Redis({"HGET", EventKey(kSd, report.id()), "state"}).str,
            std::to_string(v1::EVENT_STATE_VOIDED));
  EXPECT_EQ(Redis({"XLEN", RoutingStream(kSd)}).integer, 1) << "the duplicate is not routed";
  EXPECT_EQ(Near(report, 100)->ids, std::vector<std::string>{open.id()})
      << "a duplicate is not an open event of its own";
  // The backlog index ("<level>|<state>|<flagged>"): the open event once, the duplicate not.
  EXPECT_EQ(Redis({"HGET", BacklogPrefix(kSd) + "n", "0|1|0"}).str, "1");
  EXPECT_EQ(Redis({"HEXISTS", EventKey(kSd, report.id()), "bl"}).integer, 0);

  // A second merge decided on the same (now stale) read writes nothing.
  const v1::Event second = Located(Reported());
  auto stale = File(Merged(second, open, *near));
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ(stale->outcome, CreateResult::Outcome::kStale);
  EXPECT_EQ(Redis({"EXISTS", EventKey(kSd, second.id())}).integer, 0);
  EXPECT_EQ(Redis({"HGET", BacklogPrefix(kSd) + "n", "0|1|0"}).str, "1");
}

TEST_F(EventStoreTest, ACreateDecidedOnWhatNoLongerHoldsWritesNothing) {
  const v1::Event report = Located(Reported());
  auto nothing_near = Near(report, 100);
  ASSERT_TRUE(nothing_near.ok());
  ASSERT_TRUE(nothing_near->ids.empty());

  // Another report near it is filed first: "nothing near" is stale.
  const v1::Event other = Located(Reported());
  ASSERT_EQ(Create(other), CreateResult::Outcome::kCreated);
  auto stale = File(Decided(report, *nothing_near));
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ(stale->outcome, CreateResult::Outcome::kStale);
  EXPECT_EQ(Redis({"EXISTS", EventKey(kSd, report.id())}).integer, 0);

  // Decided on a read of that event, which then moves on: stale again.
  auto near = Near(report, 100);
  ASSERT_TRUE(near.ok());
  ASSERT_TRUE(
      Wait<MoveResult>([&](auto done) { store_->Apply(Dispatch(other, 1), done); })->applied);
  stale = File(Decided(report, *near));
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ(stale->outcome, CreateResult::Outcome::kStale);

  // Decided on what is there now: filed, and indexed among the open events.
  near = Near(report, 100);
  auto filed = File(Decided(report, *near));
  ASSERT_TRUE(filed.ok());
  EXPECT_EQ(filed->outcome, CreateResult::Outcome::kCreated);
  EXPECT_EQ(Near(report, 100)->ids.size(), 2u);
  // Filing the same id again, whatever the decision, is a no-op.
  Filing plain;
  plain.event = report;
  plain.change = Change(report, v1::CHANGE_KIND_REPORTED);
  auto again = File(plain);
  EXPECT_EQ(again->outcome, CreateResult::Outcome::kExists);
  EXPECT_EQ(Redis({"XLEN", RoutingStream(kSd)}).integer, 2);
}

TEST_F(EventStoreTest, AnErrorReplyIsAFailureNotAnEmptyAnswer) {
  const v1::Event event = Reported();
  // A key of the wrong type makes Redis answer WRONGTYPE.
  Redis({"SET", HistoryKey(kSd, event.id()), "not a list"});
  Redis({"SET", EventKey(kSd, event.id()), "not a hash"});
  auto history =
      Wait<std::vector<v1::EventChange>>([&](auto done) { store_->History(event.id(), done); });
  EXPECT_EQ(history.status().code(), absl::StatusCode::kInternal) << history.status();
  EXPECT_THAT(std::string(history.status().message()), ::testing::HasSubstr("WRONGTYPE"));
  auto got = Wait<std::optional<v1::Event>>([&](auto done) { store_->Get(event.id(), done); });
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInternal) << got.status();
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
  // Said so that a client knows what to do, and without Redis's address.
  EXPECT_THAT(std::string(got.status().message()),
              ::testing::StartsWith(std::string(redis::kStoreUnavailable)));
  EXPECT_THAT(std::string(got.status().message()),
              ::testing::Not(::testing::HasSubstr(std::to_string(redis_.port()))));
}

TEST_F(EventStoreTest, AFrozenRedisIsWaitedForUntilTheCallersDeadline) {
  ASSERT_TRUE(redis_.Signal(SIGSTOP).ok());
  const auto start = std::chrono::steady_clock::now();
  auto got = Wait<std::optional<v1::Event>>([&](auto done) {
    store_->Get(NewEventId(kSd, 1), start + std::chrono::milliseconds(300), done);
  });
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(redis_.Signal(SIGCONT).ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnavailable) << got.status();
  EXPECT_GE(elapsed, std::chrono::milliseconds(300));
  EXPECT_LT(elapsed, std::chrono::seconds(2));
}

}  // namespace
}  // namespace grid::store
