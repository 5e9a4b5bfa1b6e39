// ChangeRecorder, StatsReader and Rederiver against a real redis-server, over a known scenario
// (scenario.h) whose events' histories are in Redis as the event store keeps them. The live
// stream is replayed in order, then shuffled, with entries left pending by a dead reader and
// reclaimed later, delivered twice, and handled concurrently: GetStats and the Prometheus
// figures must come out the same every time.
#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/store/keys.h"
#include "common/store/stream_consumer.h"
#include "services/metrics/change_recorder.h"
#include "services/metrics/metrics_keys.h"
#include "services/metrics/rederive.h"
#include "services/metrics/stats_reader.h"
#include "tests/support/metrics_scenario.h"
#include "tests/support/poll.h"
#include "tests/support/redis_test.h"
#include "tests/support/shipped_config.h"

namespace grid::metrics {
namespace {

using google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;
using testing::kSubdistrict;
using ::testing::UnorderedElementsAre;

const LocalDays kBeijing(480);

// The requests whose answers must not depend on the order of delivery.
std::vector<v1::GetStatsRequest> Requests() {
  std::vector<v1::GetStatsRequest> requests(6);
  requests[1].add_group_by(v1::STATS_DIMENSION_LEVEL);
  requests[2].set_unit_id(kSubdistrict);
  requests[2].add_group_by(v1::STATS_DIMENSION_UNIT);
  requests[2].add_group_by(v1::STATS_DIMENSION_SEVERITY);
  requests[3].set_first_day(testing::kDec1);
  requests[3].set_last_day(testing::kDec1);
  requests[3].add_group_by(v1::STATS_DIMENSION_LEVEL);
  requests[4].set_first_day(testing::kDec2);
  requests[5].set_unit_id(testing::kCommunity);
  return requests;
}

// The exposition's lines sorted: the order of series within a family is not part of the figures.
std::string SortedLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const std::string& line : lines) {
    out.append(line).append("\n");
  }
  return out;
}

// Everything one run of the recorder produced.
struct Outcome {
  std::vector<v1::GetStatsResponse> stats;
  std::string prometheus;
  std::set<std::string> open;
};

class RecorderTest : public grid::testing::RedisTest {
 protected:
  void SetUp() override {
    RedisTest::SetUp();
    if (HasFatalFailure()) {
      return;
    }
    events_ = testing::Scenario();
    for (std::vector<std::string>& command : testing::RecordCommands(events_)) {
      Redis(std::move(command));
    }
    MarkRederived();
  }

  // Every subdistrict counts as re-derived (no legacy rollups in these tests).
  void MarkRederived() {
    for (const std::string& sd : grid::testing::ShippedTopology().subdistrict_ids()) {
      Redis({"SET", RederivedKey(sd), "1"});
    }
  }

  std::vector<v1::EventChange> AllChanges() const {
    std::vector<v1::EventChange> changes;
    for (const auto& event : events_) {
      changes.insert(changes.end(), event.history.begin(), event.history.end());
    }
    return changes;
  }

  // A fresh live stream holding `changes` in that order, and a fresh metrics group on it; no
  // metrics keys but the re-derivation marks.
  void Restream(const std::vector<v1::EventChange>& changes) {
    const std::string live = store::LiveStream(kSubdistrict);
    Redis({"DEL", live});
    auto keys = Redis({"KEYS", "{" + std::string(kSubdistrict) + "}:mx2:*"});
    for (const redis::Reply& key : keys.elements) {
      if (key.str != RederivedKey(kSubdistrict)) {
        Redis({"DEL", key.str});
      }
    }
    for (const v1::EventChange& change : changes) {
      Redis({"XADD", live, "*", "c", change.SerializeAsString()});
    }
    Redis({"XGROUP", "CREATE", live, std::string(kMetricsGroup), "0"});
  }

