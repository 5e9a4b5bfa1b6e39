// The gateway's forwarding, on real gRPC: a client calls GatewayServiceImpl in-process, which calls
// fake backends (the internal services' CallbackService with canned answers) over loopback.
#include <gmock/gmock.h>
#include <google/protobuf/text_format.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/topology/topology.h"
#include "services/gateway/gateway_service.h"
#include "tests/support/poll.h"
#include "tests/support/ports.h"

namespace grid::gateway {
namespace {

using std::chrono::milliseconds;
using std::chrono::system_clock;
using ::testing::ElementsAre;

template <class Message>
Message ParseText(const std::string& text) {
  Message message;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &message)) << text;
  return message;
}

// What the fake backends saw and what they answer; shared by all four, thread-safe.
class Recorder {
 public:
  struct Call {
    std::string method;   // "routing/AcceptEvent"
    std::string request;  // serialized
    system_clock::time_point deadline;
  };

  // `method` answers `status`, and `response` (serialized) when OK.
  void SetAnswer(const std::string& method, grpc::Status status, std::string response = "") {
    std::lock_guard<std::mutex> lock(mu_);
    answers_[method] = {std::move(status), std::move(response)};
  }
  // `method` never answers; it finishes when its call is cancelled.
  void Hang(const std::string& method) {
    std::lock_guard<std::mutex> lock(mu_);
    hang_[method] = true;
  }

  template <class Request, class Response>
  grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* context, const std::string& method,
                                   const Request& request, Response* response) {
    Canned answer;
    bool hang = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      calls_.push_back({method, request.SerializeAsString(), context->deadline()});
      answer = answers_[method];
      hang = hang_[method];
    }
    if (hang) {
      return new HangingReactor(*this);
    }
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    if (answer.status.ok()) {
      EXPECT_TRUE(response->ParseFromString(answer.response));
    }
    reactor->Finish(answer.status);
    return reactor;
  }

  // An upload's items as intake saw them; its answer comes from SetAnswer("intake/UploadReports").
  grpc::Status RecordUpload(std::vector<v1::UploadReportsRequest> items) {
    std::lock_guard<std::mutex> lock(mu_);
    uploads_.push_back(std::move(items));
    return answers_["intake/UploadReports"].status;
  }

  std::vector<Call> calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  std::vector<std::vector<v1::UploadReportsRequest>> uploads() {
    std::lock_guard<std::mutex> lock(mu_);
    return uploads_;
  }
  int cancelled() {
    std::lock_guard<std::mutex> lock(mu_);
    return cancelled_;
  }

 private:
  struct Canned {
    grpc::Status status;
    std::string response;
  };

  class HangingReactor final : public grpc::ServerUnaryReactor {
   public:
    explicit HangingReactor(Recorder& recorder) : recorder_(recorder) {}
    void OnCancel() override {
      {
        std::lock_guard<std::mutex> lock(recorder_.mu_);
        ++recorder_.cancelled_;
      }
      Finish(grpc::Status::CANCELLED);
    }
    void OnDone() override { delete this; }

   private:
    Recorder& recorder_;
  };

  std::mutex mu_;
  std::map<std::string, Canned> answers_;
  std::map<std::string, bool> hang_;
  std::vector<Call> calls_;
  std::vector<std::vector<v1::UploadReportsRequest>> uploads_;
  int cancelled_ = 0;
};

