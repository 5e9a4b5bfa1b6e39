// gridctl end to end in-process: whole command lines (Run) against a fake GatewayService on a
// real gRPC server and channel; and the small parsers and formatters on their own.
#include "tools/gridctl/commands.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/config/json_file.h"
#include "tools/gridctl/cli.h"
#include "tools/gridctl/enums.h"

namespace grid::gridctl {
namespace {

using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// The event every move answers with.
v1::Event MovedEvent() {
  v1::Event e;
  e.set_id("370212001-00000000000000AB");
  e.set_state(v1::EVENT_STATE_ACCEPTED);
  e.set_level(v1::LEVEL_COMMUNITY);
  e.set_unit_id("370212001001");
  e.set_category("0102");
  e.set_severity(v1::SEVERITY_HIGH);
  e.set_version(4);
  return e;
}

// Answers what gridctl asks and remembers the last request of each kind. Thread-safe.
class FakeGateway final : public v1::GatewayService::CallbackService {
 public:
  grpc::ServerUnaryReactor* ReportEvent(grpc::CallbackServerContext* context,
                                        const v1::ReportEventRequest* request,
                                        v1::ReportEventResponse* response) override {
    Record(report_, *request);
    response->set_event_id("370212001-00000000000000AB");
    *response->mutable_event() = MovedEvent();
    response->mutable_event()->set_grid_id(request->report().grid_id());
    return Ok(context);
  }

  grpc::ServerUnaryReactor* AcceptEvent(grpc::CallbackServerContext* context,
                                        const v1::AcceptEventRequest* request,
                                        v1::AcceptEventResponse* response) override {
    Record(accept_, *request);
    {
      std::lock_guard<std::mutex> lock(mu_);
      const auto found = context->client_metadata().find("authorization");
      authorization_ = found == context->client_metadata().end()
                           ? "<none>"
                           : std::string(found->second.data(), found->second.size());
    }
    *response->mutable_event() = MovedEvent();
    return Ok(context);
  }

  grpc::ServerUnaryReactor* VerifyEvent(grpc::CallbackServerContext* context,
                                        const v1::VerifyEventRequest* request,
                                        v1::VerifyEventResponse* response) override {
    Record(verify_, *request);
    *response->mutable_event() = MovedEvent();
    return Ok(context);
  }

  grpc::ServerUnaryReactor* SuperviseEvent(grpc::CallbackServerContext* context,
                                           const v1::SuperviseEventRequest* request,
                                           v1::SuperviseEventResponse* response) override {
    Record(supervise_, *request);
    *response->mutable_event() = MovedEvent();
    return Ok(context);
  }

