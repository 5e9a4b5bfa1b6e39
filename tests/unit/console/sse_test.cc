// The live feed: SSE framing, admission, resume after gateway cut-offs and Last-Event-ID.
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "services/console/console.h"
#include "services/console/json_api.h"
#include "services/console/sse_stream.h"
#include "tests/support/http_client.h"
#include "tests/unit/console/fakes.h"

namespace grid::console {
namespace {

using testing::FakeExchange;
using testing::FakeGateway;

TEST(SseFramingTest, BlocksAreWhatEventSourceParses) {
  EXPECT_EQ(SseRetry(std::chrono::milliseconds(1500)), "retry: 1500\n\n");
  EXPECT_EQ(SseMessage("w1:a=1-0", R"({"x":1})"), "id: w1:a=1-0\ndata: {\"x\":1}\n\n");
  EXPECT_EQ(SseHeartbeat("w1:a=2-0"), ": heartbeat\nid: w1:a=2-0\n\n");
  EXPECT_EQ(SseKeepAlive(), ": keep-alive\n\n");
  EXPECT_EQ(SseEnd(R"({"error":{}})"), "event: end\ndata: {\"error\":{}}\n\n");
  // A line break in a value would end the field early: it is dropped.
  EXPECT_EQ(SseMessage("a\nb", "x\ry"), "id: ab\ndata: xy\n\n");
}

TEST(SseFramingTest, AParserReadsBackWhatWasFramed) {
  grid::testing::SseParser parser;
  const std::string stream = SseRetry(std::chrono::milliseconds(1000)) + SseMessage("c1", "{}") +
                             SseHeartbeat("c2") + SseKeepAlive() + SseEnd("{\"e\":1}");
  // Fed a byte at a time, as a slow network would.
  std::vector<grid::testing::SseEvent> events;
  for (char c : stream) {
    for (auto& event : parser.Feed(std::string_view(&c, 1))) {
      events.push_back(std::move(event));
    }
  }
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events[0].retry_ms, 1000);
  EXPECT_EQ(events[1].id, "c1");
  EXPECT_TRUE(events[1].has_data);
  EXPECT_EQ(events[2].id, "c2");
  EXPECT_FALSE(events[2].has_data);
  EXPECT_EQ(events[3].comments, std::vector<std::string>{"keep-alive"});
  EXPECT_EQ(events[4].event, "end");
}

class SseStreamTest : public ::testing::Test {
 protected:
  SseStreamTest()
      : metrics_(registry_),
        work_(boost::asio::make_work_guard(io_)),
        thread_([this] { io_.run(); }) {
    options_.admit = std::chrono::milliseconds(200);
    options_.keepalive = std::chrono::seconds(60);
    options_.resume_min = std::chrono::milliseconds(10);
  }
  ~SseStreamTest() override {
    work_.reset();
    io_.stop();
    thread_.join();
  }

  std::shared_ptr<FakeExchange> Start(v1::WatchEventsRequest request = {}) {
    auto exchange = std::make_shared<FakeExchange>(false, boost::asio::make_strand(io_));
    SseStream::Start(gateway_, options_, texts_, "tok", std::move(request), exchange, 11, metrics_);
    return exchange;
  }

  static v1::WatchEventsResponse Change(const std::string& event_id, const std::string& cursor) {
    v1::WatchEventsResponse message;
    message.mutable_change()->set_event_id(event_id);
    message.mutable_change()->set_kind(v1::CHANGE_KIND_DISPATCHED);
    message.mutable_change()->set_cursor(cursor);
    message.set_cursor(cursor);
    return message;
  }
  static v1::WatchEventsResponse Heartbeat(const std::string& cursor) {
    v1::WatchEventsResponse message;
    message.mutable_heartbeat();
    message.set_cursor(cursor);
    return message;
  }

