// Authentication, authorisation, rate limits and failure behaviour of the gateway, on real
// processes: every role × every public RPC × inside/outside the caller's jurisdiction, the ways a
// token is refused, the per-subject rate limit, and an internal service that is down.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <map>

#include "absl/strings/str_cat.h"
#include "common/auth/api_clients.h"
#include "common/auth/authorizer.h"
#include "common/auth/token.h"
#include "tests/support/poll.h"
#include "tests/support/shipped_config.h"
#include "tests/support/stack.h"
#include "tests/support/stack_test.h"

namespace grid {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::PollUntil;
using testing::Stack;

constexpr char kGrid[] = "37021200100101";  // 中韩街道 / 张家涧社区 / grid 1
constexpr char kWorker[] = "W3702120010010101";
constexpr char kCommunity[] = "370212001001";
constexpr char kSubdistrict[] = "370212001";
constexpr char kDistrict[] = "370212";
constexpr char kOtherGrid[] = "37021200200101";  // another subdistrict
constexpr char kOtherCommunity[] = "370212002001";
constexpr char kOtherSubdistrict[] = "370212002";
// Moves carry this version: an allowed move is refused (ABORTED) by routing and changes nothing,
// so that the matrix can run every cell on the same two events.
constexpr int64_t kStaleVersion = 999999;

v1::Actor Caller(v1::Role role, const std::string& subject, const std::string& unit) {
  v1::Actor actor;
  actor.set_subject(subject);
  actor.set_role(role);
  actor.set_unit_id(unit);
  return actor;
}

// The client systems of these tests' gateway: the 12345 hotline of one subdistrict, and an
// Open311 client of the whole district.
constexpr char kHotlineKey[] = "hotline-key-0123456789abcdef0123456789abcdef";
constexpr char kOpen311Key[] = "open311-key-0123456789abcdef0123456789abcdef";

std::string WriteApiKeys() {
  const std::string path =
      absl::StrCat(::testing::TempDir(), "/auth-test-api-keys-", getpid(), ".json");
  std::ofstream(path) << R"({"clients": [)"
                      << R"({"name": "hotline-sd", "key_sha256": ")" << auth::Sha256Hex(kHotlineKey)
                      << R"(", "unit_id": ")" << kSubdistrict
                      << R"(", "source": "SOURCE_HOTLINE"},)"
                      << R"({"name": "open311-district", "key_sha256": ")"
                      << auth::Sha256Hex(kOpen311Key) << R"(", "unit_id": ")" << kDistrict
                      << R"("}]})";
  return path;
}

class AuthTest : public testing::StackTest {
 protected:
  void SetUp() override { StartGateway({}); }

  // A stack whose gateway runs with `gateway_args` besides the usual ones, and the client
  // systems of WriteApiKeys.
  void StartGateway(std::vector<std::string> gateway_args) {
    Stack::Options options;
    gateway_args.push_back("--api-keys");
    gateway_args.push_back(WriteApiKeys());
    options.extra_args["grid-gateway"] = std::move(gateway_args);
    StartStack(std::move(options));
  }

  // Files a report in `grid` as `actor` and waits until routing has dispatched it.
  v1::Event ReportDispatched(const std::string& grid, const v1::Actor& actor) {
    v1::ReportEventRequest request;
    v1::Report& report = *request.mutable_report();
    report.set_grid_id(grid);
    report.set_category("0102");
    report.set_severity(v1::SEVERITY_NORMAL);
    report.set_description("暴露垃圾");
    v1::ReportEventResponse response;
    const grpc::Status status = gateway().ReportEvent(Context(actor).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    v1::Event event;
    PollUntil(
        [&] {
          event = Get(response.event_id());
          return event.state() == v1::EVENT_STATE_DISPATCHED;
        },
        std::chrono::seconds(10));
    EXPECT_EQ(event.state(), v1::EVENT_STATE_DISPATCHED);
    return event;
  }

  v1::Event Get(const std::string& id) {
    v1::GetEventRequest request;
    request.set_event_id(id);
    v1::GetEventResponse response;
    (void)gateway().GetEvent(Context(Stack::Admin()).get(), request, &response);
    return response.event();
  }
};

// What one cell of the matrix calls.
struct Target {
  std::string event_id;  // the event a move or read acts on
  std::string grid;      // a report's grid
  std::string unit;      // a list's, queue's, stats', topology's or watch's unit
  std::string approver;  // a suspension's approver
  std::string to_unit;   // a reassignment's destination
};

// Calls `rpc` as `caller` on `target`; the status.
class Client final {
 public:
  // Calls with a token of `actor`, or with `api_key` when it is not empty.
  Client(Stack& stack, const v1::Actor& actor, std::string api_key = "")
      : stack_(stack), actor_(actor), api_key_(std::move(api_key)) {}