  grpc::ServerUnaryReactor* GetEvent(grpc::CallbackServerContext* context,
                                     const v1::GetEventRequest* request,
                                     v1::GetEventResponse*) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND,
                                 absl::StrCat("event \"", request->event_id(), "\" not found")));
    return reactor;
  }

  grpc::ServerUnaryReactor* ListUnitQueue(grpc::CallbackServerContext* context,
                                          const v1::ListUnitQueueRequest* request,
                                          v1::ListUnitQueueResponse* response) override {
    Record(queue_, *request);
    v1::QueueItem* late = response->add_items();
    *late->mutable_event() = MovedEvent();
    late->set_traffic_light(v1::TRAFFIC_LIGHT_RED);
    late->mutable_time_left()->set_seconds(-3 * 3600);
    late->set_overdue(true);
    v1::QueueItem* fresh = response->add_items();
    *fresh->mutable_event() = MovedEvent();
    fresh->mutable_event()->set_id("370212001-00000000000000AC");
    fresh->mutable_event()->set_state(v1::EVENT_STATE_DISPATCHED);
    fresh->set_traffic_light(v1::TRAFFIC_LIGHT_GREEN);
    fresh->mutable_time_left()->set_seconds(12 * 60 + 5);
    response->set_next_page_token("page-2");
    return Ok(context);
  }

  grpc::ServerUnaryReactor* ListEvents(grpc::CallbackServerContext* context,
                                       const v1::ListEventsRequest* request,
                                       v1::ListEventsResponse* response) override {
    Record(list_, *request);
    *response->add_events() = MovedEvent();
    return Ok(context);
  }

  // Answers one result per report; a report without grid fails as intake would.
  grpc::ServerReadReactor<v1::UploadReportsRequest>* UploadReports(
      grpc::CallbackServerContext*, v1::UploadReportsResponse* response) override {
    class Reader final : public grpc::ServerReadReactor<v1::UploadReportsRequest> {
     public:
      Reader(FakeGateway& fake, v1::UploadReportsResponse* response)
          : fake_(fake), response_(response) {
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
          if (items_[i].report().grid_id().empty()) {
            result->mutable_error()->set_code(grpc::StatusCode::INVALID_ARGUMENT);
            result->mutable_error()->set_message("report.grid_id: required");
          } else {
            result->set_event_id(absl::StrCat("E", i));
          }
        }
        {
          std::lock_guard<std::mutex> lock(fake_.mu_);
          fake_.uploads_.push_back(std::move(items_));
        }
        Finish(grpc::Status::OK);
      }
      void OnDone() override { delete this; }

     private:
      FakeGateway& fake_;
      v1::UploadReportsResponse* response_;
      v1::UploadReportsRequest item_;
      std::vector<v1::UploadReportsRequest> items_;
    };
    return new Reader(*this, response);
  }

  template <class Message>
  Message Last(Message FakeGateway::*member) {
    std::lock_guard<std::mutex> lock(mu_);
    return this->*member;
  }
  std::vector<std::vector<v1::UploadReportsRequest>> uploads() {
    std::lock_guard<std::mutex> lock(mu_);
    return uploads_;
  }
  int calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

  v1::ReportEventRequest report_;
  v1::AcceptEventRequest accept_;
  v1::VerifyEventRequest verify_;
  v1::SuperviseEventRequest supervise_;
  v1::ListUnitQueueRequest queue_;
  v1::ListEventsRequest list_;
  // The authorization metadata of the last AcceptEvent, "<none>" when it had none.
  std::string authorization_;

 private:
  template <class Message>
  void Record(Message& slot, const Message& request) {
    std::lock_guard<std::mutex> lock(mu_);
    slot = request;
    ++calls_;
  }
  grpc::ServerUnaryReactor* Ok(grpc::CallbackServerContext* context) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  std::mutex mu_;
  int calls_ = 0;
  std::vector<std::vector<v1::UploadReportsRequest>> uploads_;
};

class GridctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    unsetenv("GRID_TOKEN");
    unsetenv("GRID_JWT_SECRET_FILE");
    // No token file either, unless a test writes one. A directory of its own: ctest runs each
    // test as a process of its own, in parallel, and TempDir() is shared.
    state_dir_ = absl::StrCat(::testing::TempDir(), "/gridctl-state-",
                              ::testing::UnitTest::GetInstance()->current_test_info()->name(), "-",
                              getpid());
    std::filesystem::remove_all(state_dir_);
    std::filesystem::create_directories(state_dir_);
    setenv("GRID_STATE_DIR", state_dir_.c_str(), 1);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&fake_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port, 0);
    address_ = absl::StrCat("127.0.0.1:", port);
  }

  void TearDown() override {
    unsetenv("GRID_STATE_DIR");
    std::error_code ignored;
    std::filesystem::remove_all(state_dir_, ignored);
  }

  // Runs "gridctl --insecure --gateway <fake> ARGS..." (the fake serves plaintext) with `input`
  // on stdin; fills out_ and err_.
  int Gridctl(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), {"gridctl", "--insecure", "--gateway", address_});
    std::vector<const char*> argv;
    for (const std::string& arg : args) {
      argv.push_back(arg.c_str());
    }
    std::istringstream in(input);
    std::ostringstream out;
    std::ostringstream err;
    const int code = gridctl::Run(static_cast<int>(argv.size()), argv.data(), in, out, err);
    out_ = out.str();
    err_ = err.str();
    return code;
  }

  std::vector<std::string> OutLines() const {
    std::vector<std::string> lines;
    std::istringstream stream(out_);
    for (std::string line; std::getline(stream, line);) {
      lines.push_back(line);
    }
    return lines;
  }

  FakeGateway fake_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  std::string state_dir_;
  std::string out_;
  std::string err_;
};

