// The console on the real stack, through real HTTP: JSON round trips of reads and moves, the
// gateway's refusals as 401/403/409/400, sign-in by token and by one-time code with the CSRF rule,
// and the live feed: a reported event's changes within a second, and a resume from Last-Event-ID
// with no gap and no duplicate, also mid-stream while two subdistricts report at once.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "tests/support/http_client.h"
#include "tests/support/poll.h"
#include "tests/support/stack.h"
#include "tests/support/stack_test.h"

namespace grid {
namespace {

using nlohmann::json;
using testing::HttpFetch;
using testing::HttpHeaders;
using testing::HttpResult;
using testing::PollUntil;
using testing::SseConnection;
using testing::SseEvent;
using testing::Stack;

constexpr char kGrid[] = "37021200100101";
constexpr char kSubdistrict[] = "370212001";
constexpr char kOtherSubdistrict[] = "370212002";
constexpr char kDistrict[] = "370212";

double NowMs() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class ConsoleTest : public testing::StackTest {
 protected:
  void SetUp() override {
    Stack::Options options;
    options.console = true;
    StartStack(std::move(options));
    admin_ = stack_->Token("admin", v1::ROLE_ADMIN, kDistrict);
  }

  int port() const { return stack_->console_port(); }

  HttpResult Api(const std::string& method, const std::string& target, const std::string& token,
                 const std::string& body = "", HttpHeaders headers = {}) {
    if (!token.empty()) {
      headers.emplace_back("Authorization", "Bearer " + token);
    }
    if (!body.empty()) {
      headers.emplace_back("Content-Type", "application/json");
    }
    return HttpFetch(port(), method, target, headers, body);
  }

  static json Json(const HttpResult& result) {
    return json::parse(result.body, nullptr, /*allow_exceptions=*/false);
  }

  // Reports in `grid` through the console; the event id.
  std::string Report(const std::string& token, const std::string& grid = kGrid,
                     const std::string& description = "暴露垃圾 at the market gate") {
    const HttpResult result = Api("POST", "/api/v1/events", token,
                                  json{{"report",
                                        {{"grid_id", grid},
                                         {"category", "0102"},
                                         {"severity", "SEVERITY_NORMAL"},
                                         {"description", description}}}}
                                      .dump());
    EXPECT_EQ(result.status, 200) << result.body;
    return Json(result)["event_id"].get<std::string>();
  }

  // The event once dispatched, read through the console.
  json AwaitDispatched(const std::string& id) {
    json event;
    EXPECT_TRUE(PollUntil(
        [&] {
          const HttpResult result = Api("GET", "/api/v1/events/" + id, admin_);
          event = Json(result)["event"];
          return result.status == 200 && event["state"] == "EVENT_STATE_DISPATCHED";
        },
        std::chrono::seconds(10)))
        << event.dump();
    return event;
  }

  std::string admin_;
};

TEST_F(ConsoleTest, ReadsAndMovesRoundTripAsJson) {
  const std::string id = Report(admin_);
  const json event = AwaitDispatched(id);
  const std::string unit = event["unit_id"];
  const std::string version = event["version"];
  const std::string handler = stack_->Token("h1", v1::ROLE_HANDLER, unit);

  const HttpResult queue = Api("GET", "/api/v1/units/" + unit + "/queue?page_size=100", handler);
  ASSERT_EQ(queue.status, 200) << queue.body;
  bool queued = false;
  const json queue_json = Json(queue);
  for (const json& item : queue_json["items"]) {
    queued = queued || item["event"]["id"] == id;
  }
  EXPECT_TRUE(queued) << queue.body;

  const HttpResult accepted = Api("POST", "/api/v1/events/" + id + ":accept", handler,
                                  json{{"expected_version", version}}.dump());
  ASSERT_EQ(accepted.status, 200) << accepted.body;
  EXPECT_EQ(Json(accepted)["event"]["state"], "EVENT_STATE_ACCEPTED");

  const HttpResult resolved = Api("POST", "/api/v1/events/" + id + ":resolve", handler,
                                  json{{"note", "swept"}, {"media", {"s3://photos/1.jpg"}}}.dump());
  ASSERT_EQ(resolved.status, 200) << resolved.body;
  EXPECT_EQ(Json(resolved)["event"]["resolution_note"], "swept");

  const HttpResult history = Api("GET", "/api/v1/events/" + id + "/history", admin_);
  ASSERT_EQ(history.status, 200);
  std::vector<std::string> kinds;
  const json history_json = Json(history);
  for (const json& change : history_json["changes"]) {
    kinds.push_back(change["kind"]);
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{"CHANGE_KIND_REPORTED", "CHANGE_KIND_DISPATCHED",
                                             "CHANGE_KIND_ACCEPTED", "CHANGE_KIND_RESOLVED"}));