  grpc::Status Call(auth::Rpc rpc, const Target& t) {
    v1::GatewayService::Stub& g = stack_.gateway();
    switch (rpc) {
      case auth::Rpc::kReportEvent: {
        v1::ReportEventRequest r;
        r.mutable_report()->set_grid_id(t.grid);
        r.mutable_report()->set_category("0102");
        r.mutable_report()->set_severity(v1::SEVERITY_LOW);
        r.mutable_report()->set_description("matrix");
        return Unary(&v1::GatewayService::Stub::ReportEvent, r);
      }
      case auth::Rpc::kUploadReports: {
        auto context = Context();
        v1::UploadReportsResponse response;
        auto writer = g.UploadReports(context.get(), &response);
        v1::UploadReportsRequest item;
        item.mutable_report()->set_client_request_id(absl::StrCat("matrix-", ++uploads_));
        item.mutable_report()->set_grid_id(t.grid);
        item.mutable_report()->set_category("0102");
        item.mutable_report()->set_severity(v1::SEVERITY_LOW);
        item.mutable_report()->set_description("matrix");
        writer->Write(item);
        writer->WritesDone();
        return writer->Finish();
      }
      case auth::Rpc::kAcceptEvent:
        return Move(&v1::GatewayService::Stub::AcceptEvent, v1::AcceptEventRequest(), t);
      case auth::Rpc::kResolveEvent: {
        v1::ResolveEventRequest r;
        r.set_note("done");
        return Move(&v1::GatewayService::Stub::ResolveEvent, r, t);
      }
      case auth::Rpc::kVerifyEvent: {
        v1::VerifyEventRequest r;
        r.set_passed(true);
        return Move(&v1::GatewayService::Stub::VerifyEvent, r, t);
      }
      case auth::Rpc::kReturnEvent: {
        v1::ReturnEventRequest r;
        r.set_reason("not ours");
        return Move(&v1::GatewayService::Stub::ReturnEvent, r, t);
      }
      case auth::Rpc::kSuspendEvent: {
        v1::SuspendEventRequest r;
        r.set_reason("funds");
        r.set_approver_unit_id(t.approver);
        return Move(&v1::GatewayService::Stub::SuspendEvent, r, t);
      }
      case auth::Rpc::kResumeEvent:
        return Move(&v1::GatewayService::Stub::ResumeEvent, v1::ResumeEventRequest(), t);
      case auth::Rpc::kCancelEvent: {
        v1::CancelEventRequest r;
        r.set_reason("mistake");
        return Move(&v1::GatewayService::Stub::CancelEvent, r, t);
      }
      case auth::Rpc::kVoidEvent: {
        v1::VoidEventRequest r;
        r.set_reason("prank");
        return Move(&v1::GatewayService::Stub::VoidEvent, r, t);
      }
      case auth::Rpc::kReassignEvent: {
        v1::ReassignEventRequest r;
        r.set_unit_id(t.to_unit);
        r.set_reason("water");
        return Move(&v1::GatewayService::Stub::ReassignEvent, r, t);
      }
      case auth::Rpc::kEscalateEvent: {
        v1::EscalateEventRequest r;
        r.set_reason("too big");
        return Move(&v1::GatewayService::Stub::EscalateEvent, r, t);
      }
      case auth::Rpc::kSuperviseEvent: {
        // No expected_version in the contract: an allowed supervision is applied (the event
        // stays at its unit).
        v1::SuperviseEventRequest r;
        r.set_note("today");
        return Move(&v1::GatewayService::Stub::SuperviseEvent, r, t);
      }
      case auth::Rpc::kGetEvent: {
        v1::GetEventRequest r;
        r.set_event_id(t.event_id);
        return Unary(&v1::GatewayService::Stub::GetEvent, r);
      }
      case auth::Rpc::kGetEventHistory: {
        v1::GetEventHistoryRequest r;
        r.set_event_id(t.event_id);
        return Unary(&v1::GatewayService::Stub::GetEventHistory, r);
      }
      case auth::Rpc::kListEvents: {
        v1::ListEventsRequest r;
        r.set_unit_id(t.unit);
        return Unary(&v1::GatewayService::Stub::ListEvents, r);
      }
      case auth::Rpc::kListUnitQueue: {
        v1::ListUnitQueueRequest r;
        r.set_unit_id(t.unit);
        return Unary(&v1::GatewayService::Stub::ListUnitQueue, r);
      }
      case auth::Rpc::kListOverdueEvents: {
        v1::ListOverdueEventsRequest r;
        r.set_unit_id(t.unit);
        return Unary(&v1::GatewayService::Stub::ListOverdueEvents, r);
      }
      case auth::Rpc::kGetStats: {
        v1::GetStatsRequest r;
        r.set_unit_id(t.unit);
        return Unary(&v1::GatewayService::Stub::GetStats, r);
      }
      case auth::Rpc::kGetTopology: {
        v1::GetTopologyRequest r;
        r.set_unit_id(t.unit);
        return Unary(&v1::GatewayService::Stub::GetTopology, r);
      }
      case auth::Rpc::kWatchEvents: {
        // An allowed watch stays open: the short deadline ends it.
        auto context = Context(std::chrono::milliseconds(500));
        v1::WatchEventsRequest r;
        r.set_unit_id(t.unit);
        auto reader = g.WatchEvents(context.get(), r);
        v1::WatchEventsResponse item;
        if (reader->Read(&item)) {
          context->TryCancel();
          while (reader->Read(&item)) {
          }
          (void)reader->Finish();
          return grpc::Status::OK;  // It streamed: it passed authorisation.
        }
        return reader->Finish();
      }
      case auth::Rpc::kListDeadLetters: {
        v1::ListDeadLettersRequest r;
        r.set_unit_id(t.unit);
        return Unary(&v1::GatewayService::Stub::ListDeadLetters, r);
      }
      case auth::Rpc::kReplayDeadLetters: {
        v1::ReplayDeadLettersRequest r;
        r.set_unit_id(t.unit);
        r.set_all(true);
        return Unary(&v1::GatewayService::Stub::ReplayDeadLetters, r);
      }
      case auth::Rpc::kListCategories:
        return Unary(&v1::GatewayService::Stub::ListCategories, v1::ListCategoriesRequest());
      // The stack runs no grid-webhooks: an ADMIN gets UNAVAILABLE, past the door.
      case auth::Rpc::kGetWebhookStatus:
        return Unary(&v1::GatewayService::Stub::GetWebhookStatus, v1::GetWebhookStatusRequest());
      case auth::Rpc::kTestWebhook: {
        v1::TestWebhookRequest r;
        r.set_receiver("city-management");
        return Unary(&v1::GatewayService::Stub::TestWebhook, r);
      }
      case auth::Rpc::kRedeliverWebhooks: {
        v1::RedeliverWebhooksRequest r;
        r.set_receiver("city-management");
        return Unary(&v1::GatewayService::Stub::RedeliverWebhooks, r);
      }
    }
    return grpc::Status(grpc::StatusCode::INTERNAL, "unknown rpc");
  }

