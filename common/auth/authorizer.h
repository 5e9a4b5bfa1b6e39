// Who may call which public RPC, and on what. The one place that holds the role × RPC table; the
// gateway asks it before every call it forwards (and WatchEvents before it streams).
//
// Jurisdiction is the subtree of the caller's home unit (the token's `unit`). Per RPC and role:
//
//   RPC                WORKER                 HANDLER            OPERATOR   ADMIN      SYSTEM
//   ReportEvent        own grid's community   -                  subtree    anywhere   subtree
//   UploadReports      own grid's community   -                  subtree    anywhere   subtree
//   AcceptEvent        -                      own unit's queue   subtree    anywhere   -
//   ResolveEvent       -                      own unit's queue   subtree    anywhere   -
//   VerifyEvent        own grid               -                  subtree    anywhere   -
//   ReturnEvent        -                      own unit's queue   subtree    anywhere   -
//   SuspendEvent       -                      own unit's queue   subtree    anywhere   -
//   ResumeEvent        -                      -                  subtree    anywhere   -
//   CancelEvent        own reports            -                  subtree    anywhere   -
//   VoidEvent          -                      -                  subtree    anywhere   -
//   ReassignEvent      -                      -                  subtree(1) anywhere   -
//   EscalateEvent      -                      own unit's queue   subtree    anywhere   -
//   SuperviseEvent     -                      -                  subtree    anywhere   -
//   GetEvent           own grid, own reports  subtree            subtree    anywhere   subtree
//   GetEventHistory    own grid, own reports  subtree            subtree    anywhere   -
//   ListEvents         own grid               subtree            subtree    anywhere   subtree
//   ListUnitQueue      own grid               subtree            subtree    anywhere   -
//   ListOverdueEvents  -                      subtree            subtree    anywhere   -
//   GetStats           -                      subtree            subtree    anywhere   -
//   GetTopology        -                      subtree            subtree    anywhere   -
//   WatchEvents        -                      own unit's queue   subtree    anywhere   -
//   ListDeadLetters    -                      -                  -          anywhere   -
//   ReplayDeadLetters  -                      -                  -          anywhere   -
//   GetWebhookStatus   -                      -                  -          anywhere   -
//   TestWebhook        -                      -                  -          anywhere   -
//   RedeliverWebhooks  -                      -                  -          anywhere   -
//   ListCategories     anyone, even without a token or api key
//
// SYSTEM is a client system calling with an api key (gateway.proto, ApiClient): it files as
// itself, within its unit's subtree, and reads what is there.
// "-": PERMISSION_DENIED whatever the target. An event is in a subtree when its grid or the unit
// that has it now is: topology::EventInSubtree (common/topology/jurisdiction.h), the one rule
// that routing's lists, escalation's overdue list and the gateway's watch apply too (a subdistrict
// operator keeps seeing an event of theirs that went up to a district department; a department
// sees what sits at it). A watch of a subtree gets the changes whose event is in it before or after
// the step (topology::ChangeInSubtree). "Own unit's queue": the event is at the handler's unit now;
// a handler's watch names no unit or its own and gets the changes of events at that unit before or
// after the step (those that move events into or out of the queue; topology::ChangeAtUnit). "Own
// grid's community": the reported grid lies in the community of the worker's grid (intake checks
// the same of the reporter). (1) Both the event and the unit it goes to. A call that names a unit
// (list, queue, stats, topology, watch) and leaves it empty is scoped to the caller's home unit,
// except for an ADMIN (see Scope).
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/topology/topology.h"
#include "grid/v1/event.pb.h"
#include "grid/v1/types.pb.h"

namespace grid::auth {

// The public RPCs of grid.v1.GatewayService.
enum class Rpc {
  kReportEvent,
  kUploadReports,
  kAcceptEvent,
  kResolveEvent,
  kVerifyEvent,
  kReturnEvent,
  kSuspendEvent,
  kResumeEvent,
  kCancelEvent,
  kVoidEvent,
  kReassignEvent,
  kEscalateEvent,
  kSuperviseEvent,
  kGetEvent,
  kGetEventHistory,
  kListEvents,
  kListUnitQueue,
  kListOverdueEvents,
  kGetStats,
  kGetTopology,
  kWatchEvents,
  kListDeadLetters,
  kReplayDeadLetters,
  kListCategories,
  kGetWebhookStatus,
  kTestWebhook,
  kRedeliverWebhooks,
};
inline constexpr int kRpcCount = static_cast<int>(Rpc::kRedeliverWebhooks) + 1;

// "ReportEvent", ...
const char* RpcName(Rpc rpc);

// What a role may do with an RPC (one cell of the table).
enum class Grant {
  kDenied,
  // The target lies in the caller's subtree.
  kSubtree,
  // The event is at the caller's unit now (a handler's queue).
  kOwnQueue,
  // The reported grid lies in the community of the caller's grid.
  kOwnCommunity,
  // The event is of the caller's grid (or the unit named is that grid).
  kOwnGrid,
  // The event is of the caller's grid or the caller reported it.
  kOwnGridOrReport,
  // The caller reported the event.
  kOwnReport,
  // Anything anywhere.
  kAnywhere,
};

// The table above, cell by cell.
Grant GrantOf(v1::Role role, Rpc rpc);

// What a watch may see: the changes of `unit_id`'s subtree, or with `queue_only` those of the
// events at `unit_id` itself (a handler's queue). Empty `unit_id`: the whole district.
struct WatchScope {
  std::string unit_id;
  bool queue_only = false;
};

// Pure and immutable over a borrowed topology; safe to share between threads.
class Authorizer final {
 public:
  explicit Authorizer(const topology::Topology& topology) : topology_(topology) {}

  // Whether the role may call `rpc` at all, before anything is read: PERMISSION_DENIED naming
  // the role and the RPC.
  absl::Status CheckRole(const v1::Actor& caller, Rpc rpc) const;

  // Whether the call's target is within the caller's reach. `unit_id` is the unit the request
  // names (a report's grid, a list's or queue's unit, a reassignment's destination; empty if
  // none) and `event` the event it acts on as read now (nullptr if none). PERMISSION_DENIED
  // naming what is outside.
  absl::Status CheckTarget(const v1::Actor& caller, Rpc rpc, std::string_view unit_id,
                           const v1::Event* event) const;

  // A report filed by `caller`: the grid as CheckTarget, and a WORKER files as themselves (a
  // reporter_id other than the token's subject is refused). A grid that is missing or unknown
  // passes: intake refuses the report with INVALID_ARGUMENT naming the field.
  absl::Status CheckReport(const v1::Actor& caller, Rpc rpc, const v1::Report& report) const;

  // The scope of a WatchEvents call by `caller` whose request names `requested` (empty: none):
  // Scope's unit, checked as CheckTarget does (PERMISSION_DENIED), and for a role whose cell is
  // "own unit's queue" only that queue.
  absl::StatusOr<WatchScope> ScopeWatch(const v1::Actor& caller, std::string_view requested) const;

  // The unit a unit-scoped call (lists, queue, stats, topology, watch) applies to when the
  // request names `requested`: that unit, or when empty the caller's home unit (empty, the whole
  // district, for an ADMIN).
  static std::string Scope(const v1::Actor& caller, std::string_view requested);

 private:
  bool InSubtree(std::string_view unit_id, const v1::Actor& caller) const;
  bool EventInSubtree(const v1::Event& event, const v1::Actor& caller) const;

  const topology::Topology& topology_;
};

}  // namespace grid::auth