  // Metrics first: they outlive the streams that the io_context's handlers still hold.
  prometheus::Registry registry_;
  ConsoleMetrics metrics_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
  FakeGateway gateway_;
  SseOptions options_;
  ChangeTexts texts_;
};

TEST_F(SseStreamTest, TheFirstChangeAdmitsTheStreamAndEachChangeIsAMessageWithItsCursor) {
  v1::WatchEventsRequest request;
  request.set_unit_id("370212001");
  auto exchange = Start(request);
  FakeGateway::Watching* watch = gateway_.AwaitWatch(1);
  ASSERT_NE(watch, nullptr);
  EXPECT_EQ(watch->token, "tok");
  EXPECT_EQ(watch->request.unit_id(), "370212001");
  watch->observer->OnMessage(Change("E1", "c1"));
  const auto header = exchange->AwaitResponse();
  ASSERT_TRUE(header.has_value());
  EXPECT_TRUE(exchange->streaming());
  EXPECT_EQ(header->result_int(), 200);
  EXPECT_EQ((*header)[http::field::content_type], "text/event-stream; charset=utf-8");
  EXPECT_EQ((*header)[http::field::cache_control], "no-store");
  watch->observer->OnMessage(Heartbeat("c2"));
  const std::string sent = exchange->AwaitSent("id: c2");
  grid::testing::SseParser parser;
  const auto events = parser.Feed(sent);
  ASSERT_EQ(events.size(), 3u) << sent;
  EXPECT_EQ(events[0].retry_ms, 1000);
  EXPECT_EQ(events[1].id, "c1");
  const auto change = nlohmann::json::parse(events[1].data);
  EXPECT_EQ(change["event_id"], "E1");
  EXPECT_EQ(change["kind"], "CHANGE_KIND_DISPATCHED");
  EXPECT_EQ(events[2].id, "c2");
  EXPECT_FALSE(events[2].has_data);
}

TEST_F(SseStreamTest, WithoutARefusalTheStreamIsAdmittedAfterTheWindow) {
  auto exchange = Start();
  const auto header = exchange->AwaitResponse(std::chrono::seconds(5));
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(header->result_int(), 200);
  EXPECT_NE(exchange->AwaitSent("retry: ").find("retry: 1000"), std::string::npos);
}

TEST_F(SseStreamTest, ARefusalAtOnceIsAnOrdinaryErrorResponse) {
  // A window this test cannot outlast, however slow the machine (a sanitized build): the refusal
  // below must come inside it.
  options_.admit = std::chrono::seconds(60);
  auto exchange = Start();
  FakeGateway::Watching* watch = gateway_.AwaitWatch(1);
  ASSERT_NE(watch, nullptr);
  watch->observer->OnEnd(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "unit 1: not yours"),
                         {});
  const auto response = exchange->AwaitResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_FALSE(exchange->streaming());
  EXPECT_EQ(response->result_int(), 403);
  EXPECT_EQ(nlohmann::json::parse(response->body())["error"]["message"], "unit 1: not yours");
}

// A long catch-up goes at the browser's pace: the gateway's call is read one message further
// only while the browser's connection has room, so the console never holds more for it than its
// buffer bound (issue 9: a console that read on regardless cut a slow browser off at once).
TEST_F(SseStreamTest, TheGatewayCallIsReadOnlyAsFastAsTheBrowserTakesTheMessages) {
  auto exchange = Start();
  FakeGateway::Watching* watch = gateway_.AwaitWatch(1);
  ASSERT_NE(watch, nullptr);
  watch->observer->OnMessage(Change("E1", "c1"));
  exchange->AwaitSent("id: c1");
  EXPECT_TRUE(
      grid::testing::PollUntil([&] { return watch->call->nexts == 1; }, std::chrono::seconds(5)));

  exchange->SetRoom(false);  // The browser stops taking what it is sent.
  watch->observer->OnMessage(Change("E2", "c2"));
  exchange->AwaitSent("id: c2");
  watch->observer->OnMessage(Heartbeat("c3"));  // Drained from the strand's queue...
  exchange->AwaitSent("id: c3");
  EXPECT_EQ(watch->call->nexts, 1) << "read on while the browser had no room";

  exchange->SetRoom(true);  // ...and the call is read again once the browser has room.
  // At least once more: the stream asks for the heartbeat's read just after sending it, which may
  // come after the room did, and then that read goes at once too.
  EXPECT_TRUE(
      grid::testing::PollUntil([&] { return watch->call->nexts >= 2; }, std::chrono::seconds(5)));
  EXPECT_FALSE(exchange->closed());
}

// A resumed call reads its own first message: a room that comes after its predecessor ended asks
// nothing of it (nor of the call that ended).
TEST_F(SseStreamTest, RoomAfterAGatewayCutOffAsksNothingOfTheEndedCall) {
  auto exchange = Start();
  FakeGateway::Watching* first = gateway_.AwaitWatch(1);
  ASSERT_NE(first, nullptr);
  exchange->SetRoom(false);
  first->observer->OnMessage(Change("E1", "c1"));
  exchange->AwaitSent("id: c1");
  first->observer->OnEnd(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "fell behind"),
                         WatchEnd{"c1", std::nullopt});
  FakeGateway::Watching* second = gateway_.AwaitWatch(2);
  ASSERT_NE(second, nullptr);
  exchange->SetRoom(true);
  second->observer->OnMessage(Change("E2", "c2"));
  exchange->AwaitSent("id: c2");
  EXPECT_TRUE(
      grid::testing::PollUntil([&] { return second->call->nexts == 1; }, std::chrono::seconds(5)));
  EXPECT_EQ(first->call->nexts, 0);
}