  const HttpResult listed =
      Api("GET",
          absl::StrCat("/api/v1/events?unit_id=", kSubdistrict,
                       "&states=EVENT_STATE_RESOLVED&states=EVENT_STATE_ACCEPTED&page_size=500"),
          admin_);
  ASSERT_EQ(listed.status, 200) << listed.body;
  ASSERT_FALSE(Json(listed)["events"].empty());
  EXPECT_EQ(Json(listed)["events"][0]["id"], id);

  for (const std::string target :
       {"/api/v1/overdue", "/api/v1/stats?group_by=STATS_DIMENSION_SUBDISTRICT",
        "/api/v1/topology?include_units=true"}) {
    const HttpResult read = Api("GET", target, admin_);
    EXPECT_EQ(read.status, 200) << target << " " << read.body;
  }
  const json topology = Json(Api("GET", "/api/v1/topology?include_units=true", admin_));
  EXPECT_EQ(topology["worker_count"], 735);
}

TEST_F(ConsoleTest, TheGatewaysRefusalsComeBackAsHttpStatuses) {
  const std::string id = Report(admin_);
  const json event = AwaitDispatched(id);

  const HttpResult anonymous = Api("GET", "/api/v1/events/" + id, "");
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(Json(anonymous)["error"]["code"], "UNAUTHENTICATED");

  const std::string foreign = stack_->Token("op2", v1::ROLE_OPERATOR, kOtherSubdistrict);
  const HttpResult outside = Api("GET", "/api/v1/events/" + id, foreign);
  EXPECT_EQ(outside.status, 403) << outside.body;
  EXPECT_EQ(Json(outside)["error"]["code"], "PERMISSION_DENIED");
  const HttpResult move_outside = Api("POST", "/api/v1/events/" + id + ":accept", foreign, "{}");
  EXPECT_EQ(move_outside.status, 403);

  const HttpResult stale = Api("POST", "/api/v1/events/" + id + ":accept", admin_,
                               json{{"expected_version", 999999}}.dump());
  EXPECT_EQ(stale.status, 409) << stale.body;

  const HttpResult bad_grid =
      Api("POST", "/api/v1/events", admin_,
          json{{"report", {{"grid_id", "99"}, {"category", "0102"}, {"severity", "SEVERITY_LOW"}}}}
              .dump());
  EXPECT_EQ(bad_grid.status, 400) << bad_grid.body;
  EXPECT_NE(Json(bad_grid)["error"]["message"].get<std::string>().find("grid_id"),
            std::string::npos);

  const HttpResult missing = Api("GET", "/api/v1/events/370212001-01AAAAAAAAAAAAAA", admin_);
  EXPECT_EQ(missing.status, 404) << missing.body;

  // The event is unchanged by all of that.
  EXPECT_EQ(Json(Api("GET", "/api/v1/events/" + id, admin_))["event"]["version"], event["version"]);
}

TEST_F(ConsoleTest, SignInByCodeGivesACookieSessionWhoseMovesNeedTheCsrfHeader) {
  const HttpResult code = Api("POST", "/api/v1/session/codes", admin_);
  ASSERT_EQ(code.status, 200) << code.body;
  const HttpResult signin = HttpFetch(port(), "GET", Json(code)["signin_path"]);
  ASSERT_EQ(signin.status, 303);
  EXPECT_EQ(signin.Header("location"), "/");
  ASSERT_EQ(signin.set_cookies.size(), 2u);
  std::string cookies;
  for (const std::string& set : signin.set_cookies) {
    cookies += set.substr(0, set.find(';')) + "; ";
  }
  const HttpResult session = HttpFetch(port(), "GET", "/api/v1/session", {{"Cookie", cookies}});
  ASSERT_EQ(session.status, 200) << session.body;
  EXPECT_EQ(Json(session)["subject"], "admin");
  EXPECT_EQ(Json(session)["role"], "ROLE_ADMIN");
  const std::string csrf = Json(session)["csrf_token"];

  // The code worked once.
  EXPECT_EQ(HttpFetch(port(), "GET", Json(code)["signin_path"]).Header("location"),
            "/signin?error=code");

  const std::string id = Report(admin_);
  AwaitDispatched(id);
  const HttpHeaders json_type = {{"Cookie", cookies}, {"Content-Type", "application/json"}};
  const HttpResult forged =
      HttpFetch(port(), "POST", "/api/v1/events/" + id + ":accept", json_type, "{}");
  EXPECT_EQ(forged.status, 403);
  HttpHeaders with_csrf = json_type;
  with_csrf.emplace_back("X-Grid-CSRF", csrf);
  const HttpResult accepted =
      HttpFetch(port(), "POST", "/api/v1/events/" + id + ":accept", with_csrf, "{}");
  EXPECT_EQ(accepted.status, 200) << accepted.body;

  HttpHeaders sign_out = {{"Cookie", cookies}, {"X-Grid-CSRF", csrf}};
  const HttpResult out = HttpFetch(port(), "DELETE", "/api/v1/session", sign_out);
  EXPECT_EQ(out.status, 204);
  ASSERT_EQ(out.set_cookies.size(), 2u);
  EXPECT_NE(out.set_cookies[0].find("Max-Age=0"), std::string::npos);
}

TEST_F(ConsoleTest, SignInRefusesATokenOfAnotherSecret) {
  const std::string forged =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
      "eyJzdWIiOiJ4Iiwicm9sZSI6IkFETUlOIiwidW5pdCI6IjM3MDIxMiIs"
      "ImlhdCI6MSwiZXhwIjo0MTAyNDQ0ODAwfQ.c2lnbmF0dXJlLW9mLWFub3RoZXItc2VjcmV0LXh4eHh4eHh4eHh4eA";
  const HttpResult result =
      HttpFetch(port(), "POST", "/api/v1/session", {{"Content-Type", "application/json"}},
                json{{"token", forged}}.dump());
  EXPECT_EQ(result.status, 401) << result.body;
  EXPECT_TRUE(result.set_cookies.empty());
}

TEST_F(ConsoleTest, TheLiveFeedDeliversAReportsChangesWithinASecond) {
  auto feed = SseConnection::Open(port(), "/api/v1/watch", {{"Authorization", "Bearer " + admin_}});
  ASSERT_TRUE(feed.ok()) << feed.status();
  EXPECT_EQ((*feed)->head().Header("content-type"), "text/event-stream; charset=utf-8");
  const double reported_at = NowMs();
  const std::string id = Report(admin_);
  std::set<std::string> kinds;
  while (kinds.size() < 2) {
    std::optional<SseEvent> event = (*feed)->NextData(std::chrono::seconds(1));
    ASSERT_TRUE(event.has_value()) << "nothing within a second; got " << kinds.size();
    const double received = NowMs();
    const json change = json::parse(event->data);
    if (change["event_id"] != id) {
      continue;
    }
    EXPECT_EQ(event->id, change["cursor"].get<std::string>());
    kinds.insert(change["kind"].get<std::string>());
    EXPECT_LT(received - reported_at, 1000.0) << change.dump();
  }
  EXPECT_EQ(kinds, (std::set<std::string>{"CHANGE_KIND_REPORTED", "CHANGE_KIND_DISPATCHED"}));
}

TEST_F(ConsoleTest, TheLiveFeedResumesFromLastEventIdWithoutGapOrDuplicate) {
  // The reference: a feed that stays connected the whole time.
  auto reference =
      SseConnection::Open(port(), "/api/v1/watch", {{"Authorization", "Bearer " + admin_}});
  ASSERT_TRUE(reference.ok()) << reference.status();
  auto dropped =
      SseConnection::Open(port(), "/api/v1/watch", {{"Authorization", "Bearer " + admin_}});
  ASSERT_TRUE(dropped.ok()) << dropped.status();

  // Each change as itself (its event, kind and version); the last id (its cursor) in `last_id`.
  std::string last_id;
  const auto read_changes = [&last_id](SseConnection& feed, std::size_t count) {
    std::vector<std::string> changes;
    while (changes.size() < count) {
      std::optional<SseEvent> event = feed.NextData(std::chrono::seconds(10));
      if (!event.has_value()) {
        break;
      }
      EXPECT_TRUE(event->id.has_value() && !event->id->empty());
      last_id = event->id.value_or("");
      const json change = json::parse(event->data);
      changes.push_back(absl::StrCat(change["event_id"].get<std::string>(), " ",
                                     change["kind"].get<std::string>(), " ",
                                     change["version"].get<std::string>()));
    }
    return changes;
  };

  for (int i = 0; i < 3; ++i) {
    Report(admin_, kGrid, absl::StrCat("before the drop ", i));
  }
  std::vector<std::string> before = read_changes(**dropped, 6);
  ASSERT_EQ(before.size(), 6u);
  const std::string resume_from = last_id;
  dropped->reset();  // The browser loses the connection.

  for (int i = 0; i < 4; ++i) {
    Report(admin_, "37021200200101", absl::StrCat("while away ", i));
  }
  // The browser comes back with the header EventSource sends.
  auto resumed =
      SseConnection::Open(port(), "/api/v1/watch",
                          {{"Authorization", "Bearer " + admin_}, {"Last-Event-ID", resume_from}});
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  for (int i = 0; i < 2; ++i) {
    Report(admin_, kGrid, absl::StrCat("after the return ", i));
  }
  const std::vector<std::string> after = read_changes(**resumed, 12);
  // 9 reports, each REPORTED and DISPATCHED.
  const std::vector<std::string> all = read_changes(**reference, 18);
  ASSERT_EQ(all.size(), 18u);
  ASSERT_EQ(after.size(), 12u);
  // Every change exactly once: what the dropped feed got before and after equals what the
  // reference got (the order across subdistricts may differ between history and live).
  std::vector<std::string> seen = before;
  seen.insert(seen.end(), after.begin(), after.end());
  const std::set<std::string> unique(seen.begin(), seen.end());
  EXPECT_EQ(unique.size(), seen.size()) << "a duplicate";
  EXPECT_EQ(unique, std::set<std::string>(all.begin(), all.end())) << "a gap";
}

// Two subdistricts reporting at once: the gateway's live reader and a resumed watch's history
// pass their entries in different orders, so one cursor can follow one subdistrict's change in a
// feed that stayed connected and another's in the resumed feed's history. The resumed feed gets
// every change once, each as itself.
TEST_F(ConsoleTest, AFeedResumedMidStreamWhileTwoSubdistrictsReportGetsEachChangeOnce) {
  auto reference =
      SseConnection::Open(port(), "/api/v1/watch", {{"Authorization", "Bearer " + admin_}});
  ASSERT_TRUE(reference.ok()) << reference.status();
  auto dropped =
      SseConnection::Open(port(), "/api/v1/watch", {{"Authorization", "Bearer " + admin_}});
  ASSERT_TRUE(dropped.ok()) << dropped.status();

  // A change as itself: its event, kind and version.
  const auto key = [](const SseEvent& event) {
    const json change = json::parse(event.data);
    return absl::StrCat(change["event_id"].get<std::string>(), " ",
                        change["kind"].get<std::string>(), " ",
                        change["version"].get<std::string>());
  };
  constexpr int kPerSubdistrict = 120;
  constexpr std::size_t kChanges = 2 * 2 * kPerSubdistrict;  // Each REPORTED and DISPATCHED.
  std::vector<std::thread> reporters;
  for (const std::string grid : {kGrid, "37021200200101"}) {
    reporters.emplace_back([this, grid] {
      for (int i = 0; i < kPerSubdistrict; ++i) {
        Report(admin_, grid, absl::StrCat("at once ", i));
      }
    });
  }
  // The browser drops mid-stream, while both still report.
  std::vector<std::string> seen;
  std::string last_id;
  while (seen.size() < kChanges / 3) {
    std::optional<SseEvent> event = (*dropped)->NextData(std::chrono::seconds(10));
    ASSERT_TRUE(event.has_value()) << seen.size() << " changes before the drop";
    seen.push_back(key(*event));
    last_id = event->id.value_or("");
  }
  dropped->reset();
  for (std::thread& reporter : reporters) {
    reporter.join();
  }
  std::multiset<std::string> all;
  while (all.size() < kChanges) {
    std::optional<SseEvent> event = (*reference)->NextData(std::chrono::seconds(10));
    ASSERT_TRUE(event.has_value()) << all.size() << " changes on the reference feed";
    all.insert(key(*event));
  }
  ASSERT_EQ(std::set<std::string>(all.begin(), all.end()).size(), kChanges);

  auto resumed = SseConnection::Open(
      port(), "/api/v1/watch", {{"Authorization", "Bearer " + admin_}, {"Last-Event-ID", last_id}});
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  while (seen.size() < kChanges) {
    std::optional<SseEvent> event = (*resumed)->NextData(std::chrono::seconds(10));
    ASSERT_TRUE(event.has_value()) << seen.size() << " changes before and after the drop";
    seen.push_back(key(*event));
  }
  std::map<std::string, int> counts;
  for (const std::string& change : seen) {
    ++counts[change];
  }
  std::vector<std::string> twice;
  std::vector<std::string> missing;
  for (const std::string& change : all) {
    if (counts[change] > 1) {
      twice.push_back(change);
    } else if (counts[change] == 0) {
      missing.push_back(change);
    }
  }
  EXPECT_EQ(twice, std::vector<std::string>()) << "changes sent twice";
  EXPECT_EQ(missing, std::vector<std::string>()) << "changes missing";
}

TEST_F(ConsoleTest, TheLiveFeedIsRefusedAsAnErrorResponseOutsideTheJurisdiction) {
  auto anonymous = SseConnection::Open(port(), "/api/v1/watch");
  ASSERT_FALSE(anonymous.ok());
  EXPECT_NE(anonymous.status().message().find("HTTP 401"), std::string_view::npos)
      << anonymous.status();
  const std::string operator_token = stack_->Token("op1", v1::ROLE_OPERATOR, kSubdistrict);
  auto foreign =
      SseConnection::Open(port(), absl::StrCat("/api/v1/watch?unit_id=", kOtherSubdistrict),
                          {{"Authorization", "Bearer " + operator_token}});
  ASSERT_FALSE(foreign.ok());
  EXPECT_NE(foreign.status().message().find("HTTP 403"), std::string_view::npos)
      << foreign.status();
  // Within it, the feed is served (and filtered to the subtree).
  auto own = SseConnection::Open(port(), absl::StrCat("/api/v1/watch?unit_id=", kSubdistrict),
                                 {{"Authorization", "Bearer " + operator_token}});
  ASSERT_TRUE(own.ok()) << own.status();
  Report(admin_, "37021200200101", "elsewhere");
  const std::string id = Report(admin_, kGrid, "here");
  std::optional<SseEvent> event = (*own)->NextData(std::chrono::seconds(5));
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ(json::parse(event->data)["event_id"], id);
}

TEST_F(ConsoleTest, ServesThePageAndItsRoutesWithTheSecurityHeaders) {
  const HttpResult page = HttpFetch(port(), "GET", "/units/370212001");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.Header("content-security-policy").find("default-src 'self'"), std::string::npos);
  EXPECT_NE(page.Header("content-security-policy").find("script-src 'self';"), std::string::npos);
  EXPECT_EQ(page.Header("x-content-type-options"), "nosniff");
  const HttpResult metrics = HttpFetch(stack_->metrics_port(Stack::kConsole), "GET", "/metrics");
  EXPECT_NE(metrics.body.find("grid_console_http_requests_total"), std::string::npos);
}

