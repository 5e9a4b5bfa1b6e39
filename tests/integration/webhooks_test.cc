// The webhooks service on real processes: redis-server, the five services and grid-webhooks, and
// HTTP receivers of the test's own (tests/support/webhook_receiver.h, a Boost.Beast server per
// receiver on a free port) that record what they get, check every signature with their own HMAC
// code and drop repeats by the idempotency key, as a department's system would.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/redis/client.h"
#include "tests/support/paths.h"
#include "tests/support/poll.h"
#include "tests/support/process.h"
#include "tests/support/stack.h"
#include "tests/support/stack_test.h"
#include "tests/support/webhook_receiver.h"

namespace grid {
namespace {

using testing::PollUntil;
using testing::Stack;

constexpr char kGrid[] = "37021200100101";  // 中韩街道
constexpr char kSubdistrict[] = "370212001";
constexpr char kOtherSubdistrict[] = "370212002";
constexpr char kWorker[] = "W3702120010010101";
constexpr char kOtherGrid[] = "37021200200101";  // 沙子口街道
constexpr char kOtherWorker[] = "W3702120020010101";
constexpr char kSecret[] = "test-webhook-secret";

class WebhooksTest : public testing::StackTest {
 protected:
  // Starts the stack with grid-webhooks and `receivers` (name, unit, url, extra JSON fields).
  // On a Redis Cluster of that many masters when `redis_cluster` > 0.
  void Start(
      const std::vector<std::tuple<std::string, std::string, std::string, std::string>>& receivers,
      std::vector<std::string> extra = {}, int redis_cluster = 0) {
    char dir[] = "/tmp/grid-webhooks-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    config_ = std::string(dir) + "/webhooks.json";
    nlohmann::json config = {{"receivers", nlohmann::json::array()}};
    for (const auto& [name, unit, url, fields] : receivers) {
      nlohmann::json receiver = {{"name", name},
                                 {"unit_id", unit},
                                 {"url", url},
                                 {"secret", kSecret},
                                 {"allow_private", true}};
      if (!fields.empty()) {
        receiver.update(nlohmann::json::parse(fields));
      }
      config["receivers"].push_back(receiver);
    }
    std::ofstream(config_) << config.dump(2);
    Stack::Options options;
    options.redis_cluster = redis_cluster;
    options.webhooks_config = config_;
    // A short lease: a process started again after a kill -9 waits for the old one's to run out.
    extra.insert(extra.end(), {"--group-start", "0", "--retry-base-ms", "100", "--retry-max-ms",
                               "400", "--idle-poll-ms", "200", "--lease-ms", "2000"});
    options.extra_args[Stack::kWebhooks] = extra;
    StartStack(options);
  }

  ~WebhooksTest() override {
    if (!dir_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
    }
  }

  static v1::Actor Worker(const std::string& grid = kGrid) {
    return MakeActor(v1::ROLE_WORKER, grid == kGrid ? kWorker : kOtherWorker, grid);
  }
  static v1::Actor Handler(const std::string& unit) {
    return MakeActor(v1::ROLE_HANDLER, "handler-" + unit, unit);
  }