 private:
  std::unique_ptr<grpc::ClientContext> Context(
      std::chrono::milliseconds deadline = std::chrono::seconds(5)) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + deadline);
    if (api_key_.empty()) {
      stack_.Authorize(*context, actor_);
    } else {
      context->AddMetadata("x-api-key", api_key_);
    }
    return context;
  }

  template <class Request, class Response>
  grpc::Status Unary(grpc::Status (v1::GatewayService::Stub::*rpc)(grpc::ClientContext*,
                                                                   const Request&, Response*),
                     const Request& request) {
    Response response;
    return (stack_.gateway().*rpc)(Context().get(), request, &response);
  }

  // A move on the target event, claiming in the request to be an admin (the gateway must
  // ignore that), at a stale version where the move has one.
  template <class Request, class Response>
  grpc::Status Move(grpc::Status (v1::GatewayService::Stub::*rpc)(grpc::ClientContext*,
                                                                  const Request&, Response*),
                    Request request, const Target& t) {
    request.set_event_id(t.event_id);
    *request.mutable_actor() = Stack::Admin();
    if constexpr (requires { request.set_expected_version(int64_t{0}); }) {
      request.set_expected_version(kStaleVersion);
    }
    return Unary(rpc, request);
  }

  Stack& stack_;
  v1::Actor actor_;
  std::string api_key_;
  int uploads_ = 0;
};

