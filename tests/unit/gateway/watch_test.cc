// The live stream's logic without a server: the cursor, the filter, and the hub's fan-out to
// watchers with their bounded queues, against a fake writer.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <map>

#include "common/store/keys.h"
#include "services/gateway/watch_cursor.h"
#include "services/gateway/watch_filter.h"
#include "services/gateway/watch_hub.h"
#include "services/gateway/watch_quota.h"
#include "services/gateway/watcher.h"
#include "tests/support/shipped_config.h"

namespace grid::gateway {
namespace {

using ::testing::HasSubstr;
using testing::ShippedTopology;

constexpr char kGrid[] = "37021200100101";
constexpr char kCommunity[] = "370212001001";
constexpr char kSd[] = "370212001";
constexpr char kOtherGrid[] = "37021200200101";

const std::vector<std::string>& Sds() { return ShippedTopology().subdistrict_ids(); }

StreamPositions At(std::uint64_t ms) { return StreamPositions(Sds().size(), StreamId{ms, 0}); }

v1::EventChange Change(const std::string& event_id, const std::string& grid,
                       const std::string& unit = "", v1::Level level = v1::LEVEL_GRID,
                       const std::string& category = "0102",
                       v1::Severity severity = v1::SEVERITY_NORMAL) {
  v1::EventChange change;
  change.set_event_id(event_id);
  change.set_grid_id(grid);
  change.set_to_unit_id(unit);
  change.set_to_level(level);
  change.set_category(category);
  change.set_severity(severity);
  change.set_subdistrict_id(grid.substr(0, 9));
  return change;
}

// --- cursor ---

TEST(StreamIdTest, ParsesAndOrders) {
  EXPECT_EQ(StreamId::Parse("1718000000000-3"), (StreamId{1718000000000, 3}));
  EXPECT_EQ(StreamId::Parse("0-0"), StreamId{});
  EXPECT_FALSE(StreamId::Parse("$"));
  EXPECT_FALSE(StreamId::Parse("12"));
  EXPECT_FALSE(StreamId::Parse("1-x"));
  EXPECT_FALSE(StreamId::Parse("-1"));
  EXPECT_LT((StreamId{5, 9}), (StreamId{6, 0}));
  EXPECT_LT((StreamId{5, 1}), (StreamId{5, 2}));
  EXPECT_EQ((StreamId{17, 4}).ToString(), "17-4");
}

TEST(WatchCursorTest, RoundTrips) {
  StreamPositions positions = At(100);
  positions[2] = StreamId{1718000000000, 7};
  const std::string cursor = EncodeCursor(Sds(), positions);
  auto decoded = DecodeCursor(cursor, Sds());
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, positions);
}

TEST(WatchCursorTest, NamesOnlyTheStreamsNotAtTheBase) {
  StreamPositions positions(Sds().size(), StreamId::EndOf(1718000000000));
  positions[2] = StreamId{1718000000005, 3};
  const std::string cursor = EncodeCursor(Sds(), positions);
  EXPECT_EQ(cursor, "w2:1718000000000-18446744073709551615," + Sds()[2] + "=1718000000005-3");
  // Every stream at one place: the base alone.
  EXPECT_EQ(EncodeCursor(Sds(), At(7)), "w2:7-0");
}

TEST(WatchCursorTest, StaysSmallWithAProvincesSubdistricts) {
  // ~1,800 subdistricts: idle ones stand at the watermark, three had changes after it.
  std::vector<std::string> province;
  for (int i = 0; i < 1800; ++i) {
    province.push_back(std::to_string(370000000 + i));
  }
  StreamPositions positions(province.size(), StreamId::EndOf(1796000000000));
  positions[17] = StreamId{1796000000004, 0};
  positions[901] = StreamId{1796000000009, 1};
  positions[1799] = StreamId{1796000000011, 0};
  const std::string cursor = EncodeCursor(province, positions);
  EXPECT_LT(cursor.size(), 160u) << cursor;
  auto decoded = DecodeCursor(cursor, province);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, positions);
}

TEST(WatchCursorTest, ToleratesSubdistrictsAddedAndRemoved) {
  StreamPositions positions(Sds().size(), StreamId::EndOf(500));
  positions[1] = StreamId{600, 2};
  const std::string cursor = EncodeCursor(Sds(), positions);
  // A topology with one more subdistrict: it starts at the base (the watermark: every entry up
  // to it was read when the cursor was made, in every stream there was).
  std::vector<std::string> grown = Sds();
  grown.push_back("370212099");
  auto decoded = DecodeCursor(cursor, grown);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->back(), StreamId::EndOf(500));
  EXPECT_EQ((*decoded)[1], (StreamId{600, 2}));
  // One fewer: the name it no longer has is passed over.
  std::vector<std::string> shrunk(Sds().begin() + 2, Sds().end());
  decoded = DecodeCursor(cursor, shrunk);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, StreamPositions(shrunk.size(), StreamId::EndOf(500)));
}

TEST(WatchCursorTest, ReadsTheFirstForm) {
  std::string first = "w1:";
  for (std::size_t i = 0; i < Sds().size(); ++i) {
    first += (i == 0 ? "" : ",") + Sds()[i] + "=" + std::to_string(100 + i) + "-1";
  }
  auto decoded = DecodeCursor(first, Sds());
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ((*decoded)[0], (StreamId{100, 1}));
  EXPECT_EQ(decoded->back(), (StreamId{100 + Sds().size() - 1, 1}));
  // A subdistrict it leaves out starts at the earliest position it gives.
  decoded = DecodeCursor("w1:" + Sds()[1] + "=9-0," + Sds()[2] + "=8-4", Sds());
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ((*decoded)[0], (StreamId{8, 4}));
  EXPECT_EQ((*decoded)[1], (StreamId{9, 0}));
}