TEST_F(SseStreamTest, AGatewayCutOffIsResumedFromItsCursorWithoutTheBrowserNoticing) {
  auto exchange = Start();
  FakeGateway::Watching* first = gateway_.AwaitWatch(1);
  ASSERT_NE(first, nullptr);
  first->observer->OnMessage(Change("E1", "c1"));
  first->observer->OnEnd(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "fell behind"),
                         WatchEnd{"c1", std::nullopt});
  FakeGateway::Watching* second = gateway_.AwaitWatch(2);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->request.cursor(), "c1");
  second->observer->OnMessage(Change("E2", "c2"));
  const std::string sent = exchange->AwaitSent("id: c2");
  EXPECT_EQ(sent.find("event: end"), std::string::npos);
  EXPECT_FALSE(exchange->closed());
}

TEST_F(SseStreamTest, AGatewayRestartIsResumedFromTheLastCursorPassedOn) {
  v1::WatchEventsRequest request;
  request.set_cursor("c0");
  auto exchange = Start(request);
  FakeGateway::Watching* first = gateway_.AwaitWatch(1);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->request.cursor(), "c0");
  first->observer->OnMessage(Change("E1", "c1"));
  first->observer->OnMessage(Heartbeat("c5"));
  first->observer->OnEnd(grpc::Status(grpc::StatusCode::UNAVAILABLE, "gateway gone"), {});
  FakeGateway::Watching* second = gateway_.AwaitWatch(2);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->request.cursor(), "c5");
  second->observer->OnEnd(grpc::Status(grpc::StatusCode::UNAVAILABLE, "still gone"), {});
  FakeGateway::Watching* third = gateway_.AwaitWatch(3);
  ASSERT_NE(third, nullptr);
  EXPECT_EQ(third->request.cursor(), "c5");
}

TEST_F(SseStreamTest, AnyOtherEndIsSentAsAnEndEventAndTheStreamCloses) {
  auto exchange = Start();
  FakeGateway::Watching* watch = gateway_.AwaitWatch(1);
  ASSERT_NE(watch, nullptr);
  watch->observer->OnMessage(Change("E1", "c1"));
  watch->observer->OnEnd(grpc::Status(grpc::StatusCode::OUT_OF_RANGE, "cursor: too old"), {});
  ASSERT_TRUE(exchange->AwaitClosed());
  grid::testing::SseParser parser;
  const auto events = parser.Feed(exchange->sent());
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().event, "end");
  const auto body = nlohmann::json::parse(events.back().data);
  EXPECT_EQ(body["error"]["code"], "OUT_OF_RANGE");
  EXPECT_EQ(body["error"]["http"], 400);
  EXPECT_EQ(gateway_.watch_count(), 1u);
}

