// The webhooks service's administration on real processes: redis-server, the five services,
// grid-webhooks and HTTP receivers of the test's own (tests/support/webhook_receiver.h): status,
// a signed ping, redelivery of dead letters, all through the gateway (ADMIN only) and gridctl;
// and the lease that keeps a second replica on standby until the first is gone.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/redis/client.h"
#include "tests/support/poll.h"
#include "tests/support/process.h"
#include "tests/support/stack.h"
#include "tests/support/stack_test.h"
#include "tests/support/webhook_receiver.h"
#include "tools/gridctl/cli.h"

namespace grid {
namespace {

using ::testing::HasSubstr;
using testing::PollUntil;
using testing::Stack;

constexpr char kGrid[] = "37021200100101";  // 中韩街道
constexpr char kSubdistrict[] = "370212001";
constexpr char kWorker[] = "W3702120010010101";
constexpr char kSecret[] = "test-webhook-secret";

class WebhooksAdminTest : public testing::StackTest {
 protected:
  // Starts the stack with grid-webhooks and `receivers` (name, url, extra JSON fields), all of
  // subdistrict kSubdistrict.
  void Start(const std::vector<std::tuple<std::string, std::string, std::string>>& receivers,
             std::vector<std::string> extra = {}) {
    char dir[] = "/tmp/grid-webhooks-admin-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    nlohmann::json config = {{"receivers", nlohmann::json::array()}};
    for (const auto& [name, url, fields] : receivers) {
      nlohmann::json receiver = {{"name", name},
                                 {"unit_id", kSubdistrict},
                                 {"url", url},
                                 {"secret", kSecret},
                                 {"allow_private", true}};
      if (!fields.empty()) {
        receiver.update(nlohmann::json::parse(fields));
      }
      config["receivers"].push_back(receiver);
    }
    const std::string path = dir_ + "/webhooks.json";
    std::ofstream(path) << config.dump(2);
    Stack::Options options;
    options.webhooks_config = path;
    extra.insert(extra.end(), {"--group-start", "0", "--retry-base-ms", "100", "--retry-max-ms",
                               "400", "--idle-poll-ms", "200"});
    options.extra_args[Stack::kWebhooks] = extra;
    StartStack(options);
  }

  ~WebhooksAdminTest() override {
    if (!dir_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
    }
  }