TEST(WatchCursorTest, RejectsMalformedCursorsNamingTheField) {
  const std::string good = EncodeCursor(Sds(), At(1)) + "," + Sds()[1] + "=2-0";
  const std::vector<std::string> bad = {
      "",
      "garbage",
      "w1:",
      "w2:",
      "w2:x-1",                        // Bad base.
      "w2:1-0,",                       // An empty part.
      good + "," + Sds()[1] + "=1-0",  // One twice.
      "w2:1-0," + Sds()[0] + "=x-1",   // Bad id.
      "w2:1-0," + Sds()[0] + "1-1",    // No '='.
      "w1:" + Sds()[0] + "=x-1",       // Bad id.
      "w1:" + Sds()[0] + "1-1",        // No '='.
  };
  for (const std::string& text : bad) {
    auto decoded = DecodeCursor(text, Sds());
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(std::string(decoded.status().message()), HasSubstr("cursor")) << text;
  }
  EXPECT_TRUE(DecodeCursor(good, Sds()).ok());
}

TEST(WatchCursorTest, MaxIsComponentWise) {
  StreamPositions a = At(5);
  StreamPositions b = At(3);
  b[1] = StreamId{9, 0};
  StreamPositions max = Max(a, b);
  EXPECT_EQ(max[0], (StreamId{5, 0}));
  EXPECT_EQ(max[1], (StreamId{9, 0}));
}

// --- filter ---

// The filter of `request` within the scope the authorizer granted: the subtree of the request's
// unit (the district when empty), or with `queue_only` that unit's queue.
WatchFilter Filter(const v1::WatchEventsRequest& request, bool queue_only = false) {
  auto filter = WatchFilter::FromRequest(request, ShippedTopology(),
                                         auth::WatchScope{request.unit_id(), queue_only});
  EXPECT_TRUE(filter.ok()) << filter.status();
  return *filter;
}

// A change of the event in `grid` from `from` to `to`.
v1::EventChange Move(const std::string& event_id, const std::string& grid, const std::string& from,
                     const std::string& to, v1::Level to_level) {
  v1::EventChange change = Change(event_id, grid, to, to_level);
  change.set_from_unit_id(from);
  return change;
}

TEST(WatchFilterTest, EmptyMatchesEverything) {
  const WatchFilter all = Filter({});
  EXPECT_EQ(all.root(), ShippedTopology().root_id());
  EXPECT_TRUE(all.Matches(Change("e", kGrid), ShippedTopology()));
  EXPECT_TRUE(all.Matches(Change("e", kOtherGrid), ShippedTopology()));
  // A department's work is below the district.
  EXPECT_TRUE(all.Matches(Change("e", kGrid, "370212D01", v1::LEVEL_DISTRICT), ShippedTopology()));
}

// Issue 10: the community saw the REPORTED change of its grid's fire but not its DISPATCHED one
// to the subdistrict, nor the escalations beyond the community.
TEST(WatchFilterTest, AChangeIsInTheSubtreeWhenItsGridOrItsUnitBeforeOrAfterIs) {
  v1::WatchEventsRequest request;
  request.set_unit_id(kCommunity);
  const WatchFilter community = Filter(request);
  const auto& topology = ShippedTopology();
  EXPECT_TRUE(community.Matches(Change("e", kGrid, kGrid), topology));  // Reported.
  EXPECT_TRUE(community.Matches(Move("e", kGrid, kGrid, kSd, v1::LEVEL_SUBDISTRICT), topology));
  EXPECT_TRUE(
      community.Matches(Move("e", kGrid, kCommunity, "370212001Z01", v1::LEVEL_ZONE), topology));
  EXPECT_TRUE(community.Matches(Move("e", kGrid, kSd, "370212D01", v1::LEVEL_DISTRICT), topology));
  EXPECT_FALSE(community.Matches(Change("e", kOtherGrid, kOtherGrid), topology));
  // Another community's event passing through the zone above is not the community's.
  EXPECT_FALSE(community.Matches(
      Move("e", "37021200100201", "370212001002", "370212001Z01", v1::LEVEL_ZONE), topology));

  // A department sees the change that brought another subdistrict's event to it, and the one
  // that took it away.
  v1::WatchEventsRequest at_department;
  at_department.set_unit_id("370212D01");
  const WatchFilter department = Filter(at_department);
  EXPECT_TRUE(department.Matches(
      Move("e", kOtherGrid, "370212002", "370212D01", v1::LEVEL_DISTRICT), topology));
  EXPECT_TRUE(department.Matches(
      Move("e", kOtherGrid, "370212D01", "370212002", v1::LEVEL_SUBDISTRICT), topology));
  EXPECT_FALSE(department.Matches(
      Move("e", kOtherGrid, "370212002", "370212D02", v1::LEVEL_DISTRICT), topology));
}

