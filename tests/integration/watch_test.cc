// The live stream on real processes: WatchEvents through the gateway while reports travel
// gateway -> intake -> routing -> Redis, with redis-server and the five service binaries.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "common/store/keys.h"
#include "grid/v1/intake.grpc.pb.h"
#include "services/gateway/watch_cursor.h"
#include "tests/support/poll.h"
#include "tests/support/shipped_config.h"
#include "tests/support/stack.h"
#include "tools/gridctl/cli.h"

namespace grid {
namespace {

using ::testing::HasSubstr;
using testing::PollUntil;
using testing::ShippedTopology;
using testing::Stack;

constexpr std::chrono::seconds kDeadline{20};
constexpr char kGrid[] = "37021200100101";   // 张家涧社区第1网格, 中韩街道
constexpr char kGrid2[] = "37021200100102";  // The same community.
constexpr char kCommunity[] = "370212001001";
constexpr char kOtherGrid[] = "37021200200101";  // 沙子口街道
constexpr char kSd[] = "370212001";

// One WatchEvents call read on a thread of its own. With `pause_after`, it stops reading after
// that many messages until Resume(): a client that cannot keep up.
class WatchClient {
 public:
  WatchClient(Stack& stack, v1::GatewayService::StubInterface& gateway,
              v1::WatchEventsRequest request, int pause_after = -1,
              const v1::Actor& actor = Stack::Admin())
      : pause_after_(pause_after) {
    stack.Authorize(context_, actor);
    thread_ = std::thread([this, &gateway, request] { Run(gateway, request); });
  }
  ~WatchClient() {
    context_.TryCancel();
    Resume();
    thread_.join();
  }

  void Resume() {
    std::lock_guard lock(mu_);
    paused_ = false;
    cv_.notify_all();
  }
  // Attached: the first message (a heartbeat when nothing happens) has arrived.
  bool WaitAttached() {
    return PollUntil([this] { return MessageCount() > 0; }, kDeadline);
  }
  std::size_t MessageCount() const {
    std::lock_guard lock(mu_);
    return messages_.size();
  }
  std::vector<v1::EventChange> Changes() const {
    std::lock_guard lock(mu_);
    std::vector<v1::EventChange> changes;
    for (const auto& message : messages_) {
      if (message.has_change()) {
        changes.push_back(message.change());
      }
    }
    return changes;
  }
  std::size_t ChangeCount() const { return Changes().size(); }
  bool done() const {
    std::lock_guard lock(mu_);
    return done_;
  }
  grpc::Status status() const {
    std::lock_guard lock(mu_);
    return status_;
  }
  std::string end_cursor() const {
    std::lock_guard lock(mu_);
    return end_cursor_;
  }
  std::vector<v1::WatchEventsResponse> Messages() const {
    std::lock_guard lock(mu_);
    return messages_;
  }
  std::string last_cursor() const {
    std::lock_guard lock(mu_);
    return messages_.empty() ? "" : messages_.back().cursor();
  }

 private:
  void Run(v1::GatewayService::StubInterface& gateway, const v1::WatchEventsRequest& request) {
    auto reader = gateway.WatchEvents(&context_, request);
    v1::WatchEventsResponse response;
    while (true) {
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return !paused_; });
      }
      if (!reader->Read(&response)) {
        break;
      }
      std::lock_guard lock(mu_);
      messages_.push_back(response);
      if (pause_after_ >= 0 && messages_.size() == static_cast<std::size_t>(pause_after_)) {
        paused_ = true;
      }
    }
    grpc::Status status = reader->Finish();
    std::lock_guard lock(mu_);
    status_ = status;
    const auto& trailers = context_.GetServerTrailingMetadata();
    if (auto it = trailers.find("grid-cursor"); it != trailers.end()) {
      end_cursor_ = std::string(it->second.data(), it->second.size());
    }
    done_ = true;
  }

  const int pause_after_;
  grpc::ClientContext context_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool paused_ = false;
  std::vector<v1::WatchEventsResponse> messages_;
  bool done_ = false;
  grpc::Status status_;
  std::string end_cursor_;
  std::thread thread_;
};

