// gridctl webhooks: whole command lines (Run) against a fake GatewayService on a real gRPC server,
// and the table on its own.
#include "tools/gridctl/webhooks.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <mutex>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "tools/gridctl/cli.h"

namespace grid::gridctl {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class FakeWebhooks final : public v1::GatewayService::CallbackService {
 public:
  grpc::ServerUnaryReactor* GetWebhookStatus(grpc::CallbackServerContext* context,
                                             const v1::GetWebhookStatusRequest* request,
                                             v1::GetWebhookStatusResponse* response) override {
    Record(status_, *request);
    if (request->receiver() == "nope") {
      return Finish(context, grpc::Status(grpc::StatusCode::NOT_FOUND,
                                          "receiver: no receiver \"nope\" in the webhooks "
                                          "configuration"));
    }
    v1::WebhookStatus& r = *response->add_receivers();
    r.set_name("city-management");
    r.set_unit_id("370212D01");
    r.set_url("https://city.example.org/grid/webhook");
    r.set_queued(3);
    r.set_retrying(1);
    r.set_dead_letters(2);
    r.mutable_oldest_undelivered_age()->set_seconds(125);
    r.set_delivered(40);
    r.set_failed(5);
    r.set_last_error("answered 503");
    r.mutable_last_error_at()->set_seconds(1764670504);
    r.mutable_last_success_at()->set_seconds(1764670000);
    v1::WebhookStatus& off = *response->add_receivers();
    off.set_name("housing");
    off.set_unit_id("370212D02");
    off.set_url("https://housing.example.org/h");
    off.set_disabled(true);
    response->set_active(true);
    return Finish(context, grpc::Status::OK);
  }

  grpc::ServerUnaryReactor* TestWebhook(grpc::CallbackServerContext* context,
                                        const v1::TestWebhookRequest* request,
                                        v1::TestWebhookResponse* response) override {
    Record(test_, *request);
    response->set_url("https://city.example.org/grid/webhook");
    response->mutable_latency()->set_nanos(12000000);
    if (request->receiver() == "down") {
      response->set_error("connecting to city.example.org:443: Connection refused");
    } else {
      response->set_http_status(204);
    }
    return Finish(context, grpc::Status::OK);
  }

  grpc::ServerUnaryReactor* RedeliverWebhooks(grpc::CallbackServerContext* context,
                                              const v1::RedeliverWebhooksRequest* request,
                                              v1::RedeliverWebhooksResponse* response) override {
    Record(redeliver_, *request);
    response->set_redelivered(2);
    response->set_remaining(7);
    return Finish(context, grpc::Status::OK);
  }

  template <class Message>
  Message Last(Message FakeWebhooks::*member) {
    std::lock_guard<std::mutex> lock(mu_);
    return this->*member;
  }

  v1::GetWebhookStatusRequest status_;
  v1::TestWebhookRequest test_;
  v1::RedeliverWebhooksRequest redeliver_;

 private:
  template <class Message>
  void Record(Message& slot, const Message& request) {
    std::lock_guard<std::mutex> lock(mu_);
    slot = request;
  }
  grpc::ServerUnaryReactor* Finish(grpc::CallbackServerContext* context, grpc::Status status) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(status);
    return reactor;
  }

  std::mutex mu_;
};

class GridctlWebhooksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("GRID_TOKEN", "test-token", 1);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&fake_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    address_ = absl::StrCat("127.0.0.1:", port);
  }
  void TearDown() override { unsetenv("GRID_TOKEN"); }

  int Gridctl(std::vector<std::string> args) {
    args.insert(args.begin(), {"gridctl", "--insecure", "--gateway", address_});
    std::vector<const char*> argv;
    for (const std::string& arg : args) {
      argv.push_back(arg.c_str());
    }
    std::istringstream in;
    std::ostringstream out;
    std::ostringstream err;
    const int code = gridctl::Run(static_cast<int>(argv.size()), argv.data(), in, out, err);
    out_ = out.str();
    err_ = err.str();
    return code;
  }

  FakeWebhooks fake_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  std::string out_;
  std::string err_;
};

TEST(WebhooksFormatTest, AgesAreCoarse) {
  google::protobuf::Duration d;
  EXPECT_EQ(FormatAge(d), "0s");
  d.set_seconds(45);
  EXPECT_EQ(FormatAge(d), "45s");
  d.set_seconds(12 * 60 + 3);
  EXPECT_EQ(FormatAge(d), "12m3s");
  d.set_seconds(2 * 3600 + 5 * 60 + 59);
  EXPECT_EQ(FormatAge(d), "2h5m");
  d.set_seconds(3 * 86400 + 4 * 3600 + 7);
  EXPECT_EQ(FormatAge(d), "3d4h");
}