TEST(WatchFilterTest, AQueueWatchGetsTheChangesIntoOutOfAndAtItsUnit) {
  v1::WatchEventsRequest request;
  request.set_unit_id(kCommunity);
  const WatchFilter queue = Filter(request, /*queue_only=*/true);
  EXPECT_TRUE(queue.queue_only());
  EXPECT_EQ(queue.root(), kCommunity);
  const auto& topology = ShippedTopology();
  EXPECT_TRUE(queue.Matches(Move("e", kGrid, kGrid, kCommunity, v1::LEVEL_COMMUNITY), topology));
  EXPECT_TRUE(
      queue.Matches(Move("e", kGrid, kCommunity, kCommunity, v1::LEVEL_COMMUNITY), topology));
  EXPECT_TRUE(
      queue.Matches(Move("e", kGrid, kCommunity, "370212001Z01", v1::LEVEL_ZONE), topology));
  // Its subtree's events elsewhere are not its queue.
  EXPECT_FALSE(queue.Matches(Move("e", kGrid, kGrid, kGrid, v1::LEVEL_GRID), topology));
  EXPECT_FALSE(queue.Matches(Move("e", kGrid, kGrid, kSd, v1::LEVEL_SUBDISTRICT), topology));
}

TEST(WatchFilterTest, LevelsCategoriesAndSeverity) {
  v1::WatchEventsRequest request;
  request.add_levels(v1::LEVEL_COMMUNITY);
  request.add_levels(v1::LEVEL_SUBDISTRICT);
  request.add_category_prefixes("05");
  request.add_category_prefixes("0801");
  request.set_min_severity(v1::SEVERITY_HIGH);
  const WatchFilter filter = Filter(request);
  const auto& topology = ShippedTopology();
  EXPECT_TRUE(filter.Matches(
      Change("e", kGrid, kCommunity, v1::LEVEL_COMMUNITY, "0501", v1::SEVERITY_HIGH), topology));
  EXPECT_TRUE(filter.Matches(
      Change("e", kGrid, kSd, v1::LEVEL_SUBDISTRICT, "0801", v1::SEVERITY_CRITICAL), topology));
  EXPECT_FALSE(filter.Matches(Change("e", kGrid, kGrid, v1::LEVEL_GRID, "0501", v1::SEVERITY_HIGH),
                              topology));
  EXPECT_FALSE(filter.Matches(
      Change("e", kGrid, kCommunity, v1::LEVEL_COMMUNITY, "0102", v1::SEVERITY_HIGH), topology));
  EXPECT_FALSE(filter.Matches(
      Change("e", kGrid, kCommunity, v1::LEVEL_COMMUNITY, "0501", v1::SEVERITY_NORMAL), topology));
}

TEST(WatchFilterTest, RejectsBadRequestsNamingTheField) {
  const auto refused = [](const v1::WatchEventsRequest& request) {
    return WatchFilter::FromRequest(request, ShippedTopology(),
                                    auth::WatchScope{request.unit_id(), false})
        .status();
  };
  v1::WatchEventsRequest unknown;
  unknown.set_unit_id("370212999");
  EXPECT_EQ(refused(unknown).code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(refused(unknown).message()), HasSubstr("unit_id"));
  for (const int bad : {static_cast<int>(v1::LEVEL_UNSPECIFIED), 99, -1}) {
    v1::WatchEventsRequest level;
    level.add_levels(v1::LEVEL_GRID);
    level.add_levels(static_cast<v1::Level>(bad));
    EXPECT_EQ(refused(level).code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(refused(level).message()), HasSubstr("levels[1]")) << bad;
  }
  v1::WatchEventsRequest severity;
  severity.set_min_severity(static_cast<v1::Severity>(99));
  EXPECT_EQ(refused(severity).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(refused(severity).message()), HasSubstr("min_severity"));
  v1::WatchEventsRequest prefix;
  prefix.add_category_prefixes("");
  EXPECT_THAT(std::string(refused(prefix).message()), HasSubstr("category_prefixes[0]"));
  // An empty scope is the district.
  auto district = WatchFilter::FromRequest({}, ShippedTopology(), auth::WatchScope{});
  ASSERT_TRUE(district.ok());
  EXPECT_EQ(district->root(), ShippedTopology().root_id());
}

// --- watcher and hub ---

class MockClient : public redis::Client {
 public:
  MOCK_METHOD(void, Command, (std::vector<std::string> argv, redis::ReplyCallback cb), (override));
  MOCK_METHOD(void, Command,
              (std::vector<std::string> argv, std::chrono::milliseconds timeout,
               redis::ReplyCallback cb),
              (override));
  MOCK_METHOD(void, Eval,
              (const redis::Script& script, std::vector<std::string> keys,
               std::vector<std::string> args, redis::ReplyCallback cb),
              (override));
  MOCK_METHOD(bool, Connected, (), (const, override));
};

// Records what a watcher writes; a write stays in flight until Complete().
class FakeWriter final : public WatchWriter {
 public:
  void Write(const grpc::ByteBuffer& bytes) override {
    ASSERT_FALSE(in_flight) << "a second write while one is in flight";
    in_flight = true;
    std::vector<grpc::Slice> slices;
    ASSERT_TRUE(bytes.Dump(&slices).ok());
    std::string data;
    for (const grpc::Slice& slice : slices) {
      data.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    }
    v1::WatchEventsResponse response;
    ASSERT_TRUE(response.ParseFromString(data));
    written.push_back(response);
  }
  void End(const grpc::Status& status, const std::string& cursor) override {
    ASSERT_FALSE(ended);
    ended = true;
    end_status = status;
    end_cursor = cursor;
  }
  // Completes the write in flight, as gRPC's OnWriteDone would.
  void Complete(Watcher& watcher) {
    ASSERT_TRUE(in_flight);
    in_flight = false;
    watcher.OnWriteDone(true);
  }
  void Drain(Watcher& watcher) {
    while (in_flight) {
      Complete(watcher);
    }
  }
  std::vector<std::string> EventIds() const {
    std::vector<std::string> ids;
    for (const auto& response : written) {
      if (response.has_change()) {
        ids.push_back(response.change().event_id());
      }
    }
    return ids;
  }

