#include "common/lifecycle/state_machine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>

namespace grid::lifecycle {
namespace {

using ::testing::HasSubstr;
using S = v1::EventState;

// The whole table, written out: every move and the states it may start from. Every pair not
// listed must be refused.
const std::map<MoveKind, std::set<S>>& Table() {
  static const std::map<MoveKind, std::set<S>> kTable = {
      {MoveKind::kDispatch, {v1::EVENT_STATE_REPORTED}},
      {MoveKind::kAccept, {v1::EVENT_STATE_DISPATCHED}},
      {MoveKind::kResolve, {v1::EVENT_STATE_ACCEPTED}},
      {MoveKind::kVerify, {v1::EVENT_STATE_RESOLVED}},
      {MoveKind::kReturn, {v1::EVENT_STATE_DISPATCHED, v1::EVENT_STATE_ACCEPTED}},
      {MoveKind::kSuspend, {v1::EVENT_STATE_DISPATCHED, v1::EVENT_STATE_ACCEPTED}},
      {MoveKind::kResume, {v1::EVENT_STATE_SUSPENDED}},
      {MoveKind::kCancel, {v1::EVENT_STATE_REPORTED, v1::EVENT_STATE_DISPATCHED}},
      {MoveKind::kVoid,
       {v1::EVENT_STATE_REPORTED, v1::EVENT_STATE_DISPATCHED, v1::EVENT_STATE_ACCEPTED,
        v1::EVENT_STATE_RESOLVED, v1::EVENT_STATE_SUSPENDED}},
      {MoveKind::kReassign, {v1::EVENT_STATE_DISPATCHED, v1::EVENT_STATE_ACCEPTED}},
      {MoveKind::kEscalate, {v1::EVENT_STATE_DISPATCHED, v1::EVENT_STATE_ACCEPTED}},
      {MoveKind::kSupervise, {v1::EVENT_STATE_DISPATCHED, v1::EVENT_STATE_ACCEPTED}},
      {MoveKind::kRemind, {v1::EVENT_STATE_DISPATCHED, v1::EVENT_STATE_ACCEPTED}},
  };
  return kTable;
}

TEST(StateMachineTest, EveryMoveFromEveryState) {
  ASSERT_EQ(Table().size(), std::size(kAllMoves));
  for (MoveKind move : kAllMoves) {
    for (int state = v1::EventState_MIN; state <= v1::EventState_MAX; ++state) {
      const bool expected = Table().at(move).count(static_cast<S>(state)) > 0;
      EXPECT_EQ(Allowed(move, static_cast<S>(state)), expected)
          << MoveName(move) << " from " << v1::EventState_Name(static_cast<S>(state));
    }
  }
}

TEST(StateMachineTest, NothingLeavesAFinalState) {
  for (S state : {v1::EVENT_STATE_CLOSED, v1::EVENT_STATE_VOIDED, v1::EVENT_STATE_CANCELLED}) {
    EXPECT_TRUE(IsFinal(state));
    for (MoveKind move : kAllMoves) {
      EXPECT_FALSE(Allowed(move, state)) << MoveName(move);
    }
  }
  EXPECT_FALSE(IsFinal(v1::EVENT_STATE_RESOLVED));
  EXPECT_FALSE(IsFinal(v1::EVENT_STATE_SUSPENDED));
}

TEST(StateMachineTest, ARefusalNamesTheCurrentStateAndWhatTheMoveNeeds) {
  v1::Event event;
  event.set_id("370212001-01M8E25T9NFZPD5H");
  event.set_state(v1::EVENT_STATE_ACCEPTED);
  const absl::Status status = CheckAllowed(MoveKind::kAccept, event);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()), HasSubstr("it is EVENT_STATE_ACCEPTED"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("accept needs EVENT_STATE_DISPATCHED"));
  EXPECT_THAT(std::string(status.message()), HasSubstr(event.id()));
  EXPECT_TRUE(CheckAllowed(MoveKind::kResolve, event).ok());
}

TEST(StateMachineTest, AHandlerActsOnlyOnTheirOwnUnitsEvents) {
  v1::Event event;
  event.set_id("370212001-01M8E25T9NFZPD5H");
  event.set_unit_id("370212001001");
  v1::Actor handler;
  handler.set_role(v1::ROLE_HANDLER);
  handler.set_unit_id("370212001001");
  EXPECT_TRUE(CheckHandlerHoldsEvent(handler, event).ok());
  handler.set_unit_id("37021200100101");  // the grid below: not its queue
  const absl::Status refused = CheckHandlerHoldsEvent(handler, event);
  EXPECT_EQ(refused.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(refused.message()), HasSubstr("370212001001"));
  v1::Actor operator_;
  operator_.set_role(v1::ROLE_OPERATOR);
  operator_.set_unit_id("370212002");
  EXPECT_TRUE(CheckHandlerHoldsEvent(operator_, event).ok()) << "the gateway judges operators";
  EXPECT_TRUE(CheckHandlerHoldsEvent(v1::Actor(), event).ok()) << "the system has no role";
}

}  // namespace
}  // namespace grid::lifecycle