TEST(EnumsTest, ParsesFullAndShortNamesInAnyCase) {
  EXPECT_EQ(ParseEnum(*v1::Severity_descriptor(), "high"), v1::SEVERITY_HIGH);
  EXPECT_EQ(ParseEnum(*v1::Severity_descriptor(), "SEVERITY_HIGH"), v1::SEVERITY_HIGH);
  EXPECT_EQ(ParseEnum(*v1::Severity_descriptor(), "Severity_Critical"), v1::SEVERITY_CRITICAL);
  EXPECT_EQ(ParseEnum(*v1::Role_descriptor(), "admin"), v1::ROLE_ADMIN);
  EXPECT_EQ(ParseEnum(*v1::Role_descriptor(), "ROLE_WORKER"), v1::ROLE_WORKER);
  EXPECT_EQ(ParseEnum(*v1::EventState_descriptor(), "dispatched"), v1::EVENT_STATE_DISPATCHED);
}

TEST(EnumsTest, RejectsUnknownNamesAndUnspecified) {
  EXPECT_EQ(ParseEnum(*v1::Severity_descriptor(), "urgent"), std::nullopt);
  EXPECT_EQ(ParseEnum(*v1::Severity_descriptor(), ""), std::nullopt);
  EXPECT_EQ(ParseEnum(*v1::Severity_descriptor(), "unspecified"), std::nullopt);
  EXPECT_EQ(ParseEnum(*v1::Role_descriptor(), "ROLE_UNSPECIFIED"), std::nullopt);
  EXPECT_EQ(ParseEnum(*v1::Role_descriptor(), "SEVERITY_HIGH"), std::nullopt);
}

TEST(EnumsTest, ShortNames) {
  EXPECT_EQ(ShortName(*v1::Level_descriptor(), v1::LEVEL_SUBDISTRICT), "subdistrict");
  EXPECT_EQ(ShortNames(*v1::Role_descriptor()), "worker, handler, operator, admin, system");
}

int64_t Seconds(std::string_view text) {
  const std::optional<google::protobuf::Duration> d = ParseDuration(text);
  return d ? d->seconds() : -1;
}

TEST(DurationTest, ParsesUnitsAndTheirSums) {
  EXPECT_EQ(Seconds("90s"), 90);
  EXPECT_EQ(Seconds("30m"), 1800);
  EXPECT_EQ(Seconds("2h"), 7200);
  EXPECT_EQ(Seconds("1h30m"), 5400);
  EXPECT_EQ(Seconds("1h0m30s"), 3630);
}

TEST(DurationTest, RejectsWhatIsNotAPositiveDuration) {
  for (const char* bad : {"", "30", "m", "abc", "1x", "1h 30m", "-5m", "0s", "0", "inf", "2d"}) {
    EXPECT_FALSE(ParseDuration(bad).has_value()) << bad;
  }
}

TEST(DurationTest, FormatsTimeLeftCoarsely) {
  google::protobuf::Duration d;
  d.set_seconds(12 * 60 + 5);
  EXPECT_EQ(FormatTimeLeft(d, false), "12m left");
  d.set_seconds(-3 * 3600);
  EXPECT_EQ(FormatTimeLeft(d, true), "3h overdue");
  d.set_seconds(5400);
  EXPECT_EQ(FormatTimeLeft(d, false), "1h30m left");
  d.set_seconds(45);
  EXPECT_EQ(FormatTimeLeft(d, false), "45s left");
  d.set_seconds(-(2 * 86400 + 4 * 3600 + 59));
  EXPECT_EQ(FormatTimeLeft(d, false), "2d4h overdue");
}

TEST_F(GridctlTest, ReportPrintsTheEventIdAloneOnTheLastLine) {
  ASSERT_EQ(
      Gridctl({"report", "--grid", "37021200100101", "--category", "0102", "--severity", "normal",
               "--description", "rubbish at the gate", "--media", "s3://a", "--media", "s3://b"}),
      0)
      << err_;
  const std::vector<std::string> lines = OutLines();
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines.back(), "370212001-00000000000000AB");
  const v1::ReportEventRequest sent = fake_.Last(&FakeGateway::report_);
  EXPECT_EQ(sent.report().grid_id(), "37021200100101");
  EXPECT_EQ(sent.report().severity(), v1::SEVERITY_NORMAL);
  EXPECT_THAT(sent.report().media(), ElementsAre("s3://a", "s3://b"));
}

