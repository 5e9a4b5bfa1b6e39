#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "common/clock/clock.h"
#include "services/metrics/change_recorder.h"

namespace grid::metrics {
namespace {

v1::EventChange Change(v1::ChangeKind kind) {
  v1::EventChange change;
  change.set_kind(kind);
  change.set_grid_id("37021200100101");
  change.set_from_unit_id("370212001001");
  change.set_to_unit_id("370212001");
  *change.mutable_at() = ToTimestamp(10'000);
  return change;
}

TEST(ChangeFactsTest, AReportCountsAtItsGrid) {
  v1::EventChange change = Change(v1::CHANGE_KIND_REPORTED);
  change.clear_from_unit_id();
  EXPECT_EQ(FactsOf(change, {}).unit_id, "37021200100101");
}

TEST(ChangeFactsTest, AMoveCountsAtTheUnitThatHadTheEvent) {
  EXPECT_EQ(FactsOf(Change(v1::CHANGE_KIND_ESCALATED), {}).unit_id, "370212001001");
  EXPECT_EQ(FactsOf(Change(v1::CHANGE_KIND_RETURNED), {}).unit_id, "370212001001");
  v1::EventChange dispatched = Change(v1::CHANGE_KIND_DISPATCHED);
  dispatched.clear_from_unit_id();
  EXPECT_EQ(FactsOf(dispatched, {}).unit_id, "370212001") << "no unit before: the one it went to";
}

TEST(ChangeFactsTest, AStepAfterItsDeadlineIsABreach) {
  v1::EventChange accepted = Change(v1::CHANGE_KIND_ACCEPTED);
  EXPECT_FALSE(FactsOf(accepted, {}).breached) << "no clock ran";
  *accepted.mutable_due_by() = ToTimestamp(10'000);
  EXPECT_FALSE(FactsOf(accepted, {}).breached) << "exactly at the deadline is on time";
  *accepted.mutable_due_by() = ToTimestamp(9'999);
  EXPECT_TRUE(FactsOf(accepted, {}).breached);
}

TEST(ChangeFactsTest, TimeoutEscalationsAndRemindersAreBreachesButManualEscalationIsNot) {
  v1::EventChange escalated = Change(v1::CHANGE_KIND_ESCALATED);
  escalated.set_reason_code(v1::CHANGE_REASON_MANUAL);
  EXPECT_FALSE(FactsOf(escalated, {}).breached);
  escalated.set_reason_code(v1::CHANGE_REASON_ACCEPT_TIMEOUT);
  EXPECT_TRUE(FactsOf(escalated, {}).breached);
  escalated.set_reason_code(v1::CHANGE_REASON_RESOLVE_TIMEOUT);
  EXPECT_TRUE(FactsOf(escalated, {}).breached);
  EXPECT_TRUE(FactsOf(Change(v1::CHANGE_KIND_REMINDED), {}).breached);
}

TEST(ChangeFactsTest, FinalStates) {
  v1::EventChange change = Change(v1::CHANGE_KIND_VERIFIED);
  for (auto state : {v1::EVENT_STATE_CLOSED, v1::EVENT_STATE_VOIDED, v1::EVENT_STATE_CANCELLED}) {
    change.set_to_state(state);
    EXPECT_TRUE(FactsOf(change, {}).final_state) << state;
  }
  for (auto state : {v1::EVENT_STATE_REPORTED, v1::EVENT_STATE_DISPATCHED, v1::EVENT_STATE_ACCEPTED,
                     v1::EVENT_STATE_RESOLVED, v1::EVENT_STATE_SUSPENDED}) {
    change.set_to_state(state);
    EXPECT_FALSE(FactsOf(change, {}).final_state) << state;
  }
}

// One event's history: version n is history[n - 1].
std::vector<v1::EventChange> History(std::initializer_list<v1::ChangeKind> kinds) {
  std::vector<v1::EventChange> history;
  for (v1::ChangeKind kind : kinds) {
    v1::EventChange change = Change(kind);
    change.set_version(static_cast<int64_t>(history.size()) + 1);
    history.push_back(change);
  }
  return history;
}

std::vector<std::string> Counters(const ChangeFacts& facts) {
  return std::vector<std::string>(facts.counters.begin(), facts.counters.end());
}

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

TEST(ChangeFactsTest, WhatNeedsTheHistory) {
  EXPECT_TRUE(NeedsHistory(Change(v1::CHANGE_KIND_DISPATCHED)));
  EXPECT_TRUE(NeedsHistory(Change(v1::CHANGE_KIND_SUSPENDED)));
  EXPECT_TRUE(NeedsHistory(Change(v1::CHANGE_KIND_VERIFIED)));
  EXPECT_TRUE(NeedsHistory(Change(v1::CHANGE_KIND_REMINDED)));
  v1::EventChange late = Change(v1::CHANGE_KIND_ACCEPTED);
  *late.mutable_due_by() = ToTimestamp(1);
  EXPECT_TRUE(NeedsHistory(late)) << "a breach may be the first step that falls due";
  EXPECT_FALSE(NeedsHistory(Change(v1::CHANGE_KIND_ACCEPTED)));
  EXPECT_FALSE(NeedsHistory(Change(v1::CHANGE_KIND_REPORTED)));
  EXPECT_FALSE(NeedsHistory(Change(v1::CHANGE_KIND_RESOLVED)));
}

TEST(ChangeFactsTest, OnlyTheFirstDispatchIsTheFirst) {
  const auto history = History({v1::CHANGE_KIND_REPORTED, v1::CHANGE_KIND_DISPATCHED,
                                v1::CHANGE_KIND_RETURNED, v1::CHANGE_KIND_DISPATCHED});
  EXPECT_TRUE(FactsOf(history[1], history).first_dispatch) << "later versions do not count";
  EXPECT_FALSE(FactsOf(history[3], history).first_dispatch);
  EXPECT_FALSE(FactsOf(history[2], history).first_dispatch) << "a return is no dispatch";
}

// The defect of issue 10: an ESCALATED (timeout) delivered after the same event's VERIFIED made
// the closure count as on time. The closure's facts come from the versions before it, whatever
// was delivered first.
TEST(ChangeFactsTest, AClosureAfterABreachIsLateWhateverArrivesFirst) {
  auto history =
      History({v1::CHANGE_KIND_REPORTED, v1::CHANGE_KIND_DISPATCHED, v1::CHANGE_KIND_ESCALATED,
               v1::CHANGE_KIND_ACCEPTED, v1::CHANGE_KIND_RESOLVED, v1::CHANGE_KIND_VERIFIED});
  history[2].set_reason_code(v1::CHANGE_REASON_ACCEPT_TIMEOUT);
  history[5].set_to_state(v1::EVENT_STATE_CLOSED);
  const ChangeFacts closed = FactsOf(history[5], history);
  EXPECT_FALSE(closed.closed_on_time);
  EXPECT_TRUE(closed.final_state);
  EXPECT_THAT(Counters(closed), ElementsAre("clo")) << "due at the breach, not here";
  EXPECT_THAT(Counters(FactsOf(history[2], history)), UnorderedElementsAre("esc", "due"));

  std::vector<v1::EventChange> reversed(history.rbegin(), history.rend());
  EXPECT_EQ(Counters(FactsOf(history[5], reversed)), Counters(closed)) << "order of `before`";

  history[2].set_reason_code(v1::CHANGE_REASON_MANUAL);
  const ChangeFacts on_time = FactsOf(history[5], history);
  EXPECT_TRUE(on_time.closed_on_time) << "a manual escalation breaches nothing";
  EXPECT_THAT(Counters(on_time), UnorderedElementsAre("clo", "ont", "due"));
}

TEST(ChangeFactsTest, ASuspensionIsDeferredOnceAndNeverOnTime) {
  const auto history =
      History({v1::CHANGE_KIND_REPORTED, v1::CHANGE_KIND_DISPATCHED, v1::CHANGE_KIND_SUSPENDED,
               v1::CHANGE_KIND_RESUMED, v1::CHANGE_KIND_SUSPENDED, v1::CHANGE_KIND_RESUMED,
               v1::CHANGE_KIND_ACCEPTED, v1::CHANGE_KIND_RESOLVED, v1::CHANGE_KIND_VERIFIED});
  EXPECT_THAT(Counters(FactsOf(history[2], history)), UnorderedElementsAre("def", "due"));
  EXPECT_THAT(Counters(FactsOf(history[4], history)), IsEmpty()) << "deferred once";
  const ChangeFacts closed = FactsOf(history[8], history);
  EXPECT_FALSE(closed.closed_on_time);
  EXPECT_THAT(Counters(closed), ElementsAre("clo"));
}

TEST(ChangeFactsTest, AClosureSentToMoreThanOneUnitIsRedispatched) {
  const auto returned =
      History({v1::CHANGE_KIND_REPORTED, v1::CHANGE_KIND_DISPATCHED, v1::CHANGE_KIND_RETURNED,
               v1::CHANGE_KIND_ACCEPTED, v1::CHANGE_KIND_RESOLVED, v1::CHANGE_KIND_VERIFIED});
  EXPECT_THAT(Counters(FactsOf(returned[5], returned)),
              UnorderedElementsAre("clo", "rdp", "ont", "due"));
  const auto reworked =
      History({v1::CHANGE_KIND_REPORTED, v1::CHANGE_KIND_DISPATCHED, v1::CHANGE_KIND_ACCEPTED,
               v1::CHANGE_KIND_RESOLVED, v1::CHANGE_KIND_REWORK, v1::CHANGE_KIND_ACCEPTED,
               v1::CHANGE_KIND_RESOLVED, v1::CHANGE_KIND_VERIFIED});
  EXPECT_THAT(Counters(FactsOf(reworked[7], reworked)), UnorderedElementsAre("clo", "ont", "due"))
      << "rework is no re-dispatch";
  EXPECT_THAT(Counters(FactsOf(reworked[4], reworked)), ElementsAre("rwk"));
}

TEST(ChangeFactsTest, PerStepCountersNeedNoHistory) {
  EXPECT_THAT(Counters(FactsOf(Change(v1::CHANGE_KIND_REPORTED), {})), ElementsAre("rep"));
  EXPECT_THAT(Counters(FactsOf(Change(v1::CHANGE_KIND_DUPLICATE_MERGED), {})), ElementsAre("dup"));
  EXPECT_THAT(Counters(FactsOf(Change(v1::CHANGE_KIND_SUPERVISED), {})), ElementsAre("sup"));
  EXPECT_THAT(Counters(FactsOf(Change(v1::CHANGE_KIND_ACCEPTED), {})), IsEmpty());
}

using Amounts = std::vector<std::pair<std::string_view, int64_t>>;

// Time to accept: the acceptance's time less the start of the accepting unit's clock, both on
// the change, so it needs no history and is the same live or re-derived.
TEST(ChangeFactsTest, AnAcceptanceCountsItsTimeFromTheClocksStart) {
  v1::EventChange accepted = Change(v1::CHANGE_KIND_ACCEPTED);
  *accepted.mutable_clock_started_at() = ToTimestamp(10'000 - 90'500);
  const ChangeFacts facts = FactsOf(accepted, {});
  EXPECT_THAT(Counters(facts), ElementsAre("acc"));
  EXPECT_EQ(facts.amounts, (Amounts{{"acm", 90'500}}));
  EXPECT_EQ(facts.unit_id, "370212001001") << "the unit that accepted";
  EXPECT_FALSE(NeedsHistory(accepted));

  *accepted.mutable_clock_started_at() = ToTimestamp(10'000);
  EXPECT_EQ(FactsOf(accepted, {}).amounts, (Amounts{{"acm", 0}})) << "at once is 0 s, counted";
  *accepted.mutable_clock_started_at() = ToTimestamp(10'001);
  EXPECT_THAT(Counters(FactsOf(accepted, {})), IsEmpty()) << "a clock started after the step";
  EXPECT_THAT(FactsOf(accepted, {}).amounts, IsEmpty());
}

TEST(ChangeFactsTest, AClosureCountsItsTimeFromFiling) {
  std::vector<v1::EventChange> history =
      History({v1::CHANGE_KIND_REPORTED, v1::CHANGE_KIND_DISPATCHED, v1::CHANGE_KIND_ACCEPTED,
               v1::CHANGE_KIND_RESOLVED, v1::CHANGE_KIND_VERIFIED});
  v1::EventChange& verified = history.back();
  *verified.mutable_created_at() = ToTimestamp(10'000 - 3'600'000);
  const ChangeFacts facts = FactsOf(verified, history);
  EXPECT_THAT(Counters(facts), UnorderedElementsAre("clo", "ont", "due", "clt"));
  EXPECT_EQ(facts.amounts, (Amounts{{"clm", 3'600'000}}));
  verified.clear_created_at();
  EXPECT_THAT(Counters(FactsOf(verified, history)), UnorderedElementsAre("clo", "ont", "due"))
      << "untimed without the filing time";
  EXPECT_THAT(FactsOf(verified, history).amounts, IsEmpty());
}

TEST(LabelsTest, AreLowerCaseEnumNamesWithoutPrefix) {
  EXPECT_EQ(LevelLabel(v1::LEVEL_ZONE), "zone");
  EXPECT_EQ(LevelLabel(0), "unspecified");
  EXPECT_EQ(StateLabel(v1::EVENT_STATE_DISPATCHED), "dispatched");
  EXPECT_EQ(LightLabel(v1::TRAFFIC_LIGHT_RED), "red");
  EXPECT_EQ(LightLabel(v1::TRAFFIC_LIGHT_UNSPECIFIED), "unspecified");
  EXPECT_EQ(SeverityLabel(v1::SEVERITY_CRITICAL), "critical");
  EXPECT_EQ(ReasonLabel(v1::CHANGE_REASON_ACCEPT_TIMEOUT), "accept_timeout");
}

}  // namespace
}  // namespace grid::metrics
