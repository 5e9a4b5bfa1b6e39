// A report travels from the gateway through intake and routing into Redis and back out, on real
// processes: redis-server and the five service binaries.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "common/topology/topology.h"
#include "tests/support/paths.h"
#include "tests/support/poll.h"
#include "tests/support/stack.h"

namespace grid {
namespace {

using ::testing::HasSubstr;
using testing::PollUntil;
using testing::SourcePath;
using testing::Stack;

constexpr std::chrono::seconds kDispatchDeadline{10};

class ReportDispatchTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto loaded = topology::Topology::Load(SourcePath("deploy/config/laoshan-topology.json"));
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    topology_ = new topology::TopologyPtr(*loaded);
    stack_ = new Stack();
    auto status = stack_->Start();
    ASSERT_TRUE(status.ok()) << status;
  }

  static void TearDownTestSuite() {
    delete stack_;
    delete topology_;
    stack_ = nullptr;
  }

  void SetUp() override { ASSERT_NE(stack_, nullptr); }

  void TearDown() override {
    if (HasFailure()) {
      std::cerr << stack_->Logs();
    }
  }

  static const topology::Topology& topo() { return **topology_; }

  // The first grid of a subdistrict (by position, 0..4).
  static std::string GridOf(int subdistrict) {
    const std::string& sd = topo().subdistrict_ids().at(subdistrict);
    for (const v1::Unit& unit : topo().data().units()) {
      if (unit.level() == v1::LEVEL_GRID && topo().SubdistrictOf(unit.id()) == sd) {
        return unit.id();
      }
    }
    return "";
  }

  static v1::Report MakeReport(const std::string& grid, const std::string& category,
                               v1::Severity severity) {
    v1::Report report;
    report.set_grid_id(grid);
    report.set_category(category);
    report.set_severity(severity);
    report.set_description("网格员巡查发现: " + category);
    report.set_reporter_id("W" + grid + "01");
    const v1::Unit* unit = topo().Find(grid);
    if (unit != nullptr && unit->has_center()) {
      *report.mutable_location() = unit->center();
    }
    return report;
  }

  static grpc::Status Report(const v1::Report& report, v1::ReportEventResponse& response) {
    grpc::ClientContext context;
    stack_->Authorize(context, Stack::Admin());
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::ReportEventRequest request;
    *request.mutable_report() = report;
    return stack_->gateway().ReportEvent(&context, request, &response);
  }

  static grpc::Status Get(const std::string& id, v1::Event& event) {
    grpc::ClientContext context;
    stack_->Authorize(context, Stack::Admin());
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::GetEventRequest request;
    request.set_event_id(id);
    v1::GetEventResponse response;
    grpc::Status status = stack_->gateway().GetEvent(&context, request, &response);
    event = response.event();
    return status;
  }

  // Polls until the event is DISPATCHED; the event as last read.
  static v1::Event AwaitDispatched(const std::string& id) {
    v1::Event event;
    PollUntil([&] { return Get(id, event).ok() && event.state() == v1::EVENT_STATE_DISPATCHED; },
              kDispatchDeadline);
    return event;
  }

  static long long RedisInteger(std::vector<std::string> argv) {
    auto reply =
        redis::CommandSync(stack_->redis_client(), std::move(argv), std::chrono::seconds(2));
    EXPECT_TRUE(reply.ok()) << reply.status();
    return reply.ok() ? reply->integer : -1;
  }

  // Counts what a report writes: event records, and entries of every routing and live stream.
  static long long WrittenCount() {
    auto keys =
        redis::CommandSync(stack_->redis_client(), {"KEYS", "*:ev:*"}, std::chrono::seconds(2));
    EXPECT_TRUE(keys.ok());
    long long total = keys.ok() ? static_cast<long long>(keys->elements.size()) : -1;
    for (const std::string& sd : topo().subdistrict_ids()) {
      total += RedisInteger({"XLEN", "{" + sd + "}:routing"});
      total += RedisInteger({"XLEN", "{" + sd + "}:live"});
    }
    return total;
  }

  static std::string HttpGet(int port, const std::string& path) {
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket socket(io);
    boost::system::error_code error;
    socket.connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)},
                   error);
    if (error) {
      return "connect failed: " + error.message();
    }
    const std::string request = "GET " + path + " HTTP/1.0\r\nHost: localhost\r\n\r\n";
    boost::asio::write(socket, boost::asio::buffer(request), error);
    std::string body;
    char buffer[4096];
    while (true) {
      const size_t n = socket.read_some(boost::asio::buffer(buffer), error);
      body.append(buffer, n);
      if (error) {
        break;
      }
    }
    return body;
  }

  static topology::TopologyPtr* topology_;
  static Stack* stack_;
};