  std::vector<store::StreamEntry> ReadGroup(const std::string& consumer, int count) {
    return store::ParseStreamReply(
        Redis({"XREADGROUP", "GROUP", std::string(kMetricsGroup), consumer, "COUNT",
               std::to_string(count), "STREAMS", store::LiveStream(kSubdistrict), ">"}));
  }

  // What XAUTOCLAIM hands `consumer` of every entry pending elsewhere.
  std::vector<store::StreamEntry> Reclaim(const std::string& consumer) {
    const redis::Reply reply =
        Redis({"XAUTOCLAIM", store::LiveStream(kSubdistrict), std::string(kMetricsGroup), consumer,
               "0", "0-0", "COUNT", "1000"});
    if (!reply.IsArray() || reply.elements.size() < 2) {
      ADD_FAILURE() << reply.DebugString();
      return {};
    }
    return store::ParseStreamReply(redis::Reply::Array({redis::Reply::Array(
        {redis::Reply::String(store::LiveStream(kSubdistrict)), reply.elements[1]})}));
  }

  // Hands every entry to the recorder at once (as StreamConsumer does with a batch) and waits;
  // the outcomes, in entry order.
  std::vector<store::Outcome> HandleAll(ChangeRecorder& recorder,
                                        const std::vector<store::StreamEntry>& entries) {
    std::vector<std::promise<store::Outcome>> promises(entries.size());
    for (size_t i = 0; i < entries.size(); ++i) {
      recorder.Handle(entries[i], [&promises, i](store::Verdict verdict) {
        promises[i].set_value(verdict.outcome);
      });
    }
    std::vector<store::Outcome> outcomes;
    for (auto& promise : promises) {
      outcomes.push_back(promise.get_future().get());
    }
    return outcomes;
  }

  Outcome Collect(prometheus::Registry& registry, Millis now) {
    Outcome outcome;
    FakeClock clock(now);
    StatsReader reader(*client_, grid::testing::ShippedTopology(), grid::testing::ShippedPolicy(),
                       clock);
    for (const v1::GetStatsRequest& request : Requests()) {
      auto stats =
          Wait<v1::GetStatsResponse>([&](auto done) { reader.GetStats(request, std::move(done)); });
      EXPECT_TRUE(stats.ok()) << stats.status();
      outcome.stats.push_back(stats.ok() ? *stats : v1::GetStatsResponse());
    }
    outcome.prometheus = SortedLines(prometheus::TextSerializer().Serialize(registry.Collect()));
    for (const redis::Reply& id : Redis({"HKEYS", OpenEventsKey(kSubdistrict)}).elements) {
      outcome.open.insert(id.str);
    }
    return outcome;
  }

  static void ExpectSame(const Outcome& got, const Outcome& want, const std::string& run) {
    ASSERT_EQ(got.stats.size(), want.stats.size());
    for (size_t i = 0; i < want.stats.size(); ++i) {
      EXPECT_TRUE(MessageDifferencer::Equals(got.stats[i], want.stats[i]))
          << run << ", request " << i << ":\n got " << got.stats[i].ShortDebugString() << "\nwant "
          << want.stats[i].ShortDebugString();
    }
    EXPECT_EQ(got.prometheus, want.prometheus) << run;
    EXPECT_EQ(got.open, want.open) << run;
  }

  // The scenario counted in order, one entry after the other.
  Outcome InOrder() {
    prometheus::Registry registry;
    ResponseMetrics metrics(registry);
    ChangeRecorder recorder(*client_, grid::testing::ShippedTopology(), kBeijing, metrics);
    Restream(testing::ChangesInOrder(events_));
    for (const store::StreamEntry& entry : ReadGroup("reader", 1000)) {
      EXPECT_THAT(HandleAll(recorder, {entry}), ::testing::ElementsAre(store::Outcome::kAcked));
    }
    return Collect(registry, kNow);
  }

  // 2026-12-02 10:00 Beijing time.
  static constexpr Millis kNow = testing::kT0 + (24 * 60 + 130) * testing::kMinute;
  std::vector<testing::ScenarioEvent> events_;
};