// Whether `change` is one of `community`'s, by the rule written out here rather than taken from
// the gateway's code: the event's grid, or the unit that has it before or after the change, lies
// in the community (the change that moves an event away is the community's too).
bool InCommunity(const topology::Topology& topology, const v1::EventChange& change,
                 const std::string& community) {
  for (const std::string* unit :
       {&change.grid_id(), &change.from_unit_id(), &change.to_unit_id()}) {
    const v1::Unit* at = topology.AncestorAt(*unit, v1::LEVEL_COMMUNITY);
    if (at != nullptr && at->id() == community) {
      return true;
    }
  }
  return false;
}

// Whether the position of cursor `a` is at or after `b`'s in every subdistrict.
bool Covers(const std::string& a, const std::string& b) {
  const auto& sds = ShippedTopology().subdistrict_ids();
  auto pa = gateway::DecodeCursor(a, sds);
  auto pb = gateway::DecodeCursor(b, sds);
  if (!pa.ok() || !pb.ok()) {
    return false;
  }
  for (std::size_t i = 0; i < sds.size(); ++i) {
    if ((*pa)[i] < (*pb)[i]) {
      return false;
    }
  }
  return true;
}

// "event kind" keys, to compare what watchers got.
std::vector<std::string> Keys(const std::vector<v1::EventChange>& changes) {
  std::vector<std::string> keys;
  for (const auto& change : changes) {
    keys.push_back(change.event_id() + " " + v1::ChangeKind_Name(change.kind()) + " v" +
                   std::to_string(change.version()));
  }
  return keys;
}

class WatchTest : public ::testing::Test {
 protected:
  void StartStack(std::vector<std::string> gateway_args = {}) {
    Stack::Options options;
    gateway_args.push_back("--watch-heartbeat-seconds");
    gateway_args.push_back("1");
    options.extra_args["grid-gateway"] = gateway_args;
    stack_ = std::make_unique<Stack>(options);
    auto status = stack_->Start();
    ASSERT_TRUE(status.ok()) << status;
  }

  void TearDown() override {
    if (HasFailure() && stack_ != nullptr) {
      std::cerr << stack_->Logs();
    }
  }

  v1::GatewayService::Stub& gateway() { return stack_->gateway(); }

  std::unique_ptr<WatchClient> Watch(v1::WatchEventsRequest request = {}, int pause_after = -1) {
    return std::make_unique<WatchClient>(*stack_, gateway(), std::move(request), pause_after);
  }
  // A watch as `actor`.
  std::unique_ptr<WatchClient> WatchAs(const v1::Actor& actor,
                                       v1::WatchEventsRequest request = {}) {
    return std::make_unique<WatchClient>(*stack_, gateway(), std::move(request), -1, actor);
  }

  v1::ReportEventRequest ReportRequest(const std::string& grid, const std::string& category,
                                       v1::Severity severity) {
    v1::ReportEventRequest request;
    v1::Report& report = *request.mutable_report();
    report.set_grid_id(grid);
    report.set_category(category);
    report.set_severity(severity);
    report.set_description("watch test");
    *request.mutable_actor() = Stack::Admin();
    return request;
  }

  // Files a report through the gateway; its event id.
  std::string Report(const std::string& grid, const std::string& category = "0102",
                     v1::Severity severity = v1::SEVERITY_NORMAL) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    stack_->Authorize(context, Stack::Admin());
    v1::ReportEventResponse response;
    const grpc::Status status =
        gateway().ReportEvent(&context, ReportRequest(grid, category, severity), &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.event_id();
  }

  // True once every event has a DISPATCHED change among `changes`.
  static bool AllDispatched(const std::vector<v1::EventChange>& changes,
                            const std::vector<std::string>& ids) {
    std::set<std::string> dispatched;
    for (const auto& change : changes) {
      if (change.to_state() == v1::EVENT_STATE_DISPATCHED) {
        dispatched.insert(change.event_id());
      }
    }
    return std::all_of(ids.begin(), ids.end(),
                       [&](const std::string& id) { return dispatched.contains(id); });
  }