TEST_F(GridctlTest, TheTokenComesFromGridTokenAndTheActorFromTheGateway) {
  setenv("GRID_TOKEN", "tok-123", 1);
  ASSERT_EQ(Gridctl({"accept", "370212001-00000000000000AB", "--expected-version", "3"}), 0)
      << err_;
  unsetenv("GRID_TOKEN");
  EXPECT_EQ(fake_.Last(&FakeGateway::authorization_), "Bearer tok-123");
  const v1::AcceptEventRequest sent = fake_.Last(&FakeGateway::accept_);
  EXPECT_EQ(sent.event_id(), "370212001-00000000000000AB");
  EXPECT_EQ(sent.expected_version(), 3);
  EXPECT_FALSE(sent.has_actor()) << "the gateway fills it from the token";
}

TEST_F(GridctlTest, TheTokenComesFromTheStateDirectoryWhenGridTokenIsUnset) {
  ASSERT_EQ(Gridctl({"accept", "X"}), 0) << err_;
  EXPECT_EQ(fake_.Last(&FakeGateway::authorization_), "<none>");
  std::ofstream(state_dir_ + "/token") << "tok-from-file\n";
  ASSERT_EQ(Gridctl({"accept", "X"}), 0) << err_;
  EXPECT_EQ(fake_.Last(&FakeGateway::authorization_), "Bearer tok-from-file");
}

TEST_F(GridctlTest, TokenIssuePrintsATokenSignedWithTheSecret) {
  const std::string secret_file = state_dir_ + "/jwt-secret";
  std::ofstream(secret_file) << "0123456789abcdef0123456789abcdef-gridctl\n";
  ASSERT_EQ(Gridctl({"token", "issue", "--subject", "h17", "--role", "handler", "--unit",
                     "370212001001", "--ttl", "2h"}),
            0)
      << err_;
  const std::vector<std::string> lines = OutLines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(std::count(lines[0].begin(), lines[0].end(), '.'), 2) << "header.payload.signature";
  EXPECT_EQ(fake_.calls(), 0) << "offline";
  // The same with the secret named explicitly; a missing one is an error.
  ASSERT_EQ(Gridctl({"token", "issue", "--subject", "h17", "--role", "handler", "--unit",
                     "370212001001", "--secret-file", secret_file}),
            0)
      << err_;
  EXPECT_NE(Gridctl({"token", "issue", "--subject", "h", "--role", "admin", "--unit", "370212",
                     "--secret-file", "/nonexistent/secret"}),
            0);
  EXPECT_THAT(err_, HasSubstr("/nonexistent/secret: cannot open"));
}

TEST_F(GridctlTest, AnUnknownRoleIsRejectedBeforeAnyCall) {
  EXPECT_NE(Gridctl({"token", "issue", "--subject", "x", "--role", "boss", "--unit", "370212"}), 0);
  EXPECT_THAT(err_, HasSubstr("unknown Role \"boss\" (one of worker, handler, operator, admin)"));
  EXPECT_EQ(fake_.calls(), 0);
  // A client system's role comes with its api key, never in a token.
  EXPECT_NE(Gridctl({"token", "issue", "--subject", "x", "--role", "system", "--unit", "370212"}),
            0);
  EXPECT_THAT(err_, HasSubstr("no token carries the role SYSTEM"));
}

TEST_F(GridctlTest, AMovePrintsTheEventsSummary) {
  ASSERT_EQ(Gridctl({"accept", "370212001-00000000000000AB"}), 0) << err_;
  EXPECT_EQ(out_, "370212001-00000000000000AB accepted at community 370212001001 (version 4)\n");
}

TEST_F(GridctlTest, AMovePrintsTheEventAsJson) {
  ASSERT_EQ(Gridctl({"accept", "370212001-00000000000000AB", "--json"}), 0) << err_;
  EXPECT_THAT(out_, HasSubstr("\"unit_id\": \"370212001001\"")) << "proto field names";
  v1::Event printed;
  ASSERT_TRUE(config::ParseJson(out_, "out", printed).ok()) << out_;
  EXPECT_EQ(printed.SerializeAsString(), MovedEvent().SerializeAsString());
}