  bool in_flight = false;
  bool ended = false;
  grpc::Status end_status;
  std::string end_cursor;
  std::vector<v1::WatchEventsResponse> written;
};

class WatchHubTest : public ::testing::Test {
 protected:
  WatchHubTest() {
    WatchHubOptions options;
    options.queue_capacity = 4;
    options.heartbeat = std::chrono::seconds(15);
    hub_ = WatchHub::Create(io_, reader_, commands_, ShippedTopology(), options, &metrics_);
    hub_->SetPositionsForTest(At(100));
  }

  WatcherPtr Watch(FakeWriter& writer, const v1::WatchEventsRequest& request = {},
                   std::optional<StreamPositions> from = std::nullopt) {
    auto watcher =
        std::make_shared<Watcher>(Filter(request), hub_->options().queue_capacity, Sds(), writer);
    EXPECT_TRUE(hub_->Attach(watcher, from).ok());
    return watcher;
  }

  void Publish(std::size_t sd, std::uint64_t ms, const v1::EventChange& change) {
    hub_->FanOutForTest(sd, StreamId{ms, 0}, change);
  }

  boost::asio::io_context io_;
  prometheus::Registry registry_;
  WatchMetrics metrics_{registry_};
  ::testing::StrictMock<MockClient> reader_;
  ::testing::StrictMock<MockClient> commands_;
  WatchHubPtr hub_;
};

TEST_F(WatchHubTest, FansOutToMatchingWatchersWithCursors) {
  FakeWriter all_writer;
  FakeWriter community_writer;
  FakeWriter other_writer;
  WatcherPtr all = Watch(all_writer);
  v1::WatchEventsRequest community;
  community.set_unit_id(kCommunity);
  WatcherPtr in_community = Watch(community_writer, community);
  v1::WatchEventsRequest other;
  other.set_unit_id("370212002");
  WatcherPtr in_other = Watch(other_writer, other);
  EXPECT_EQ(hub_->watcher_count(), 3u);

  Publish(0, 101, Change("a", kGrid));
  Publish(1, 102, Change("b", kOtherGrid));
  all_writer.Drain(*all);
  community_writer.Drain(*in_community);
  other_writer.Drain(*in_other);

  EXPECT_THAT(all_writer.EventIds(), ::testing::ElementsAre("a", "b"));
  EXPECT_THAT(community_writer.EventIds(), ::testing::ElementsAre("a"));
  EXPECT_THAT(other_writer.EventIds(), ::testing::ElementsAre("b"));
  // The cursor of a change is where the stream stands after it, in the response and the change.
  StreamPositions after_a = At(100);
  after_a[0] = StreamId{101, 0};
  EXPECT_EQ(all_writer.written[0].cursor(), EncodeCursor(Sds(), after_a));
  EXPECT_EQ(all_writer.written[0].change().cursor(), all_writer.written[0].cursor());
  StreamPositions after_b = after_a;
  after_b[1] = StreamId{102, 0};
  EXPECT_EQ(other_writer.written[0].cursor(), EncodeCursor(Sds(), after_b));
}

TEST_F(WatchHubTest, TheWatermarkMovesIdleStreamsAndShortensCursors) {
  FakeWriter writer;
  WatcherPtr all = Watch(writer);
  // The reader has read every stream up to millisecond 150: idle streams stand at its end.
  hub_->RaiseWatermarkForTest(0, 150);
  EXPECT_EQ(hub_->PositionsForTest(), StreamPositions(Sds().size(), StreamId::EndOf(150)));
  Publish(0, 151, Change("a", kGrid));
  writer.Drain(*all);
  ASSERT_THAT(writer.EventIds(), ::testing::ElementsAre("a"));
  EXPECT_EQ(writer.written[0].cursor(), "w2:150-18446744073709551615," + Sds()[0] + "=151-0");
  // A watch resumed from that cursor stands where the hub does: no history, nothing missed,
  // nothing repeated.
  FakeWriter resumed_writer;
  auto cursor = DecodeCursor(writer.written[0].cursor(), Sds());
  ASSERT_TRUE(cursor.ok());
  EXPECT_EQ(*cursor, hub_->PositionsForTest());
  WatcherPtr resumed = Watch(resumed_writer, {}, *cursor);
  Publish(1, 152, Change("b", kOtherGrid));
  resumed_writer.Drain(*resumed);
  EXPECT_THAT(resumed_writer.EventIds(), ::testing::ElementsAre("b"));
  // A watermark never goes back, and a stream ahead of it stays where it is.
  hub_->RaiseWatermarkForTest(0, 120);
  hub_->RaiseWatermarkForTest(0, 151);
  StreamPositions expected(Sds().size(), StreamId::EndOf(151));
  expected[1] = StreamId{152, 0};
  EXPECT_EQ(hub_->PositionsForTest(), expected);
}