// A unary method of a fake backend: records the call and answers as told.
#define GRID_FAKE_UNARY(Service, Method)                                                    \
  grpc::ServerUnaryReactor* Method(grpc::CallbackServerContext* context,                    \
                                   const v1::Method##Request* request,                      \
                                   v1::Method##Response* response) override {               \
    return recorder_.Answer(context, std::string(Service "/" #Method), *request, response); \
  }

class FakeIntake final : public v1::IntakeService::CallbackService {
 public:
  explicit FakeIntake(Recorder& recorder) : recorder_(recorder) {}
  GRID_FAKE_UNARY("intake", ReportEvent)

  // Reads the whole upload and answers one result per item: event id "E-<client request id>".
  grpc::ServerReadReactor<v1::UploadReportsRequest>* UploadReports(
      grpc::CallbackServerContext*, v1::UploadReportsResponse* response) override {
    class Reader final : public grpc::ServerReadReactor<v1::UploadReportsRequest> {
     public:
      Reader(Recorder& recorder, v1::UploadReportsResponse* response)
          : recorder_(recorder), response_(response) {
        StartRead(&item_);
      }
      void OnReadDone(bool ok) override {
        if (ok) {
          items_.push_back(item_);
          StartRead(&item_);
          return;
        }
        for (std::size_t i = 0; i < items_.size(); ++i) {
          v1::UploadResult* result = response_->add_results();
          result->set_index(static_cast<int>(i));
          result->set_client_request_id(items_[i].report().client_request_id());
          result->set_event_id(absl::StrCat("E-", items_[i].report().client_request_id()));
        }
        Finish(recorder_.RecordUpload(std::move(items_)));
      }
      void OnDone() override { delete this; }

     private:
      Recorder& recorder_;
      v1::UploadReportsResponse* response_;
      v1::UploadReportsRequest item_;
      std::vector<v1::UploadReportsRequest> items_;
    };
    return new Reader(recorder_, response);
  }

 private:
  Recorder& recorder_;
};

class FakeRouting final : public v1::RoutingService::CallbackService {
 public:
  explicit FakeRouting(Recorder& recorder) : recorder_(recorder) {}
  GRID_FAKE_UNARY("routing", AcceptEvent)
  GRID_FAKE_UNARY("routing", ResolveEvent)
  GRID_FAKE_UNARY("routing", VerifyEvent)
  GRID_FAKE_UNARY("routing", ReturnEvent)
  GRID_FAKE_UNARY("routing", SuspendEvent)
  GRID_FAKE_UNARY("routing", ResumeEvent)
  GRID_FAKE_UNARY("routing", CancelEvent)
  GRID_FAKE_UNARY("routing", VoidEvent)
  GRID_FAKE_UNARY("routing", ReassignEvent)
  GRID_FAKE_UNARY("routing", GetEvent)
  GRID_FAKE_UNARY("routing", ListEvents)
  GRID_FAKE_UNARY("routing", GetEventHistory)
  GRID_FAKE_UNARY("routing", ListUnitQueue)

 private:
  Recorder& recorder_;
};

class FakeEscalation final : public v1::EscalationService::CallbackService {
 public:
  explicit FakeEscalation(Recorder& recorder) : recorder_(recorder) {}
  GRID_FAKE_UNARY("escalation", EscalateEvent)
  GRID_FAKE_UNARY("escalation", SuperviseEvent)
  GRID_FAKE_UNARY("escalation", ListOverdueEvents)

 private:
  Recorder& recorder_;
};

class FakeMetrics final : public v1::MetricsService::CallbackService {
 public:
  explicit FakeMetrics(Recorder& recorder) : recorder_(recorder) {}
  GRID_FAKE_UNARY("metrics", GetStats)

 private:
  Recorder& recorder_;
};

#undef GRID_FAKE_UNARY

// Starts a server on a port the kernel picks; sets `address`.
std::unique_ptr<grpc::Server> StartServer(const std::vector<grpc::Service*>& services,
                                          std::string& address) {
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  for (grpc::Service* service : services) {
    builder.RegisterService(service);
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  EXPECT_NE(server, nullptr);
  EXPECT_GT(port, 0);
  address = absl::StrCat("127.0.0.1:", port);
  return server;
}

topology::TopologyPtr TinyTopology() {
  v1::Topology data;
  data.set_district_id("1");
  v1::Unit* district = data.add_units();
  district->set_id("1");
  district->set_level(v1::LEVEL_DISTRICT);
  auto built = topology::Topology::Build(data);
  EXPECT_TRUE(built.ok()) << built.status();
  return *built;
}

// Between 1 s and 10 s, gRPC carries a deadline as a timeout rounded up to 10 ms; each hop may add
// that and its transit time (microseconds on loopback).
constexpr milliseconds kDefaultDeadline{5000};
constexpr milliseconds kWireSlack{50};

class ForwardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string backend_address;
    backend_server_ = StartServer({&intake_, &routing_, &escalation_, &metrics_}, backend_address);
    StartGateway(
        ConnectBackends(backend_address, backend_address, backend_address, backend_address));
  }

  void TearDown() override {
    // Force-cancels what still runs, so that a hanging fake cannot stall the test.
    if (gateway_server_ != nullptr) {
      gateway_server_->Shutdown(system_clock::now() + milliseconds(500));
    }
    if (backend_server_ != nullptr) {
      backend_server_->Shutdown(system_clock::now() + milliseconds(500));
    }
  }

  void StartGateway(Backends backends) {
    if (gateway_server_ != nullptr) {
      gateway_server_->Shutdown(system_clock::now() + milliseconds(500));
      gateway_server_.reset();
    }
    gateway_ =
        std::make_unique<GatewayServiceImpl>(std::move(backends), *topology_, kDefaultDeadline);
    std::string address;
    gateway_server_ = StartServer({gateway_.get()}, address);
    stub_ = v1::GatewayService::NewStub(
        grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  }

  // Calls `rpc` on the gateway with a request given as text and checks that `backend_method`
  // got that very request and that its answer came back unchanged.
  template <class Request, class Response>
  void ExpectForwarded(grpc::Status (v1::GatewayService::StubInterface::*rpc)(grpc::ClientContext*,
                                                                              const Request&,
                                                                              Response*),
                       const std::string& backend_method, const std::string& request_text,
                       const std::string& response_text) {
    SCOPED_TRACE(backend_method);
    const auto request = ParseText<Request>(request_text);
    const auto answer = ParseText<Response>(response_text);
    recorder_.SetAnswer(backend_method, grpc::Status::OK, answer.SerializeAsString());
    const std::size_t before = recorder_.calls().size();

    grpc::ClientContext context;
    Response response;
    const grpc::Status status = (stub_.get()->*rpc)(&context, request, &response);

    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.ShortDebugString(), answer.ShortDebugString());
    const std::vector<Recorder::Call> calls = recorder_.calls();
    ASSERT_EQ(calls.size(), before + 1);
    EXPECT_EQ(calls.back().method, backend_method);
    Request seen;
    ASSERT_TRUE(seen.ParseFromString(calls.back().request));
    EXPECT_EQ(seen.ShortDebugString(), request.ShortDebugString());
  }

  grpc::Status Upload(int count, v1::UploadReportsResponse& response) {
    grpc::ClientContext context;
    auto writer = stub_->UploadReports(&context, &response);
    for (int i = 0; i < count; ++i) {
      v1::UploadReportsRequest item;
      item.mutable_report()->set_client_request_id(absl::StrCat("r", i));
      item.mutable_report()->set_grid_id("100100101");
      item.mutable_actor()->set_subject("w1");
      if (!writer->Write(item)) {
        break;  // The gateway has finished the call; Finish tells why.
      }
    }
    writer->WritesDone();
    return writer->Finish();
  }

  Recorder recorder_;
  FakeIntake intake_{recorder_};
  FakeRouting routing_{recorder_};
  FakeEscalation escalation_{recorder_};
  FakeMetrics metrics_{recorder_};
  std::unique_ptr<grpc::Server> backend_server_;
  topology::TopologyPtr topology_ = TinyTopology();
  std::unique_ptr<GatewayServiceImpl> gateway_;
  std::unique_ptr<grpc::Server> gateway_server_;
  std::unique_ptr<v1::GatewayService::Stub> stub_;
};

using Gateway = v1::GatewayService::StubInterface;

TEST_F(ForwardTest, EveryUnaryCallReachesItsBackendWithTheRequestIntact) {
  const std::string actor = R"(actor { subject: "h1" role: ROLE_HANDLER unit_id: "1001001" })";
  const std::string event = R"(event { id: "1001-A" state: EVENT_STATE_ACCEPTED version: 4 })";
  ExpectForwarded(&Gateway::ReportEvent, "intake/ReportEvent",
                  R"(report { client_request_id: "c1" grid_id: "100100101" category: "0102" }
                     actor { subject: "w1" role: ROLE_WORKER unit_id: "100100101" })",
                  R"(event_id: "1001-A" replayed: true)");
  ExpectForwarded(&Gateway::AcceptEvent, "routing/AcceptEvent",
                  R"(event_id: "1001-A" expected_version: 3 )" + actor, event);
  ExpectForwarded(&Gateway::ResolveEvent, "routing/ResolveEvent",
                  R"(event_id: "1001-A" note: "swept" media: "s3://a" media: "s3://b" )" + actor,
                  event);
  ExpectForwarded(&Gateway::VerifyEvent, "routing/VerifyEvent",
                  R"(event_id: "1001-A" passed: true note: "clean" )" + actor, event);
  ExpectForwarded(&Gateway::ReturnEvent, "routing/ReturnEvent",
                  R"(event_id: "1001-A" reason: "not ours" )" + actor, event);
  ExpectForwarded(&Gateway::SuspendEvent, "routing/SuspendEvent",
                  R"(event_id: "1001-A" reason: "funds" approver_unit_id: "1001" )" + actor, event);
  ExpectForwarded(&Gateway::ResumeEvent, "routing/ResumeEvent",
                  R"(event_id: "1001-A" expected_version: 9 )" + actor, event);
  ExpectForwarded(&Gateway::CancelEvent, "routing/CancelEvent",
                  R"(event_id: "1001-A" reason: "mistake" )" + actor, event);
  ExpectForwarded(&Gateway::VoidEvent, "routing/VoidEvent",
                  R"(event_id: "1001-A" reason: "prank" )" + actor, event);
  ExpectForwarded(&Gateway::ReassignEvent, "routing/ReassignEvent",
                  R"(event_id: "1001-A" unit_id: "1D01" reason: "water" )" + actor, event);
  ExpectForwarded(&Gateway::GetEvent, "routing/GetEvent", R"(event_id: "1001-A")", event);
  ExpectForwarded(&Gateway::ListEvents, "routing/ListEvents",
                  R"(unit_id: "1001" states: EVENT_STATE_DISPATCHED levels: LEVEL_GRID
                     category_prefix: "01" page_size: 10 page_token: "p1")",
                  R"(events { id: "1001-A" } events { id: "1001-B" } next_page_token: "p2")");
  ExpectForwarded(&Gateway::GetEventHistory, "routing/GetEventHistory", R"(event_id: "1001-A")",
                  R"(changes { event_id: "1001-A" kind: CHANGE_KIND_REPORTED })");
  ExpectForwarded(&Gateway::ListUnitQueue, "routing/ListUnitQueue",
                  R"(unit_id: "1001001" page_size: 5)",
                  R"(items { event { id: "1001-A" } traffic_light: TRAFFIC_LIGHT_RED
                     time_left { seconds: -60 } overdue: true })");
  ExpectForwarded(&Gateway::EscalateEvent, "escalation/EscalateEvent",
                  R"(event_id: "1001-A" reason: "too big" expected_version: 2 )" + actor, event);
  ExpectForwarded(&Gateway::SuperviseEvent, "escalation/SuperviseEvent",
                  R"(event_id: "1001-A" note: "today" limit { seconds: 1800 } )" + actor, event);
  ExpectForwarded(&Gateway::ListOverdueEvents, "escalation/ListOverdueEvents",
                  R"(unit_id: "1001" page_size: 3)", R"(events { id: "1001-A" })");
  ExpectForwarded(&Gateway::GetStats, "metrics/GetStats",
                  R"(unit_id: "1001" group_by: STATS_DIMENSION_LEVEL)",
                  R"(rows { group { key: "level" value: "grid" } reported: 7 })");
}