TEST_F(RecorderTest, CountsTheScenarioAsTheFieldScoresIt) {
  const Outcome outcome = InOrder();
  ASSERT_EQ(outcome.stats[0].rows_size(), 1);
  const v1::StatsRow& row = outcome.stats[0].rows(0);
  EXPECT_EQ(row.reported(), 8);
  EXPECT_EQ(row.duplicates(), 1);
  EXPECT_EQ(row.closed(), 3);
  EXPECT_EQ(row.closed_on_time(), 1) << "E2 breached its accept limit, E3 was suspended";
  EXPECT_EQ(row.due(), 4);
  EXPECT_EQ(row.deferred(), 1);
  EXPECT_EQ(row.reworked(), 1);
  EXPECT_EQ(row.returned(), 1);
  EXPECT_EQ(row.escalated(), 3);
  EXPECT_EQ(row.redispatched(), 1);
  EXPECT_EQ(row.open(), 3);
  EXPECT_EQ(row.overdue(), 1);
  EXPECT_DOUBLE_EQ(row.on_time_closure_rate(), 1.0 / 3.0);
  // Response times (scenario.h): 4 acceptances in 12 min, 3 closures in 27 min.
  EXPECT_EQ(row.accepted(), 4);
  EXPECT_DOUBLE_EQ(row.accept_seconds_sum(), 720);
  EXPECT_DOUBLE_EQ(row.accept_seconds_mean(), 180);
  EXPECT_EQ(row.closed_timed(), 3);
  EXPECT_DOUBLE_EQ(row.close_seconds_sum(), 1620);
  EXPECT_DOUBLE_EQ(row.close_seconds_mean(), 540);
  std::map<std::string, v1::StatsRow> by_level;
  for (const v1::StatsRow& level_row : outcome.stats[1].rows()) {
    by_level[level_row.group().at("level")] = level_row;
  }
  EXPECT_EQ(by_level["grid"].accepted(), 1);
  EXPECT_DOUBLE_EQ(by_level["grid"].accept_seconds_sum(), 60);
  EXPECT_DOUBLE_EQ(by_level["grid"].close_seconds_mean(), 120);
  EXPECT_EQ(by_level["community"].accepted(), 3);
  EXPECT_DOUBLE_EQ(by_level["community"].accept_seconds_sum(), 660);
  EXPECT_DOUBLE_EQ(by_level["community"].accept_seconds_mean(), 220);
  EXPECT_EQ(by_level["community"].closed_timed(), 2);
  EXPECT_DOUBLE_EQ(by_level["community"].close_seconds_sum(), 1500);
  EXPECT_THAT(outcome.open, UnorderedElementsAre("370212001-E4", "370212001-E7", "370212001-E8"));
  EXPECT_THAT(outcome.prometheus,
              HasSubstr("grid_events_closed_total{level=\"grid\",on_time=\"true\","
                        "subdistrict=\"370212001\"} 1"));
  EXPECT_THAT(outcome.prometheus,
              HasSubstr("grid_events_closed_total{level=\"community\",on_time=\"false\","
                        "subdistrict=\"370212001\"} 2"));
  EXPECT_THAT(outcome.prometheus, HasSubstr("grid_event_dispatch_seconds_count{level=\"grid\","
                                            "severity=\"normal\",subdistrict=\"370212001\"} 5"))
      << "the first dispatch of E1, E2, E3, E4 and E7 (E6 is of high severity)";
}