  // Appends synthetic changes to one live stream directly, pipelined, and waits for all.
  void AddToLiveStream(const std::string& sd, const std::vector<v1::EventChange>& changes) {
    auto left = std::make_shared<std::atomic<int>>(static_cast<int>(changes.size()));
    auto failed = std::make_shared<std::atomic<int>>(0);
    for (const auto& change : changes) {
      stack_->redis_client().Command(
          {"XADD", store::LiveStream(sd), "*", "c", change.SerializeAsString()},
          [left, failed](absl::StatusOr<redis::Reply> reply) {
            if (!reply.ok() || reply->IsError()) {
              ++*failed;
            }
            --*left;
          });
    }
    ASSERT_TRUE(PollUntil([&] { return *left == 0; }, kDeadline));
    ASSERT_EQ(*failed, 0);
  }

  // Every change after `cursor`, read from the live streams themselves: (subdistrict, id) order
  // within each stream.
  std::vector<std::pair<std::size_t, v1::EventChange>> StreamsAfter(const std::string& cursor) {
    const auto& sds = ShippedTopology().subdistrict_ids();
    auto positions = gateway::DecodeCursor(cursor, sds);
    EXPECT_TRUE(positions.ok()) << positions.status();
    std::vector<std::pair<std::size_t, v1::EventChange>> out;
    for (std::size_t i = 0; i < sds.size() && positions.ok(); ++i) {
      auto reply = redis::CommandSync(
          stack_->redis_client(),
          {"XRANGE", store::LiveStream(sds[i]), "(" + (*positions)[i].ToString(), "+"},
          std::chrono::seconds(5));
      EXPECT_TRUE(reply.ok());
      for (const auto& entry : reply->elements) {
        v1::EventChange change;
        EXPECT_TRUE(change.ParseFromString(entry.elements[1].elements[1].str));
        out.emplace_back(i, change);
      }
    }
    return out;
  }

  std::unique_ptr<Stack> stack_;
};

TEST_F(WatchTest, FiltersByUnitSubtreeLevelCategoryAndSeverity) {
  StartStack();
  const topology::Topology& topology = ShippedTopology();
  auto all = Watch();
  v1::WatchEventsRequest unit;
  unit.set_unit_id(kCommunity);
  auto by_unit = Watch(unit);
  v1::WatchEventsRequest level;
  level.add_levels(v1::LEVEL_GRID);
  auto by_level = Watch(level);
  v1::WatchEventsRequest category;
  category.add_category_prefixes("05");
  auto by_category = Watch(category);
  v1::WatchEventsRequest severity;
  severity.set_min_severity(v1::SEVERITY_HIGH);
  auto by_severity = Watch(severity);
  for (auto* watcher :
       {all.get(), by_unit.get(), by_level.get(), by_category.get(), by_severity.get()}) {
    ASSERT_TRUE(watcher->WaitAttached());
  }

  const std::vector<std::string> ids = {
      Report(kGrid, "0102", v1::SEVERITY_NORMAL),        Report(kGrid, "0501", v1::SEVERITY_HIGH),
      Report(kOtherGrid, "0102", v1::SEVERITY_CRITICAL), Report(kGrid2, "0701", v1::SEVERITY_LOW),
      Report(kOtherGrid, "0502", v1::SEVERITY_NORMAL),
  };
  ASSERT_TRUE(PollUntil([&] { return AllDispatched(all->Changes(), ids); }, kDeadline))
      << ::testing::PrintToString(Keys(all->Changes()));

  // What each filter must let through, decided here independently of the gateway's code.
  const std::vector<v1::EventChange> everything = all->Changes();
  const auto expect = [&](WatchClient& watcher, auto pass, const char* name) {
    std::vector<v1::EventChange> expected;
    std::copy_if(everything.begin(), everything.end(), std::back_inserter(expected), pass);
    EXPECT_FALSE(expected.empty()) << name;
    EXPECT_LT(expected.size(), everything.size()) << name << " filters nothing out";
    PollUntil([&] { return watcher.ChangeCount() >= expected.size(); }, kDeadline);
    EXPECT_EQ(Keys(watcher.Changes()), Keys(expected)) << name;
  };
  expect(
      *by_unit, [&](const v1::EventChange& c) { return InCommunity(topology, c, kCommunity); },
      "unit");
  expect(
      *by_level, [](const v1::EventChange& c) { return c.to_level() == v1::LEVEL_GRID; }, "level");
  expect(
      *by_category, [](const v1::EventChange& c) { return c.category().starts_with("05"); },
      "category");
  expect(
      *by_severity, [](const v1::EventChange& c) { return c.severity() >= v1::SEVERITY_HIGH; },
      "severity");
  // Every change carries its cursor.
  for (const auto& change : everything) {
    auto positions = gateway::DecodeCursor(change.cursor(), ShippedTopology().subdistrict_ids());
    EXPECT_TRUE(positions.ok()) << change.cursor();
  }
}