bool PassedAuth(const grpc::Status& status) {
  return status.error_code() != grpc::StatusCode::UNAUTHENTICATED &&
         status.error_code() != grpc::StatusCode::PERMISSION_DENIED;
}

bool NamesAnEvent(auth::Rpc rpc) {
  switch (rpc) {
    case auth::Rpc::kReportEvent:
    case auth::Rpc::kUploadReports:
    case auth::Rpc::kListEvents:
    case auth::Rpc::kListUnitQueue:
    case auth::Rpc::kListOverdueEvents:
    case auth::Rpc::kGetStats:
    case auth::Rpc::kGetTopology:
    case auth::Rpc::kWatchEvents:
    case auth::Rpc::kListDeadLetters:
    case auth::Rpc::kReplayDeadLetters:
    case auth::Rpc::kListCategories:
    case auth::Rpc::kGetWebhookStatus:
    case auth::Rpc::kTestWebhook:
    case auth::Rpc::kRedeliverWebhooks:
      return false;
    default:
      return true;
  }
}

// The documented table (README, authorizer.h), written out again: may WORKER, HANDLER, OPERATOR,
// ADMIN, SYSTEM (an api key) call it on a target inside their jurisdiction? Outside it, only
// ADMIN may, and anyone may read the categories.
const std::map<auth::Rpc, std::array<bool, 5>>& Expected() {
  using R = auth::Rpc;
  static const std::map<auth::Rpc, std::array<bool, 5>> kTable = {
      {R::kReportEvent, {true, false, true, true, true}},
      {R::kUploadReports, {true, false, true, true, true}},
      {R::kAcceptEvent, {false, true, true, true, false}},
      {R::kResolveEvent, {false, true, true, true, false}},
      {R::kVerifyEvent, {true, false, true, true, false}},
      {R::kReturnEvent, {false, true, true, true, false}},
      {R::kSuspendEvent, {false, true, true, true, false}},
      {R::kResumeEvent, {false, false, true, true, false}},
      {R::kCancelEvent, {true, false, true, true, false}},
      {R::kVoidEvent, {false, false, true, true, false}},
      {R::kReassignEvent, {false, false, true, true, false}},
      {R::kEscalateEvent, {false, true, true, true, false}},
      {R::kSuperviseEvent, {false, false, true, true, false}},
      {R::kGetEvent, {true, true, true, true, true}},
      {R::kGetEventHistory, {true, true, true, true, false}},
      {R::kListEvents, {true, true, true, true, true}},
      {R::kListUnitQueue, {true, true, true, true, false}},
      {R::kListOverdueEvents, {false, true, true, true, false}},
      {R::kGetStats, {false, true, true, true, false}},
      {R::kGetTopology, {false, true, true, true, false}},
      {R::kWatchEvents, {false, true, true, true, false}},
      {R::kListDeadLetters, {false, false, false, true, false}},
      {R::kReplayDeadLetters, {false, false, false, true, false}},
      {R::kListCategories, {true, true, true, true, true}},
      {R::kGetWebhookStatus, {false, false, false, true, false}},
      {R::kTestWebhook, {false, false, false, true, false}},
      {R::kRedeliverWebhooks, {false, false, false, true, false}},
  };
  return kTable;
}

