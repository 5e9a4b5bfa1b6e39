// Poison entries on real processes: a routing entry naming an event whose record is corrupt, an
// entry of garbage fields, live-stream entries that are not changes. None of them may stop the
// entries behind it, in its own subdistrict or another: each lands in its subdistrict's dead
// letters (counted in grid_dead_letters_total), an admin lists and replays them through the
// gateway (and gridctl), and the gateway's watchers never see them.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <mutex>
#include <sstream>
#include <thread>

#include "common/clock/clock.h"
#include "common/redis/client.h"
#include "common/store/event_id.h"
#include "common/store/keys.h"
#include "tests/support/paths.h"
#include "tests/support/poll.h"
#include "tests/support/stack.h"
#include "tests/support/stack_test.h"
#include "tools/gridctl/cli.h"

namespace grid {
namespace {

using ::testing::HasSubstr;
using testing::PollUntil;
using testing::Stack;

constexpr char kSd[] = "370212001";
constexpr char kOtherSd[] = "370212002";
constexpr char kGrid[] = "37021200100101";
constexpr char kOtherGrid[] = "37021200200101";
constexpr auto kDeadline = std::chrono::seconds(20);

class DeadLettersTest : public testing::StackTest {
 protected:
  void SetUp() override { StartStack(); }

  redis::Reply Redis(std::vector<std::string> argv) {
    auto reply =
        redis::CommandSync(stack_->redis_client(), std::move(argv), std::chrono::seconds(2));
    EXPECT_TRUE(reply.ok()) << reply.status();
    return reply.ok() ? *reply : redis::Reply::Nil();
  }