// Beijing days: 07:59 and 08:01 are one day (they were two UTC days), 23:59 and 00:01 are two.
TEST_F(RecorderTest, DaysAreBeijingDays) {
  const Outcome outcome = InOrder();
  const v1::GetStatsResponse& dec1 = outcome.stats[3];
  EXPECT_EQ(dec1.first_day(), "2026-12-01");
  EXPECT_EQ(dec1.last_day(), "2026-12-01");
  EXPECT_EQ(dec1.today(), "2026-12-02");
  EXPECT_EQ(dec1.utc_offset_minutes(), 480);
  Counts day1;
  for (const v1::StatsRow& row : dec1.rows()) {
    day1.reported += row.reported();
    day1.closed += row.closed();
    day1.closed_on_time += row.closed_on_time();
  }
  EXPECT_EQ(day1.reported, 7) << "07:59 to 23:59";
  EXPECT_EQ(day1.closed, 3);
  EXPECT_EQ(day1.closed_on_time, 1) << "E1, reported 07:59 and closed 08:01, on the same day";
  const v1::GetStatsResponse& dec2 = outcome.stats[4];
  ASSERT_EQ(dec2.rows_size(), 1);
  EXPECT_EQ(dec2.rows(0).reported(), 1) << "00:01";
  EXPECT_EQ(dec2.rows(0).closed(), 0);

  const std::vector<std::string> days = [&] {
    std::vector<std::string> names;
    for (const auto& day : Redis({"ZRANGE", RollupDaysKey(kSubdistrict), "0", "-1"}).elements) {
      names.push_back(day.str);
    }
    return names;
  }();
  EXPECT_THAT(days, ::testing::ElementsAre("20261201", "20261202"))
      << "no rollup of 2026-11-30, where UTC days put 07:50 to 07:59";
}

TEST_F(RecorderTest, AnyOrderOfDeliveryGivesTheSameFigures) {
  const Outcome want = InOrder();
  std::mt19937 random(20261201);
  for (int run = 0; run < 12; ++run) {
    const std::string name = "run " + std::to_string(run);
    prometheus::Registry registry;
    ResponseMetrics metrics(registry);
    ChangeRecorder recorder(*client_, grid::testing::ShippedTopology(), kBeijing, metrics);
    // Shuffled, and some changes twice in the stream (a producer's retry).
    std::vector<v1::EventChange> changes = AllChanges();
    for (int i = 0; i < 5; ++i) {
      changes.push_back(changes[random() % changes.size()]);
    }
    std::shuffle(changes.begin(), changes.end(), random);
    Restream(changes);
    // A reader takes the first third and dies; another handles the rest, a batch at a time,
    // each batch concurrently.
    const auto dead = ReadGroup("dead", static_cast<int>(changes.size() / 3));
    ASSERT_FALSE(dead.empty());
    for (;;) {
      const auto batch = ReadGroup("alive", 7);
      if (batch.empty()) {
        break;
      }
      for (store::Outcome outcome : HandleAll(recorder, batch)) {
        EXPECT_EQ(outcome, store::Outcome::kAcked) << name;
      }
    }
    // The dead reader's entries are reclaimed and handled, some of them twice at once
    // (at-least-once: a reclaim racing a slow first delivery).
    auto reclaimed = Reclaim("alive");
    ASSERT_EQ(reclaimed.size(), dead.size()) << name;
    std::shuffle(reclaimed.begin(), reclaimed.end(), random);
    reclaimed.insert(reclaimed.end(), reclaimed.begin(), reclaimed.begin() + 3);
    HandleAll(recorder, reclaimed);
    // And the dead reader comes back and finishes what it had: nothing more is counted.
    HandleAll(recorder, dead);
    EXPECT_EQ(Redis({"XPENDING", store::LiveStream(kSubdistrict), std::string(kMetricsGroup)})
                  .elements[0]
                  .integer,
              0)
        << name;
    ExpectSame(Collect(registry, kNow), want, name);
  }
}

