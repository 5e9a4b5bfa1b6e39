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
#include "tests/support/redis_server.h"

namespace grid::store {
namespace {

constexpr char kSd[] = "370212001";

class EventStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_.Start().ok()) << redis_.Log();
    thread_ = std::thread([this] { io_.run(); });
    redis::AsioClient::Options options;
    options.port = redis_.port();
    client_ = std::make_unique<redis::AsioClient>(io_, options);
    client_->Start();
    ASSERT_TRUE(client_->WaitConnected(std::chrono::seconds(5)).ok());
    store_ = std::make_unique<RedisEventStore>(*client_);
  }

  void TearDown() override {
    store_.reset();
    client_->Stop();
    guard_.reset();
    io_.stop();
    thread_.join();
  }

  // Runs an async store call and waits for its result.
  template <class T, class Call>
  absl::StatusOr<T> Wait(Call call) {
    std::promise<absl::StatusOr<T>> promise;
    call([&promise](absl::StatusOr<T> result) { promise.set_value(std::move(result)); });
    return promise.get_future().get();
  }

  redis::Reply Redis(std::vector<std::string> argv) {
    auto reply = redis::CommandSync(*client_, std::move(argv), std::chrono::seconds(2));
    EXPECT_TRUE(reply.ok()) << reply.status();
    return reply.ok() ? *reply : redis::Reply::Nil();
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

  testing::RedisServer redis_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_{
      io_.get_executor()};
  std::thread thread_;
  std::unique_ptr<redis::AsioClient> client_;
  std::unique_ptr<RedisEventStore> store_;
};

TEST_F(EventStoreTest, CreateFilesTheEventItsHistoryAndItsRoutingEntry) {
  const v1::Event event = Reported();
  auto created = Wait<bool>(
      [&](auto done) { store_->Create(event, Change(event, v1::CHANGE_KIND_REPORTED), done); });
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_TRUE(*created);

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
  ASSERT_TRUE(*Wait<bool>([&](auto done) { store_->Create(event, change, done); }));
  auto again = Wait<bool>([&](auto done) { store_->Create(event, change, done); });
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
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
  ASSERT_TRUE(*Wait<bool>(
      [&](auto done) { store_->Create(event, Change(event, v1::CHANGE_KIND_REPORTED), done); }));
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
  ASSERT_TRUE(*Wait<bool>(
      [&](auto done) { store_->Create(event, Change(event, v1::CHANGE_KIND_REPORTED), done); }));
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