// Issue 10, items 1 and 2: an operator of community 370212001003 resuming from a cursor of a
// district-wide watch got every subdistrict's changes in the catch-up, and a resumed watch with
// levels=[LEVEL_COMMUNITY] every level; live, the community missed the DISPATCHED change of its
// own grid's fire once routing sent it to the subdistrict. Catch-up and live now pass one filter:
// a resumed watch gets exactly what a live one with the same scope and filters got.
TEST_F(WatchTest, AResumedWatchGetsExactlyWhatTheSameLiveWatchGot) {
  StartStack();
  const topology::Topology& topology = ShippedTopology();
  const std::string community = "370212001003";
  const std::string grid = "37021200100301";
  v1::Actor op;
  op.set_role(v1::ROLE_OPERATOR);
  op.set_subject("op-003");
  op.set_unit_id(community);
  v1::WatchEventsRequest community_level;
  community_level.add_levels(v1::LEVEL_COMMUNITY);

  auto all = Watch();
  auto live_op = WatchAs(op);
  auto live_level = Watch(community_level);
  for (auto* watcher : {all.get(), live_op.get(), live_level.get()}) {
    ASSERT_TRUE(watcher->WaitAttached());
  }
  // A cursor of the district-wide watch from before the reports (its first heartbeat's).
  const std::string cursor = all->last_cursor();
  ASSERT_FALSE(cursor.empty());

  const std::vector<std::string> ids = {
      Report(grid, "0501", v1::SEVERITY_HIGH),     // A fire: dispatched to the subdistrict.
      Report(grid, "0102", v1::SEVERITY_NORMAL),   // Rubbish: to the grid.
      Report(kGrid, "0101", v1::SEVERITY_NORMAL),  // Another community's: to its community.
      Report(kOtherGrid, "0101", v1::SEVERITY_NORMAL),
      Report("37021200300101", "0501", v1::SEVERITY_HIGH),
  };
  ASSERT_TRUE(PollUntil([&] { return AllDispatched(all->Changes(), ids); }, kDeadline))
      << ::testing::PrintToString(Keys(all->Changes()));
  const std::vector<v1::EventChange> everything = all->Changes();

  std::vector<v1::EventChange> mine;
  std::copy_if(everything.begin(), everything.end(), std::back_inserter(mine),
               [&](const v1::EventChange& c) { return InCommunity(topology, c, community); });
  std::vector<v1::EventChange> at_community;
  std::copy_if(everything.begin(), everything.end(), std::back_inserter(at_community),
               [](const v1::EventChange& c) { return c.to_level() == v1::LEVEL_COMMUNITY; });
  ASSERT_EQ(mine.size(), 4u) << "two reports and two dispatches: "
                             << ::testing::PrintToString(Keys(mine));
  EXPECT_TRUE(std::any_of(mine.begin(), mine.end(), [&](const v1::EventChange& c) {
    return c.kind() == v1::CHANGE_KIND_DISPATCHED && c.to_unit_id() == kSd;
  })) << "the fire's dispatch to the subdistrict is the community's";
  ASSERT_FALSE(at_community.empty());
  ASSERT_LT(at_community.size(), everything.size());

  // Live.
  EXPECT_TRUE(PollUntil([&] { return live_op->ChangeCount() >= mine.size(); }, kDeadline));
  EXPECT_EQ(Keys(live_op->Changes()), Keys(mine));
  EXPECT_TRUE(
      PollUntil([&] { return live_level->ChangeCount() >= at_community.size(); }, kDeadline));
  EXPECT_THAT(Keys(live_level->Changes()),
              ::testing::UnorderedElementsAreArray(Keys(at_community)));

  // Resumed from the district-wide cursor: the same, and nothing else, once live heartbeats say
  // the catch-up is over.
  v1::WatchEventsRequest from_cursor;
  from_cursor.set_cursor(cursor);
  auto resumed_op = WatchAs(op, from_cursor);
  community_level.set_cursor(cursor);
  auto resumed_level = Watch(community_level);
  for (auto* watcher : {resumed_op.get(), resumed_level.get()}) {
    ASSERT_TRUE(PollUntil(
        [&] {
          const auto messages = watcher->Messages();
          return !messages.empty() && messages.back().has_heartbeat() &&
                 Covers(messages.back().cursor(), all->last_cursor());
        },
        kDeadline));
    EXPECT_FALSE(watcher->done()) << watcher->status().error_message();
  }
  EXPECT_EQ(Keys(resumed_op->Changes()), Keys(mine));
  // Several subdistricts' streams: live order across them is the order of arrival.
  EXPECT_THAT(Keys(resumed_level->Changes()),
              ::testing::UnorderedElementsAreArray(Keys(at_community)));

  // An operator's cursor moves past what the filter leaves out: resuming from it again gives
  // nothing of what came before.
  from_cursor.set_cursor(resumed_op->last_cursor());
  auto again = WatchAs(op, from_cursor);
  ASSERT_TRUE(again->WaitAttached());
  EXPECT_EQ(again->ChangeCount(), 0u) << ::testing::PrintToString(Keys(again->Changes()));

  // Once the streams are quiet, a cursor is the reader's watermark alone: it names no
  // subdistrict, however many there are.
  EXPECT_TRUE(PollUntil(
      [&] {
        const auto messages = all->Messages();
        return !messages.empty() && messages.back().has_heartbeat() &&
               messages.back().cursor().find(',') == std::string::npos;
      },
      kDeadline))
      << all->last_cursor();
  EXPECT_THAT(all->last_cursor(), ::testing::StartsWith("w2:"));
}