  // Reports an event (no location, so none merges) and waits until it is dispatched.
  v1::Event ReportDispatched(const std::string& grid = kGrid) {
    v1::ReportEventRequest request;
    v1::Report& report = *request.mutable_report();
    report.set_grid_id(grid);
    report.set_category("0102");
    report.set_severity(v1::SEVERITY_NORMAL);
    report.set_description("暴露垃圾");
    *request.mutable_actor() = Worker(grid);
    v1::ReportEventResponse response;
    const grpc::Status status =
        gateway().ReportEvent(Context(request.actor()).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return AwaitWhere(response.event_id(), [](const v1::Event& event) {
      return event.state() == v1::EVENT_STATE_DISPATCHED;
    });
  }

  void Accept(const v1::Event& event) {
    v1::AcceptEventRequest request;
    request.set_event_id(event.id());
    *request.mutable_actor() = Handler(event.unit_id());
    v1::AcceptEventResponse response;
    const grpc::Status status =
        gateway().AcceptEvent(Context(request.actor()).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }

  void Resolve(const v1::Event& event) {
    v1::ResolveEventRequest request;
    request.set_event_id(event.id());
    *request.mutable_actor() = Handler(event.unit_id());
    request.set_note("清理完毕");
    request.add_media("oss://evidence/after.jpg");
    v1::ResolveEventResponse response;
    const grpc::Status status =
        gateway().ResolveEvent(Context(request.actor()).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }

  // The idempotency keys of the event's history, oldest first ("<id>:<version>").
  std::vector<std::string> HistoryKeys(const std::string& id) {
    v1::GetEventHistoryRequest request;
    request.set_event_id(id);
    v1::GetEventHistoryResponse response;
    EXPECT_TRUE(gateway().GetEventHistory(Context().get(), request, &response).ok());
    std::vector<std::string> keys;
    for (const v1::EventChange& change : response.changes()) {
      keys.push_back(absl::StrCat(change.event_id(), ":", change.version()));
    }
    return keys;
  }

  // Each event's keys as the receiver kept them (first deliveries, arrival order).
  static std::map<std::string, std::vector<std::string>> ByEvent(
      const std::vector<testing::WebhookReceiver::Request>& requests) {
    std::map<std::string, std::vector<std::string>> by_event;
    for (const auto& request : requests) {
      by_event[request.key.substr(0, request.key.rfind(':'))].push_back(request.key);
    }
    return by_event;
  }

  // Waits until the receiver kept every key of `events`' histories, and checks that each event's
  // changes came in order and that nothing else came.
  void ExpectEveryChangeInOrder(const testing::WebhookReceiver& receiver,
                                const std::vector<v1::Event>& events,
                                std::chrono::milliseconds deadline = std::chrono::seconds(20)) {
    std::map<std::string, std::vector<std::string>> want;
    size_t total = 0;
    for (const v1::Event& event : events) {
      want[event.id()] = HistoryKeys(event.id());
      total += want[event.id()].size();
    }
    EXPECT_TRUE(PollUntil([&] { return receiver.accepted() >= total; }, deadline))
        << receiver.accepted() << " of " << total;
    EXPECT_EQ(ByEvent(receiver.firsts()), want);
  }

  double Metric(const std::string& name, const std::map<std::string, std::string>& labels) {
    return testing::MetricSample(
        testing::HttpGet(stack_->metrics_port(Stack::kWebhooks), "/metrics"), name, labels);
  }

  std::string dir_;
  std::string config_;
};

TEST_F(WebhooksTest, AReceiverGetsEveryMatchingChangeOnceInOrderSigned) {
  testing::WebhookReceiver subdistrict(kSecret);
  testing::WebhookReceiver other(kSecret);
  testing::WebhookReceiver dispatches(kSecret);
  Start({{"sd", kSubdistrict, subdistrict.url(), ""},
         {"other-sd", kOtherSubdistrict, other.url(), ""},
         {"dispatches", "370212", dispatches.url(), R"({"kinds": ["CHANGE_KIND_DISPATCHED"]})"}});
  std::vector<v1::Event> events;
  for (int i = 0; i < 3; ++i) {
    events.push_back(ReportDispatched());
  }
  for (const v1::Event& event : events) {
    Accept(event);
  }
  for (const v1::Event& event : events) {
    Resolve(event);
  }
  for (const v1::Event& event : events) {
    ASSERT_EQ(HistoryKeys(event.id()).size(), 4u) << event.id();
  }
  ExpectEveryChangeInOrder(subdistrict, events);
  // Exactly once: nothing failed, so nothing came twice.
  EXPECT_EQ(subdistrict.all().size(), 12u);
  for (const auto& request : subdistrict.all()) {
    EXPECT_TRUE(request.signature_valid) << request.signature;
    const auto body = nlohmann::json::parse(request.body);
    EXPECT_EQ(absl::StrCat(body["change"]["event_id"].get<std::string>(), ":",
                           body["change"]["version"].get<std::string>()),
              request.key);
    EXPECT_EQ(body["event"]["id"], body["change"]["event_id"]);
    EXPECT_GE(std::stoll(body["event"]["version"].get<std::string>()),
              std::stoll(body["change"]["version"].get<std::string>()));
  }
  // The district's receiver wants dispatches only: one per event.
  EXPECT_TRUE(PollUntil([&] { return dispatches.accepted() >= 3; }, std::chrono::seconds(10)));
  for (const auto& request : dispatches.firsts()) {
    EXPECT_EQ(nlohmann::json::parse(request.body)["change"]["kind"], "CHANGE_KIND_DISPATCHED");
  }
  EXPECT_EQ(dispatches.all().size(), 3u);
  EXPECT_TRUE(other.all().empty());
  EXPECT_TRUE(PollUntil(
      [&] {
        return Metric("grid_webhook_delivered_total", {{"receiver", "sd"}}) == 12;
      },
      std::chrono::seconds(5)));
}

TEST_F(WebhooksTest, AReceiverThatFailsForAWhileGetsEveryChangeOfEachEventInOrder) {
  // 500 for the first 15 requests, then 200.
  testing::WebhookReceiver flaky(kSecret, [](int number) { return number <= 15 ? 500 : 200; });
  Start({{"flaky", kSubdistrict, flaky.url(), ""}});
  std::vector<v1::Event> events;
  for (int i = 0; i < 4; ++i) {
    events.push_back(ReportDispatched());
  }
  // Interleaved: accept all, then resolve all in the reverse order.
  for (const v1::Event& event : events) {
    Accept(event);
  }
  for (auto it = events.rbegin(); it != events.rend(); ++it) {
    Resolve(*it);
  }
  ExpectEveryChangeInOrder(flaky, events);
  EXPECT_GE(Metric("grid_webhook_failed_total", {{"receiver", "flaky"}, {"reason", "status"}}), 15);
}

TEST_F(WebhooksTest, AHangingReceiverDoesNotDelayAnother) {
  testing::WebhookReceiver hanging(kSecret, [](int) { return 0; });
  testing::WebhookReceiver healthy(kSecret);
  Start(
      {{"hanging", kSubdistrict, hanging.url(), ""}, {"healthy", kSubdistrict, healthy.url(), ""}},
      {"--timeout-ms", "20000"});
  std::vector<v1::Event> events;
  for (int i = 0; i < 3; ++i) {
    events.push_back(ReportDispatched());
    Accept(events.back());
  }
  // Well within the hanging receiver's 20 s time-out.
  ExpectEveryChangeInOrder(healthy, events, std::chrono::seconds(5));
  EXPECT_EQ(hanging.accepted(), 0u);
  // Never two changes of one event at once: the hanging receiver holds each event's first.
  std::set<std::string> hung;
  for (const auto& request : hanging.all()) {
    EXPECT_TRUE(hung.insert(request.key).second) << request.key;
    EXPECT_EQ(request.key, HistoryKeys(request.key.substr(0, request.key.rfind(':')))[0]);
  }
  EXPECT_LE(hung.size(), events.size());
}

TEST_F(WebhooksTest, KillingTheServiceLosesNoDelivery) {
  // A slow receiver, so that changes are queued and in flight when the process dies.
  testing::WebhookReceiver slow(kSecret, [](int) {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    return 200;
  });
  Start({{"slow", kSubdistrict, slow.url(), ""}});
  std::vector<v1::Event> events;
  for (int i = 0; i < 4; ++i) {
    events.push_back(ReportDispatched());
    Accept(events.back());
  }
  ASSERT_TRUE(PollUntil([&] { return slow.all().size() >= 3; }, std::chrono::seconds(10)));
  stack_->StopService(Stack::kWebhooks, SIGKILL);
  // What it had queued and not delivered waits in Redis.
  const auto queued = redis::CommandSync(stack_->redis_client(),
                                         {"XLEN", absl::StrCat("{", kSubdistrict, "}:wh:q:slow")},
                                         std::chrono::seconds(2));
  ASSERT_TRUE(queued.ok()) << queued.status();
  EXPECT_GT(queued->integer, 0);
  // Changes made while it is down are queued when it is back.
  for (const v1::Event& event : events) {
    Resolve(event);
  }
  ASSERT_TRUE(stack_->StartService(Stack::kWebhooks).ok());
  for (int i = 0; i < 2; ++i) {
    events.push_back(ReportDispatched());
  }
  ExpectEveryChangeInOrder(slow, events);
  for (const auto& request : slow.all()) {
    EXPECT_TRUE(request.signature_valid);
  }
  std::cout << "killed with " << queued->integer << " changes queued; " << slow.all().size()
            << " requests for " << slow.accepted() << " changes\n";
}

TEST_F(WebhooksTest, AReceiverOnLoopbackIsRefusedUnlessAllowed) {
  testing::WebhookReceiver refused(kSecret);
  testing::WebhookReceiver allowed(kSecret);
  Start({{"refused", kSubdistrict, refused.url(), R"({"allow_private": false})"},
         {"allowed", kSubdistrict, allowed.url(), ""}});
  const v1::Event event = ReportDispatched();
  ExpectEveryChangeInOrder(allowed, {event}, std::chrono::seconds(10));
  EXPECT_TRUE(PollUntil(
      [&] {
        return Metric("grid_webhook_failed_total",
                      {{"receiver", "refused"}, {"reason", "refused"}}) > 0;
      },
      std::chrono::seconds(10)));
  EXPECT_TRUE(refused.all().empty());
  EXPECT_GT(Metric("grid_webhook_retrying", {{"receiver", "refused"}}), 0);
}

// A change not delivered within --max-age-seconds goes to the receiver's dead letters, and the
// queue moves on.
TEST_F(WebhooksTest, AChangeNeverAcceptedGoesToTheDeadLettersAfterTheMaximumAge) {
  testing::WebhookReceiver failing(kSecret, [](int) { return 503; });
  Start({{"failing", kSubdistrict, failing.url(), ""}}, {"--max-age-seconds", "1"});
  const v1::Event event = ReportDispatched();
  const std::string dead = absl::StrCat("{", kSubdistrict, "}:wh:dead:failing");
  const std::string queue = absl::StrCat("{", kSubdistrict, "}:wh:q:failing");
  const auto length = [&](const std::string& key) {
    auto reply = redis::CommandSync(stack_->redis_client(), {"XLEN", key}, std::chrono::seconds(2));
    return reply.ok() ? reply->integer : -1;
  };
  EXPECT_TRUE(
      PollUntil([&] { return length(dead) == 2 && length(queue) == 0; }, std::chrono::seconds(15)))
      << length(dead) << " dead, " << length(queue) << " queued";
  const auto letters = redis::CommandSync(stack_->redis_client(), {"XRANGE", dead, "-", "+"},
                                          std::chrono::seconds(2));
  ASSERT_TRUE(letters.ok());
  ASSERT_EQ(letters->elements.size(), 2u);
  std::map<std::string, std::string> fields;
  const auto& first = letters->elements[0].elements[1].elements;
  for (size_t i = 0; i + 1 < first.size(); i += 2) {
    fields[first[i].str] = first[i + 1].str;
  }
  EXPECT_EQ(fields["reason"], "answered 503");
  v1::EventChange change;
  ASSERT_TRUE(change.ParseFromString(fields["c"]));
  EXPECT_EQ(change.event_id(), event.id());
  EXPECT_EQ(change.version(), 1);
  EXPECT_TRUE(PollUntil(
      [&] {
        return Metric("grid_webhook_dead_letters_total",
                      {{"receiver", "failing"}, {"reason", "max_age"}}) == 2;
      },
      std::chrono::seconds(5)));
}

// A queue at --max-queue refuses further changes into the dead letters at once.
TEST_F(WebhooksTest, AFullQueueSendsChangesToTheDeadLetters) {
  testing::WebhookReceiver hanging(kSecret, [](int) { return 0; });
  Start({{"hanging", kSubdistrict, hanging.url(), ""}}, {"--max-queue", "1"});
  (void)ReportDispatched();
  EXPECT_TRUE(PollUntil(
      [&] {
        return Metric("grid_webhook_dead_letters_total",
                      {{"receiver", "hanging"}, {"reason", "queue_full"}}) == 1;
      },
      std::chrono::seconds(10)));
  const auto letters =
      redis::CommandSync(stack_->redis_client(),
                         {"XRANGE", absl::StrCat("{", kSubdistrict, "}:wh:dead:hanging"), "-", "+"},
                         std::chrono::seconds(2));
  ASSERT_TRUE(letters.ok());
  ASSERT_EQ(letters->elements.size(), 1u);
  EXPECT_THAT(letters->DebugString(), ::testing::HasSubstr("queue full"));
}

// The handoff and the queues on a Redis Cluster: each subdistrict's live stream, event records,
// queues and dead letters share its hash slot, and the live streams are read per slot.
TEST_F(WebhooksTest, OnARedisClusterEachEventsChangesArriveInOrder) {
  testing::WebhookReceiver district(kSecret);
  Start({{"district", "370212", district.url(), ""}}, {}, /*redis_cluster=*/3);
  std::vector<v1::Event> events;
  for (int i = 0; i < 2; ++i) {
    events.push_back(ReportDispatched(kGrid));
    events.push_back(ReportDispatched(kOtherGrid));
  }
  for (const v1::Event& event : events) {
    Accept(event);
  }
  ExpectEveryChangeInOrder(district, events);
}

// Two certificate authorities of deploy/local/make-certs: the service trusts the first
// (--ca-file); a receiver with a certificate of the second is refused at the TLS handshake.
TEST_F(WebhooksTest, HttpsIsVerified) {
  char dir[] = "/tmp/grid-webhook-certs-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  for (const char* ca : {"trusted", "other"}) {
    auto made = testing::Process::Start(testing::SourcePath("deploy/local/make-certs"),
                                        {absl::StrCat(dir, "/", ca)}, {},
                                        absl::StrCat(dir, "/", ca, ".log"));
    ASSERT_TRUE(made.ok()) << made.status();
    ASSERT_EQ((*made)->Wait(), 0) << (*made)->ReadLog();
  }
  const std::string trusted_dir = absl::StrCat(dir, "/trusted/");
  const std::string other_dir = absl::StrCat(dir, "/other/");
  testing::WebhookReceiver trusted(kSecret, trusted_dir + "server.pem", trusted_dir + "server.key");
  testing::WebhookReceiver untrusted(kSecret, other_dir + "server.pem", other_dir + "server.key");
  ASSERT_THAT(trusted.url(), ::testing::StartsWith("https://localhost:"));
  Start({{"trusted", kSubdistrict, trusted.url(), ""},
         {"untrusted", kSubdistrict, untrusted.url(), ""}},
        {"--ca-file", trusted_dir + "ca.pem"});
  const v1::Event event = ReportDispatched();
  ExpectEveryChangeInOrder(trusted, {event}, std::chrono::seconds(10));
  for (const auto& request : trusted.all()) {
    EXPECT_TRUE(request.signature_valid);
  }
  EXPECT_TRUE(PollUntil(
      [&] {
        return Metric("grid_webhook_failed_total", {{"receiver", "untrusted"}, {"reason", "tls"}}) >
               0;
      },
      std::chrono::seconds(10)));
  EXPECT_TRUE(untrusted.all().empty());
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

TEST_F(WebhooksTest, TheConfigurationIsReloadedWithoutARestartAndABadOneIsRefused) {
  testing::WebhookReceiver first(kSecret);
  testing::WebhookReceiver second(kSecret);
  Start({{"first", kSubdistrict, first.url(), ""}});
  const pid_t pid = stack_->pid(Stack::kWebhooks);
  // A bad file: the old configuration stays.
  std::ofstream(config_) << R"({"receivers": [{"name": "x", "unit_id": "nope", "url": "http://a/",
                                "secret": "s"}]})";
  kill(pid, SIGHUP);
  const v1::Event before = ReportDispatched();
  ExpectEveryChangeInOrder(first, {before}, std::chrono::seconds(10));
  // A good one: the second receiver gets the changes from then on, the first none.
  nlohmann::json config = {{"receivers",
                            {{{"name", "second"},
                              {"unit_id", kSubdistrict},
                              {"url", second.url()},
                              {"secret", kSecret},
                              {"allow_private", true}}}}};
  std::ofstream(config_) << config.dump();
  kill(pid, SIGHUP);
  ASSERT_TRUE(PollUntil(
      [&] {
        return stack_->process(Stack::kWebhooks)->ReadLog().find("configuration reloaded") !=
               std::string::npos;
      },
      std::chrono::seconds(10)));
  const v1::Event after = ReportDispatched();
  ExpectEveryChangeInOrder(second, {after}, std::chrono::seconds(10));
  EXPECT_EQ(ByEvent(first.firsts()).count(after.id()), 0u);
  EXPECT_EQ(stack_->pid(Stack::kWebhooks), pid);
}

}  // namespace
}  // namespace grid