// A browser that reads slowly (a busy page, a loaded machine) resuming a long way back: the
// catch-up must go at the browser's pace, not at the gateway's. A console that read the gateway's
// history as fast as it came filled the connection's buffer in a moment and cut the browser off
// after a few messages; the browser resumed, and was cut off again, and never caught up (issue 9).
class ConsoleSlowFeedTest : public ConsoleTest {
 protected:
  void SetUp() override {
    Stack::Options options;
    options.console = true;
    // The browser test's settings: a small buffer per feed and a short write time-out.
    options.extra_args[Stack::kConsole] = {"--sse-buffer-bytes", "65536",
                                           "--sse-write-timeout-seconds", "2"};
    StartStack(std::move(options));
    admin_ = stack_->Token("admin", v1::ROLE_ADMIN, kDistrict);
  }

  // A change as itself: the same change has another cursor in a history than live (see
  // ChangeTexts).
  static std::string ChangeKey(const std::string& data) {
    const json change = json::parse(data, nullptr, /*allow_exceptions=*/false);
    return absl::StrCat(change.value("event_id", ""), " ", change.value("kind", ""), " ",
                        change.value("version", json("")).dump());
  }

  double CutOffs() {
    const HttpResult metrics = HttpFetch(stack_->metrics_port(Stack::kConsole), "GET", "/metrics");
    double total = 0;
    std::size_t at = 0;
    while ((at = metrics.body.find("\ngrid_console_sse_cutoffs_total{", at)) != std::string::npos) {
      const std::size_t end = metrics.body.find('\n', at + 1);
      const std::string line = metrics.body.substr(at + 1, end - at - 1);
      total += std::stod(line.substr(line.rfind(' ') + 1));
      at = end;
    }
    return total;
  }
};