  std::string Report(const std::string& grid) {
    v1::ReportEventRequest request;
    v1::Report& report = *request.mutable_report();
    report.set_grid_id(grid);
    report.set_category("0408");
    report.set_severity(v1::SEVERITY_NORMAL);
    report.set_description("夜间施工噪音");
    v1::ReportEventResponse response;
    const grpc::Status status = gateway().ReportEvent(Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.event_id();
  }

  // Reports in `grid` and expects it dispatched within a second of its filing (both times
  // stamped by the services, so a slow test machine does not count against it).
  void ExpectDispatchedWithinASecond(const std::string& grid) {
    const std::string id = Report(grid);
    const v1::Event event = AwaitWhere(
        id, [](const v1::Event& e) { return e.state() == v1::EVENT_STATE_DISPATCHED; }, kDeadline);
    EXPECT_LE(FromTimestamp(event.dispatched_at()) - FromTimestamp(event.created_at()), 1000)
        << id << " in grid " << grid;
  }

  v1::ListDeadLettersResponse List(const std::string& unit = "") {
    v1::ListDeadLettersRequest request;
    request.set_unit_id(unit);
    v1::ListDeadLettersResponse response;
    const grpc::Status status = gateway().ListDeadLetters(Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  // The dead letters of `group` once there are `count` of them.
  std::vector<v1::DeadLetter> AwaitDeadLetters(const std::string& group, int count) {
    std::vector<v1::DeadLetter> letters;
    PollUntil(
        [&] {
          letters.clear();
          const v1::ListDeadLettersResponse listed = List();
          for (const v1::DeadLetter& letter : listed.dead_letters()) {
            if (letter.group() == group) {
              letters.push_back(letter);
            }
          }
          return static_cast<int>(letters.size()) >= count;
        },
        kDeadline, std::chrono::milliseconds(100));
    EXPECT_EQ(static_cast<int>(letters.size()), count);
    return letters;
  }

  double DeadLetterCount(const std::string& service, const std::string& group,
                         const std::string& reason_class) {
    return testing::MetricSample(testing::HttpGet(stack_->metrics_port(service), "/metrics"),
                                 "grid_dead_letters_total",
                                 {{"group", group}, {"reason_class", reason_class}});
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
};

// The incident of issue 11: an event record whose `pb` is not an Event, state REPORTED, and a
// routing entry naming it. Dispatch stopped for the whole district; now it does not.
TEST_F(DeadLettersTest, ACorruptEventRecordDoesNotStopDispatch) {
  const std::string poison = store::NewEventId(kSd, SystemClock().Now());
  Redis({"HSET", store::EventKey(kSd, poison), "pb", "\x0a\xff garbage", "state", "1", "version",
         "1"});
  Redis({"XADD", store::RoutingStream(kSd), "*", "id", poison});
  ExpectDispatchedWithinASecond(kGrid);
  ExpectDispatchedWithinASecond(kOtherGrid);

  const auto letters = AwaitDeadLetters("routing", 1);
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].subdistrict_id(), kSd);
  EXPECT_EQ(letters[0].stream(), store::RoutingStream(kSd));
  EXPECT_EQ(letters[0].reason_class(), "permanent");
  EXPECT_THAT(letters[0].reason(), HasSubstr("corrupt"));
  ASSERT_EQ(letters[0].fields_size(), 1);
  EXPECT_EQ(letters[0].fields(0).value(), poison);
  EXPECT_EQ(Redis({"XPENDING", store::RoutingStream(kSd), "routing"}).elements[0].integer, 0)
      << "acknowledged: nothing left to retry";
  EXPECT_TRUE(PollUntil(
      [&] { return DeadLetterCount("grid-routing", "routing", "permanent") == 1; }, kDeadline));

  // Mended (here: a valid REPORTED record written in its place) and replayed, it is dispatched.
  const v1::Event model = Get(Report(kGrid));
  v1::Event mended = model;
  mended.set_id(poison);
  mended.set_state(v1::EVENT_STATE_REPORTED);
  mended.set_version(1);
  mended.clear_unit_id();
  mended.clear_level();
  mended.clear_dispatched_at();
  Redis({"HSET", store::EventKey(kSd, poison), "pb", mended.SerializeAsString()});
  std::string out;
  std::string err;
  ASSERT_EQ(Gridctl({"deadletters", "replay", "--unit", kSd, letters[0].id()}, out, err), 0) << err;
  EXPECT_THAT(out, HasSubstr("replayed " + letters[0].id()));
  AwaitWhere(
      poison, [](const v1::Event& e) { return e.state() == v1::EVENT_STATE_DISPATCHED; },
      kDeadline);
  EXPECT_EQ(List().total(), 0) << "a replayed dead letter is gone";
}

TEST_F(DeadLettersTest, AnEntryOfGarbageFieldsGoesToTheDeadLetters) {
  Redis({"XADD", store::RoutingStream(kOtherSd), "*", "\xfe\xff", "\x01\x02", "junk", "yes"});
  ExpectDispatchedWithinASecond(kOtherGrid);
  ExpectDispatchedWithinASecond(kGrid);
  const auto letters = AwaitDeadLetters("routing", 1);
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].subdistrict_id(), kOtherSd);
  EXPECT_THAT(letters[0].reason(), HasSubstr("no field \"id\""));
  ASSERT_EQ(letters[0].fields_size(), 2);
  EXPECT_EQ(letters[0].fields(1).name(), "junk");

