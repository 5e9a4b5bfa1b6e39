// The role × RPC table and the jurisdiction checks of auth::Authorizer, over the Laoshan topology.
#include "common/auth/authorizer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/topology/jurisdiction.h"
#include "tests/support/paths.h"

namespace grid::auth {
namespace {

using ::testing::HasSubstr;

constexpr char kGrid[] = "37021200100101";  // 中韩 / 张家涧社区 / grid 1
constexpr char kSameCommunity[] = "37021200100102";
constexpr char kOtherCommunity[] = "37021200100201";  // same subdistrict, another community
constexpr char kCommunity[] = "370212001001";
constexpr char kSubdistrict[] = "370212001";
constexpr char kOtherSubdistrict[] = "370212002";
constexpr char kDistrict[] = "370212";
constexpr char kDepartment[] = "370212D01";

v1::Actor Caller(v1::Role role, const std::string& unit, const std::string& subject = "s1") {
  v1::Actor actor;
  actor.set_subject(subject);
  actor.set_role(role);
  actor.set_unit_id(unit);
  return actor;
}

v1::Event EventAt(const std::string& grid, const std::string& unit,
                  const std::string& reporter = "W-other") {
  v1::Event event;
  event.set_id("370212001-0000000000000001");
  event.set_grid_id(grid);
  event.set_unit_id(unit);
  event.set_reporter_id(reporter);
  return event;
}

class AuthorizerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto loaded =
        topology::Topology::Load(testing::SourcePath("deploy/config/laoshan-topology.json"));
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    topology_ = new topology::TopologyPtr(*loaded);
  }
  static void TearDownTestSuite() { delete topology_; }

  Authorizer authorizer() const { return Authorizer(**topology_); }
  bool Allowed(const v1::Actor& caller, Rpc rpc, const std::string& unit,
               const v1::Event* event) const {
    const absl::Status role = authorizer().CheckRole(caller, rpc);
    const absl::Status target = authorizer().CheckTarget(caller, rpc, unit, event);
    if (!role.ok()) {
      EXPECT_EQ(role.code(), absl::StatusCode::kPermissionDenied);
      EXPECT_FALSE(target.ok()) << "a role refused is refused on any target";
    }
    if (!target.ok()) {
      EXPECT_EQ(target.code(), absl::StatusCode::kPermissionDenied) << target;
    }
    return role.ok() && target.ok();
  }

  static topology::TopologyPtr* topology_;
};

topology::TopologyPtr* AuthorizerTest::topology_ = nullptr;

TEST_F(AuthorizerTest, TheTableListsEveryRpcOnceAndAdminMayDoAll) {
  // The dead letters and the webhooks' administration are for ADMINs alone; an OPERATOR may do
  // everything else in their subtree.
  const std::vector<Rpc> admin_only = {Rpc::kListDeadLetters, Rpc::kReplayDeadLetters,
                                       Rpc::kGetWebhookStatus, Rpc::kTestWebhook,
                                       Rpc::kRedeliverWebhooks};
  for (int i = 0; i < kRpcCount; ++i) {
    const Rpc rpc = static_cast<Rpc>(i);
    const bool only_admin =
        std::find(admin_only.begin(), admin_only.end(), rpc) != admin_only.end();
    EXPECT_EQ(GrantOf(v1::ROLE_ADMIN, rpc), Grant::kAnywhere) << RpcName(rpc);
    // Only the categories are open to a caller without a role (anonymous at the gateway).
    EXPECT_EQ(GrantOf(v1::ROLE_UNSPECIFIED, rpc),
              rpc == Rpc::kListCategories ? Grant::kAnywhere : Grant::kDenied)
        << RpcName(rpc);
    EXPECT_EQ(GrantOf(v1::ROLE_OPERATOR, rpc) == Grant::kDenied, only_admin) << RpcName(rpc);
  }
  EXPECT_STREQ(RpcName(Rpc::kReplayDeadLetters), "ReplayDeadLetters");
  EXPECT_STREQ(RpcName(Rpc::kWatchEvents), "WatchEvents");
  EXPECT_STREQ(RpcName(Rpc::kRedeliverWebhooks), "RedeliverWebhooks");
}