topology::TopologyPtr* ReportDispatchTest::topology_ = nullptr;
Stack* ReportDispatchTest::stack_ = nullptr;

struct Case {
  std::string category;
  v1::Severity severity;
  int subdistrict;
  v1::Level level;   // The level the shipped policy starts this report at.
  std::string rule;  // The rule the shipped policy routes it by.
};

TEST_F(ReportDispatchTest, ReportsOfSeveralCategoriesReachTheUnitThePolicyNames) {
  const std::vector<Case> cases = {
      {"0102", v1::SEVERITY_NORMAL, 0, v1::LEVEL_GRID, "0102-exposed-rubbish"},
      {"0701", v1::SEVERITY_NORMAL, 1, v1::LEVEL_COMMUNITY, "07-dispute"},
      {"0503", v1::SEVERITY_NORMAL, 2, v1::LEVEL_ZONE, "0503-gas-leak"},
      {"0501", v1::SEVERITY_CRITICAL, 3, v1::LEVEL_SUBDISTRICT, "0501-fire-urgent"},
      {"0901", v1::SEVERITY_LOW, 4, v1::LEVEL_GRID, "0901-elderly-service"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.category + " " + v1::Severity_Name(c.severity));
    const std::string grid = GridOf(c.subdistrict);
    v1::ReportEventResponse response;
    const grpc::Status status = Report(MakeReport(grid, c.category, c.severity), response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.event().state(), v1::EVENT_STATE_REPORTED);
    EXPECT_EQ(response.event().subdistrict_id(), topo().SubdistrictOf(grid));
    EXPECT_THAT(response.event_id(),
                ::testing::StartsWith(topo().subdistrict_ids()[c.subdistrict]));

    const v1::Event event = AwaitDispatched(response.event_id());
    ASSERT_EQ(event.state(), v1::EVENT_STATE_DISPATCHED) << event.DebugString();
    EXPECT_EQ(event.level(), c.level);
    EXPECT_EQ(event.unit_id(), topo().AncestorAt(grid, c.level)->id());
    EXPECT_EQ(event.rule_id(), c.rule);
    EXPECT_TRUE(event.deadlines().has_accept_by());
    EXPECT_EQ(event.version(), 2);
    EXPECT_EQ(event.traffic_light(), v1::TRAFFIC_LIGHT_GREEN);

    // The unit's work queue holds it, and the history tells the story.
    const std::string sd = event.subdistrict_id();
    auto score = redis::CommandSync(stack_->redis_client(),
                                    {"ZSCORE", "{" + sd + "}:queue:" + event.unit_id(), event.id()},
                                    std::chrono::seconds(2));
    ASSERT_TRUE(score.ok());
    EXPECT_FALSE(score->IsNil()) << "the event is in its unit's work queue";
    grpc::ClientContext context;
    stack_->Authorize(context, Stack::Admin());
    v1::GetEventHistoryRequest request;
    request.set_event_id(event.id());
    v1::GetEventHistoryResponse history;
    ASSERT_TRUE(stack_->gateway().GetEventHistory(&context, request, &history).ok());
    ASSERT_EQ(history.changes_size(), 2);
    EXPECT_EQ(history.changes(0).kind(), v1::CHANGE_KIND_REPORTED);
    EXPECT_EQ(history.changes(1).kind(), v1::CHANGE_KIND_DISPATCHED);
    EXPECT_EQ(history.changes(1).to_unit_id(), event.unit_id());
  }
}

struct BadCase {
  std::string name;
  std::function<void(v1::Report&)> spoil;
  std::string field;
};