TEST_F(ForwardTest, TheBackendsStatusComesBackUnchanged) {
  recorder_.SetAnswer("routing/AcceptEvent",
                      grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                   "event 1001-A is CLOSED; accept needs DISPATCHED"));
  recorder_.SetAnswer("metrics/GetStats",
                      grpc::Status(grpc::StatusCode::NOT_FOUND, "unit_id: unknown unit \"9\""));

  grpc::ClientContext accept_context;
  v1::AcceptEventRequest accept;
  accept.set_event_id("1001-A");
  v1::AcceptEventResponse accepted;
  const grpc::Status status = stub_->AcceptEvent(&accept_context, accept, &accepted);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(), "event 1001-A is CLOSED; accept needs DISPATCHED");

  grpc::ClientContext stats_context;
  v1::GetStatsResponse stats;
  const grpc::Status stats_status = stub_->GetStats(&stats_context, {}, &stats);
  EXPECT_EQ(stats_status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(stats_status.error_message(), "unit_id: unknown unit \"9\"");
}

TEST_F(ForwardTest, ABackendThatIsDownGivesUnavailableQuickly) {
  const std::string nowhere = absl::StrCat("127.0.0.1:", grid::testing::FreePort());
  StartGateway(ConnectBackends(nowhere, nowhere, nowhere, nowhere));

  grpc::ClientContext context;
  context.set_deadline(system_clock::now() + milliseconds(5000));
  v1::GetEventRequest request;
  request.set_event_id("1001-A");
  v1::GetEventResponse response;
  const auto start = std::chrono::steady_clock::now();
  const grpc::Status status = stub_->GetEvent(&context, request, &response);
  const auto elapsed = std::chrono::steady_clock::now() - start;

  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  // A correctness bound: failing fast, not waiting for a deadline (5 s here and by default).
  EXPECT_LT(elapsed, milliseconds(1000));
  // Mapped at the edge: the service, not where it runs.
  EXPECT_EQ(status.error_message(), "the routing service is unreachable; retry later");
}