TEST(WatchHubGroupsTest, TheWatermarkIsTheLeastOfTheGroups) {
  boost::asio::io_context io;
  ::testing::StrictMock<MockClient> first;
  ::testing::StrictMock<MockClient> second;
  ::testing::StrictMock<MockClient> commands;
  std::vector<std::string> streams;
  for (const std::string& sd : Sds()) {
    streams.push_back(store::LiveStream(sd));
  }
  std::vector<WatchHub::ReadGroup> groups = {{&first, {streams.begin(), streams.begin() + 2}},
                                             {&second, {streams.begin() + 2, streams.end()}}};
  auto hub = WatchHub::Create(io, std::move(groups), commands, ShippedTopology(), {});
  ASSERT_TRUE(hub.ok()) << hub.status();
  (*hub)->SetPositionsForTest(At(100));
  // One group has read up to 300, the other nothing yet: nobody knows more than before.
  (*hub)->RaiseWatermarkForTest(0, 300);
  EXPECT_EQ((*hub)->PositionsForTest(), At(100));
  (*hub)->RaiseWatermarkForTest(1, 200);
  EXPECT_EQ((*hub)->PositionsForTest(), StreamPositions(Sds().size(), StreamId::EndOf(200)));
  // A group with no streams is refused.
  std::vector<WatchHub::ReadGroup> empty = {{&first, streams}, {&second, {}}};
  EXPECT_FALSE(WatchHub::Create(io, std::move(empty), commands, ShippedTopology(), {}).ok());
}

