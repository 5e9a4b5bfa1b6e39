// DurableEventStore over a gmock store and a fake Durability: which answers wait for a replica
// (reservations, filings, events read for a replay), on which key, and what a failed wait
// becomes.
#include "common/store/durable_event_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "common/store/keys.h"

namespace grid::store {
namespace {

using ::testing::_;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::StrictMock;

class MockEventStore : public EventStore {
 public:
  MOCK_METHOD(void, Reserve, (const v1::Event&, redis::Deadline, Callback<Reservation>),
              (override));
  MOCK_METHOD(void, FindOpenNear, (const v1::Event&, double, redis::Deadline, Callback<OpenNear>),
              (override));
  MOCK_METHOD(void, File, (const Filing&, redis::Deadline, Callback<CreateResult>), (override));
  MOCK_METHOD(void, Get, (const std::string&, redis::Deadline, Callback<std::optional<v1::Event>>),
              (override));
  MOCK_METHOD(void, Apply, (const Move&, redis::Deadline, Callback<MoveResult>), (override));
  MOCK_METHOD(void, History,
              (const std::string&, redis::Deadline, Callback<std::vector<v1::EventChange>>),
              (override));
};

// Records the keys awaited and answers each with `answer`.
class FakeDurability final : public redis::Durability {
 public:
  void AwaitReplica(std::string key, redis::Deadline, redis::DurableCallback done) override {
    keys.push_back(std::move(key));
    done(answer);
  }
  std::vector<std::string> keys;
  absl::Status answer = absl::OkStatus();
};

class DurableEventStoreTest : public ::testing::Test {
 protected:
  DurableEventStoreTest() {
    event_.set_id("370212001-0001");
    event_.set_subdistrict_id("370212001");
    event_.set_reporter_id("w1");
    event_.set_client_request_id("r1");
  }

  StrictMock<MockEventStore> inner_;
  FakeDurability durability_;
  DurableEventStore store_{inner_, durability_};
  v1::Event event_;
};

TEST_F(DurableEventStoreTest, AReservationWaitsForItsRequestKey) {
  EXPECT_CALL(inner_, Reserve(_, _, _)).WillOnce([](const v1::Event& event, auto, auto done) {
    done(Reservation{.made = true, .event = event});
  });
  absl::StatusOr<Reservation> result;
  store_.Reserve(event_, redis::kNoDeadline, [&](auto r) { result = std::move(r); });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->made);
  EXPECT_THAT(durability_.keys, ElementsAre(RequestKey("w1", "r1")));
}

TEST_F(DurableEventStoreTest, AFailedWaitIsTheCallersUnavailable) {
  durability_.answer = absl::UnavailableError("no replica confirmed it");
  EXPECT_CALL(inner_, File(_, _, _)).WillOnce([](const Filing& filing, auto, auto done) {
    done(CreateResult{.outcome = CreateResult::Outcome::kCreated, .event_id = filing.event.id()});
  });
  Filing filing;
  filing.event = event_;
  absl::StatusOr<CreateResult> result;
  store_.File(filing, redis::kNoDeadline, [&](auto r) { result = std::move(r); });
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(durability_.keys, ElementsAre(EventKey("370212001", "370212001-0001")));
}

TEST_F(DurableEventStoreTest, AFilingFoundExistingWaitsTooAStaleOneDoesNot) {
  EXPECT_CALL(inner_, File(_, _, _))
      .WillOnce([](const Filing& filing, auto, auto done) {
        done(
            CreateResult{.outcome = CreateResult::Outcome::kExists, .event_id = filing.event.id()});
      })
      .WillOnce([](const Filing&, auto, auto done) {
        done(CreateResult{.outcome = CreateResult::Outcome::kStale, .event_id = ""});
      });
  Filing filing;
  filing.event = event_;
  absl::StatusOr<CreateResult> exists;
  store_.File(filing, redis::kNoDeadline, [&](auto r) { exists = std::move(r); });
  ASSERT_TRUE(exists.ok());
  EXPECT_EQ(exists->outcome, CreateResult::Outcome::kExists);
  EXPECT_EQ(durability_.keys.size(), 1u);
  absl::StatusOr<CreateResult> stale;
  store_.File(filing, redis::kNoDeadline, [&](auto r) { stale = std::move(r); });
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ(stale->outcome, CreateResult::Outcome::kStale);
  EXPECT_EQ(durability_.keys.size(), 1u) << "nothing written, nothing to wait for";
}

TEST_F(DurableEventStoreTest, AnEventReadForAReplayWaitsAMissingOneDoesNot) {
  EXPECT_CALL(inner_, Get(_, _, _))
      .WillOnce([this](const std::string&, auto, auto done) { done(std::optional(event_)); })
      .WillOnce([](const std::string&, auto, auto done) { done(std::optional<v1::Event>()); });
  absl::StatusOr<std::optional<v1::Event>> found;
  store_.Get(event_.id(), redis::kNoDeadline, [&](auto r) { found = std::move(r); });
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_THAT(durability_.keys, ElementsAre(EventKey("370212001", "370212001-0001")));
  absl::StatusOr<std::optional<v1::Event>> missing;
  store_.Get("370212001-0002", redis::kNoDeadline, [&](auto r) { missing = std::move(r); });
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  EXPECT_EQ(durability_.keys.size(), 1u);
}

TEST_F(DurableEventStoreTest, FailuresAndMovesPassThroughWithoutWaiting) {
  EXPECT_CALL(inner_, Reserve(_, _, _)).WillOnce([](const v1::Event&, auto, auto done) {
    done(absl::UnavailableError("down"));
  });
  EXPECT_CALL(inner_, Apply(_, _, _)).WillOnce([](const Move&, auto, auto done) {
    done(MoveResult{.applied = true, .version = 2});
  });
  absl::StatusOr<Reservation> reservation;
  store_.Reserve(event_, redis::kNoDeadline, [&](auto r) { reservation = std::move(r); });
  EXPECT_EQ(reservation.status().code(), absl::StatusCode::kUnavailable);
  absl::StatusOr<MoveResult> moved;
  store_.Apply(Move{}, redis::kNoDeadline, [&](auto r) { moved = std::move(r); });
  ASSERT_TRUE(moved.ok());
  EXPECT_TRUE(moved->applied);
  EXPECT_THAT(durability_.keys, IsEmpty());
}

}  // namespace
}  // namespace grid::store