TEST_F(ForwardTest, AStoreThatIsDownIsToldApartFromAServiceThatIsDown) {
  // The service is up and says its store is not: the client learns what is down.
  recorder_.SetAnswer(
      "intake/ReportEvent",
      grpc::Status(grpc::StatusCode::UNAVAILABLE,
                   "the event store is unavailable (LOADING Redis is loading the dataset in "
                   "memory); retry later"));
  grpc::ClientContext context;
  v1::ReportEventResponse response;
  const grpc::Status status = stub_->ReportEvent(&context, {}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status.error_message(),
            "the event store is unavailable (LOADING Redis is loading the dataset in memory); "
            "retry later");
}

TEST_F(ForwardTest, NoInternalAddressLeavesTheGateway) {
  const std::vector<std::pair<grpc::Status, std::string>> cases = {
      {grpc::Status(grpc::StatusCode::UNAVAILABLE,
                    "the event store is unavailable (redis[intake] 10.0.3.7:6390: GET: no reply "
                    "within 2000 ms); retry later"),
       "the event store is unavailable (redis[intake] <internal>: GET: no reply within 2000 ms); "
       "retry later"},
      {grpc::Status(grpc::StatusCode::INTERNAL, "failed to connect to ipv4:127.0.0.1:7071"),
       "the call to the routing service failed"},
      {grpc::Status(grpc::StatusCode::INTERNAL, "reset by [::1]:7072"),
       "the call to the routing service failed"},
      // An index in a field path is not an address.
      {grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "report.media[3]: not a URL"),
       "report.media[3]: not a URL"},
  };
  for (const auto& [answer, expected] : cases) {
    recorder_.SetAnswer("routing/ListEvents", answer);
    grpc::ClientContext context;
    v1::ListEventsResponse response;
    const grpc::Status status = stub_->ListEvents(&context, {}, &response);
    EXPECT_EQ(status.error_code(), answer.error_code());
    EXPECT_EQ(status.error_message(), expected);
  }
}