TEST_F(SseStreamTest, TheBrowserLeavingCancelsTheGatewayCall) {
  auto exchange = Start();
  FakeGateway::Watching* watch = gateway_.AwaitWatch(1);
  ASSERT_NE(watch, nullptr);
  watch->observer->OnMessage(Change("E1", "c1"));
  ASSERT_TRUE(exchange->AwaitResponse().has_value());
  exchange->Drop();
  EXPECT_TRUE(grid::testing::PollUntil([&] { return watch->call->cancelled.load(); },
                                       std::chrono::seconds(5)));
  // The cancelled call's end starts nothing new.
  watch->observer->OnEnd(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"), {});
  EXPECT_FALSE(grid::testing::PollUntil([&] { return gateway_.watch_count() > 1; },
                                        std::chrono::milliseconds(200)));
}

TEST_F(SseStreamTest, ASilentStreamGetsKeepAlives) {
  options_.keepalive = std::chrono::milliseconds(50);
  auto exchange = Start();
  ASSERT_NE(gateway_.AwaitWatch(1), nullptr);
  EXPECT_NE(exchange->AwaitSent(": keep-alive").find(": keep-alive\n\n"), std::string::npos);
}

TEST(ChangeTextsTest, PrintsAChangeOnceForEveryFeedAndStaysBounded) {
  ChangeTexts texts(2);
  v1::EventChange change;
  change.set_event_id("E1");
  change.set_version(1);
  const std::string first = texts.Get("c1", change);
  EXPECT_EQ(first, SseMessage("c1", ToJson(change)));
  EXPECT_EQ(texts.Get("c1", change), first);
  v1::EventChange other = change;
  other.set_event_id("E2");
  texts.Get("c2", other);
  texts.Get("c3", other);
  // c1 was the oldest and went: printed anew.
  EXPECT_EQ(texts.Get("c1", change), SseMessage("c1", ToJson(change)));
}

// Live, the gateway's reader passes two subdistricts' entries with equal ids (or one read before
// an earlier one of another stream) in the order it read them; a resumed watch's history merges
// them in id order. So one cursor follows 370212001's change in the live feed and 370212002's in
// the history: each must be sent as itself, not the one printed first.
TEST(ChangeTextsTest, TwoChangesUnderOneCursorAreEachSentAsThemselves) {
  ChangeTexts texts;
  const std::string cursor =
      "w1:370212001=1796099669867-0,370212002=1796099669867-0,370212003=0-0,370212004=0-0,"
      "370212005=0-0";
  v1::EventChange live;
  live.set_event_id("370212001-01M8QY3ZVB288EKR");
  live.set_kind(v1::CHANGE_KIND_REPORTED);
  live.set_version(1);
  live.set_subdistrict_id("370212001");
  live.set_cursor(cursor);
  v1::EventChange history;
  history.set_event_id("370212002-01M8QY3ZV9HJW3VV");
  history.set_kind(v1::CHANGE_KIND_DISPATCHED);
  history.set_version(2);
  history.set_subdistrict_id("370212002");
  history.set_cursor(cursor);
  EXPECT_EQ(texts.Get(cursor, live), SseMessage(cursor, ToJson(live)));
  EXPECT_EQ(texts.Get(cursor, history), SseMessage(cursor, ToJson(history)));
  // The same change of the same event under the same cursor is still found, not printed anew.
  EXPECT_EQ(texts.Get(cursor, live), SseMessage(cursor, ToJson(live)));
}

// Console::Handle on /api/v1/watch: the filters from the query, the resume point from
// Last-Event-ID over the URL's cursor.
class ConsoleWatchTest : public SseStreamTest {
 protected:
  ConsoleWatchTest()
      : files_("/nonexistent"), console_(gateway_, files_, clock_, ConsoleOptions(), metrics_) {}

  FakeGateway::Watching* Watch(const std::string& target,
                               std::vector<std::pair<std::string, std::string>> headers) {
    Request request(http::verb::get, target, 11);
    for (const auto& [name, value] : headers) {
      request.set(name, value);
    }
    const std::size_t started = gateway_.watch_count();
    console_.Handle(std::move(request),
                    std::make_shared<FakeExchange>(false, boost::asio::make_strand(io_)));
    return gateway_.AwaitWatch(started + 1);
  }

  StaticFiles files_;
  FakeClock clock_;
  Console console_;
};

TEST_F(ConsoleWatchTest, QueryParametersAreTheFilters) {
  FakeGateway::Watching* watch = Watch(
      "/api/v1/watch?unit_id=370212001&levels=LEVEL_COMMUNITY&category_prefixes=05&"
      "min_severity=SEVERITY_HIGH",
      {{"Authorization", "Bearer tok"}});
  ASSERT_NE(watch, nullptr);
  EXPECT_EQ(watch->request.unit_id(), "370212001");
  EXPECT_EQ(watch->request.levels(0), v1::LEVEL_COMMUNITY);
  EXPECT_EQ(watch->request.category_prefixes(0), "05");
  EXPECT_EQ(watch->request.min_severity(), v1::SEVERITY_HIGH);
  EXPECT_EQ(watch->token, "tok");
}

TEST_F(ConsoleWatchTest, LastEventIdIsTheResumePointAndWinsOverTheUrlsCursor) {
  FakeGateway::Watching* plain = Watch("/api/v1/watch?cursor=w1:old", {});
  ASSERT_NE(plain, nullptr);
  EXPECT_EQ(plain->request.cursor(), "w1:old");
  FakeGateway::Watching* resumed =
      Watch("/api/v1/watch?cursor=w1:old", {{"Last-Event-ID", "w1:a=5-0,b=7-1"}});
  ASSERT_NE(resumed, nullptr);
  EXPECT_EQ(resumed->request.cursor(), "w1:a=5-0,b=7-1");
}

TEST_F(ConsoleWatchTest, AnUnknownFilterIsRefusedBeforeTheGatewayIsCalled) {
  Request request(http::verb::get, "/api/v1/watch?colour=red", 11);
  auto exchange = std::make_shared<FakeExchange>();
  console_.Handle(std::move(request), exchange);
  const auto response = exchange->AwaitResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->result_int(), 400);
  EXPECT_EQ(gateway_.watch_count(), 0u);
}

}  // namespace
}  // namespace grid::console