TEST_F(ReportDispatchTest, BadReportsGetInvalidArgumentNamingTheFieldAndWriteNothing) {
  const std::vector<BadCase> cases = {
      {"unknown grid", [](v1::Report& r) { r.set_grid_id("37021299999999"); }, "report.grid_id"},
      {"community is not a grid", [](v1::Report& r) { r.set_grid_id(r.grid_id().substr(0, 12)); },
       "report.grid_id"},
      {"missing category", [](v1::Report& r) { r.clear_category(); }, "report.category"},
      {"unknown category", [](v1::Report& r) { r.set_category("9999"); }, "report.category"},
      {"missing severity", [](v1::Report& r) { r.clear_severity(); }, "report.severity"},
      {"oversized description",
       [](v1::Report& r) {
         std::string text;
         for (int i = 0; i < 4001; ++i) {
           text += "垃";
         }
         r.set_description(text);
       },
       "report.description"},
      {"latitude out of range", [](v1::Report& r) { r.mutable_location()->set_lat(91); },
       "report.location.lat"},
      {"longitude out of range", [](v1::Report& r) { r.mutable_location()->set_lng(-181); },
       "report.location.lng"},
      {"outside the district",
       [](v1::Report& r) {
         r.mutable_location()->set_lat(39.9);
         r.mutable_location()->set_lng(116.4);
       },
       "report.location"},
      {"too many media",
       [](v1::Report& r) {
         for (int i = 0; i < 10; ++i) {
           r.add_media("media/photo-" + std::to_string(i) + ".jpg");
         }
       },
       "report.media"},
  };
  const long long before = WrittenCount();
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.name);
    v1::Report report = MakeReport(GridOf(0), "0102", v1::SEVERITY_NORMAL);
    c.spoil(report);
    v1::ReportEventResponse response;
    const grpc::Status status = Report(report, response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr(c.field + ":"));
    EXPECT_TRUE(response.event_id().empty());
  }
  EXPECT_EQ(WrittenCount(), before) << "a rejected report leaves nothing in Redis";
  // 4,000 characters exactly is allowed: the bound counts characters, not bytes.
  v1::Report report = MakeReport(GridOf(0), "0102", v1::SEVERITY_NORMAL);
  std::string text;
  for (int i = 0; i < 4000; ++i) {
    text += "垃";
  }
  report.set_description(text);
  v1::ReportEventResponse response;
  EXPECT_TRUE(Report(report, response).ok());
}

TEST_F(ReportDispatchTest, EventsReportedWhileRoutingIsDownAreDispatchedWhenItReturns) {
  stack_->StopService("grid-routing", SIGKILL);
  v1::ReportEventResponse response;
  ASSERT_TRUE(Report(MakeReport(GridOf(1), "0102", v1::SEVERITY_HIGH), response).ok());
  v1::Event event;
  ASSERT_TRUE(Get(response.event_id(), event).error_code() == grpc::StatusCode::UNAVAILABLE)
      << "reads go through routing, which is down";
  auto started = stack_->StartService("grid-routing");
  ASSERT_TRUE(started.ok()) << started;
  event = AwaitDispatched(response.event_id());
  EXPECT_EQ(event.state(), v1::EVENT_STATE_DISPATCHED);
  EXPECT_EQ(event.version(), 2) << "dispatched once";
}

TEST_F(ReportDispatchTest, UnknownEventIsNotFoundAndMalformedIdInvalid) {
  v1::Event event;
  EXPECT_EQ(Get("370212001-0000000000000000", event).error_code(), grpc::StatusCode::NOT_FOUND);
  const grpc::Status malformed = Get("not-an-id", event);
  EXPECT_EQ(malformed.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(malformed.error_message(), HasSubstr("event_id"));
}

TEST_F(ReportDispatchTest, TopologySummaryShowsTheLaoshanCounts) {
  grpc::ClientContext context;
  stack_->Authorize(context, Stack::Admin());
  v1::GetTopologyRequest request;
  v1::GetTopologyResponse response;
  ASSERT_TRUE(stack_->gateway().GetTopology(&context, request, &response).ok());
  ASSERT_EQ(response.level_counts_size(), 5);
  EXPECT_EQ(response.level_counts(0).units(), 654);
  EXPECT_EQ(response.level_counts(1).units(), 139);
  EXPECT_EQ(response.level_counts(3).units(), 5);
  EXPECT_EQ(response.worker_count(), 735);
}

TEST_F(ReportDispatchTest, EveryServiceExposesMetrics) {
  v1::ReportEventResponse response;
  ASSERT_TRUE(Report(MakeReport(GridOf(2), "0102", v1::SEVERITY_NORMAL), response).ok());
  ASSERT_EQ(AwaitDispatched(response.event_id()).state(), v1::EVENT_STATE_DISPATCHED);
  for (const std::string& name : Stack::ServiceNames()) {
    SCOPED_TRACE(name);
    const std::string body = HttpGet(stack_->metrics_port(name), "/metrics");
    EXPECT_THAT(body, HasSubstr("200 OK"));
    EXPECT_THAT(body, HasSubstr("grid_build_info{"));
    EXPECT_THAT(body, HasSubstr("process_resident_memory_bytes"));
    EXPECT_THAT(body, HasSubstr("grid_rpc_server_handled_total{"))
        << "the health checks at start-up were counted";
  }
  EXPECT_THAT(HttpGet(stack_->metrics_port("grid-routing"), "/metrics"),
              HasSubstr("grid_dispatch_total{level=\"grid\",outcome=\"dispatched\"} 1\n"));
  EXPECT_THAT(HttpGet(stack_->metrics_port("grid-gateway"), "/metrics"),
              HasSubstr("grid_rpc_server_handled_total{code=\"OK\",method=\"/grid.v1."
                        "GatewayService/ReportEvent\"} 1\n"));
}

}  // namespace
}  // namespace grid