TEST_F(GridctlTest, VerifyNeedsExactlyOneOfPassAndFail) {
  EXPECT_NE(Gridctl({"verify", "X"}), 0);
  EXPECT_THAT(err_, HasSubstr("Exactly 1 option from [--pass,--fail] is required"));
  EXPECT_NE(Gridctl({"verify", "X", "--pass", "--fail"}), 0);
  EXPECT_THAT(err_, HasSubstr("Exactly 1 option from [--pass,--fail] is required"));
  EXPECT_EQ(fake_.calls(), 0);

  ASSERT_EQ(Gridctl({"verify", "X", "--fail", "--note", "still dirty"}), 0) << err_;
  EXPECT_FALSE(fake_.Last(&FakeGateway::verify_).passed());
  EXPECT_EQ(fake_.Last(&FakeGateway::verify_).note(), "still dirty");
  ASSERT_EQ(Gridctl({"verify", "X", "--pass"}), 0) << err_;
  EXPECT_TRUE(fake_.Last(&FakeGateway::verify_).passed());
}

TEST_F(GridctlTest, RequiredOptionsAreEnforced) {
  EXPECT_NE(Gridctl({"return", "X"}), 0);
  EXPECT_THAT(err_, HasSubstr("--reason is required"));
  EXPECT_NE(Gridctl({"suspend", "X", "--reason", "funds"}), 0);
  EXPECT_THAT(err_, HasSubstr("--approver is required"));
  EXPECT_NE(Gridctl({"accept"}), 0);
  EXPECT_THAT(err_, HasSubstr("id is required"));
  EXPECT_EQ(fake_.calls(), 0);
}

TEST_F(GridctlTest, SuperviseSendsItsLimit) {
  ASSERT_EQ(Gridctl({"supervise", "X", "--note", "today", "--limit", "1h30m"}), 0) << err_;
  const v1::SuperviseEventRequest sent = fake_.Last(&FakeGateway::supervise_);
  EXPECT_EQ(sent.note(), "today");
  EXPECT_EQ(sent.limit().seconds(), 5400);

  EXPECT_NE(Gridctl({"supervise", "X", "--note", "today", "--limit", "soon"}), 0);
  EXPECT_THAT(err_, HasSubstr("--limit: not a positive duration"));
}

TEST_F(GridctlTest, AnErrorPrintsItsCodeAndMessageAndExitsOne) {
  EXPECT_EQ(Gridctl({"get", "nope"}), 1);
  EXPECT_EQ(err_, "error: NOT_FOUND: event \"nope\" not found\n");
  EXPECT_EQ(out_, "");
}

TEST_F(GridctlTest, QueuePrintsOneLinePerItemThenTheNextPageToken) {
  ASSERT_EQ(Gridctl({"queue", "370212001001", "--page-size", "2", "--page-token", "p1"}), 0)
      << err_;
  const v1::ListUnitQueueRequest sent = fake_.Last(&FakeGateway::queue_);
  EXPECT_EQ(sent.unit_id(), "370212001001");
  EXPECT_EQ(sent.page_size(), 2);
  EXPECT_EQ(sent.page_token(), "p1");
  const std::vector<std::string> lines = OutLines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[0], StartsWith("red     3h overdue      accepted    0102  high      "));
  EXPECT_THAT(lines[0], EndsWith("370212001-00000000000000AB"));
  EXPECT_THAT(lines[1], StartsWith("green   12m left        dispatched"));
  EXPECT_EQ(lines[2], "next page token: page-2");
}

TEST_F(GridctlTest, ListSendsItsFilters) {
  ASSERT_EQ(Gridctl({"list", "--unit", "370212001", "--state", "dispatched", "--state",
                     "EVENT_STATE_ACCEPTED", "--level", "grid", "--category", "01", "--since",
                     "2024-05-01T08:00:00Z", "--json"}),
            0)
      << err_;
  const v1::ListEventsRequest sent = fake_.Last(&FakeGateway::list_);
  EXPECT_EQ(sent.unit_id(), "370212001");
  ASSERT_EQ(sent.states_size(), 2);
  EXPECT_EQ(sent.states(0), v1::EVENT_STATE_DISPATCHED);
  EXPECT_EQ(sent.states(1), v1::EVENT_STATE_ACCEPTED);
  ASSERT_EQ(sent.levels_size(), 1);
  EXPECT_EQ(sent.levels(0), v1::LEVEL_GRID);
  EXPECT_EQ(sent.category_prefix(), "01");
  EXPECT_EQ(sent.reported_after().seconds(), 1714550400);
  EXPECT_FALSE(sent.has_reported_before());
  EXPECT_FALSE(sent.has_supervised()) << "both, unless asked";
  EXPECT_EQ(sent.min_severity(), v1::SEVERITY_UNSPECIFIED);
  v1::ListEventsResponse printed;
  ASSERT_TRUE(config::ParseJson(out_, "out", printed).ok()) << out_;
  EXPECT_EQ(printed.events_size(), 1);
}