TEST_F(AuthTest, EveryRoleTimesEveryRpcInsideAndOutsideTheJurisdiction) {
  const v1::Actor worker = Caller(v1::ROLE_WORKER, kWorker, kGrid);
  // Inside: reported by the worker in their grid, dispatched to that grid (the handler's unit),
  // within the operator's subdistrict. Outside: another subdistrict's grid, reported by an admin.
  const v1::Event inside = ReportDispatched(kGrid, worker);
  const v1::Event outside = ReportDispatched(kOtherGrid, Stack::Admin());
  ASSERT_EQ(inside.unit_id(), kGrid);
  ASSERT_EQ(inside.reporter_id(), kWorker);
  ASSERT_FALSE(outside.unit_id().empty());

  const std::array<v1::Actor, 5> callers = {
      worker,
      Caller(v1::ROLE_HANDLER, "handler-1", kGrid),
      Caller(v1::ROLE_OPERATOR, "operator-1", kSubdistrict),
      Caller(v1::ROLE_ADMIN, "admin-1", kDistrict),
      Caller(v1::ROLE_SYSTEM, "system:hotline-sd", kSubdistrict),
  };
  ASSERT_EQ(Expected().size(), static_cast<size_t>(auth::kRpcCount));
  int cells = 0;
  int watch_unimplemented = 0;
  for (size_t role = 0; role < callers.size(); ++role) {
    const v1::Actor& actor = callers[role];
    Client caller(*stack_, actor, actor.role() == v1::ROLE_SYSTEM ? kHotlineKey : "");
    for (const bool in : {true, false}) {
      const Target target = in ? Target{inside.id(), kGrid, actor.unit_id(), kCommunity, kCommunity}
                               : Target{outside.id(), kOtherGrid, kOtherSubdistrict,
                                        kOtherCommunity, kOtherCommunity};
      for (const auto& [rpc, row] : Expected()) {
        SCOPED_TRACE(absl::StrCat(auth::RpcName(rpc), " as ", v1::Role_Name(actor.role()), " ",
                                  in ? "inside" : "outside"));
        const bool allowed = row[role] && (in || actor.role() == v1::ROLE_ADMIN ||
                                           rpc == auth::Rpc::kListCategories);
        const int64_t before = Get(target.event_id).version();
        const grpc::Status status = caller.Call(rpc, target);
        ++cells;
        if (rpc == auth::Rpc::kWatchEvents &&
            status.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
          ++watch_unimplemented;  // The live stream is not served by this build.
          continue;
        }
        if (allowed) {
          EXPECT_TRUE(PassedAuth(status)) << status.error_code() << ": " << status.error_message();
        } else {
          EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
              << status.error_message();
          if (NamesAnEvent(rpc)) {
            EXPECT_EQ(Get(target.event_id).version(), before) << "a denied move changed nothing";
          }
        }
      }
    }
  }
  EXPECT_EQ(cells, 5 * 2 * auth::kRpcCount);
  if (watch_unimplemented > 0) {
    std::cerr << "note: WatchEvents answered UNIMPLEMENTED in " << watch_unimplemented
              << " cells; its column was not checked\n";
  }
}

TEST_F(AuthTest, TheActorComesFromTheTokenNotTheRequest) {
  const v1::Event event = ReportDispatched(kGrid, Caller(v1::ROLE_WORKER, kWorker, kGrid));
  v1::AcceptEventRequest request;
  request.set_event_id(event.id());
  *request.mutable_actor() = Caller(v1::ROLE_ADMIN, "mallory", kDistrict);
  v1::AcceptEventResponse response;
  const v1::Actor handler = Caller(v1::ROLE_HANDLER, "handler-7", kGrid);
  ASSERT_TRUE(gateway().AcceptEvent(Context(handler).get(), request, &response).ok());

  v1::GetEventHistoryRequest history_request;
  history_request.set_event_id(event.id());
  v1::GetEventHistoryResponse history;
  ASSERT_TRUE(
      gateway().GetEventHistory(Context(Stack::Admin()).get(), history_request, &history).ok());
  ASSERT_EQ(history.changes_size(), 3);
  EXPECT_EQ(history.changes(0).actor().subject(), kWorker) << "the report, by the worker's token";
  EXPECT_EQ(history.changes(2).actor().subject(), "handler-7");
  EXPECT_EQ(history.changes(2).actor().role(), v1::ROLE_HANDLER);
  EXPECT_EQ(history.changes(2).actor().unit_id(), kGrid);
}