TEST_F(WatchHubTest, ASlowWatcherIsCutOffWithAResumableCursorAndOthersGoOn) {
  FakeWriter fast_writer;
  FakeWriter slow_writer;
  WatcherPtr fast = Watch(fast_writer);
  WatcherPtr slow = Watch(slow_writer);
  // The slow one never completes its first write; capacity 4 queues four more behind it.
  for (int i = 0; i < 6; ++i) {
    Publish(0, 101 + i, Change("e" + std::to_string(i), kGrid));
    fast_writer.Drain(*fast);
  }
  EXPECT_EQ(fast_writer.EventIds().size(), 6u);
  EXPECT_FALSE(fast_writer.ended);
  // Cut off at the sixth change: the status waits for the write in flight.
  EXPECT_FALSE(slow_writer.ended);
  EXPECT_TRUE(slow->ended());
  EXPECT_EQ(hub_->watcher_count(), 1u);
  slow_writer.Complete(*slow);
  ASSERT_TRUE(slow_writer.ended);
  EXPECT_EQ(slow_writer.end_status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  // Resumable right after the one change it got.
  ASSERT_EQ(slow_writer.EventIds().size(), 1u);
  EXPECT_EQ(slow_writer.end_cursor, slow_writer.written[0].cursor());
  EXPECT_THAT(slow_writer.end_status.error_message(), HasSubstr(slow_writer.end_cursor));
  hub_->Detach(slow.get());
  EXPECT_EQ(metrics_.cutoffs.Value(), 1);
  EXPECT_EQ(metrics_.watchers.Value(), 1);
  EXPECT_EQ(metrics_.changes_read.Value(), 6);
}

TEST_F(WatchHubTest, HistoryComesBeforeLiveChangesWithNoGapAndNoDuplicate) {
  FakeWriter writer;
  auto watcher = std::make_shared<Watcher>(Filter({}), 8, Sds(), writer);
  bool asked = false;
  watcher->Begin(At(90), {}, /*history=*/true, [&asked] { asked = true; });
  EXPECT_TRUE(asked);
  // Live changes arrive while the history is read: they wait.
  StreamPositions live = At(100);
  live[0] = StreamId{101, 0};
  EXPECT_TRUE(watcher->Offer(MakeChangeItem(Change("live", kGrid), 0, {101, 0}, live, Sds())));
  EXPECT_FALSE(writer.in_flight);
  StreamPositions h1 = At(90);
  h1[0] = StreamId{95, 0};
  watcher->AddHistory({MakeChangeItem(Change("h1", kGrid), 0, {95, 0}, h1, Sds())}, false);
  writer.Complete(*watcher);  // h1 written; the next history page is asked for.
  StreamPositions h2 = At(100);
  watcher->AddHistory({MakeChangeItem(Change("h2", kGrid), 0, {100, 0}, h2, Sds())}, true);
  writer.Drain(*watcher);
  EXPECT_THAT(writer.EventIds(), ::testing::ElementsAre("h1", "h2", "live"));
}

TEST_F(WatchHubTest, AWatcherLetsGoOfItsHistoryReaderWhenTheHistoryIsDoneOrTheWatchEnds) {
  // The hub's history reader holds its watcher, and the watcher holds the reader's callback: the
  // watcher must drop the callback, or a watch that ends mid-history keeps both alive forever.
  for (const bool cancel_mid_history : {false, true}) {
    SCOPED_TRACE(cancel_mid_history ? "cancelled mid-history" : "history done");
    FakeWriter writer;
    auto watcher = std::make_shared<Watcher>(Filter({}), 8, Sds(), writer);
    auto reader = std::make_shared<int>(0);
    std::weak_ptr<int> reader_alive = reader;
    watcher->Begin(At(90), {}, /*history=*/true, [reader] { ++*reader; });
    EXPECT_EQ(*reader, 1);
    reader.reset();
    ASSERT_FALSE(reader_alive.expired());
    if (cancel_mid_history) {
      watcher->OnCancel();
      EXPECT_TRUE(writer.ended);
    } else {
      StreamPositions h1 = At(100);
      watcher->AddHistory({MakeChangeItem(Change("h1", kGrid), 0, {95, 0}, h1, Sds())}, true);
      writer.Drain(*watcher);
      EXPECT_THAT(writer.EventIds(), ::testing::ElementsAre("h1"));
    }
    EXPECT_TRUE(reader_alive.expired());
  }
}

TEST_F(WatchHubTest, ACursorAheadOfTheReaderSkipsWhatItHasSeen) {
  FakeWriter writer;
  StreamPositions ahead = At(100);
  ahead[0] = StreamId{102, 0};  // Another gateway had read further.
  WatcherPtr watcher = Watch(writer, {}, ahead);
  Publish(0, 101, Change("seen", kGrid));
  Publish(0, 103, Change("new", kGrid));
  writer.Drain(*watcher);
  EXPECT_THAT(writer.EventIds(), ::testing::ElementsAre("new"));
  auto cursor = DecodeCursor(writer.written[0].cursor(), Sds());
  ASSERT_TRUE(cursor.ok());
  EXPECT_EQ((*cursor)[0], (StreamId{103, 0}));
}

TEST_F(WatchHubTest, IdleWatchersGetHeartbeatsAtTheReadersPosition) {
  FakeWriter writer;
  v1::WatchEventsRequest other;
  other.set_unit_id("370212002");
  WatcherPtr watcher = Watch(writer, other);
  Publish(0, 101, Change("filtered-out", kGrid));
  hub_->HeartbeatForTest(std::chrono::steady_clock::now());
  EXPECT_TRUE(writer.written.empty()) << "not idle long enough";
  hub_->HeartbeatForTest(std::chrono::steady_clock::now() + std::chrono::seconds(16));
  ASSERT_EQ(writer.written.size(), 1u);
  EXPECT_TRUE(writer.written[0].has_heartbeat());
  StreamPositions expected = At(100);
  expected[0] = StreamId{101, 0};
  EXPECT_EQ(writer.written[0].cursor(), EncodeCursor(Sds(), expected));
}

// Issue 10: the fan-out offered a change only to watchers under the unit after it, so the
// community never got its grid's event once it left the community.
TEST_F(WatchHubTest, AChangeReachesTheWatchersOfItsGridAndOfItsUnitsBeforeAndAfter) {
  FakeWriter community_writer;
  FakeWriter department_writer;
  FakeWriter queue_writer;
  v1::WatchEventsRequest community;
  community.set_unit_id(kCommunity);
  WatcherPtr in_community = Watch(community_writer, community);
  v1::WatchEventsRequest department;
  department.set_unit_id("370212D01");
  WatcherPtr at_department = Watch(department_writer, department);
  v1::WatchEventsRequest zone;
  zone.set_unit_id("370212001Z01");
  auto zone_queue = std::make_shared<Watcher>(Filter(zone, /*queue_only=*/true),
                                              hub_->options().queue_capacity, Sds(), queue_writer);
  ASSERT_TRUE(hub_->Attach(zone_queue, std::nullopt).ok());

  Publish(0, 101, Move("up", kGrid, kCommunity, "370212001Z01", v1::LEVEL_ZONE));
  Publish(0, 102, Move("on", kGrid, "370212001Z01", kSd, v1::LEVEL_SUBDISTRICT));
  Publish(0, 103, Move("away", kGrid, kSd, "370212D01", v1::LEVEL_DISTRICT));
  Publish(1, 104, Move("theirs", kOtherGrid, "370212002", "370212D01", v1::LEVEL_DISTRICT));
  community_writer.Drain(*in_community);
  department_writer.Drain(*at_department);
  queue_writer.Drain(*zone_queue);
  EXPECT_THAT(community_writer.EventIds(), ::testing::ElementsAre("up", "on", "away"));
  EXPECT_THAT(department_writer.EventIds(), ::testing::ElementsAre("away", "theirs"));
  EXPECT_THAT(queue_writer.EventIds(), ::testing::ElementsAre("up", "on"));
}

// A fake of the live streams for the history reader: XINFO STREAM and XRANGE over entries held
// here, answered later (as Redis would), when the test polls the io_context.
class FakeStreams {
 public:
  explicit FakeStreams(boost::asio::io_context& io) : io_(io) {}

  void Add(std::size_t sd, std::uint64_t ms, const v1::EventChange& change) {
    streams_[store::LiveStream(Sds()[sd])].push_back({StreamId{ms, 0}, change.SerializeAsString()});
  }

  void Command(std::vector<std::string> argv, redis::ReplyCallback cb) {
    redis::Reply reply = Answer(argv);
    boost::asio::post(io_, [cb = std::move(cb), reply = std::move(reply)] { cb(reply); });
  }

  // Answers before the caller's Command() returns: the reply of a real client, which comes on
  // the client's own thread, winning the race with the caller's thread.
  void AnswerNow(const std::vector<std::string>& argv, const redis::ReplyCallback& cb) {
    cb(Answer(argv));
  }

 private:
  struct Entry {
    StreamId id;
    std::string payload;
  };

  static redis::Reply EntryReply(const Entry& entry) {
    return redis::Reply::Array(
        {redis::Reply::String(entry.id.ToString()),
         redis::Reply::Array({redis::Reply::String("c"), redis::Reply::String(entry.payload)})});
  }

  redis::Reply Answer(const std::vector<std::string>& argv) {
    const std::vector<Entry>& entries = streams_[argv.at(argv[0] == "XINFO" ? 2 : 1)];
    if (argv[0] == "XINFO") {
      const auto n = static_cast<long long>(entries.size());
      std::vector<redis::Reply> info = {redis::Reply::String("length"), redis::Reply::Integer(n),
                                        redis::Reply::String("entries-added"),
                                        redis::Reply::Integer(n)};
      if (!entries.empty()) {
        info.push_back(redis::Reply::String("first-entry"));
        info.push_back(EntryReply(entries.front()));
        info.push_back(redis::Reply::String("last-generated-id"));
        info.push_back(redis::Reply::String(entries.back().id.ToString()));
      }
      return redis::Reply::Array(std::move(info));
    }
    // XRANGE key (after end COUNT n
    EXPECT_EQ(argv[0], "XRANGE");
    const StreamId after = *StreamId::Parse(argv[2].substr(1));
    const StreamId end = *StreamId::Parse(argv[3]);
    const std::size_t count = std::stoul(argv[5]);
    std::vector<redis::Reply> out;
    for (const Entry& entry : entries) {
      if (after < entry.id && !(end < entry.id) && out.size() < count) {
        out.push_back(EntryReply(entry));
      }
    }
    return redis::Reply::Array(std::move(out));
  }

  boost::asio::io_context& io_;
  std::map<std::string, std::vector<Entry>> streams_;
};

// Issue 10: a resumed watch got every change of the history, whatever its jurisdiction and
// filters; only the live part was filtered.
TEST_F(WatchHubTest, HistoryPassesTheSameFilterAndHeartbeatsMoveTheCursorPastWhatItLeavesOut) {
  WatchHubOptions options;
  options.history_page = 4;
  hub_ = WatchHub::Create(io_, reader_, commands_, ShippedTopology(), options, &metrics_);
  FakeStreams streams(io_);
  EXPECT_CALL(commands_, Command(::testing::_, ::testing::_))
      .WillRepeatedly([&streams](std::vector<std::string> argv, redis::ReplyCallback cb) {
        streams.Command(std::move(argv), std::move(cb));
      });
  // Stream 0 (中韩): the entry the cursor names, then one of the community's changes, eight of
  // another community's, and one more of the community's.
  const std::string other_grid = "37021200100201";
  streams.Add(0, 100, Change("before", kGrid));
  streams.Add(0, 101, Change("mine-1", kGrid));
  for (int i = 0; i < 8; ++i) {
    streams.Add(0, 102 + i, Change("theirs-" + std::to_string(i), other_grid));
  }
  streams.Add(0, 110, Move("mine-2", kGrid, kCommunity, kSd, v1::LEVEL_SUBDISTRICT));
  StreamPositions reader = At(100);
  reader[0] = StreamId{110, 0};
  hub_->SetPositionsForTest(reader);

  FakeWriter writer;
  v1::WatchEventsRequest community;
  community.set_unit_id(kCommunity);
  auto watcher = std::make_shared<Watcher>(Filter(community), 64, Sds(), writer);
  ASSERT_TRUE(hub_->Attach(watcher, At(100)).ok());
  Publish(0, 111, Change("theirs-live", other_grid));
  Publish(0, 112, Change("mine-live", kGrid));
  // Complete writes and answer reads until neither is left.
  for (int round = 0; round < 100; ++round) {
    if (writer.in_flight) {
      writer.Complete(*watcher);
      continue;
    }
    io_.restart();
    if (io_.poll() == 0) {
      break;
    }
  }
  ASSERT_FALSE(writer.ended) << writer.end_status.error_message();
  EXPECT_THAT(writer.EventIds(), ::testing::ElementsAre("mine-1", "mine-2", "mine-live"));

  // Between mine-1 and mine-2, heartbeats whose cursors advance over the filtered-out entries, a
  // page at a time, so that resuming from them does not read those entries again.
  std::vector<std::uint64_t> heartbeats;
  std::uint64_t last = 0;
  for (const v1::WatchEventsResponse& message : writer.written) {
    auto cursor = DecodeCursor(message.cursor(), Sds());
    ASSERT_TRUE(cursor.ok()) << cursor.status();
    EXPECT_GE((*cursor)[0].ms, last) << "cursors never go back";
    last = (*cursor)[0].ms;
    if (message.has_heartbeat()) {
      heartbeats.push_back(last);
    }
  }
  EXPECT_THAT(heartbeats, ::testing::ElementsAre(104, 108));
  EXPECT_EQ(last, 112u);
}

// Issue 9: a browser resuming far back saw a page of changes twice. The history reader asked for
// one stream's next page and, before its loop went on to the other streams, the reply had come
// (on the Redis client's thread), the few entries left of another stream had been written, and
// the watcher had asked for more: that stream's page was read by the new request and again by
// the old loop, which looked at the streams anew and found that one empty.
TEST_F(WatchHubTest, AHistoryPageAnsweredBeforeItsReadLoopEndsIsReadOnce) {
  WatchHubOptions options;
  options.history_page = 2;
  hub_ = WatchHub::Create(io_, reader_, commands_, ShippedTopology(), options, &metrics_);
  FakeStreams streams(io_);
  FakeWriter writer;
  WatcherPtr watcher;
  std::map<std::string, int> pages;  // XRANGE asked, by stream and start.
  int pages_of_first = 0;
  EXPECT_CALL(commands_, Command(::testing::_, ::testing::_))
      .WillRepeatedly([&](std::vector<std::string> argv, redis::ReplyCallback cb) {
        if (argv[0] != "XRANGE") {
          streams.Command(std::move(argv), std::move(cb));
          return;
        }
        ++pages[argv[1] + " " + argv[2]];
        if (argv[1] == store::LiveStream(Sds()[0]) && ++pages_of_first == 2) {
          // Stream 0's second page: its reply and the writes of what it lets through, all
          // before the reader's loop looks at stream 1.
          streams.AnswerNow(argv, cb);
          writer.Drain(*watcher);
          return;
        }
        streams.Command(std::move(argv), std::move(cb));
      });
  // After the entries the cursor names (100): stream 0 101 103 105 107, stream 1 102 104 106
  // 108 110, read in pages of two.
  streams.Add(0, 100, Change("before-0", kGrid));
  streams.Add(1, 100, Change("before-1", kOtherGrid));
  std::vector<std::string> expected;
  for (std::uint64_t ms = 101; ms <= 110; ++ms) {
    if (ms == 109) {
      continue;
    }
    const std::size_t sd = ms % 2 == 1 ? 0 : 1;
    streams.Add(sd, ms, Change("e" + std::to_string(ms), sd == 0 ? kGrid : kOtherGrid));
    expected.push_back("e" + std::to_string(ms));
  }
  StreamPositions reader = At(100);
  reader[0] = StreamId{107, 0};
  reader[1] = StreamId{110, 0};
  hub_->SetPositionsForTest(reader);

  watcher = std::make_shared<Watcher>(Filter({}), 64, Sds(), writer);
  ASSERT_TRUE(hub_->Attach(watcher, At(100)).ok());
  for (int round = 0; round < 100; ++round) {
    if (writer.in_flight) {
      writer.Complete(*watcher);
      continue;
    }
    io_.restart();
    if (io_.poll() == 0) {
      break;
    }
  }
  ASSERT_FALSE(writer.ended) << writer.end_status.error_message();
  EXPECT_EQ(pages_of_first, 2);
  EXPECT_EQ(writer.EventIds(), expected);
  for (const auto& [page, asked] : pages) {
    EXPECT_EQ(asked, 1) << "XRANGE " << page;
  }
}

TEST_F(WatchHubTest, ACancelledWatcherIsFinishedAndDropped) {
  FakeWriter writer;
  WatcherPtr watcher = Watch(writer);
  watcher->OnCancel();
  ASSERT_TRUE(writer.ended);
  EXPECT_EQ(writer.end_status.error_code(), grpc::StatusCode::CANCELLED);
  Publish(0, 101, Change("a", kGrid));
  EXPECT_EQ(hub_->watcher_count(), 0u);
}

TEST_F(WatchHubTest, AWatchEndsUnauthenticatedWhenItsTokenExpires) {
  constexpr Millis kExpiry = 1'800'000'000'000;
  FakeWriter writer;
  FakeWriter other_writer;
  auto watcher =
      std::make_shared<Watcher>(Filter({}), hub_->options().queue_capacity, Sds(), writer);
  watcher->SetExpiry(kExpiry);
  ASSERT_TRUE(hub_->Attach(watcher, std::nullopt).ok());
  WatcherPtr other = Watch(other_writer);  // No expiry: a token of no end (or no auth).
  Publish(0, 101, Change("a", kGrid));
  writer.Drain(*watcher);
  other_writer.Drain(*other);

  hub_->HeartbeatForTest(std::chrono::steady_clock::now(), kExpiry - 1);
  EXPECT_FALSE(writer.ended);
  hub_->HeartbeatForTest(std::chrono::steady_clock::now(), kExpiry);
  ASSERT_TRUE(writer.ended);
  EXPECT_EQ(writer.end_status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(writer.end_status.error_message(), HasSubstr("expired during the watch"));
  // Resumable with a fresh token right after what it got.
  EXPECT_EQ(writer.end_cursor, writer.written.back().cursor());
  EXPECT_EQ(hub_->watcher_count(), 1u);
  EXPECT_FALSE(other_writer.ended);
  hub_->Detach(watcher.get());
}

TEST(WatchQuotaTest, CapsWatchesPerSubjectAndGivesSlotsBack) {
  WatchQuota quota(2);
  auto first = quota.Acquire("op1");
  auto second = quota.Acquire("op1");
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  auto third = quota.Acquire("op1");
  EXPECT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(third.status().message(), HasSubstr("\"op1\" already has 2 watches open"));
  EXPECT_TRUE(quota.Acquire("op2").ok()) << "another subject has slots of its own";
  {
    WatchQuota::Lease moved = *std::move(first);
    EXPECT_EQ(quota.open("op1"), 2u);
  }
  EXPECT_EQ(quota.open("op1"), 1u);
  EXPECT_TRUE(quota.Acquire("op1").ok());
  // Leases given back leave nothing behind: memory is bounded by the open watches.
  { WatchQuota::Lease last = *std::move(second); }
  EXPECT_EQ(quota.open("op1"), 0u);
  EXPECT_EQ(quota.open("op2"), 0u);
}

TEST(WatchQuotaTest, ZeroMeansNoCap) {
  WatchQuota quota(0);
  std::vector<WatchQuota::Lease> leases;
  for (int i = 0; i < 100; ++i) {
    auto lease = quota.Acquire("loadgen");
    ASSERT_TRUE(lease.ok());
    leases.push_back(*std::move(lease));
  }
  EXPECT_EQ(quota.open("loadgen"), 100u);
}

}  // namespace
}  // namespace grid::gateway

namespace grid::gateway {
namespace {

// What a live-stream entry that is not a change looks like to the hub: skipped, never fanned out
// (an empty payload would otherwise parse as an empty change and reach every district watcher).
TEST(ParseLiveChangeTest, OnlyAChangeOfAnEventIsOne) {
  v1::EventChange change;
  change.set_event_id("370212001-01HX");
  change.set_grid_id("37021200100101");
  const auto parsed = ParseLiveChange(change.SerializeAsString());
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->event_id(), "370212001-01HX");
  EXPECT_FALSE(ParseLiveChange("").has_value()) << "no field c";
  EXPECT_FALSE(ParseLiveChange("\xff\xff\xff\xff").has_value()) << "not a protobuf";
  v1::EventChange nobody;
  nobody.set_note("a change of no event");
  EXPECT_FALSE(ParseLiveChange(nobody.SerializeAsString()).has_value());
}

}  // namespace
}  // namespace grid::gateway