TEST_F(ConsoleSlowFeedTest, ASlowBrowserResumingFarBackCatchesUpOnOneConnection) {
  auto reference =
      SseConnection::Open(port(), "/api/v1/watch", {{"Authorization", "Bearer " + admin_}});
  ASSERT_TRUE(reference.ok()) << reference.status();
  Report(admin_, kGrid, "before the catch-up");
  std::optional<SseEvent> mark = (*reference)->NextData(std::chrono::seconds(10));
  ASSERT_TRUE(mark.has_value() && mark->id.has_value());
  const std::string cursor = *mark->id;

  // 1,000 reports in two subdistricts: 2,001 changes after the cursor, some 1.5 MB of SSE, far
  // more than the feed's 64 KiB buffer.
  constexpr int kReports = 1000;
  {
    grpc::ClientContext context;
    stack_->Authorize(context, Stack::Admin());
    v1::UploadReportsResponse response;
    auto writer = stack_->gateway().UploadReports(&context, &response);
    for (int i = 0; i < kReports; ++i) {
      v1::UploadReportsRequest item;
      item.mutable_report()->set_client_request_id(absl::StrCat("slow-feed-", i));
      item.mutable_report()->set_grid_id(i % 2 == 0 ? kGrid : "37021200200101");
      item.mutable_report()->set_category("0102");
      item.mutable_report()->set_severity(v1::SEVERITY_NORMAL);
      item.mutable_report()->set_description(absl::StrCat("slow feed ", i));
      ASSERT_TRUE(writer->Write(item));
    }
    writer->WritesDone();
    const grpc::Status status = writer->Finish();
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  // Every change after the cursor, as a feed that kept up saw them: the first report's
  // DISPATCHED and the uploads' REPORTED and DISPATCHED.
  std::set<std::string> expected;
  while (expected.size() < 2 * kReports + 1) {
    std::optional<SseEvent> event = (*reference)->NextData(std::chrono::seconds(20));
    ASSERT_TRUE(event.has_value()) << "the reference feed saw " << expected.size();
    expected.insert(ChangeKey(event->data));
  }
  reference->reset();
  const double cutoffs_before = CutOffs();

  // The slow browser: a small receive window, 2 KiB read every 5 ms (some 400 KB/s, so that a
  // write of the buffer still ends well within the write time-out).
  namespace net = boost::asio;
  net::io_context io;
  net::ip::tcp::socket socket(io);
  socket.open(net::ip::tcp::v4());
  socket.set_option(net::socket_base::receive_buffer_size(8192));
  socket.connect({net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port())});
  net::write(socket, net::buffer(absl::StrCat("GET /api/v1/watch HTTP/1.1\r\nHost: console\r\n",
                                              "Authorization: Bearer ", admin_, "\r\n",
                                              "Last-Event-ID: ", cursor, "\r\n\r\n")));
  testing::SseParser parser;
  std::string head;
  bool in_body = false;
  std::set<std::string> got;
  std::size_t duplicates = 0;
  bool closed = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::array<char, 2048> buffer{};
  while (!closed && got.size() < expected.size() && std::chrono::steady_clock::now() < deadline) {
    boost::system::error_code error;
    const std::size_t n = socket.read_some(net::buffer(buffer), error);
    if (error) {
      closed = true;
      break;
    }
    std::string_view bytes(buffer.data(), n);
    if (!in_body) {
      head.append(bytes);
      const std::size_t end = head.find("\r\n\r\n");
      if (end == std::string::npos) {
        continue;
      }
      ASSERT_EQ(head.rfind("HTTP/1.1 200", 0), 0u) << head;
      in_body = true;
      bytes = std::string_view(head).substr(end + 4);
    }
    for (const SseEvent& event : parser.Feed(bytes)) {
      if (event.has_data && event.event.empty() && !got.insert(ChangeKey(event.data)).second) {
        ++duplicates;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // The browser's pace.
  }
  EXPECT_FALSE(closed) << "cut off after " << got.size() << " of " << expected.size() << " changes";
  std::vector<std::string> missing;
  std::set_difference(expected.begin(), expected.end(), got.begin(), got.end(),
                      std::back_inserter(missing));
  EXPECT_TRUE(missing.empty()) << missing.size() << " changes missing, first "
                               << (missing.empty() ? "" : missing.front());
  EXPECT_EQ(got.size(), expected.size());
  EXPECT_EQ(duplicates, 0u);
  EXPECT_EQ(CutOffs(), cutoffs_before);
}

}  // namespace
}  // namespace grid