  // gridctl lists it; a replay that cannot help puts it back in the dead letters.
  std::string out;
  std::string err;
  ASSERT_EQ(Gridctl({"deadletters", "list"}, out, err), 0) << err;
  EXPECT_THAT(out, HasSubstr(letters[0].id()));
  EXPECT_THAT(out, HasSubstr("total: 1"));
  ASSERT_EQ(Gridctl({"deadletters", "replay", "--all"}, out, err), 0) << err;
  EXPECT_THAT(out, HasSubstr("1 replayed"));
  const auto again = AwaitDeadLetters("routing", 1);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_NE(again[0].id(), letters[0].id());
  EXPECT_EQ(again[0].fields_size(), 2);
}

TEST_F(DeadLettersTest, OnlyAnAdminSeesDeadLetters) {
  v1::Actor op = MakeActor(v1::ROLE_OPERATOR, "operator-1", kSd);
  v1::ListDeadLettersRequest request;
  request.set_unit_id(kSd);
  v1::ListDeadLettersResponse response;
  EXPECT_EQ(gateway().ListDeadLetters(Context(op).get(), request, &response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  request.set_unit_id("37021200100101");
  EXPECT_EQ(gateway().ListDeadLetters(Context().get(), request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT)
      << "a grid is not a subdistrict";
  v1::ReplayDeadLettersRequest replay;
  replay.set_unit_id(kSd);
  replay.add_ids("1-0");
  v1::ReplayDeadLettersResponse replayed;
  const grpc::Status missing = gateway().ReplayDeadLetters(Context().get(), replay, &replayed);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(missing.error_message(), HasSubstr("1-0"));
}

// The metrics consumer: live-stream entries that are not changes go to the dead letters of the
// metrics group; the changes behind them are counted.
TEST_F(DeadLettersTest, TheMetricsConsumerDeadLettersWhatIsNotAChange) {
  Redis({"XADD", store::LiveStream(kSd), "*", "c", "\xff\xff\xff not a change"});
  Redis({"XADD", store::LiveStream(kOtherSd), "*", "x", "y"});
  Report(kGrid);
  Report(kOtherGrid);
  EXPECT_TRUE(PollUntil(
      [&] {
        v1::GetStatsResponse stats;
        const grpc::Status status =
            gateway().GetStats(Context().get(), v1::GetStatsRequest(), &stats);
        return status.ok() && stats.rows_size() == 1 && stats.rows(0).reported() == 2;
      },
      kDeadline, std::chrono::milliseconds(100)));
  const auto letters = AwaitDeadLetters("metrics", 2);
  ASSERT_EQ(letters.size(), 2u);
  EXPECT_EQ(letters[0].stream(), store::LiveStream(kSd));
  EXPECT_THAT(letters[0].reason(), HasSubstr("not an EventChange"));
  EXPECT_EQ(letters[1].stream(), store::LiveStream(kOtherSd));
  EXPECT_THAT(letters[1].reason(), HasSubstr("no field \"c\""));
  EXPECT_TRUE(PollUntil(
      [&] { return DeadLetterCount("grid-metrics", "metrics", "permanent") == 2; }, kDeadline));
}

// The gateway's one reader of the live streams skips what is not a change and goes on: watchers
// get the changes behind it, and nothing empty.
TEST_F(DeadLettersTest, TheWatchHubSkipsWhatIsNotAChange) {
  grpc::ClientContext context;
  stack_->Authorize(context, Stack::Admin());
  context.set_deadline(std::chrono::system_clock::now() + kDeadline);
  auto reader = gateway().WatchEvents(&context, v1::WatchEventsRequest());
  std::mutex mu;
  std::vector<v1::EventChange> changes;
  std::thread reading([&] {
    v1::WatchEventsResponse message;
    while (reader->Read(&message)) {
      if (message.has_change()) {
        std::lock_guard lock(mu);
        changes.push_back(message.change());
      }
    }
  });
  // Attached once a change reported after this point can reach it: poll with reports.
  std::string id;
  ASSERT_TRUE(PollUntil(
      [&] {
        id = Report(kGrid);
        return PollUntil(
            [&] {
              std::lock_guard lock(mu);
              for (const auto& change : changes) {
                if (change.event_id() == id) {
                  return true;
                }
              }
              return false;
            },
            std::chrono::seconds(2));
      },
      kDeadline));
  Redis({"XADD", store::LiveStream(kSd), "*", "x", "y"});
  Redis({"XADD", store::LiveStream(kSd), "*", "c", "\xff\xff\xff"});
  const std::string after = Report(kGrid);
  EXPECT_TRUE(PollUntil(
      [&] {
        std::lock_guard lock(mu);
        int seen = 0;
        for (const auto& change : changes) {
          seen += change.event_id() == after ? 1 : 0;
        }
        return seen == 2;  // REPORTED and DISPATCHED
      },
      kDeadline));
  context.TryCancel();
  reading.join();
  std::lock_guard lock(mu);
  for (const auto& change : changes) {
    EXPECT_FALSE(change.event_id().empty()) << change.ShortDebugString();
  }
  EXPECT_GE(
      testing::MetricSample(testing::HttpGet(stack_->metrics_port("grid-gateway"), "/metrics"),
                            "grid_watch_entries_skipped_total"),
      2);
}

}  // namespace
}  // namespace grid