TEST_F(WatchTest, RejectsABadCursorAndAnUnknownUnit) {
  StartStack();
  v1::WatchEventsRequest bad_cursor;
  bad_cursor.set_cursor("not-a-cursor");
  auto bad = Watch(bad_cursor);
  ASSERT_TRUE(PollUntil([&] { return bad->done(); }, kDeadline));
  EXPECT_EQ(bad->status().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(bad->status().error_message(), HasSubstr("cursor"));

  // A cursor from before what the streams keep: the change after it is gone.
  std::string old = "w1:";
  for (const std::string& sd : ShippedTopology().subdistrict_ids()) {
    old += (old.size() > 3 ? "," : "") + sd + "=1-0";
  }
  // A report whose changes have reached the subdistrict's live stream.
  const auto report_into_the_stream = [&] {
    Report(kGrid);
    return PollUntil(
        [&] {
          auto reply = redis::CommandSync(stack_->redis_client(), {"XLEN", store::LiveStream(kSd)},
                                          std::chrono::seconds(2));
          return reply.ok() && reply->integer > 0;
        },
        kDeadline);
  };
  ASSERT_TRUE(report_into_the_stream());
  // Trim it all away, as MAXLEN does to old entries.
  ASSERT_TRUE(redis::CommandSync(stack_->redis_client(),
                                 {"XTRIM", store::LiveStream(kSd), "MAXLEN", "0"},
                                 std::chrono::seconds(2))
                  .ok());
  // In either form: the first (a position per subdistrict) and the watermark's; with the stream
  // emptied, and with newer changes in it again (its first entry after the cursor, some lost).
  const auto expect_too_old = [&](const std::string& cursor) {
    v1::WatchEventsRequest too_old;
    too_old.set_cursor(cursor);
    auto stale = Watch(too_old);
    ASSERT_TRUE(PollUntil([&] { return stale->done(); }, kDeadline)) << cursor;
    EXPECT_EQ(stale->status().error_code(), grpc::StatusCode::OUT_OF_RANGE) << cursor;
    EXPECT_THAT(stale->status().error_message(), HasSubstr("cursor: too old")) << cursor;
  };
  const std::string watermark = "w2:1-18446744073709551615";
  expect_too_old(old);
  expect_too_old(watermark);
  ASSERT_TRUE(report_into_the_stream());
  expect_too_old(old);
  expect_too_old(watermark);

  v1::WatchEventsRequest unknown;
  unknown.set_unit_id("370212999");
  auto nowhere = Watch(unknown);
  ASSERT_TRUE(PollUntil([&] { return nowhere->done(); }, kDeadline));
  EXPECT_EQ(nowhere->status().error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(WatchTest, ResumesFromACursorAcrossAGatewayRestartWithNoGapAndNoDuplicate) {
  StartStack();
  std::string cursor;
  std::vector<std::string> ids;
  {
    auto first = Watch();
    ASSERT_TRUE(first->WaitAttached());
    ids.push_back(Report(kGrid));
    ids.push_back(Report(kOtherGrid));
    ASSERT_TRUE(PollUntil([&] { return AllDispatched(first->Changes(), ids); }, kDeadline));
    // Resume from the middle: after the first change only.
    cursor = first->Changes().front().cursor();
    ids.push_back(Report(kGrid2));
    ASSERT_TRUE(PollUntil([&] { return AllDispatched(first->Changes(), ids); }, kDeadline));
    stack_->StopService("grid-gateway", SIGTERM);
    ASSERT_TRUE(PollUntil([&] { return first->done(); }, kDeadline));
    // What a client sees when the gateway goes away: try again (gridctl watch does, from its
    // last cursor).
    EXPECT_EQ(first->status().error_code(), grpc::StatusCode::UNAVAILABLE)
        << first->status().error_message();
  }

  // While the gateway is down, reports go in through intake itself.
  auto intake = v1::IntakeService::NewStub(
      grpc::CreateChannel(stack_->address("grid-intake"), grpc::InsecureChannelCredentials()));
  for (const char* grid : {kGrid, kOtherGrid}) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::ReportEventResponse response;
    const grpc::Status status =
        intake->ReportEvent(&context, ReportRequest(grid, "0102", v1::SEVERITY_NORMAL), &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ids.push_back(response.event_id());
  }
  ASSERT_TRUE(stack_->StartService("grid-gateway").ok());
  ids.push_back(Report(kGrid));

  v1::WatchEventsRequest from_cursor;
  from_cursor.set_cursor(cursor);
  auto second = Watch(from_cursor);
  ASSERT_TRUE(PollUntil([&] { return AllDispatched(second->Changes(), ids); }, kDeadline))
      << ::testing::PrintToString(Keys(second->Changes()));

  // Exactly what the streams hold after the cursor: each once, each stream in its order.
  const auto expected = StreamsAfter(cursor);
  ASSERT_TRUE(PollUntil([&] { return second->ChangeCount() >= expected.size(); }, kDeadline));
  const std::vector<v1::EventChange> got = second->Changes();
  std::multiset<std::string> got_keys;
  std::multiset<std::string> expected_keys;
  std::map<std::string, std::vector<std::string>> got_by_sd;
  std::map<std::string, std::vector<std::string>> expected_by_sd;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const std::string key = Keys({got[i]})[0];
    got_keys.insert(key);
    got_by_sd[got[i].subdistrict_id()].push_back(key);
    const std::string want = Keys({expected[i].second})[0];
    expected_keys.insert(want);
    expected_by_sd[expected[i].second.subdistrict_id()].push_back(want);
  }
  EXPECT_EQ(got_keys, expected_keys);
  EXPECT_EQ(got_by_sd, expected_by_sd);
  EXPECT_EQ(std::set<std::string>(got_keys.begin(), got_keys.end()).size(), got_keys.size())
      << "a duplicate";
  EXPECT_FALSE(got.front().event_id() == ids.front() &&
               got.front().to_state() == v1::EVENT_STATE_REPORTED)
      << "the change the cursor names was delivered again";
}

TEST_F(WatchTest, ASlowConsumerIsCutOffWithAResumableCursorWhileAnotherKeepsReceiving) {
  StartStack({"--watch-queue", "64"});
  auto fast = Watch();
  // Its own connection, without BDP probing: the flow-control window stays small, so a client
  // that stops reading soon holds up the gateway's writes to it.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt("grid.test.slow", 1);
  auto slow_stub = v1::GatewayService::NewStub(grpc::CreateCustomChannel(
      stack_->address("grid-gateway"), grpc::InsecureChannelCredentials(), args));
  auto slow = std::make_unique<WatchClient>(*stack_, *slow_stub, v1::WatchEventsRequest(), 1);
  ASSERT_TRUE(fast->WaitAttached());
  ASSERT_TRUE(slow->WaitAttached());

  // Synthetic changes straight into one live stream, 2 KB each, in steps the fast watcher keeps
  // up with.
  constexpr int kChanges = 2000;
  constexpr int kStep = 40;
  const std::string note(2048, 'n');
  for (int begin = 0; begin < kChanges; begin += kStep) {
    std::vector<v1::EventChange> step;
    for (int i = begin; i < begin + kStep; ++i) {
      v1::EventChange change;
      change.set_event_id(std::string(kSd) + "-slow" + std::to_string(100000 + i));
      change.set_kind(v1::CHANGE_KIND_REPORTED);
      change.set_grid_id(kGrid);
      change.set_subdistrict_id(kSd);
      change.set_category("0102");
      change.set_severity(v1::SEVERITY_NORMAL);
      change.set_to_state(v1::EVENT_STATE_REPORTED);
      change.set_version(1);
      change.set_note(note);
      step.push_back(change);
    }
    AddToLiveStream(kSd, step);
    ASSERT_TRUE(PollUntil(
        [&] { return fast->ChangeCount() >= static_cast<std::size_t>(begin + kStep); }, kDeadline))
        << fast->ChangeCount();
  }
  EXPECT_EQ(fast->ChangeCount(), static_cast<std::size_t>(kChanges));
  EXPECT_FALSE(fast->done()) << fast->status().error_message();

  // The slow one reads again: what was sent before the cut-off, then the status and the cursor.
  slow->Resume();
  ASSERT_TRUE(PollUntil([&] { return slow->done(); }, kDeadline));
  EXPECT_EQ(slow->status().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << slow->status().error_message();
  const std::size_t before = slow->ChangeCount();
  EXPECT_LT(before, static_cast<std::size_t>(kChanges));
  ASSERT_FALSE(slow->end_cursor().empty());
  EXPECT_EQ(slow->end_cursor(), slow->last_cursor());
  EXPECT_THAT(slow->status().error_message(), HasSubstr(slow->end_cursor()));

  // Resuming from that cursor gives exactly the rest.
  v1::WatchEventsRequest resume;
  resume.set_cursor(slow->end_cursor());
  auto rest = Watch(resume);
  ASSERT_TRUE(PollUntil([&] { return rest->ChangeCount() >= kChanges - before; }, kDeadline))
      << rest->ChangeCount() << " + " << before;
  std::vector<std::string> ids;
  for (const auto& change : slow->Changes()) {
    ids.push_back(change.event_id());
  }
  for (const auto& change : rest->Changes()) {
    ids.push_back(change.event_id());
  }
  ASSERT_EQ(ids.size(), static_cast<std::size_t>(kChanges));
  for (int i = 0; i < kChanges; ++i) {
    ASSERT_EQ(ids[i], std::string(kSd) + "-slow" + std::to_string(100000 + i)) << i;
  }
  EXPECT_FALSE(fast->done());
}

TEST_F(WatchTest, FiftyWatchersReceiveTheSameChanges) {
  // Every watcher here is the same admin: lift the per-subject cap (32 by default), which
  // security_test proves on its own.
  StartStack({"--watch-max-per-subject", "0"});
  std::vector<std::unique_ptr<WatchClient>> watchers;
  for (int i = 0; i < 50; ++i) {
    watchers.push_back(Watch());
  }
  for (auto& watcher : watchers) {
    ASSERT_TRUE(watcher->WaitAttached());
  }
  std::vector<std::string> ids;
  for (const char* grid : {kGrid, kOtherGrid, kGrid2, kGrid, kOtherGrid}) {
    ids.push_back(Report(grid));
  }
  ASSERT_TRUE(PollUntil([&] { return AllDispatched(watchers[0]->Changes(), ids); }, kDeadline));
  const std::vector<v1::EventChange> reference = watchers[0]->Changes();
  EXPECT_GE(reference.size(), 2 * ids.size());
  for (std::size_t i = 1; i < watchers.size(); ++i) {
    ASSERT_TRUE(
        PollUntil([&] { return watchers[i]->ChangeCount() >= reference.size(); }, kDeadline));
    const std::vector<v1::EventChange> got = watchers[i]->Changes();
    EXPECT_EQ(Keys(got), Keys(reference)) << "watcher " << i;
    EXPECT_EQ(got.back().cursor(), reference.back().cursor()) << "watcher " << i;
  }
}

// gridctl watch: runs `args` in-process while reports are filed; what it printed.
TEST_F(WatchTest, GridctlWatchPrintsChangesAndResumesFromACursor) {
  StartStack();
  setenv("GRID_TOKEN", stack_->Token(Stack::Admin()).c_str(), 1);
  const std::vector<std::string> reach = stack_->GridctlArgs();
  const auto gridctl = [&](std::vector<std::string> args, std::string& out_text) {
    args.insert(args.begin(), reach.begin(), reach.end());
    args.insert(args.begin(), "gridctl");
    std::vector<const char*> argv;
    for (const std::string& arg : args) {
      argv.push_back(arg.c_str());
    }
    std::istringstream in;
    std::ostringstream out;
    std::ostringstream err;
    const int code = gridctl::Run(static_cast<int>(argv.size()), argv.data(), in, out, err);
    out_text = out.str();
    return code;
  };
  // Live: --max 2 returns after two changes; a plain line each. Reports go in until it has
  // them (it is attached at some point after it starts).
  std::string lines;
  std::atomic<bool> finished{false};
  std::thread live([&] {
    EXPECT_EQ(gridctl({"watch", "--unit", kCommunity, "--max", "2", "--for", "20s"}, lines), 0);
    finished = true;
  });
  EXPECT_TRUE(PollUntil(
      [&] {
        Report(kGrid);
        return finished.load();
      },
      kDeadline, std::chrono::milliseconds(300)));
  live.join();
  EXPECT_THAT(lines, HasSubstr(kGrid));
  EXPECT_EQ(std::count(lines.begin(), lines.end(), '\n'), 2) << lines;

  // JSON lines, then a resume from the first one's cursor gives the second.
  std::string json;
  EXPECT_EQ(gridctl({"watch", "--json", "--max", "2", "--for", "20s", "--cursor",
                     "w1:" +
                         [&] {
                           std::string positions;
                           for (const std::string& sd : ShippedTopology().subdistrict_ids()) {
                             positions += (positions.empty() ? "" : ",") + sd + "=0-0";
                           }
                           return positions;
                         }()},
                    json),
            0);
  std::istringstream json_lines(json);
  std::string line1;
  std::string line2;
  std::getline(json_lines, line1);
  std::getline(json_lines, line2);
  EXPECT_THAT(line1, HasSubstr("\"event_id\""));
  EXPECT_THAT(line1, HasSubstr("\"cursor\""));
  const std::size_t at = line1.find("\"cursor\":\"");
  ASSERT_NE(at, std::string::npos);
  const std::size_t begin = at + 10;
  const std::string cursor = line1.substr(begin, line1.find('"', begin) - begin);
  std::string resumed;
  EXPECT_EQ(gridctl({"watch", "--json", "--max", "1", "--for", "20s", "--cursor", cursor}, resumed),
            0);
  EXPECT_EQ(resumed, line2 + "\n");
  unsetenv("GRID_TOKEN");
}

}  // namespace
}  // namespace grid