TEST_F(GridctlTest, ListSendsTheSupervisionAndSeverityFilters) {
  ASSERT_EQ(Gridctl({"list", "--supervised", "yes", "--min-severity", "high"}), 0) << err_;
  v1::ListEventsRequest sent = fake_.Last(&FakeGateway::list_);
  ASSERT_TRUE(sent.has_supervised());
  EXPECT_TRUE(sent.supervised());
  EXPECT_EQ(sent.min_severity(), v1::SEVERITY_HIGH);
  ASSERT_EQ(Gridctl({"list", "--supervised", "no"}), 0) << err_;
  sent = fake_.Last(&FakeGateway::list_);
  ASSERT_TRUE(sent.has_supervised());
  EXPECT_FALSE(sent.supervised());
  EXPECT_NE(Gridctl({"list", "--supervised", "maybe"}), 0);
  EXPECT_NE(Gridctl({"list", "--min-severity", "dire"}), 0);
}

TEST_F(GridctlTest, UploadStreamsEveryLineAndPrintsOneResultEach) {
  const std::string lines =
      R"({"client_request_id": "r1", "grid_id": "37021200100101", "category": "0102"})"
      "\n\n"
      R"({"client_request_id": "r2", "severity": "SEVERITY_HIGH"})"
      "\n";
  EXPECT_EQ(Gridctl({"upload", "-"}, lines), 1) << "r2 has no grid";
  EXPECT_EQ(out_, "0 r1 E0\n1 r2 error INVALID_ARGUMENT: report.grid_id: required\n");
  EXPECT_THAT(err_, HasSubstr("1 of 2 reports failed"));
  const auto uploads = fake_.uploads();
  ASSERT_EQ(uploads.size(), 1u);
  ASSERT_EQ(uploads[0].size(), 2u);
  EXPECT_EQ(uploads[0][0].report().client_request_id(), "r1");
  EXPECT_EQ(uploads[0][1].report().severity(), v1::SEVERITY_HIGH);
}

TEST_F(GridctlTest, UploadReadsAFileAndSucceedsWhenEveryReportIsFiled) {
  const std::string path = ::testing::TempDir() + "/gridctl_upload.jsonl";
  {
    std::ofstream file(path);
    file << R"({"client_request_id": "a", "grid_id": "37021200100101"})"
         << "\n"
         << R"({"client_request_id": "b", "grid_id": "37021200100102"})"
         << "\n";
  }
  EXPECT_EQ(Gridctl({"upload", path}), 0) << err_;
  EXPECT_EQ(out_, "0 a E0\n1 b E1\n");
}

TEST_F(GridctlTest, AMalformedLineStopsTheUploadBeforeAnythingIsSent) {
  const std::string lines = R"({"client_request_id": "r1", "grid_id": "37021200100101"})"
                            "\n"
                            R"({"client_request_id": "r2", "grid": "37021200100101"})"
                            "\n";
  EXPECT_EQ(Gridctl({"upload", "-"}, lines), 1);
  EXPECT_THAT(err_, StartsWith("error: INVALID_ARGUMENT: stdin:2: "));
  EXPECT_EQ(fake_.uploads().size(), 0u);
  EXPECT_EQ(Gridctl({"upload", "-"}, "{\"grid_id\": \"1\"}\n{not json\n"), 1);
  EXPECT_THAT(err_, StartsWith("error: INVALID_ARGUMENT: stdin:2: "));
  EXPECT_EQ(fake_.uploads().size(), 0u);
}

TEST_F(GridctlTest, AFileThatCannotBeOpenedIsNotFound) {
  EXPECT_EQ(Gridctl({"upload", "/nonexistent/reports.jsonl"}), 1);
  EXPECT_EQ(err_, "error: NOT_FOUND: /nonexistent/reports.jsonl: cannot open\n");
}

}  // namespace
}  // namespace grid::gridctl