TEST_F(ForwardTest, TheCallersDeadlineReachesTheBackend) {
  const system_clock::time_point deadline = system_clock::now() + milliseconds(2000);
  grpc::ClientContext context;
  context.set_deadline(deadline);
  v1::GetEventResponse response;
  ASSERT_TRUE(stub_->GetEvent(&context, {}, &response).ok());

  const std::vector<Recorder::Call> calls = recorder_.calls();
  ASSERT_EQ(calls.size(), 1u);
  // Without propagation the backend would see the 5 s default.
  EXPECT_LE(calls[0].deadline, deadline + kWireSlack);
}

TEST_F(ForwardTest, ACallWithoutDeadlineGetsTheDefaultOne) {
  const system_clock::time_point start = system_clock::now();
  grpc::ClientContext context;
  v1::GetEventResponse response;
  ASSERT_TRUE(stub_->GetEvent(&context, {}, &response).ok());

  const std::vector<Recorder::Call> calls = recorder_.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_GT(calls[0].deadline, start);
  EXPECT_LE(calls[0].deadline, system_clock::now() + kDefaultDeadline + kWireSlack);
}

TEST_F(ForwardTest, TheCallersDeadlineCancelsTheBackendCall) {
  recorder_.Hang("routing/GetEvent");
  grpc::ClientContext context;
  context.set_deadline(system_clock::now() + milliseconds(200));
  v1::GetEventResponse response;
  const grpc::Status status = stub_->GetEvent(&context, {}, &response);

  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_TRUE(
      grid::testing::PollUntil([&] { return recorder_.cancelled() == 1; }, milliseconds(5000)));
}