// The example: a closed event's ESCALATED reclaimed after its VERIFIED neither makes the
// closure on time nor puts the event back into the open backlog.
TEST_F(RecorderTest, AnEscalationReclaimedAfterTheClosureChangesNothing) {
  const Outcome want = InOrder();
  prometheus::Registry registry;
  ResponseMetrics metrics(registry);
  ChangeRecorder recorder(*client_, grid::testing::ShippedTopology(), kBeijing, metrics);
  std::vector<v1::EventChange> changes = AllChanges();
  // E2's ESCALATED (version 3) goes last.
  const auto escalated =
      std::find_if(changes.begin(), changes.end(), [](const v1::EventChange& change) {
        return change.event_id() == "370212001-E2" && change.kind() == v1::CHANGE_KIND_ESCALATED;
      });
  ASSERT_NE(escalated, changes.end());
  std::rotate(escalated, escalated + 1, changes.end());
  Restream(changes);
  const auto all = ReadGroup("alive", 1000);
  ASSERT_EQ(all.size(), changes.size());
  HandleAll(recorder, {all.begin(), all.end() - 1});
  EXPECT_THAT(HandleAll(recorder, {all.back()}), ::testing::ElementsAre(store::Outcome::kAcked));
  const Outcome got = Collect(registry, kNow);
  EXPECT_EQ(got.stats[0].rows(0).closed_on_time(), 1);
  EXPECT_EQ(got.open.count("370212001-E2"), 0u);
  ExpectSame(got, want, "escalation last");
}

// The record is the truth for the backlog: an open-backlog entry of a closed event (left by an
// older step delivered for the first time after the event's bookkeeping expired) is not counted,
// and goes.
TEST_F(RecorderTest, TheOpenBacklogTakesOnlyEventsWhoseRecordIsOpen) {
  InOrder();
  Redis({"HSET", OpenEventsKey(kSubdistrict), "370212001-E2", "2"});
  prometheus::Registry registry;
  const Outcome outcome = Collect(registry, kNow);
  EXPECT_EQ(outcome.stats[0].rows(0).open(), 3);
  EXPECT_TRUE(grid::testing::PollUntil(
      [&] {
        return Redis({"HEXISTS", OpenEventsKey(kSubdistrict), "370212001-E2"}).integer == 0;
      },
      std::chrono::seconds(5)));
}

// More open events in a subdistrict than the Redis client lets wait for replies at once (20,000):
// GetStats reads their records a chunk at a time, and counts them all.
TEST_F(RecorderTest, TheOpenBacklogIsReadInChunksPastTheClientsPendingLimit) {
  constexpr int kOpen = 25'000;
  v1::Event event;
  event.set_subdistrict_id(kSubdistrict);
  event.set_state(v1::EVENT_STATE_DISPATCHED);
  event.set_level(v1::LEVEL_GRID);
  // One script writes them all: the test's own client would meet the same limit.
  Redis({"EVAL",
         "for i = 1, tonumber(ARGV[1]) do local id = 'E' .. i; "
         "redis.call('HSET', ARGV[2] .. id, 'pb', ARGV[3], 'state', '2'); "
         "redis.call('HSET', KEYS[1], id, '2') end return 1",
         "1", OpenEventsKey(kSubdistrict), std::to_string(kOpen),
         store::EventKeyPrefix(kSubdistrict), event.SerializeAsString()});
  FakeClock clock(kNow);
  StatsReader reader(*client_, grid::testing::ShippedTopology(), grid::testing::ShippedPolicy(),
                     clock);
  auto open = Wait<std::vector<OpenEvent>>(
      [&](auto done) { reader.OpenEvents({kSubdistrict}, std::move(done)); });
  ASSERT_TRUE(open.ok()) << open.status();
  EXPECT_EQ(open->size(), static_cast<size_t>(kOpen));
}