  // Reports an event (no location, so none merges) and waits until it is dispatched: two changes
  // (REPORTED, DISPATCHED) for every receiver of the subdistrict.
  v1::Event ReportDispatched() {
    v1::ReportEventRequest request;
    v1::Report& report = *request.mutable_report();
    report.set_grid_id(kGrid);
    report.set_category("0102");
    report.set_severity(v1::SEVERITY_NORMAL);
    report.set_description("暴露垃圾");
    *request.mutable_actor() = MakeActor(v1::ROLE_WORKER, kWorker, kGrid);
    v1::ReportEventResponse response;
    const grpc::Status status =
        gateway().ReportEvent(Context(request.actor()).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return AwaitWhere(response.event_id(), [](const v1::Event& event) {
      return event.state() == v1::EVENT_STATE_DISPATCHED;
    });
  }

  grpc::Status Status(const std::string& receiver, v1::GetWebhookStatusResponse& response,
                      const v1::Actor& actor = Stack::Admin()) {
    v1::GetWebhookStatusRequest request;
    request.set_receiver(receiver);
    response.Clear();
    return gateway().GetWebhookStatus(Context(actor).get(), request, &response);
  }

  // The status of one receiver; the test fails when the call does.
  v1::WebhookStatus StatusOf(const std::string& receiver) {
    v1::GetWebhookStatusResponse response;
    const grpc::Status status = Status(receiver, response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.receivers_size() == 1 ? response.receivers(0) : v1::WebhookStatus();
  }

  grpc::Status Redeliver(const v1::RedeliverWebhooksRequest& request,
                         v1::RedeliverWebhooksResponse& response,
                         const v1::Actor& actor = Stack::Admin()) {
    return gateway().RedeliverWebhooks(Context(actor).get(), request, &response);
  }

  long long Length(const std::string& key) {
    auto reply = redis::CommandSync(stack_->redis_client(), {"XLEN", key}, std::chrono::seconds(2));
    return reply.ok() && reply->IsInteger() ? reply->integer : -1;
  }

  // Runs gridctl against the stack's gateway as an admin; its exit code, its output in `out`.
  int Gridctl(std::vector<std::string> args, std::string& out, std::string& err) {
    setenv("GRID_TOKEN", stack_->Token(Stack::Admin()).c_str(), 1);
    std::vector<std::string> all = {"gridctl"};
    const std::vector<std::string> reach = stack_->GridctlArgs();
    all.insert(all.end(), reach.begin(), reach.end());
    all.insert(all.end(), args.begin(), args.end());
    std::vector<const char*> argv;
    for (const std::string& arg : all) {
      argv.push_back(arg.c_str());
    }
    std::istringstream in;
    std::ostringstream out_stream;
    std::ostringstream err_stream;
    const int code =
        gridctl::Run(static_cast<int>(argv.size()), argv.data(), in, out_stream, err_stream);
    out = out_stream.str();
    err = err_stream.str();
    return code;
  }

  static std::string Queue(const std::string& receiver) {
    return absl::StrCat("{", kSubdistrict, "}:wh:q:", receiver);
  }
  static std::string Dead(const std::string& receiver) {
    return absl::StrCat("{", kSubdistrict, "}:wh:dead:", receiver);
  }

  std::string dir_;
};

// Queued changes and dead letters as Redis holds them, per receiver; delivery figures of the
// process; one receiver by name, an unknown one NOT_FOUND.
TEST_F(WebhooksAdminTest, StatusShowsQueuedChangesAndDeadLetters) {
  testing::WebhookReceiver hanging(kSecret, [](int) { return 0; });
  testing::WebhookReceiver failing(kSecret, [](int) { return 503; });
  testing::WebhookReceiver healthy(kSecret);
  Start({{"hanging", hanging.url(), ""},
         {"failing", failing.url(), ""},
         {"healthy", healthy.url(), ""},
         {"off", "https://off.example.org/h", R"({"disabled": true})"}},
        {"--max-age-seconds", "1", "--timeout-ms", "60000"});
  (void)ReportDispatched();
  // The failing receiver's two changes go to its dead letters after a second of 503s.
  ASSERT_TRUE(PollUntil([&] { return Length(Dead("failing")) == 2; }, std::chrono::seconds(15)));
  ASSERT_TRUE(PollUntil([&] { return healthy.accepted() == 2; }, std::chrono::seconds(10)));

  v1::GetWebhookStatusResponse all;
  ASSERT_TRUE(Status("", all).ok());
  EXPECT_TRUE(all.active());
  ASSERT_EQ(all.receivers_size(), 4);
  EXPECT_EQ(all.receivers(0).name(), "failing");
  EXPECT_EQ(all.receivers(1).name(), "hanging");
  EXPECT_EQ(all.receivers(2).name(), "healthy");
  EXPECT_EQ(all.receivers(3).name(), "off");
  EXPECT_TRUE(all.receivers(3).disabled());
  EXPECT_EQ(all.receivers(3).queued(), 0);

  const v1::WebhookStatus failing_status = all.receivers(0);
  EXPECT_EQ(failing_status.unit_id(), kSubdistrict);
  EXPECT_EQ(failing_status.dead_letters(), 2);
  EXPECT_EQ(failing_status.queued(), 0);
  EXPECT_GE(failing_status.failed(), 2);
  EXPECT_EQ(failing_status.last_error(), "answered 503");
  EXPECT_TRUE(failing_status.has_last_error_at());
  EXPECT_FALSE(failing_status.has_last_success_at());
  EXPECT_EQ(failing_status.url(), failing.url());

  // The hanging receiver holds the first change of the event in flight; both wait in its queue.
  const v1::WebhookStatus hanging_status = all.receivers(1);
  EXPECT_EQ(hanging_status.queued(), 2);
  EXPECT_EQ(hanging_status.dead_letters(), 0);
  EXPECT_TRUE(hanging_status.has_oldest_undelivered_age());

  // Counted once the service has the receiver's answer, a moment after the receiver has it.
  v1::WebhookStatus healthy_status;
  EXPECT_TRUE(PollUntil(
      [&] {
        healthy_status = StatusOf("healthy");
        return healthy_status.delivered() == 2;
      },
      std::chrono::seconds(5)))
      << healthy_status.ShortDebugString();
  EXPECT_EQ(healthy_status.queued(), 0);
  EXPECT_TRUE(healthy_status.has_last_success_at());
  EXPECT_FALSE(healthy_status.has_oldest_undelivered_age());

  v1::GetWebhookStatusResponse none;
  const grpc::Status unknown = Status("nobody", none);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(unknown.error_message(), HasSubstr("\"nobody\""));

  // gridctl's table says the same.
  std::string out;
  std::string err;
  ASSERT_EQ(Gridctl({"webhooks", "status"}, out, err), 0) << err;
  EXPECT_THAT(out, HasSubstr("receiver"));
  EXPECT_THAT(out, HasSubstr("answered 503"));
  EXPECT_THAT(out, HasSubstr(" disabled "));
  std::cout << out;
}

// A ping goes now, outside the queues, signed as a delivery, and the answer comes back.
TEST_F(WebhooksAdminTest, TestPingsTheReceiverSigned) {
  testing::WebhookReceiver receiver(kSecret, [](int) { return 204; });
  testing::WebhookReceiver refusing(kSecret, [](int) { return 410; });
  Start({{"city", receiver.url(), ""},
         {"refusing", refusing.url(), ""},
         {"private", receiver.url(), R"({"allow_private": false})"}});
  v1::TestWebhookRequest request;
  request.set_receiver("city");
  v1::TestWebhookResponse response;
  const grpc::Status status = gateway().TestWebhook(Context().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.http_status(), 204);
  EXPECT_EQ(response.error(), "");
  EXPECT_EQ(response.url(), receiver.url());
  EXPECT_TRUE(response.has_latency());
  ASSERT_EQ(receiver.all().size(), 1u);
  const testing::WebhookReceiver::Request ping = receiver.all()[0];
  EXPECT_EQ(ping.event, "ping");
  EXPECT_TRUE(ping.signature_valid) << ping.signature;
  const auto body = nlohmann::json::parse(ping.body);
  EXPECT_EQ(body["ping"]["receiver"], "city");
  EXPECT_EQ(body["ping"]["unit_id"], kSubdistrict);
  // Nothing was queued for it.
  EXPECT_EQ(Length(Queue("city")), 0);

  // A non-2xx is the answer, not an error of the call; gridctl fails on it.
  request.set_receiver("refusing");
  ASSERT_TRUE(gateway().TestWebhook(Context().get(), request, &response).ok());
  EXPECT_EQ(response.http_status(), 410);
  EXPECT_EQ(response.error(), "answered 410");
  // The same address rules as a delivery: loopback is refused unless allowed.
  request.set_receiver("private");
  ASSERT_TRUE(gateway().TestWebhook(Context().get(), request, &response).ok());
  EXPECT_EQ(response.http_status(), 0);
  EXPECT_THAT(response.error(), HasSubstr("not a public address"));
  EXPECT_EQ(receiver.all().size(), 1u);

  request.set_receiver("nobody");
  const grpc::Status unknown = gateway().TestWebhook(Context().get(), request, &response);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(unknown.error_message(), HasSubstr("\"nobody\""));
  request.set_receiver("");
  const grpc::Status empty = gateway().TestWebhook(Context().get(), request, &response);
  EXPECT_EQ(empty.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(empty.error_message(), HasSubstr("receiver"));

  std::string out;
  std::string err;
  EXPECT_EQ(Gridctl({"webhooks", "test", "city"}, out, err), 0) << err;
  EXPECT_THAT(out, HasSubstr("city: HTTP 204 in "));
  EXPECT_EQ(Gridctl({"webhooks", "test", "refusing"}, out, err), 1);
  EXPECT_THAT(out, HasSubstr("answered 410"));
  EXPECT_EQ(receiver.all().size(), 2u);
}

// Dead letters go back onto the queue, atomically, as many as asked; the receiver gets them.
TEST_F(WebhooksAdminTest, RedeliverMovesDeadLettersBackAndTheReceiverGetsThem) {
  std::atomic<bool> up{false};
  testing::WebhookReceiver receiver(kSecret, [&up](int) { return up.load() ? 200 : 503; });
  Start({{"city", receiver.url(), ""}}, {"--max-age-seconds", "1"});
  const v1::Event first = ReportDispatched();
  const v1::Event second = ReportDispatched();
  ASSERT_TRUE(PollUntil([&] { return Length(Dead("city")) == 4; }, std::chrono::seconds(20)));
  EXPECT_EQ(receiver.accepted(), 0u);
  up = true;

  // Bad input changes nothing.
  v1::RedeliverWebhooksRequest request;
  v1::RedeliverWebhooksResponse response;
  request.set_receiver("nobody");
  const grpc::Status unknown = Redeliver(request, response);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(unknown.error_message(), HasSubstr("\"nobody\""));
  request.set_receiver("city");
  request.set_subdistrict_id("370212001001");
  const grpc::Status community = Redeliver(request, response);
  EXPECT_EQ(community.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(community.error_message(), HasSubstr("subdistrict_id"));
  request.set_subdistrict_id("");
  request.set_limit(-1);
  const grpc::Status negative = Redeliver(request, response);
  EXPECT_EQ(negative.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(negative.error_message(), HasSubstr("limit"));
  EXPECT_EQ(Length(Dead("city")), 4);

  // One subdistrict, at most one: the oldest dead letter.
  auto oldest =
      redis::CommandSync(stack_->redis_client(), {"XRANGE", Dead("city"), "-", "+", "COUNT", "1"},
                         std::chrono::seconds(2));
  ASSERT_TRUE(oldest.ok() && oldest->elements.size() == 1);
  v1::EventChange oldest_change;
  const auto& fields = oldest->elements[0].elements[1].elements;
  for (size_t i = 0; i + 1 < fields.size(); i += 2) {
    if (fields[i].str == "c") {
      ASSERT_TRUE(oldest_change.ParseFromString(fields[i + 1].str));
    }
  }
  request.set_subdistrict_id(kSubdistrict);
  request.set_limit(1);
  ASSERT_TRUE(Redeliver(request, response).ok());
  EXPECT_EQ(response.redelivered(), 1);
  EXPECT_EQ(response.remaining(), 3);
  ASSERT_TRUE(PollUntil([&] { return receiver.accepted() == 1; }, std::chrono::seconds(10)));
  EXPECT_EQ(receiver.firsts()[0].key,
            absl::StrCat(oldest_change.event_id(), ":", oldest_change.version()));
  EXPECT_EQ(receiver.firsts()[0].event, "change");
  EXPECT_TRUE(receiver.firsts()[0].signature_valid);

  // The rest through gridctl.
  std::string out;
  std::string err;
  ASSERT_EQ(Gridctl({"webhooks", "redeliver", "city"}, out, err), 0) << err;
  EXPECT_EQ(out, "redelivered 3 dead letter(s) of city; 0 left\n");
  ASSERT_TRUE(PollUntil([&] { return receiver.accepted() == 4; }, std::chrono::seconds(10)));
  std::vector<std::string> keys;
  for (const auto& got : receiver.firsts()) {
    keys.push_back(got.key);
  }
  EXPECT_THAT(keys, ::testing::UnorderedElementsAre(
                        absl::StrCat(first.id(), ":1"), absl::StrCat(first.id(), ":2"),
                        absl::StrCat(second.id(), ":1"), absl::StrCat(second.id(), ":2")));
  EXPECT_EQ(Length(Dead("city")), 0);
  EXPECT_TRUE(PollUntil([&] { return Length(Queue("city")) == 0; }, std::chrono::seconds(5)));
  const v1::WebhookStatus status = StatusOf("city");
  EXPECT_EQ(status.dead_letters(), 0);
  EXPECT_EQ(status.delivered(), 4);
  // Nothing left: a second redelivery moves nothing.
  ASSERT_TRUE(Redeliver(request, response).ok());
  EXPECT_EQ(response.redelivered(), 0);
  EXPECT_EQ(response.remaining(), 0);
}

// The three calls are an ADMIN's; a gateway without the webhooks service says so.
TEST_F(WebhooksAdminTest, OnlyAnAdminMayAndAGatewayWithoutTheServiceSaysUnavailable) {
  StartStack();
  for (const v1::Actor& actor : {MakeActor(v1::ROLE_OPERATOR, "operator-1", "370212"),
                                 MakeActor(v1::ROLE_HANDLER, "handler-1", kSubdistrict),
                                 MakeActor(v1::ROLE_WORKER, kWorker, kGrid)}) {
    SCOPED_TRACE(v1::Role_Name(actor.role()));
    v1::GetWebhookStatusResponse status;
    EXPECT_EQ(Status("", status, actor).error_code(), grpc::StatusCode::PERMISSION_DENIED);
    v1::TestWebhookRequest test;
    test.set_receiver("city");
    v1::TestWebhookResponse tested;
    EXPECT_EQ(gateway().TestWebhook(Context(actor).get(), test, &tested).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
    v1::RedeliverWebhooksRequest redeliver;
    redeliver.set_receiver("city");
    v1::RedeliverWebhooksResponse redelivered;
    const grpc::Status denied = Redeliver(redeliver, redelivered, actor);
    EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_THAT(denied.error_message(), HasSubstr("may not call RedeliverWebhooks"));
  }
  v1::GetWebhookStatusResponse status;
  const grpc::Status unavailable = Status("", status);
  EXPECT_EQ(unavailable.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(unavailable.error_message(), "webhooks service: not configured");
  std::string out;
  std::string err;
  EXPECT_EQ(Gridctl({"webhooks", "status"}, out, err), 1);
  EXPECT_THAT(err, HasSubstr("webhooks service: not configured"));
}

// With the webhooks service, an OPERATOR is still refused at the gateway.
TEST_F(WebhooksAdminTest, AnOperatorIsRefusedByTheGatewayInFrontOfTheService) {
  testing::WebhookReceiver receiver(kSecret);
  Start({{"city", receiver.url(), ""}});
  v1::GetWebhookStatusResponse status;
  const grpc::Status denied =
      Status("", status, MakeActor(v1::ROLE_OPERATOR, "operator-1", "370212"));
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(denied.error_message(), HasSubstr("OPERATOR may not call GetWebhookStatus"));
  ASSERT_TRUE(Status("", status).ok());
}

// Two replicas: the second stands by (NOT_SERVING, delivering nothing) until the first is killed,
// then takes the lease within a few seconds and delivers what came meanwhile.
TEST_F(WebhooksAdminTest, ASecondReplicaStandsByAndTakesOverWhenTheFirstDies) {
  testing::WebhookReceiver receiver(kSecret);
  Start({{"city", receiver.url(), ""}}, {"--lease-ms", "1500"});
  const std::string active = stack_->address(Stack::kWebhooks);
  EXPECT_EQ(testing::HealthOf(active), "SERVING");
  EXPECT_EQ(
      testing::MetricSample(testing::HttpGet(stack_->metrics_port(Stack::kWebhooks), "/metrics"),
                            "grid_webhook_lease_held"),
      1);
  std::string standby_address;
  auto standby = stack_->StartReplica(Stack::kWebhooks, {}, &standby_address,
                                      /*wait_serving=*/false);
  ASSERT_TRUE(standby.ok()) << standby.status();
  ASSERT_TRUE(PollUntil(
      [&] { return (*standby)->ReadLog().find("standby: another replica") != std::string::npos; },
      std::chrono::seconds(20)))
      << (*standby)->ReadLog();
  // Its server comes up after it has tried the lease.
  EXPECT_TRUE(PollUntil([&] { return testing::HealthOf(standby_address) == "NOT_SERVING"; },
                        std::chrono::seconds(10)))
      << testing::HealthOf(standby_address);
  EXPECT_EQ(testing::HealthOf(standby_address, "liveness"), "SERVING");

  // Delivered once, by the first.
  const v1::Event before = ReportDispatched();
  ASSERT_TRUE(PollUntil([&] { return receiver.accepted() == 2; }, std::chrono::seconds(10)));
  EXPECT_EQ(receiver.all().size(), 2u);
  EXPECT_EQ(testing::HealthOf(standby_address), "NOT_SERVING");

  stack_->StopService(Stack::kWebhooks, SIGKILL);
  const auto killed = std::chrono::steady_clock::now();
  const v1::Event after = ReportDispatched();
  ASSERT_TRUE(PollUntil([&] { return testing::HealthOf(standby_address) == "SERVING"; },
                        std::chrono::seconds(15)))
      << (*standby)->ReadLog();
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - killed);
  ASSERT_TRUE(PollUntil([&] { return receiver.accepted() == 4; }, std::chrono::seconds(15)))
      << (*standby)->ReadLog();
  EXPECT_THAT((*standby)->ReadLog(), HasSubstr("lease wh:lease taken"));
  std::vector<std::string> keys;
  for (const auto& got : receiver.firsts()) {
    keys.push_back(got.key);
  }
  EXPECT_THAT(
      keys, ::testing::ElementsAre(absl::StrCat(before.id(), ":1"), absl::StrCat(before.id(), ":2"),
                                   absl::StrCat(after.id(), ":1"), absl::StrCat(after.id(), ":2")));
  std::cout << "the standby took over " << took.count() << " ms after the kill (lease 1500 ms)\n";
  // The lease's 1.5 s, a try every 0.5 s, a readiness round of 1 s; room for a loaded machine.
  EXPECT_LT(took, std::chrono::seconds(8));

  // A clean stop gives the lease up: a third replica, on standby, takes it when the second stops.
  std::string third_address;
  auto third = stack_->StartReplica(Stack::kWebhooks, {}, &third_address, false);
  ASSERT_TRUE(third.ok()) << third.status();
  ASSERT_TRUE(PollUntil(
      [&] { return (*third)->ReadLog().find("standby: another replica") != std::string::npos; },
      std::chrono::seconds(20)))
      << (*third)->ReadLog();
  const auto stopping = std::chrono::steady_clock::now();
  (void)(*standby)->Terminate();
  EXPECT_TRUE(PollUntil([&] { return testing::HealthOf(third_address) == "SERVING"; },
                        std::chrono::seconds(10)))
      << (*third)->ReadLog();
  std::cout << "after a clean stop the other took over in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - stopping)
                   .count()
            << " ms\n";
  EXPECT_THAT((*standby)->ReadLog(), HasSubstr("lease given up"));
}

}  // namespace
}  // namespace grid