TEST_F(AuthTest, ACallWithoutAUnitIsScopedToTheCallersHomeUnit) {
  const v1::Event inside = ReportDispatched(kGrid, Stack::Admin());
  const v1::Event outside = ReportDispatched(kOtherGrid, Stack::Admin());
  const auto listed = [&](const v1::Actor& actor) {
    v1::ListEventsRequest request;  // no unit
    v1::ListEventsResponse response;
    const grpc::Status status = gateway().ListEvents(Context(actor).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::vector<std::string> ids;
    for (const v1::Event& event : response.events()) {
      ids.push_back(event.id());
    }
    return ids;
  };
  const v1::Actor op = Caller(v1::ROLE_OPERATOR, "operator-1", kSubdistrict);
  EXPECT_THAT(listed(op), ::testing::ElementsAre(inside.id()));
  EXPECT_THAT(listed(Stack::Admin()), ::testing::UnorderedElementsAre(inside.id(), outside.id()));

  v1::GetTopologyRequest request;  // no unit
  v1::GetTopologyResponse mine;
  ASSERT_TRUE(gateway().GetTopology(Context(op).get(), request, &mine).ok());
  v1::GetTopologyResponse all;
  ASSERT_TRUE(gateway().GetTopology(Context(Stack::Admin()).get(), request, &all).ok());
  EXPECT_EQ(all.worker_count(), 735);
  EXPECT_GT(mine.worker_count(), 0);
  EXPECT_LT(mine.worker_count(), all.worker_count()) << "the operator's subdistrict only";
}

TEST_F(AuthTest, BadTokensAreUnauthenticatedAndSayWhy) {
  const auto call = [&](const std::optional<std::string>& authorization) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    if (authorization) {
      context.AddMetadata("authorization", *authorization);
    }
    v1::GetTopologyRequest request;
    v1::GetTopologyResponse response;
    return gateway().GetTopology(&context, request, &response);
  };
  const std::string admin = stack_->Token("a", v1::ROLE_ADMIN, kDistrict);
  ASSERT_TRUE(call("Bearer " + admin).ok());

  const auto expect = [&](const std::optional<std::string>& authorization,
                          const std::string& what) {
    SCOPED_TRACE(what);
    const grpc::Status status = call(authorization);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr(what));
    EXPECT_THAT(status.error_message(), Not(HasSubstr(stack_->jwt_secret())));
  };
  expect(std::nullopt, "missing");
  expect("Basic dXNlcjpwYXNz", "Bearer <JWT>");
  expect("Bearer not-a-token", "malformed");
  expect("Bearer " + stack_->Token("a", v1::ROLE_ADMIN, kDistrict, std::chrono::seconds(-60)),
         "expired");
  // Forged: another payload (an admin) under the signature of a worker's token.
  const std::string worker = stack_->Token(kWorker, v1::ROLE_WORKER, kGrid);
  const std::string forged = admin.substr(0, admin.rfind('.')) + worker.substr(worker.rfind('.'));
  expect("Bearer " + forged, "bad signature");
  // Signed with another secret.
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  auto foreign = auth::IssueToken({"a", v1::ROLE_ADMIN, kDistrict, now, now + 3600},
                                  "another-secret-that-is-long-enough-to-sign");
  ASSERT_TRUE(foreign.ok());
  expect("Bearer " + *foreign, "bad signature");
  expect("Bearer " + stack_->Token("a", v1::ROLE_ADMIN, "370212999"), "unknown unit");

  // A refused call reaches no backend: nothing is filed.
  grpc::ClientContext context;
  v1::ReportEventRequest request;
  request.mutable_report()->set_grid_id(kGrid);
  v1::ReportEventResponse response;
  EXPECT_EQ(gateway().ReportEvent(&context, request, &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(response.event_id().empty());
}

// A client system with an api key: it files as itself with its own source, in the grid nearest to
// the location it gives, within its subtree; and a key the gateway does not know opens nothing.
TEST_F(AuthTest, AClientSystemFilesByLocationAsItselfWithItsSource) {
  const v1::Unit* grid = testing::ShippedTopology().Find(kGrid);
  ASSERT_NE(grid, nullptr);
  ASSERT_TRUE(grid->has_center());
  const auto context = [](const std::string& key) {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    if (!key.empty()) {
      c->AddMetadata("x-api-key", key);
    }
    return c;
  };
  v1::ReportEventRequest request;
  v1::Report& report = *request.mutable_report();
  report.set_category("0102");
  report.set_severity(v1::SEVERITY_NORMAL);
  report.set_description("市民来电: 路边垃圾");
  report.mutable_location()->set_lat(grid->center().lat() + 0.0001);
  report.mutable_location()->set_lng(grid->center().lng() - 0.0001);
  v1::ReportEventResponse filed;
  grpc::Status status = gateway().ReportEvent(context(kHotlineKey).get(), request, &filed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(filed.event().grid_id(), kGrid);
  EXPECT_EQ(filed.event().source(), v1::SOURCE_HOTLINE);
  EXPECT_EQ(filed.event().reporter_id(), "system:hotline-sd");
  // It reads its own report back, and lists within its subtree only.
  v1::GetEventRequest get;
  get.set_event_id(filed.event_id());
  v1::GetEventResponse got;
  status = gateway().GetEvent(context(kHotlineKey).get(), get, &got);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(got.event().id(), filed.event_id());
  v1::ListEventsRequest list;
  list.set_unit_id(kOtherSubdistrict);
  v1::ListEventsResponse listed;
  status = gateway().ListEvents(context(kHotlineKey).get(), list, &listed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
  // Another subdistrict's location is outside the hotline's subtree.
  const v1::Unit* other = testing::ShippedTopology().Find(kOtherGrid);
  ASSERT_NE(other, nullptr);
  *report.mutable_location() = other->center();
  status = gateway().ReportEvent(context(kHotlineKey).get(), request, &filed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
  // The district's Open311 client files there, as SOURCE_OPEN311; naming another source is
  // refused, naming the field.
  status = gateway().ReportEvent(context(kOpen311Key).get(), request, &filed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(filed.event().grid_id(), kOtherGrid);
  EXPECT_EQ(filed.event().source(), v1::SOURCE_OPEN311);
  report.set_source(v1::SOURCE_VIDEO);
  status = gateway().ReportEvent(context(kOpen311Key).get(), request, &filed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("report.source"));
  report.clear_source();
  // A location out at sea: no grid, INVALID_ARGUMENT naming the location.
  report.mutable_location()->set_lat(36.2);
  report.mutable_location()->set_lng(121.3);
  status = gateway().ReportEvent(context(kOpen311Key).get(), request, &filed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("report.location"));
  // A key it does not know, or none: unauthenticated, saying which metadata to send.
  status =
      gateway().ReportEvent(context("not-a-key-0123456789abcdef0123456789").get(), request, &filed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("x-api-key"));
  status = gateway().ReportEvent(context("").get(), request, &filed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("x-api-key"));
  // The categories are open to anyone, and are the policy's.
  v1::ListCategoriesResponse categories;
  status = gateway().ListCategories(context("").get(), v1::ListCategoriesRequest(), &categories);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const v1::Policy& policy = testing::ShippedPolicy().data();
  ASSERT_EQ(categories.categories_size(), policy.categories_size());
  EXPECT_EQ(categories.categories(0).code(), policy.categories(0).code());
}

TEST_F(AuthTest, ABurstFromOneSubjectIsLimitedWhileAnotherIsServed) {
  StartGateway({"--rate-per-second", "2", "--rate-burst", "5"});
  const v1::Actor noisy = Caller(v1::ROLE_OPERATOR, "noisy", kSubdistrict);
  const v1::Actor quiet = Caller(v1::ROLE_OPERATOR, "quiet", kSubdistrict);
  const auto topology = [&](const v1::Actor& actor, grpc::ClientContext& context) {
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    stack_->Authorize(context, actor);
    v1::GetTopologyRequest request;
    v1::GetTopologyResponse response;
    return gateway().GetTopology(&context, request, &response);
  };
  int served = 0;
  grpc::Status refused;
  std::string retry_after;
  for (int i = 0; i < 20; ++i) {
    grpc::ClientContext context;
    const grpc::Status status = topology(noisy, context);
    if (status.ok()) {
      ++served;
      continue;
    }
    refused = status;
    const auto& trailers = context.GetServerTrailingMetadata();
    if (auto found = trailers.find("retry-after-ms"); found != trailers.end()) {
      retry_after.assign(found->second.data(), found->second.size());
    }
    break;
  }
  EXPECT_GE(served, 5) << "the burst";
  EXPECT_LE(served, 6) << "the burst, and at most one refill in between";
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), HasSubstr("retry after"));
  EXPECT_THAT(refused.error_message(), HasSubstr("\"noisy\""));
  ASSERT_FALSE(retry_after.empty()) << "trailing metadata retry-after-ms";
  const int retry_ms = std::stoi(retry_after);
  EXPECT_GT(retry_ms, 0);
  EXPECT_LE(retry_ms, 500) << "one call every 500 ms";

  // Another subject has a bucket of its own.
  for (int i = 0; i < 5; ++i) {
    grpc::ClientContext context;
    EXPECT_TRUE(topology(quiet, context).ok()) << i;
  }
  // And the noisy one is served again once the hint has passed.
  EXPECT_TRUE(PollUntil(
      [&] {
        grpc::ClientContext context;
        return topology(noisy, context).ok();
      },
      std::chrono::milliseconds(retry_ms + 2000), std::chrono::milliseconds(retry_ms)));
}

TEST_F(AuthTest, AnInternalServiceThatIsDownGivesUnavailableQuicklyWithoutItsAddress) {
  const v1::Event event = ReportDispatched(kGrid, Caller(v1::ROLE_WORKER, kWorker, kGrid));
  stack_->StopService("grid-routing", SIGKILL);
  stack_->StopService("grid-metrics", SIGKILL);
  const auto timed = [&](const std::function<grpc::Status()>& call, const std::string& service) {
    SCOPED_TRACE(service);
    const auto start = std::chrono::steady_clock::now();
    const grpc::Status status = call();
    const auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
    // A correctness bound: failing fast, not waiting for the 5 s deadline.
    EXPECT_LT(elapsed, std::chrono::seconds(1));
    EXPECT_THAT(status.error_message(), HasSubstr(service));
    EXPECT_THAT(status.error_message(), Not(HasSubstr("127.0.0.1")));
    EXPECT_THAT(status.error_message(), Not(HasSubstr(stack_->address("grid-" + service))));
  };
  for (int round = 0; round < 3; ++round) {
    timed(
        [&] {
          v1::GetEventRequest request;
          request.set_event_id(event.id());
          v1::GetEventResponse response;
          return gateway().GetEvent(Context(Stack::Admin()).get(), request, &response);
        },
        "routing");
    timed(
        [&] {
          v1::AcceptEventRequest request;
          request.set_event_id(event.id());
          v1::AcceptEventResponse response;
          return gateway().AcceptEvent(Context(Caller(v1::ROLE_HANDLER, "h", kGrid)).get(), request,
                                       &response);
        },
        "routing");
    timed(
        [&] {
          v1::GetStatsRequest request;
          v1::GetStatsResponse response;
          return gateway().GetStats(Context(Stack::Admin()).get(), request, &response);
        },
        "metrics");
  }
  // Back up, served again.
  ASSERT_TRUE(stack_->StartService("grid-routing").ok());
  EXPECT_TRUE(
      PollUntil([&] { return Get(event.id()).id() == event.id(); }, std::chrono::seconds(10)));
}

}  // namespace
}  // namespace grid