TEST_F(GridctlWebhooksTest, StatusPrintsATableOfEveryReceiver) {
  ASSERT_EQ(Gridctl({"webhooks", "status"}), 0) << err_;
  EXPECT_EQ(fake_.Last(&FakeWebhooks::status_).receiver(), "");
  std::istringstream lines(out_);
  std::string header;
  std::string city;
  std::string housing;
  std::getline(lines, header);
  std::getline(lines, city);
  std::getline(lines, housing);
  EXPECT_THAT(header, StartsWith("receiver "));
  for (const char* column : {"unit", "state", "queued", "retrying", "dead", "oldest", "delivered",
                             "failed", "last_success", "last_error", "url"}) {
    EXPECT_THAT(header, HasSubstr(column));
  }
  EXPECT_THAT(city, StartsWith("city-management  370212D01  enabled "));
  EXPECT_THAT(city, HasSubstr(" 3 "));
  EXPECT_THAT(city, HasSubstr(" 2m5s "));
  EXPECT_THAT(city, HasSubstr("2025-12-02T10:15:04Z answered 503"));
  EXPECT_THAT(city, HasSubstr("https://city.example.org/grid/webhook"));
  EXPECT_THAT(housing, StartsWith("housing "));
  EXPECT_THAT(housing, HasSubstr(" disabled "));
  EXPECT_THAT(out_, HasSubstr("holds the lease"));
  // The columns line up: every line's url starts at the header's.
  EXPECT_EQ(city.find("https://"), header.find("url"));
  EXPECT_EQ(housing.find("https://"), header.find("url"));
}

TEST_F(GridctlWebhooksTest, StatusOfOneReceiverAndAnUnknownOne) {
  ASSERT_EQ(Gridctl({"webhooks", "status", "--receiver", "city-management"}), 0);
  EXPECT_EQ(fake_.Last(&FakeWebhooks::status_).receiver(), "city-management");
  EXPECT_EQ(Gridctl({"webhooks", "status", "--receiver", "nope"}), 1);
  EXPECT_THAT(err_, HasSubstr("NOT_FOUND"));
  EXPECT_THAT(err_, HasSubstr("\"nope\""));
}

TEST_F(GridctlWebhooksTest, TestPrintsTheAnswerAndFailsWithoutA2xx) {
  ASSERT_EQ(Gridctl({"webhooks", "test", "city-management"}), 0) << err_;
  EXPECT_EQ(fake_.Last(&FakeWebhooks::test_).receiver(), "city-management");
  EXPECT_EQ(out_, "city-management: HTTP 204 in 12 ms (https://city.example.org/grid/webhook)\n");
  EXPECT_EQ(Gridctl({"webhooks", "test", "down"}), 1);
  EXPECT_THAT(out_, HasSubstr("down: failed after 12 ms: connecting to city.example.org:443"));
  EXPECT_NE(Gridctl({"webhooks", "test"}), 0) << "the name is required";
}

TEST_F(GridctlWebhooksTest, RedeliverSendsTheSubdistrictAndTheLimit) {
  ASSERT_EQ(Gridctl({"webhooks", "redeliver", "city-management", "--subdistrict", "370212001",
                     "--limit", "2"}),
            0)
      << err_;
  const v1::RedeliverWebhooksRequest sent = fake_.Last(&FakeWebhooks::redeliver_);
  EXPECT_EQ(sent.receiver(), "city-management");
  EXPECT_EQ(sent.subdistrict_id(), "370212001");
  EXPECT_EQ(sent.limit(), 2);
  EXPECT_EQ(out_, "redelivered 2 dead letter(s) of city-management; 7 left\n");
  ASSERT_EQ(Gridctl({"webhooks", "redeliver", "city-management", "--json"}), 0);
  EXPECT_EQ(fake_.Last(&FakeWebhooks::redeliver_).limit(), 0);
  EXPECT_THAT(out_, HasSubstr("\"redelivered\""));
  EXPECT_NE(Gridctl({"webhooks", "redeliver", "city-management", "--limit", "0"}), 0)
      << "a limit is positive";
}

}  // namespace
}  // namespace grid::gridctl
