#include "common/auth/authorizer.h"

#include <array>

#include "absl/strings/str_cat.h"
#include "common/auth/token.h"
#include "common/topology/jurisdiction.h"

namespace grid::auth {
namespace {

struct Row {
  Rpc rpc;
  const char* name;
  // WORKER, HANDLER, OPERATOR, SYSTEM; ADMIN is kAnywhere everywhere.
  Grant worker;
  Grant handler;
  Grant op;
  Grant system = Grant::kDenied;
  // Open to every caller, even one without a role (ListCategories).
  bool anyone = false;
};

using G = Grant;
// The table of authorizer.h, in enum order.
constexpr std::array<Row, kRpcCount> kTable = {{
    {Rpc::kReportEvent, "ReportEvent", G::kOwnCommunity, G::kDenied, G::kSubtree, G::kSubtree},
    {Rpc::kUploadReports, "UploadReports", G::kOwnCommunity, G::kDenied, G::kSubtree, G::kSubtree},
    {Rpc::kAcceptEvent, "AcceptEvent", G::kDenied, G::kOwnQueue, G::kSubtree, G::kDenied},
    {Rpc::kResolveEvent, "ResolveEvent", G::kDenied, G::kOwnQueue, G::kSubtree, G::kDenied},
    {Rpc::kVerifyEvent, "VerifyEvent", G::kOwnGrid, G::kDenied, G::kSubtree, G::kDenied},
    {Rpc::kReturnEvent, "ReturnEvent", G::kDenied, G::kOwnQueue, G::kSubtree, G::kDenied},
    {Rpc::kSuspendEvent, "SuspendEvent", G::kDenied, G::kOwnQueue, G::kSubtree, G::kDenied},
    {Rpc::kResumeEvent, "ResumeEvent", G::kDenied, G::kDenied, G::kSubtree, G::kDenied},
    {Rpc::kCancelEvent, "CancelEvent", G::kOwnReport, G::kDenied, G::kSubtree, G::kDenied},
    {Rpc::kVoidEvent, "VoidEvent", G::kDenied, G::kDenied, G::kSubtree, G::kDenied},
    {Rpc::kReassignEvent, "ReassignEvent", G::kDenied, G::kDenied, G::kSubtree, G::kDenied},
    {Rpc::kEscalateEvent, "EscalateEvent", G::kDenied, G::kOwnQueue, G::kSubtree, G::kDenied},
    {Rpc::kSuperviseEvent, "SuperviseEvent", G::kDenied, G::kDenied, G::kSubtree, G::kDenied},
    {Rpc::kGetEvent, "GetEvent", G::kOwnGridOrReport, G::kSubtree, G::kSubtree, G::kSubtree},
    {Rpc::kGetEventHistory, "GetEventHistory", G::kOwnGridOrReport, G::kSubtree, G::kSubtree,
     G::kDenied},
    {Rpc::kListEvents, "ListEvents", G::kOwnGrid, G::kSubtree, G::kSubtree, G::kSubtree},
    {Rpc::kListUnitQueue, "ListUnitQueue", G::kOwnGrid, G::kSubtree, G::kSubtree, G::kDenied},
    {Rpc::kListOverdueEvents, "ListOverdueEvents", G::kDenied, G::kSubtree, G::kSubtree,
     G::kDenied},
    {Rpc::kGetStats, "GetStats", G::kDenied, G::kSubtree, G::kSubtree, G::kDenied},
    {Rpc::kGetTopology, "GetTopology", G::kDenied, G::kSubtree, G::kSubtree, G::kDenied},
    {Rpc::kWatchEvents, "WatchEvents", G::kDenied, G::kOwnQueue, G::kSubtree, G::kDenied},
    {Rpc::kListDeadLetters, "ListDeadLetters", G::kDenied, G::kDenied, G::kDenied, G::kDenied},
    {Rpc::kReplayDeadLetters, "ReplayDeadLetters", G::kDenied, G::kDenied, G::kDenied, G::kDenied},
    {Rpc::kListCategories, "ListCategories", G::kAnywhere, G::kAnywhere, G::kAnywhere, G::kAnywhere,
     true},
    {Rpc::kGetWebhookStatus, "GetWebhookStatus", G::kDenied, G::kDenied, G::kDenied, G::kDenied},
    {Rpc::kTestWebhook, "TestWebhook", G::kDenied, G::kDenied, G::kDenied, G::kDenied},
    {Rpc::kRedeliverWebhooks, "RedeliverWebhooks", G::kDenied, G::kDenied, G::kDenied, G::kDenied},
}};

constexpr bool TableInEnumOrder() {
  for (int i = 0; i < kRpcCount; ++i) {
    if (static_cast<int>(kTable[i].rpc) != i) {
      return false;
    }
  }
  return true;
}
static_assert(TableInEnumOrder(), "kTable must list the RPCs in the order of enum Rpc");

const Row& RowOf(Rpc rpc) { return kTable[static_cast<int>(rpc)]; }

std::string Who(const v1::Actor& caller) {
  return absl::StrCat(RoleClaim(caller.role()), " \"", caller.subject(), "\" of unit \"",
                      caller.unit_id(), "\"");
}

}  // namespace

const char* RpcName(Rpc rpc) { return RowOf(rpc).name; }

Grant GrantOf(v1::Role role, Rpc rpc) {
  const Row& row = RowOf(rpc);
  if (row.anyone) {
    return Grant::kAnywhere;
  }
  switch (role) {
    case v1::ROLE_WORKER:
      return row.worker;
    case v1::ROLE_HANDLER:
      return row.handler;
    case v1::ROLE_OPERATOR:
      return row.op;
    case v1::ROLE_SYSTEM:
      return row.system;
    case v1::ROLE_ADMIN:
      return Grant::kAnywhere;
    default:
      return Grant::kDenied;
  }
}

absl::Status Authorizer::CheckRole(const v1::Actor& caller, Rpc rpc) const {
  if (GrantOf(caller.role(), rpc) == Grant::kDenied) {
    return absl::PermissionDeniedError(
        absl::StrCat(RoleClaim(caller.role()), " may not call ", RpcName(rpc)));
  }
  return absl::OkStatus();
}

bool Authorizer::InSubtree(std::string_view unit_id, const v1::Actor& caller) const {
  return !unit_id.empty() && topology_.InSubtree(unit_id, caller.unit_id());
}

bool Authorizer::EventInSubtree(const v1::Event& event, const v1::Actor& caller) const {
  return topology::EventInSubtree(topology_, event, caller.unit_id());
}

absl::Status Authorizer::CheckTarget(const v1::Actor& caller, Rpc rpc, std::string_view unit_id,
                                     const v1::Event* event) const {
  const Grant grant = GrantOf(caller.role(), rpc);
  if (grant == Grant::kDenied) {
    return CheckRole(caller, rpc);
  }
  if (grant == Grant::kAnywhere) {
    return absl::OkStatus();
  }
  const auto outside_unit = [&](const char* what) {
    return absl::PermissionDeniedError(absl::StrCat(RpcName(rpc), ": unit \"", std::string(unit_id),
                                                    "\" is outside ", what, " of ", Who(caller)));
  };
  const auto outside_event = [&](const char* what) {
    return absl::PermissionDeniedError(absl::StrCat(
        RpcName(rpc), ": event ", event->id(), " (grid ", event->grid_id(), ", at unit \"",
        event->unit_id(), "\") is outside ", what, " of ", Who(caller)));
  };
  if (event != nullptr) {
    bool allowed = false;
    const char* what = "";
    switch (grant) {
      case Grant::kSubtree:
        allowed = EventInSubtree(*event, caller);
        what = "the jurisdiction";
        break;
      case Grant::kOwnQueue:
        allowed = topology::EventAtUnit(*event, caller.unit_id());
        what = "the queue";
        break;
      case Grant::kOwnGrid:
        allowed = event->grid_id() == caller.unit_id();
        what = "the grid";
        break;
      case Grant::kOwnGridOrReport:
        allowed = event->grid_id() == caller.unit_id() ||
                  (!event->reporter_id().empty() && event->reporter_id() == caller.subject());
        what = "the grid and the reports";
        break;
      case Grant::kOwnReport:
        allowed = !event->reporter_id().empty() && event->reporter_id() == caller.subject();
        what = "the reports";
        break;
      case Grant::kOwnCommunity:
        allowed = false;  // Only reports have this grant; they name no event.
        what = "the community";
        break;
      default:
        break;
    }
    if (!allowed) {
      return outside_event(what);
    }
  }
  if (!unit_id.empty() || event == nullptr) {
    switch (grant) {
      case Grant::kOwnCommunity: {
        const v1::Unit* home = topology_.AncestorAt(caller.unit_id(), v1::LEVEL_COMMUNITY);
        const v1::Unit* there = topology_.AncestorAt(unit_id, v1::LEVEL_COMMUNITY);
        if (home == nullptr || there == nullptr || home != there) {
          return outside_unit("the community");
        }
        break;
      }
      case Grant::kOwnGrid:
      case Grant::kOwnGridOrReport:
        if (unit_id != caller.unit_id()) {
          return outside_unit("the grid");
        }
        break;
      case Grant::kOwnQueue:
        // A call on a queue rather than an event (a handler's watch): the caller's own unit.
        if (unit_id.empty() || unit_id != caller.unit_id()) {
          return outside_unit("the queue");
        }
        break;
      default:
        if (!InSubtree(unit_id, caller)) {
          return outside_unit("the jurisdiction");
        }
        break;
    }
  }
  return absl::OkStatus();
}

absl::Status Authorizer::CheckReport(const v1::Actor& caller, Rpc rpc,
                                     const v1::Report& report) const {
  if ((caller.role() == v1::ROLE_WORKER || caller.role() == v1::ROLE_SYSTEM) &&
      !report.reporter_id().empty() && report.reporter_id() != caller.subject()) {
    return absl::PermissionDeniedError(absl::StrCat(RpcName(rpc), ": report.reporter_id: ",
                                                    caller.role() == v1::ROLE_WORKER
                                                        ? "a WORKER reports as themselves"
                                                        : "a client system reports as itself",
                                                    ", not as \"", report.reporter_id(), "\""));
  }
  if (topology_.Find(report.grid_id()) == nullptr) {
    return absl::OkStatus();  // Intake refuses it (INVALID_ARGUMENT naming report.grid_id).
  }
  return CheckTarget(caller, rpc, report.grid_id(), nullptr);
}

absl::StatusOr<WatchScope> Authorizer::ScopeWatch(const v1::Actor& caller,
                                                  std::string_view requested) const {
  WatchScope scope;
  scope.unit_id = Scope(caller, requested);
  if (absl::Status allowed = CheckTarget(caller, Rpc::kWatchEvents, scope.unit_id, nullptr);
      !allowed.ok()) {
    return allowed;
  }
  scope.queue_only = GrantOf(caller.role(), Rpc::kWatchEvents) == Grant::kOwnQueue;
  return scope;
}

std::string Authorizer::Scope(const v1::Actor& caller, std::string_view requested) {
  if (!requested.empty()) {
    return std::string(requested);
  }
  return caller.role() == v1::ROLE_ADMIN ? std::string() : caller.unit_id();
}

}  // namespace grid::auth