TEST_F(ForwardTest, UploadReachesIntakeWithItsItemsInOrder) {
  v1::UploadReportsResponse response;
  const grpc::Status status = Upload(3, response);

  ASSERT_TRUE(status.ok()) << status.error_message();
  const auto uploads = recorder_.uploads();
  ASSERT_EQ(uploads.size(), 1u);
  std::vector<std::string> ids;
  for (const v1::UploadReportsRequest& item : uploads[0]) {
    ids.push_back(item.report().client_request_id());
    EXPECT_EQ(item.actor().subject(), "w1");
    EXPECT_EQ(item.report().grid_id(), "100100101");
  }
  EXPECT_THAT(ids, ElementsAre("r0", "r1", "r2"));
  ASSERT_EQ(response.results_size(), 3);
  EXPECT_EQ(response.results(2).index(), 2);
  EXPECT_EQ(response.results(2).event_id(), "E-r2");
}

TEST_F(ForwardTest, AnEmptyUploadIsForwardedToo) {
  v1::UploadReportsResponse response;
  ASSERT_TRUE(Upload(0, response).ok());
  const auto uploads = recorder_.uploads();
  ASSERT_EQ(uploads.size(), 1u);
  EXPECT_EQ(uploads[0].size(), 0u);
}

TEST_F(ForwardTest, UploadCarriesIntakesErrorBack) {
  recorder_.SetAnswer("intake/UploadReports",
                      grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "intake: queue full"));
  v1::UploadReportsResponse response;
  const grpc::Status status = Upload(2, response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(status.error_message(), "intake: queue full");
}

TEST_F(ForwardTest, AnUploadOverTheLimitIsRejectedBeforeIntakeSeesIt) {
  v1::UploadReportsResponse response;
  const grpc::Status status = Upload(static_cast<int>(kMaxUploadItems) + 1, response);

  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "upload: at most 1000 reports per batch");
  EXPECT_EQ(recorder_.uploads().size(), 0u);
}

TEST_F(ForwardTest, AnUploadAtTheLimitPasses) {
  v1::UploadReportsResponse response;
  ASSERT_TRUE(Upload(static_cast<int>(kMaxUploadItems), response).ok());
  const auto uploads = recorder_.uploads();
  ASSERT_EQ(uploads.size(), 1u);
  EXPECT_EQ(uploads[0].size(), kMaxUploadItems);
}

