#include "common/lifecycle/state_machine.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace grid::lifecycle {
namespace {

using S = v1::EventState;

std::vector<S> From(MoveKind move) {
  switch (move) {
    case MoveKind::kDispatch:
      return {v1::EVENT_STATE_REPORTED};
    case MoveKind::kAccept:
      return {v1::EVENT_STATE_DISPATCHED};
    case MoveKind::kResolve:
      return {v1::EVENT_STATE_ACCEPTED};
    case MoveKind::kVerify:
      return {v1::EVENT_STATE_RESOLVED};
    case MoveKind::kReturn:
    case MoveKind::kSuspend:
    case MoveKind::kReassign:
    case MoveKind::kEscalate:
    case MoveKind::kSupervise:
    case MoveKind::kRemind:
      return {v1::EVENT_STATE_DISPATCHED, v1::EVENT_STATE_ACCEPTED};
    case MoveKind::kResume:
      return {v1::EVENT_STATE_SUSPENDED};
    case MoveKind::kCancel:
      return {v1::EVENT_STATE_REPORTED, v1::EVENT_STATE_DISPATCHED};
    case MoveKind::kVoid:
      return {v1::EVENT_STATE_REPORTED, v1::EVENT_STATE_DISPATCHED, v1::EVENT_STATE_ACCEPTED,
              v1::EVENT_STATE_RESOLVED, v1::EVENT_STATE_SUSPENDED};
  }
  return {};
}

}  // namespace

std::string_view MoveName(MoveKind move) {
  switch (move) {
    case MoveKind::kDispatch:
      return "dispatch";
    case MoveKind::kAccept:
      return "accept";
    case MoveKind::kResolve:
      return "resolve";
    case MoveKind::kVerify:
      return "verify";
    case MoveKind::kReturn:
      return "return";
    case MoveKind::kSuspend:
      return "suspend";
    case MoveKind::kResume:
      return "resume";
    case MoveKind::kCancel:
      return "cancel";
    case MoveKind::kVoid:
      return "void";
    case MoveKind::kReassign:
      return "reassign";
    case MoveKind::kEscalate:
      return "escalate";
    case MoveKind::kSupervise:
      return "supervise";
    case MoveKind::kRemind:
      return "remind";
  }
  return "move";
}

bool Allowed(MoveKind move, v1::EventState state) {
  for (S from : From(move)) {
    if (from == state) {
      return true;
    }
  }
  return false;
}

absl::Status CheckAllowed(MoveKind move, const v1::Event& event) {
  if (Allowed(move, event.state())) {
    return absl::OkStatus();
  }
  std::string needs;
  for (S from : From(move)) {
    absl::StrAppend(&needs, needs.empty() ? "" : " or ", v1::EventState_Name(from));
  }
  const std::string name(MoveName(move));
  return absl::FailedPreconditionError(absl::StrCat("event ", event.id(), ": cannot ", name,
                                                    ": it is ", v1::EventState_Name(event.state()),
                                                    " (", name, " needs ", needs, ")"));
}

absl::Status CheckHandlerHoldsEvent(const v1::Actor& actor, const v1::Event& event) {
  if (actor.role() != v1::ROLE_HANDLER || event.unit_id() == actor.unit_id()) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(absl::StrCat("event ", event.id(), " is at unit \"",
                                                  event.unit_id(), "\", not in the queue of \"",
                                                  actor.unit_id(), "\""));
}

bool IsFinal(v1::EventState state) {
  return state == v1::EVENT_STATE_CLOSED || state == v1::EVENT_STATE_VOIDED ||
         state == v1::EVENT_STATE_CANCELLED;
}

}  // namespace grid::lifecycle