// "Today" is the Beijing day at the service's clock: at 07:59 and at 08:01 alike, which used to
// be two different UTC days.
TEST_F(RecorderTest, TodayIsTheBeijingDayAtTheServicesClock) {
  InOrder();
  auto today_at = [&](Millis now) {
    FakeClock clock(now);
    StatsReader reader(*client_, grid::testing::ShippedTopology(), grid::testing::ShippedPolicy(),
                       clock);
    v1::GetStatsRequest request;
    request.set_last_days(1);
    auto stats =
        Wait<v1::GetStatsResponse>([&](auto done) { reader.GetStats(request, std::move(done)); });
    EXPECT_TRUE(stats.ok()) << stats.status();
    return stats.ok() ? *stats : v1::GetStatsResponse();
  };
  using testing::At;
  constexpr double kDay = 24 * 60;
  // 2026-12-02 07:59 and 08:01 Beijing time: the same day, with E8 (00:01) in it.
  for (double minute : {kDay + 9, kDay + 11}) {
    const v1::GetStatsResponse stats = today_at(At(minute));
    EXPECT_EQ(stats.today(), testing::kDec2) << minute;
    EXPECT_EQ(stats.first_day(), testing::kDec2);
    EXPECT_EQ(stats.last_day(), testing::kDec2);
    EXPECT_EQ(stats.rows(0).reported(), 1) << minute;
    EXPECT_EQ(stats.rows(0).open(), 3) << "the backlog is now, whatever the window";
  }
  // 2026-12-01 23:59: the day before, with everything else.
  const v1::GetStatsResponse late = today_at(At(969));
  EXPECT_EQ(late.today(), testing::kDec1);
  EXPECT_EQ(late.rows(0).reported(), 7);
  EXPECT_EQ(late.rows(0).closed(), 3);
  // 2026-12-01 07:59: already 2026-12-01 in Beijing (2026-11-30 in UTC).
  const v1::GetStatsResponse early = today_at(At(9));
  EXPECT_EQ(early.today(), testing::kDec1);
  EXPECT_EQ(early.rows(0).reported(), 7) << "the clock is only the window's anchor";
}

TEST_F(RecorderTest, TodaysTotalsFeedTheTodayGauges) {
  InOrder();
  FakeClock clock(testing::At(24 * 60 + 11));  // 2026-12-02 08:01.
  StatsReader reader(*client_, grid::testing::ShippedTopology(), grid::testing::ShippedPolicy(),
                     clock);
  auto totals = Wait<std::vector<DayTotals>>([&](auto done) {
    reader.TodayTotals({kSubdistrict, "370212002"}, std::move(done));
  });
  ASSERT_TRUE(totals.ok()) << totals.status();
  ASSERT_EQ(totals->size(), 2u);
  EXPECT_EQ((*totals)[0].subdistrict, kSubdistrict);
  EXPECT_EQ(DateName((*totals)[0].day), testing::kDec2);
  EXPECT_EQ(kBeijing.StartOf((*totals)[0].day), testing::At(970)) << "00:00 Beijing time";
  EXPECT_EQ((*totals)[0].counts.reported, 1);
  EXPECT_EQ((*totals)[1].counts.reported, 0);
}