// A request that does not parse as its message is the client's error: INVALID_ARGUMENT naming the
// field, and the backend never sees it. (gRPC's own handler would answer UNIMPLEMENTED with no
// message.) Sent through the typed stub, which serializes invalid UTF-8 as it is (and logs it).
TEST_F(ForwardTest, ARequestThatDoesNotParseNamesTheFieldAndGoesNoFurther) {
  {
    grpc::ClientContext context;
    v1::GetEventRequest request;
    request.set_event_id("1001-\xFF");
    v1::GetEventResponse response;
    const grpc::Status status = stub_->GetEvent(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(status.error_message(), "event_id: is not valid UTF-8");
  }
  {
    grpc::ClientContext context;
    v1::ReportEventRequest request;
    request.mutable_report()->set_grid_id("100100101");
    request.mutable_report()->add_media("s3://a");
    request.mutable_report()->add_media("s3://\xC3\x28");
    v1::ReportEventResponse response;
    const grpc::Status status = stub_->ReportEvent(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(status.error_message(), "report.media[1]: is not valid UTF-8");
  }
  EXPECT_TRUE(recorder_.calls().empty());
}

TEST_F(ForwardTest, ABoundIsCheckedBeforeTheBackendIsCalled) {
  grpc::ClientContext context;
  v1::AcceptEventRequest request;
  request.set_event_id(std::string(10 * 1024, 'x'));
  v1::AcceptEventResponse response;
  const grpc::Status status = stub_->AcceptEvent(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "event_id: is 10240 bytes, at most 128 are allowed");
  EXPECT_TRUE(recorder_.calls().empty());
}

TEST_F(ForwardTest, AnUploadItemThatDoesNotParseGetsAResultOfItsOwn) {
  grpc::ClientContext context;
  v1::UploadReportsResponse response;
  auto writer = stub_->UploadReports(&context, &response);
  for (const std::string description : {"ok", "not \xFF UTF-8", "ok", "a {very} long one"}) {
    v1::UploadReportsRequest item;
    item.mutable_report()->set_client_request_id(absl::StrCat("r", description.size()));
    item.mutable_report()->set_description(description);
    ASSERT_TRUE(writer->Write(item));
  }
  v1::UploadReportsRequest fourth;
  fourth.mutable_report()->set_client_request_id("r*");  // breaks the id rule
  ASSERT_TRUE(writer->Write(fourth));
  writer->WritesDone();
  const grpc::Status status = writer->Finish();

  ASSERT_TRUE(status.ok()) << status.error_message();
  const auto uploads = recorder_.uploads();
  ASSERT_EQ(uploads.size(), 1u);
  ASSERT_EQ(uploads[0].size(), 3u) << "only the items that parse reach intake";
  ASSERT_EQ(response.results_size(), 5) << response.ShortDebugString();
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(response.results(i).index(), i) << response.ShortDebugString();
  }
  EXPECT_EQ(response.results(0).event_id(), "E-r2");
  EXPECT_EQ(response.results(1).error().code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(response.results(1).error().field(), "report.description");
  EXPECT_EQ(response.results(1).error().message(), "report.description: is not valid UTF-8");
  EXPECT_TRUE(response.results(1).event_id().empty());
  EXPECT_EQ(response.results(2).event_id(), "E-r2");
  EXPECT_EQ(response.results(3).event_id(), "E-r17");
  EXPECT_EQ(response.results(4).error().field(), "report.client_request_id");
}

TEST_F(ForwardTest, AnUploadOfOnlyBadItemsAnswersWithoutIntake) {
  grpc::ClientContext context;
  v1::UploadReportsResponse response;
  auto writer = stub_->UploadReports(&context, &response);
  v1::UploadReportsRequest item;
  item.mutable_report()->add_media("javascript:alert(1)");
  ASSERT_TRUE(writer->Write(item));
  writer->WritesDone();
  const grpc::Status status = writer->Finish();

  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(recorder_.uploads().empty());
  ASSERT_EQ(response.results_size(), 1);
  EXPECT_EQ(response.results(0).error().field(), "report.media[0]");
}

}  // namespace
}  // namespace grid::gateway
