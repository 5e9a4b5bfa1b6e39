// The closed loop's state machine: which move may start from which state. Pure.
#pragma once

#include <string_view>

#include "absl/status/status.h"
#include "grid/v1/event.pb.h"

namespace grid::lifecycle {

enum class MoveKind {
  kDispatch,   // REPORTED -> DISPATCHED (routing)
  kAccept,     // 接单
  kResolve,    // 处置反馈
  kVerify,     // 核实: pass -> CLOSED, fail -> DISPATCHED (返工)
  kReturn,     // 退回
  kSuspend,    // 挂账
  kResume,     // 恢复
  kCancel,     // withdrawn by the reporter
  kVoid,       // 作废
  kReassign,   // moved by an operator
  kEscalate,   // 上报, or a breached limit
  kSupervise,  // 督办
  kRemind,     // 催办
};

inline constexpr MoveKind kAllMoves[] = {
    MoveKind::kDispatch, MoveKind::kAccept,   MoveKind::kResolve,  MoveKind::kVerify,
    MoveKind::kReturn,   MoveKind::kSuspend,  MoveKind::kResume,   MoveKind::kCancel,
    MoveKind::kVoid,     MoveKind::kReassign, MoveKind::kEscalate, MoveKind::kSupervise,
    MoveKind::kRemind};

// "accept", "resolve"...
std::string_view MoveName(MoveKind move);

// Whether `move` may start from `state`.
bool Allowed(MoveKind move, v1::EventState state);

// OK, or FAILED_PRECONDITION naming the event's current state and the states the move needs,
// e.g. "event 370212001-...: cannot accept: it is ACCEPTED (accept needs DISPATCHED)".
absl::Status CheckAllowed(MoveKind move, const v1::Event& event);

// A handler acts only on the events of their own unit's queue. The gateway checks this on the
// event as it read it; the services check it again on the very version a move is applied to, so
// an event that moved to another unit in between is refused with PERMISSION_DENIED. Other roles
// (and the system itself, with no role) are not restricted here.
absl::Status CheckHandlerHoldsEvent(const v1::Actor& actor, const v1::Event& event);

// CLOSED, VOIDED and CANCELLED: nothing moves an event out of them.
bool IsFinal(v1::EventState state);

}  // namespace grid::lifecycle