TEST_F(AuthorizerTest, TheRoleColumnsAreAsDocumented) {
  const std::vector<Rpc> worker = {Rpc::kReportEvent, Rpc::kUploadReports, Rpc::kVerifyEvent,
                                   Rpc::kCancelEvent, Rpc::kGetEvent,      Rpc::kGetEventHistory,
                                   Rpc::kListEvents,  Rpc::kListUnitQueue, Rpc::kListCategories};
  const std::vector<Rpc> handler = {
      Rpc::kAcceptEvent,   Rpc::kResolveEvent,      Rpc::kReturnEvent,     Rpc::kSuspendEvent,
      Rpc::kEscalateEvent, Rpc::kGetEvent,          Rpc::kGetEventHistory, Rpc::kListEvents,
      Rpc::kListUnitQueue, Rpc::kListOverdueEvents, Rpc::kGetStats,        Rpc::kGetTopology,
      Rpc::kWatchEvents,   Rpc::kListCategories};
  const std::vector<Rpc> system = {Rpc::kReportEvent, Rpc::kUploadReports, Rpc::kGetEvent,
                                   Rpc::kListEvents, Rpc::kListCategories};
  for (int i = 0; i < kRpcCount; ++i) {
    const Rpc rpc = static_cast<Rpc>(i);
    const bool w = std::find(worker.begin(), worker.end(), rpc) != worker.end();
    const bool h = std::find(handler.begin(), handler.end(), rpc) != handler.end();
    const bool y = std::find(system.begin(), system.end(), rpc) != system.end();
    EXPECT_EQ(GrantOf(v1::ROLE_WORKER, rpc) != Grant::kDenied, w) << RpcName(rpc);
    EXPECT_EQ(GrantOf(v1::ROLE_HANDLER, rpc) != Grant::kDenied, h) << RpcName(rpc);
    EXPECT_EQ(GrantOf(v1::ROLE_SYSTEM, rpc) != Grant::kDenied, y) << RpcName(rpc);
  }
  const absl::Status denied =
      authorizer().CheckRole(Caller(v1::ROLE_HANDLER, kGrid), Rpc::kResumeEvent);
  EXPECT_EQ(denied.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(denied.message(), HasSubstr("HANDLER may not call ResumeEvent"));
}

TEST_F(AuthorizerTest, AWorkerReportsInTheCommunityOfTheirGrid) {
  const v1::Actor worker = Caller(v1::ROLE_WORKER, kGrid, "W3702120010010101");
  v1::Report report;
  report.set_grid_id(kSameCommunity);
  EXPECT_TRUE(authorizer().CheckReport(worker, Rpc::kReportEvent, report).ok());
  report.set_grid_id(kOtherCommunity);
  EXPECT_EQ(authorizer().CheckReport(worker, Rpc::kReportEvent, report).code(),
            absl::StatusCode::kPermissionDenied);
  report.set_grid_id(kGrid);
  report.set_reporter_id("W3702120010010201");
  const absl::Status as_other = authorizer().CheckReport(worker, Rpc::kReportEvent, report);
  EXPECT_EQ(as_other.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(as_other.message(), HasSubstr("reports as themselves"));
  // Unknown grids are intake's to refuse, with INVALID_ARGUMENT.
  report.set_reporter_id("");
  report.set_grid_id("37021299999999");
  EXPECT_TRUE(authorizer().CheckReport(worker, Rpc::kReportEvent, report).ok());
}

TEST_F(AuthorizerTest, AWorkerSeesTheirGridAndTheirOwnReports) {
  const v1::Actor worker = Caller(v1::ROLE_WORKER, kGrid, "W1");
  const v1::Event mine = EventAt(kGrid, kCommunity);
  const v1::Event neighbours = EventAt(kSameCommunity, kSameCommunity);
  const v1::Event reported = EventAt(kSameCommunity, kSameCommunity, "W1");
  EXPECT_TRUE(Allowed(worker, Rpc::kGetEvent, "", &mine));
  EXPECT_FALSE(Allowed(worker, Rpc::kGetEvent, "", &neighbours));
  EXPECT_TRUE(Allowed(worker, Rpc::kGetEventHistory, "", &reported));
  EXPECT_TRUE(Allowed(worker, Rpc::kVerifyEvent, "", &mine));
  EXPECT_FALSE(Allowed(worker, Rpc::kVerifyEvent, "", &reported)) << "verify: own grid only";
  EXPECT_TRUE(Allowed(worker, Rpc::kCancelEvent, "", &reported));
  EXPECT_FALSE(Allowed(worker, Rpc::kCancelEvent, "", &mine)) << "cancel: own reports only";
  EXPECT_FALSE(Allowed(worker, Rpc::kAcceptEvent, "", &mine));
  EXPECT_TRUE(Allowed(worker, Rpc::kListUnitQueue, kGrid, nullptr));
  EXPECT_FALSE(Allowed(worker, Rpc::kListUnitQueue, kCommunity, nullptr));
  EXPECT_FALSE(Allowed(worker, Rpc::kWatchEvents, kGrid, nullptr));
}

TEST_F(AuthorizerTest, AHandlerActsOnItsOwnQueueAndReadsItsSubtree) {
  const v1::Actor handler = Caller(v1::ROLE_HANDLER, kCommunity);
  const v1::Event here = EventAt(kGrid, kCommunity);
  const v1::Event below = EventAt(kGrid, kGrid);
  const v1::Event elsewhere = EventAt(kOtherCommunity, "370212001002");
  for (Rpc move : {Rpc::kAcceptEvent, Rpc::kResolveEvent, Rpc::kReturnEvent, Rpc::kSuspendEvent,
                   Rpc::kEscalateEvent}) {
    EXPECT_TRUE(Allowed(handler, move, "", &here)) << RpcName(move);
    EXPECT_FALSE(Allowed(handler, move, "", &below)) << RpcName(move) << ": not its queue";
    EXPECT_FALSE(Allowed(handler, move, "", &elsewhere)) << RpcName(move);
  }
  for (Rpc move : {Rpc::kResumeEvent, Rpc::kVoidEvent, Rpc::kReassignEvent, Rpc::kSuperviseEvent,
                   Rpc::kVerifyEvent, Rpc::kCancelEvent}) {
    EXPECT_FALSE(Allowed(handler, move, "", &here)) << RpcName(move);
  }
  EXPECT_TRUE(Allowed(handler, Rpc::kGetEvent, "", &below));
  EXPECT_FALSE(Allowed(handler, Rpc::kGetEvent, "", &elsewhere));
  EXPECT_TRUE(Allowed(handler, Rpc::kListUnitQueue, kGrid, nullptr));
  EXPECT_TRUE(Allowed(handler, Rpc::kListOverdueEvents, kCommunity, nullptr));
  EXPECT_FALSE(Allowed(handler, Rpc::kListEvents, kSubdistrict, nullptr));
  EXPECT_FALSE(Allowed(handler, Rpc::kReportEvent, kGrid, nullptr));
}

// Issue 9: the console serves handlers too; the table alone says what they may read.
TEST_F(AuthorizerTest, AHandlerReadsTheStatsAndTopologyOfItsSubtreeAndWatchesItsQueue) {
  const v1::Actor handler = Caller(v1::ROLE_HANDLER, kCommunity);
  for (Rpc read : {Rpc::kGetStats, Rpc::kGetTopology}) {
    EXPECT_TRUE(Allowed(handler, read, kCommunity, nullptr)) << RpcName(read);
    EXPECT_TRUE(Allowed(handler, read, kGrid, nullptr)) << RpcName(read);
    EXPECT_FALSE(Allowed(handler, read, kSubdistrict, nullptr)) << RpcName(read);
    EXPECT_FALSE(Allowed(handler, read, kOtherCommunity, nullptr)) << RpcName(read);
  }
  // The watch: its own unit's queue, not a unit below it nor above.
  EXPECT_TRUE(Allowed(handler, Rpc::kWatchEvents, kCommunity, nullptr));
  EXPECT_FALSE(Allowed(handler, Rpc::kWatchEvents, kGrid, nullptr));
  EXPECT_FALSE(Allowed(handler, Rpc::kWatchEvents, kSubdistrict, nullptr));

  auto own = authorizer().ScopeWatch(handler, "");
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_EQ(own->unit_id, kCommunity);
  EXPECT_TRUE(own->queue_only);
  auto named = authorizer().ScopeWatch(handler, kCommunity);
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_TRUE(named->queue_only);
  const auto below = authorizer().ScopeWatch(handler, kGrid);
  EXPECT_EQ(below.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(below.status().message()), HasSubstr("outside the queue"));
  // A department's handler watches what sits at the department.
  auto department = authorizer().ScopeWatch(Caller(v1::ROLE_HANDLER, kDepartment), "");
  ASSERT_TRUE(department.ok()) << department.status();
  EXPECT_EQ(department->unit_id, kDepartment);
  EXPECT_TRUE(department->queue_only);
}

TEST_F(AuthorizerTest, AWatchIsScopedToTheSubtreeOfTheHomeUnitOrTheDistrictForAnAdmin) {
  const v1::Actor op = Caller(v1::ROLE_OPERATOR, kCommunity);
  auto home = authorizer().ScopeWatch(op, "");
  ASSERT_TRUE(home.ok()) << home.status();
  EXPECT_EQ(home->unit_id, kCommunity);
  EXPECT_FALSE(home->queue_only);
  auto below = authorizer().ScopeWatch(op, kGrid);
  ASSERT_TRUE(below.ok()) << below.status();
  EXPECT_EQ(below->unit_id, kGrid);
  const auto above = authorizer().ScopeWatch(op, kSubdistrict);
  EXPECT_EQ(above.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(above.status().message()), HasSubstr("WatchEvents"));
  EXPECT_EQ(authorizer().ScopeWatch(Caller(v1::ROLE_WORKER, kGrid), "").status().code(),
            absl::StatusCode::kPermissionDenied);
  auto admin = authorizer().ScopeWatch(Caller(v1::ROLE_ADMIN, kGrid), "");
  ASSERT_TRUE(admin.ok()) << admin.status();
  EXPECT_EQ(admin->unit_id, "") << "the whole district";
  EXPECT_FALSE(admin->queue_only);
}

// The authorizer applies the one rule of jurisdiction, not a variant of its own: for an
// operator at each level, every combination of grid and unit decides as EventInSubtree does.
TEST_F(AuthorizerTest, SubtreeCellsDecideByTheOneRuleOfJurisdiction) {
  const std::vector<std::string> homes = {kGrid,        kCommunity, "370212001Z01",
                                          kSubdistrict, kDistrict,  kDepartment};
  const std::vector<std::string> grids = {kGrid, kSameCommunity, kOtherCommunity, "37021200200101"};
  const std::vector<std::string> units = {"",           kGrid,       kCommunity,  "370212001Z01",
                                          kSubdistrict, "370212002", kDepartment, "370212D02"};
  for (const std::string& home : homes) {
    const v1::Actor op = Caller(v1::ROLE_OPERATOR, home);
    for (const std::string& grid : grids) {
      for (const std::string& unit : units) {
        const v1::Event event = EventAt(grid, unit);
        const bool rule = topology::EventInSubtree(**topology_, event, home);
        for (Rpc rpc : {Rpc::kGetEvent, Rpc::kAcceptEvent, Rpc::kSuperviseEvent}) {
          EXPECT_EQ(Allowed(op, rpc, "", &event), rule)
              << RpcName(rpc) << " by " << home << " on grid " << grid << " at \"" << unit << "\"";
        }
      }
    }
  }
}

TEST_F(AuthorizerTest, AnOperatorMayDoEverythingInItsSubtree) {
  const v1::Actor op = Caller(v1::ROLE_OPERATOR, kSubdistrict);
  const v1::Event inside = EventAt(kGrid, kGrid);
  const v1::Event went_up = EventAt(kGrid, kDepartment);
  const v1::Event outside = EventAt("37021200200101", "37021200200101");
  for (int i = 0; i < kRpcCount; ++i) {
    const Rpc rpc = static_cast<Rpc>(i);
    if (rpc == Rpc::kListDeadLetters || rpc == Rpc::kReplayDeadLetters ||
        rpc == Rpc::kGetWebhookStatus || rpc == Rpc::kTestWebhook ||
        rpc == Rpc::kRedeliverWebhooks) {
      EXPECT_FALSE(Allowed(op, rpc, kSubdistrict, nullptr)) << RpcName(rpc) << ": ADMIN only";
      continue;
    }
    if (rpc == Rpc::kListCategories) {
      continue;  // Open to anyone; names no unit or event.
    }
    EXPECT_TRUE(Allowed(op, rpc, kCommunity, &inside)) << RpcName(rpc);
    EXPECT_TRUE(Allowed(op, rpc, "", &went_up)) << RpcName(rpc) << ": its grid is ours";
    EXPECT_FALSE(Allowed(op, rpc, "", &outside)) << RpcName(rpc);
    EXPECT_FALSE(Allowed(op, rpc, kOtherSubdistrict, nullptr)) << RpcName(rpc);
    EXPECT_FALSE(Allowed(op, rpc, kDistrict, nullptr)) << RpcName(rpc);
  }
  // A reassignment needs both ends inside.
  EXPECT_FALSE(Allowed(op, Rpc::kReassignEvent, kDepartment, &inside));
  EXPECT_TRUE(Allowed(op, Rpc::kReassignEvent, kCommunity, &inside));
  // The district's operators reach the departments too.
  const v1::Event at_department = EventAt("37021200200101", kDepartment);
  EXPECT_TRUE(Allowed(Caller(v1::ROLE_OPERATOR, kDistrict), Rpc::kVoidEvent, "", &at_department));
}

TEST_F(AuthorizerTest, AClientSystemFilesAndReadsInItsSubtreeAsItself) {
  v1::Actor hotline = Caller(v1::ROLE_SYSTEM, kSubdistrict);
  hotline.set_subject("system:hotline");
  const v1::Event inside = EventAt(kGrid, kGrid);
  const v1::Event went_up = EventAt(kGrid, kDepartment);
  const v1::Event outside = EventAt("37021200200101", "37021200200101");
  for (const Rpc rpc : {Rpc::kGetEvent, Rpc::kListEvents}) {
    EXPECT_TRUE(Allowed(hotline, rpc, kCommunity, &inside)) << RpcName(rpc);
    EXPECT_TRUE(Allowed(hotline, rpc, "", &went_up)) << RpcName(rpc);
    EXPECT_FALSE(Allowed(hotline, rpc, "", &outside)) << RpcName(rpc);
  }
  EXPECT_FALSE(Allowed(hotline, Rpc::kListEvents, kOtherSubdistrict, nullptr));
  for (const Rpc rpc : {Rpc::kAcceptEvent, Rpc::kVoidEvent, Rpc::kGetEventHistory,
                        Rpc::kWatchEvents, Rpc::kGetStats}) {
    EXPECT_FALSE(Allowed(hotline, rpc, kCommunity, &inside)) << RpcName(rpc);
  }
  v1::Report report;
  report.set_grid_id(kGrid);
  EXPECT_TRUE(authorizer().CheckReport(hotline, Rpc::kReportEvent, report).ok());
  report.set_reporter_id("system:hotline");
  EXPECT_TRUE(authorizer().CheckReport(hotline, Rpc::kReportEvent, report).ok());
  report.set_reporter_id("W3702120010010101");  // Not as a worker.
  const absl::Status as_worker = authorizer().CheckReport(hotline, Rpc::kReportEvent, report);
  EXPECT_EQ(as_worker.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(as_worker.message(), HasSubstr("report.reporter_id"));
  report.clear_reporter_id();
  report.set_grid_id("37021200200101");
  EXPECT_EQ(authorizer().CheckReport(hotline, Rpc::kReportEvent, report).code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(AuthorizerTest, AnAdminMayDoAnythingAnywhere) {
  const v1::Actor admin = Caller(v1::ROLE_ADMIN, kGrid);
  const v1::Event outside = EventAt("37021200200101", kDepartment);
  for (int i = 0; i < kRpcCount; ++i) {
    EXPECT_TRUE(Allowed(admin, static_cast<Rpc>(i), kOtherSubdistrict, &outside));
  }
}

TEST_F(AuthorizerTest, AnEmptyScopeIsTheCallersHomeUnitExceptForAnAdmin) {
  EXPECT_EQ(Authorizer::Scope(Caller(v1::ROLE_OPERATOR, kSubdistrict), ""), kSubdistrict);
  EXPECT_EQ(Authorizer::Scope(Caller(v1::ROLE_OPERATOR, kSubdistrict), kGrid), kGrid);
  EXPECT_EQ(Authorizer::Scope(Caller(v1::ROLE_ADMIN, kDistrict), ""), "");
}

}  // namespace
}  // namespace grid::auth