// Upgrading in place: rollups of UTC days ("mx" keys) are replaced by local-day rollups
// re-derived from the event records, while the live consumer counts the entries the old version
// left pending, and while a second replica re-derives the same subdistrict; nothing is counted
// twice or lost, and the old keys go.
TEST_F(RecorderTest, AnUpgradeRederivesTheRollupsFromTheEventRecords) {
  const Outcome want = InOrder();

  // What the old version left: its UTC-day rollups and bookkeeping, and a live stream it read to
  // the end but acknowledged only up to the last five entries (its reader died).
  const std::vector<v1::EventChange> changes = testing::ChangesInOrder(events_);
  Restream(changes);
  Redis({"DEL", RederivedKey(kSubdistrict)});
  const std::string sd = kSubdistrict;
  Redis({"HSET", legacy::DayRollupKey(sd, "20261130"), "37021200100101|04|2|rep", "4"});
  Redis({"HSET", legacy::DayRollupKey(sd, "20261201"), "37021200100101|04|2|rep", "4"});
  Redis({"ZADD", legacy::RollupDaysKey(sd), "20787", "20261130", "20788", "20261201"});
  Redis({"HSET", legacy::OpenEventsKey(sd), "370212001-E2", "2"});
  for (const auto& event : events_) {
    Redis({"HSET", legacy::EventStateKey(sd, event.record.id()), "dc", "1"});
  }
  const auto read = ReadGroup("old", 1000);
  ASSERT_EQ(read.size(), changes.size());
  for (size_t i = 0; i + 5 < read.size(); ++i) {
    Redis({"XACK", store::LiveStream(sd), std::string(kMetricsGroup), read[i].id});
  }

  prometheus::Registry registry;
  ResponseMetrics metrics(registry);
  ChangeRecorder recorder(*client_, grid::testing::ShippedTopology(), kBeijing, metrics);
  FakeClock clock(kNow);
  {
    StatsReader reader(*client_, grid::testing::ShippedTopology(), grid::testing::ShippedPolicy(),
                       clock);
    auto before = Wait<v1::GetStatsResponse>(
        [&](auto done) { reader.GetStats(v1::GetStatsRequest(), std::move(done)); });
    EXPECT_EQ(before.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(before.status().message(), HasSubstr("370212001"));
    EXPECT_THAT(before.status().message(), HasSubstr("re-derived"));
  }

  Rederiver::Options options;
  options.events_in_flight = 3;
  options.page = 2;
  Rederiver first(io_, *client_, recorder, clock,
                  grid::testing::ShippedTopology().subdistrict_ids(), metrics.rederive_remaining,
                  options);
  Rederiver second(io_, *client_, recorder, clock,
                   grid::testing::ShippedTopology().subdistrict_ids(), metrics.rederive_remaining,
                   options);
  first.Start();
  second.Start();
  const auto reclaimed = Reclaim("new");
  ASSERT_EQ(reclaimed.size(), 5u);
  HandleAll(recorder, reclaimed);
  ASSERT_TRUE(grid::testing::PollUntil([&] { return first.Done() && second.Done(); },
                                       std::chrono::seconds(10)));

  Outcome got = Collect(registry, kNow);
  // The response times too: re-derived from the histories, they are what live counting gave.
  ASSERT_EQ(want.stats[0].rows(0).accepted(), 4);
  EXPECT_EQ(got.stats[0].rows(0).accepted(), 4);
  EXPECT_DOUBLE_EQ(got.stats[0].rows(0).accept_seconds_sum(), 720);
  EXPECT_EQ(got.stats[0].rows(0).closed_timed(), 3);
  EXPECT_DOUBLE_EQ(got.stats[0].rows(0).close_seconds_sum(), 1620);
  for (size_t i = 0; i < want.stats.size(); ++i) {
    EXPECT_TRUE(MessageDifferencer::Equals(got.stats[i], want.stats[i]))
        << "request " << i << ":\n got " << got.stats[i].ShortDebugString() << "\nwant "
        << want.stats[i].ShortDebugString();
  }
  EXPECT_EQ(got.open, want.open);
  // Prometheus counts live deliveries: the five entries left pending (E6 dispatched and
  // cancelled, E7 reported and dispatched, E8 reported), not the re-derived history.
  EXPECT_THAT(got.prometheus, HasSubstr("grid_events_reported_total{category_class=\"04\","
                                        "severity=\"normal\",subdistrict=\"370212001\"} 2\n"));
  EXPECT_THAT(got.prometheus,
              HasSubstr("grid_rollup_rederive_remaining_events{subdistrict=\"370212001\"} 0\n"));
  for (const std::string& key :
       {legacy::DayRollupKey(sd, "20261130"), legacy::DayRollupKey(sd, "20261201"),
        legacy::RollupDaysKey(sd), legacy::OpenEventsKey(sd),
        legacy::EventStateKey(sd, "370212001-E1")}) {
    EXPECT_EQ(Redis({"EXISTS", key}).integer, 0) << key;
  }
  EXPECT_EQ(Redis({"GET", RederivedKey(sd)}).str, std::to_string(kNow));
  first.Stop();
  second.Stop();
}

}  // namespace
}  // namespace grid::metrics
