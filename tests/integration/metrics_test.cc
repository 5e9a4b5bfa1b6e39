// The metrics service on real processes with the quick policy (accept limits 1 s, resolve 3 s):
// a known scenario goes through the stack, and GetStats, each service's /metrics page, promtool
// and a real Prometheus server must all tell the same figures.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/clock/clock.h"
#include "common/redis/client.h"
#include "common/store/keys.h"
#include "tests/support/metrics_scenario.h"
#include "tests/support/paths.h"
#include "tests/support/poll.h"
#include "tests/support/ports.h"
#include "tests/support/process.h"
#include "tests/support/stack.h"
#include "tests/support/stack_test.h"

namespace grid {
namespace {

using testing::MetricSample;
using testing::PollUntil;
using testing::Stack;

constexpr std::chrono::seconds kDeadline{20};
constexpr char kGrid[] = "37021200100101";
constexpr char kCommunity[] = "370212001001";
constexpr char kSubdistrict[] = "370212001";
constexpr char kWorker[] = "W3702120010010101";

std::string HttpGet(int port, const std::string& target) {
  try {
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket socket(io);
    socket.connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
    const std::string request = "GET " + target + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    boost::asio::write(socket, boost::asio::buffer(request));
    std::string response;
    boost::system::error_code error;
    boost::asio::read(socket, boost::asio::dynamic_buffer(response), error);
    const size_t body = response.find("\r\n\r\n");
    return body == std::string::npos ? std::string() : response.substr(body + 4);
  } catch (const std::exception& e) {
    return std::string();
  }
}

// The path of `name` on PATH, or empty.
std::string FindBinary(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::filesystem::path candidate = std::filesystem::path(dir) / name;
    if (!dir.empty() && access(candidate.c_str(), X_OK) == 0) {
      return candidate.string();
    }
  }
  return "";
}

// Runs a shell command; its exit code, and its output in `output`.
int RunCommand(const std::string& command, std::string& output) {
  output.clear();
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) {
    return -1;
  }
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
    output.append(buffer, n);
  }
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Skips the test when `binary` is missing, saying so in the test output.
#define REQUIRE_BINARY(var, binary)                                       \
  const std::string var = FindBinary(binary);                             \
  if (var.empty()) {                                                      \
    std::cout << "SKIPPED: " binary                                       \
                 " is not installed (deploy/local/install-deps installs " \
                 "the Debian package prometheus)\n";                      \
    GTEST_SKIP() << binary " is not installed";                           \
  }

class MetricsTest : public testing::StackTest {
 protected:
  void SetUp() override {
    Stack::Options options;
    options.policy = "tests/integration/testdata/policy-quick.json";
    options.extra_args["grid-metrics"] = {"--gauge-interval-ms", "200", "--reclaim-idle-ms", "500"};
    StartStack(options);
  }

  static v1::Actor Actor(v1::Role role, const std::string& subject, const std::string& unit) {
    return MakeActor(role, subject, unit);
  }
  // The gridctl command line that reaches the stack's gateway.
  std::string Gridctl() const {
    return absl::StrJoin({testing::BinPath("gridctl"), absl::StrJoin(stack_->GridctlArgs(), " ")},
                         " ");
  }
  static v1::Actor Handler(const std::string& unit) {
    return Actor(v1::ROLE_HANDLER, "handler-" + unit, unit);
  }
  static v1::Actor Worker() { return Actor(v1::ROLE_WORKER, kWorker, kGrid); }

  // A noise report (0408, category class 04, normal): routed to the grid, unlocated so that
  // reports never merge.
  std::string Report() {
    v1::ReportEventRequest request;
    v1::Report& report = *request.mutable_report();
    report.set_grid_id(kGrid);
    report.set_category("0408");
    report.set_severity(v1::SEVERITY_NORMAL);
    report.set_description("夜间施工噪音");
    *request.mutable_actor() = Actor(v1::ROLE_OPERATOR, "operator-1", kSubdistrict);
    v1::ReportEventResponse response;
    const grpc::Status status =
        gateway().ReportEvent(Context(request.actor()).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.event_id();
  }

  void AcceptResolve(const std::string& id, const std::string& unit) {
    v1::AcceptEventRequest accept;
    accept.set_event_id(id);
    *accept.mutable_actor() = Handler(unit);
    v1::AcceptEventResponse accepted;
    const grpc::Status status =
        gateway().AcceptEvent(Context(accept.actor()).get(), accept, &accepted);
    ASSERT_TRUE(status.ok()) << status.error_message();
    v1::ResolveEventRequest resolve;
    resolve.set_event_id(id);
    *resolve.mutable_actor() = Handler(unit);
    resolve.set_note("已处理");
    resolve.add_media("oss://evidence/after.jpg");
    v1::ResolveEventResponse resolved;
    const grpc::Status done =
        gateway().ResolveEvent(Context(resolve.actor()).get(), resolve, &resolved);
    ASSERT_TRUE(done.ok()) << done.error_message();
  }

  void Verify(const std::string& id, bool passed) {
    v1::VerifyEventRequest request;
    request.set_event_id(id);
    *request.mutable_actor() = Worker();
    request.set_passed(passed);
    request.set_note(passed ? "现场核实" : "仍有噪音");
    v1::VerifyEventResponse response;
    const grpc::Status status =
        gateway().VerifyEvent(Context(request.actor()).get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  static bool Dispatched(const v1::Event& e) { return e.state() == v1::EVENT_STATE_DISPATCHED; }

  // The scenario: one event handled on time, one reworked once and then closed on time, one
  // that waited past its grid's accept limit, escalated to the community and was closed there.
  void RunScenario() {
    const std::string on_time = Report();
    const std::string reworked = Report();
    const std::string late = Report();
    AwaitWhere(on_time, Dispatched);
    ASSERT_NO_FATAL_FAILURE(AcceptResolve(on_time, kGrid));
    ASSERT_NO_FATAL_FAILURE(Verify(on_time, true));

    AwaitWhere(reworked, Dispatched);
    ASSERT_NO_FATAL_FAILURE(AcceptResolve(reworked, kGrid));
    ASSERT_NO_FATAL_FAILURE(Verify(reworked, false));
    AwaitWhere(reworked, Dispatched);
    ASSERT_NO_FATAL_FAILURE(AcceptResolve(reworked, kGrid));
    ASSERT_NO_FATAL_FAILURE(Verify(reworked, true));

    AwaitWhere(late, [](const v1::Event& e) { return e.level() == v1::LEVEL_COMMUNITY; });
    ASSERT_NO_FATAL_FAILURE(AcceptResolve(late, kCommunity));
    ASSERT_NO_FATAL_FAILURE(Verify(late, true));
  }

  absl::StatusOr<v1::GetStatsResponse> Stats(v1::GetStatsRequest request) {
    v1::GetStatsResponse response;
    const grpc::Status status = gateway().GetStats(Context().get(), request, &response);
    if (!status.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                          status.error_message());
    }
    return response;
  }

  // The district's one row once the scenario is all counted.
  v1::StatsRow AwaitTotals(int closed) {
    v1::StatsRow row;
    PollUntil(
        [&] {
          auto stats = Stats(v1::GetStatsRequest());
          if (!stats.ok() || stats->rows_size() != 1) {
            return false;
          }
          row = stats->rows(0);
          return row.closed() == closed && row.open() == 0;
        },
        kDeadline);
    return row;
  }

  std::string MetricsPage(const std::string& service) {
    return HttpGet(stack_->metrics_port(service), "/metrics");
  }

  redis::Reply Redis(std::vector<std::string> argv) {
    auto reply =
        redis::CommandSync(stack_->redis_client(), std::move(argv), std::chrono::seconds(5));
    EXPECT_TRUE(reply.ok()) << reply.status();
    return reply.ok() ? *reply : redis::Reply::Nil();
  }

  // The metrics service's own figures that come from counting changes (counters, histograms,
  // today's counts), sorted; not the open-backlog gauges, which are a snapshot of the records.
  // A histogram's _sum adds floating-point samples in the order they came, so its last digits
  // depend on that order: compared to nine significant digits.
  static std::string RoundedSum(const std::string& line) {
    const std::size_t space = line.rfind(' ');
    const std::string name = line.substr(0, line.find_first_of("{ "));
    if (space == std::string::npos || !name.ends_with("_sum")) {
      return line;
    }
    return line.substr(0, space + 1) +
           absl::StrFormat("%.9g", std::strtod(line.c_str() + space + 1, nullptr));
  }

  static std::string CountedFigures(const std::string& page) {
    std::vector<std::string> lines;
    std::istringstream in(page);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("grid_event", 0) == 0 && line.rfind("grid_events_open", 0) != 0 &&
          line.rfind("grid_events_overdue", 0) != 0) {
        lines.push_back(RoundedSum(line));
      }
    }
    std::sort(lines.begin(), lines.end());
    std::string out;
    for (const std::string& line : lines) {
      out.append(line).append("\n");
    }
    return out;
  }

  // The answers whose figures must not depend on the order of delivery.
  std::vector<std::string> StatsAnswers() {
    std::vector<v1::GetStatsRequest> requests(4);
    requests[1].add_group_by(v1::STATS_DIMENSION_LEVEL);
    requests[1].add_group_by(v1::STATS_DIMENSION_SEVERITY);
    requests[2].set_unit_id(kSubdistrict);
    requests[2].add_group_by(v1::STATS_DIMENSION_UNIT);
    requests[3].set_last_days(2);
    requests[3].add_group_by(v1::STATS_DIMENSION_CATEGORY_CLASS);
    std::vector<std::string> answers;
    for (const v1::GetStatsRequest& request : requests) {
      auto stats = Stats(request);
      answers.push_back(stats.ok() ? stats->ShortDebugString() : stats.status().ToString());
    }
    return answers;
  }

  // The ids of every event the stack filed in the subdistrict.
  std::vector<std::string> EventIds() {
    std::vector<std::string> ids;
    for (const redis::Reply& id :
         Redis({"ZRANGE", std::string("{") + kSubdistrict + "}:events", "0", "-1"}).elements) {
      ids.push_back(id.str);
    }
    return ids;
  }
};

TEST_F(MetricsTest, GetStatsScoresAKnownScenario) {
  ASSERT_NO_FATAL_FAILURE(RunScenario());
  const v1::StatsRow row = AwaitTotals(3);
  EXPECT_EQ(row.reported(), 3);
  EXPECT_EQ(row.duplicates(), 0);
  EXPECT_EQ(row.closed(), 3);
  EXPECT_EQ(row.closed_on_time(), 2) << "the escalated one breached its grid's accept limit";
  EXPECT_EQ(row.due(), 3);
  EXPECT_EQ(row.deferred(), 0);
  EXPECT_EQ(row.reworked(), 1);
  EXPECT_EQ(row.returned(), 0);
  EXPECT_EQ(row.escalated(), 1);
  EXPECT_EQ(row.redispatched(), 0) << "neither escalation nor rework is a re-dispatch";
  EXPECT_EQ(row.open(), 0);
  EXPECT_EQ(row.overdue(), 0);
  EXPECT_DOUBLE_EQ(row.on_time_closure_rate(), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(row.closure_rate(), 1.0);
  EXPECT_DOUBLE_EQ(row.rework_rate(), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(row.first_dispatch_accuracy(), 1.0);

  // By level: counts go to the unit that had the event at the step.
  v1::GetStatsRequest by_level;
  by_level.set_unit_id(kSubdistrict);
  by_level.add_group_by(v1::STATS_DIMENSION_LEVEL);
  auto levels = Stats(by_level);
  ASSERT_TRUE(levels.ok()) << levels.status();
  std::map<std::string, v1::StatsRow> rows;
  for (const v1::StatsRow& r : levels->rows()) {
    rows[r.group().at("level")] = r;
  }
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows["grid"].reported(), 3);
  EXPECT_EQ(rows["grid"].closed(), 2);
  EXPECT_EQ(rows["grid"].closed_on_time(), 2);
  EXPECT_EQ(rows["grid"].escalated(), 1);
  EXPECT_EQ(rows["grid"].due(), 3) << "the late one fell due at the grid, when it breached";
  EXPECT_EQ(rows["community"].closed(), 1);
  EXPECT_EQ(rows["community"].closed_on_time(), 0);
  EXPECT_EQ(rows["community"].rework_rate(), 0);

  // Another subdistrict's subtree has none of it.
  v1::GetStatsRequest elsewhere;
  elsewhere.set_unit_id("370212002");
  auto other = Stats(elsewhere);
  ASSERT_TRUE(other.ok()) << other.status();
  ASSERT_EQ(other->rows_size(), 1);
  EXPECT_EQ(other->rows(0).reported(), 0);
  EXPECT_EQ(other->rows(0).on_time_closure_rate(), 0) << "zero denominator";

  // A window that starts a day from now holds nothing; today (and yesterday, should the test
  // have crossed midnight in Beijing) holds it all, and the answer says which days it counted.
  v1::GetStatsRequest tomorrow;
  *tomorrow.mutable_from() = ToTimestamp(SystemClock().Now() + 86'400'000);
  auto later = Stats(tomorrow);
  ASSERT_TRUE(later.ok()) << later.status();
  EXPECT_EQ(later->rows(0).reported(), 0);
  v1::GetStatsRequest recent;
  recent.set_last_days(2);
  auto today = Stats(recent);
  ASSERT_TRUE(today.ok()) << today.status();
  EXPECT_EQ(today->rows(0).reported(), 3);
  EXPECT_EQ(today->last_day(), today->today());
  EXPECT_EQ(today->utc_offset_minutes(), 480) << "the shipped calendar is Beijing time";

  v1::GetStatsRequest unknown;
  unknown.set_unit_id("nope");
  EXPECT_EQ(Stats(unknown).status().code(), absl::StatusCode::kInvalidArgument);

  // gridctl stats prints the same as a table.
  std::string table;
  ASSERT_EQ(RunCommand("GRID_TOKEN=" + stack_->Token(Stack::Admin()) + " " + Gridctl() +
                           " stats --unit " + kSubdistrict + " --group-by level",
                       table),
            0)
      << table;
  EXPECT_THAT(table, ::testing::HasSubstr("on_time%"));
  EXPECT_THAT(table, ::testing::HasSubstr("(UTC+08:00), today "));
  EXPECT_THAT(table, ::testing::ContainsRegex("grid +3 +0 +2 +2 +3 "));
  EXPECT_THAT(table, ::testing::ContainsRegex("community +0 +0 +1 +0 +0 "));
}

// Response times from GetStats: the time to accept (the acceptance less the start of the
// accepting unit's clock) and to close (the closure less the filing), as sums and counts per
// level, equal to what the events' own histories say, to the millisecond.
TEST_F(MetricsTest, GetStatsTimesAcceptanceAndClosureAsTheHistoriesSay) {
  ASSERT_NO_FATAL_FAILURE(RunScenario());
  AwaitTotals(3);
  struct Timed {
    int64_t accepted = 0;
    Millis accept_ms = 0;
    int64_t closed = 0;
    Millis close_ms = 0;
  };
  std::map<v1::Level, Timed> want;
  Millis late_accept_ms = -1;
  Millis late_waited_ms = -1;
  for (const std::string& id : EventIds()) {
    v1::GetEventHistoryRequest request;
    request.set_event_id(id);
    v1::GetEventHistoryResponse history;
    const grpc::Status status = gateway().GetEventHistory(Context().get(), request, &history);
    ASSERT_TRUE(status.ok()) << status.error_message();
    for (const v1::EventChange& change : history.changes()) {
      const Millis at = FromTimestamp(change.at());
      if (change.kind() == v1::CHANGE_KIND_ACCEPTED) {
        ASSERT_TRUE(change.has_clock_started_at()) << id;
        want[change.from_level()].accepted += 1;
        want[change.from_level()].accept_ms += at - FromTimestamp(change.clock_started_at());
        if (change.from_level() == v1::LEVEL_COMMUNITY) {
          late_accept_ms = at - FromTimestamp(change.clock_started_at());
          late_waited_ms = at - FromTimestamp(change.created_at());
        }
      } else if (change.kind() == v1::CHANGE_KIND_VERIFIED &&
                 change.to_state() == v1::EVENT_STATE_CLOSED) {
        want[change.from_level()].closed += 1;
        want[change.from_level()].close_ms += at - FromTimestamp(change.created_at());
      }
    }
  }
  ASSERT_EQ(want[v1::LEVEL_GRID].accepted, 3) << "the rework's acceptance too";
  ASSERT_EQ(want[v1::LEVEL_COMMUNITY].accepted, 1);
  // The escalated event's clock at the community started at the escalation, after the grid's
  // one-second accept limit ran out: its time to accept leaves that second out.
  EXPECT_GE(late_waited_ms - late_accept_ms, 1000);

  v1::GetStatsRequest by_level;
  by_level.set_unit_id(kSubdistrict);
  by_level.add_group_by(v1::STATS_DIMENSION_LEVEL);
  auto levels = Stats(by_level);
  ASSERT_TRUE(levels.ok()) << levels.status();
  std::map<std::string, v1::StatsRow> rows;
  for (const v1::StatsRow& r : levels->rows()) {
    rows[r.group().at("level")] = r;
  }
  for (const auto& [level, name] :
       {std::pair{v1::LEVEL_GRID, "grid"}, std::pair{v1::LEVEL_COMMUNITY, "community"}}) {
    const Timed& expected = want[level];
    const v1::StatsRow& row = rows[name];
    EXPECT_EQ(row.accepted(), expected.accepted) << name;
    EXPECT_NEAR(row.accept_seconds_sum(), expected.accept_ms / 1000.0, 1e-9) << name;
    EXPECT_NEAR(row.accept_seconds_mean(),
                static_cast<double>(expected.accept_ms) / 1000.0 / expected.accepted, 1e-9)
        << name;
    EXPECT_EQ(row.closed_timed(), expected.closed) << name;
    EXPECT_EQ(row.closed_timed(), row.closed()) << name;
    EXPECT_NEAR(row.close_seconds_sum(), expected.close_ms / 1000.0, 1e-9) << name;
    EXPECT_GT(row.close_seconds_sum(), 0) << name;
  }
  // The district's one row is the sum of the levels'.
  auto total = Stats(v1::GetStatsRequest());
  ASSERT_TRUE(total.ok()) << total.status();
  EXPECT_EQ(total->rows(0).accepted(), 4);
  EXPECT_NEAR(total->rows(0).accept_seconds_sum(),
              rows["grid"].accept_seconds_sum() + rows["community"].accept_seconds_sum(), 1e-9);
  EXPECT_EQ(total->rows(0).closed_timed(), 3);
}

// A reader that died after reading an entry and before its atomic count-and-ack leaves the entry
// pending; the one that takes it over counts it once, and the late finish of the first one (the
// same script on the same entry) counts nothing.
TEST_F(MetricsTest, ARedeliveredEntryIsCountedOnce) {
  stack_->StopService("grid-metrics", SIGTERM);
  const std::string id = Report();
  AwaitWhere(id, Dispatched);
  // A consumer that reads the whole backlog and dies without acknowledging anything.
  const std::string live = std::string("{") + kSubdistrict + "}:live";
  auto read = redis::CommandSync(
      stack_->redis_client(),
      {"XREADGROUP", "GROUP", "metrics", "dead-reader", "COUNT", "100", "STREAMS", live, ">"},
      std::chrono::seconds(2));
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_TRUE(read->IsArray() && !read->elements.empty()) << read->DebugString();
  const std::string first_entry = read->elements[0].elements[1].elements[0].elements[0].str;

  stack_->StopService("grid-metrics", SIGKILL);
  auto started = stack_->StartService("grid-metrics");
  ASSERT_TRUE(started.ok()) << started;
  v1::StatsRow row;
  // The restarted reader takes the dead one's entries over (XAUTOCLAIM, idle 500 ms here).
  PollUntil(
      [&] {
        auto stats = Stats(v1::GetStatsRequest());
        if (stats.ok() && stats->rows_size() == 1) {
          row = stats->rows(0);
        }
        return row.reported() == 1;
      },
      std::chrono::seconds(60), std::chrono::milliseconds(200));
  EXPECT_EQ(row.reported(), 1);
  EXPECT_EQ(row.open(), 1);
  EXPECT_EQ(redis::CommandSync(stack_->redis_client(), {"XPENDING", live, "metrics"},
                               std::chrono::seconds(2))
                ->elements[0]
                .integer,
            0);
  // The dead reader comes back to life and finishes its first entry: nothing is counted.
  std::ifstream file(testing::SourcePath("common/store/lua/record_change.lua"));
  const std::string script((std::istreambuf_iterator<char>(file)),
                           std::istreambuf_iterator<char>());
  const std::string sd = std::string("{") + kSubdistrict + "}";
  auto late = redis::CommandSync(stack_->redis_client(),
                                 {"EVAL",
                                  script,
                                  "5",
                                  live,
                                  sd + ":mx2:ev:" + id,
                                  sd + ":mx2:open",
                                  sd + ":mx2:day:19700101",
                                  sd + ":mx2:days",
                                  "metrics",
                                  first_entry,
                                  id,
                                  "1",
                                  std::string(kGrid) + "|04|2|",
                                  "rep",
                                  "1",
                                  "0",
                                  "0",
                                  "19700101",
                                  "60",
                                  "60",
                                  "60"},
                                 std::chrono::seconds(2));
  ASSERT_TRUE(late.ok()) << late.status();
  ASSERT_TRUE(late->IsArray()) << late->DebugString();
  EXPECT_EQ(late->elements[0].integer, 0) << "already counted";
  EXPECT_EQ(late->elements[1].integer, 0) << "and observed";
  // Nothing more arrives later.
  EXPECT_FALSE(PollUntil(
      [&] {
        auto stats = Stats(v1::GetStatsRequest());
        return stats.ok() && stats->rows(0).reported() != 1;
      },
      std::chrono::seconds(2)));
}

TEST_F(MetricsTest, RollupsSurviveARestartAndNothingIsCountedTwice) {
  ASSERT_NO_FATAL_FAILURE(RunScenario());
  AwaitTotals(3);
  stack_->StopService("grid-metrics", SIGKILL);
  // While it is down, one more event is reported: it must be counted once it is back.
  Report();
  auto started = stack_->StartService("grid-metrics");
  ASSERT_TRUE(started.ok()) << started;
  v1::StatsRow row;
  PollUntil(
      [&] {
        auto stats = Stats(v1::GetStatsRequest());
        if (stats.ok() && stats->rows_size() == 1) {
          row = stats->rows(0);
        }
        return row.reported() == 4 && row.open() == 1;
      },
      kDeadline);
  EXPECT_EQ(row.reported(), 4);
  EXPECT_EQ(row.closed(), 3);
  EXPECT_EQ(row.closed_on_time(), 2);
  EXPECT_EQ(row.reworked(), 1);
  EXPECT_EQ(row.open(), 1);
}

TEST_F(MetricsTest, TheMetricsPageCountsTheScenarioExactly) {
  ASSERT_NO_FATAL_FAILURE(RunScenario());
  AwaitTotals(3);
  std::string page;
  // The gauges are refreshed every 200 ms here.
  PollUntil(
      [&] {
        page = MetricsPage("grid-metrics");
        return page.find("grid_events_open{") != std::string::npos &&
               MetricSample(page, "grid_events_open") == 0;
      },
      kDeadline);
  const std::map<std::string, std::string> sd = {{"subdistrict", kSubdistrict}};
  EXPECT_EQ(MetricSample(
                page, "grid_events_reported_total",
                {{"subdistrict", kSubdistrict}, {"category_class", "04"}, {"severity", "normal"}}),
            3)
      << page;
  EXPECT_EQ(MetricSample(page, "grid_events_closed_total",
                         {{"subdistrict", kSubdistrict}, {"level", "grid"}, {"on_time", "true"}}),
            2);
  EXPECT_EQ(
      MetricSample(page, "grid_events_closed_total",
                   {{"subdistrict", kSubdistrict}, {"level", "community"}, {"on_time", "false"}}),
      1);
  EXPECT_EQ(MetricSample(page, "grid_event_escalations_total",
                         {{"subdistrict", kSubdistrict},
                          {"from_level", "grid"},
                          {"to_level", "community"},
                          {"reason", "accept_timeout"}}),
            1);
  EXPECT_EQ(MetricSample(page, "grid_event_reworks_total", {{"level", "grid"}}), 1);
  EXPECT_EQ(MetricSample(page, "grid_event_returns_total"), 0);
  EXPECT_EQ(MetricSample(page, "grid_event_dispatch_seconds_count", sd), 3);
  EXPECT_EQ(MetricSample(page, "grid_event_accept_seconds_count", sd), 4) << "the rework's too";
  EXPECT_EQ(MetricSample(page, "grid_event_accept_seconds_count", {{"level", "community"}}), 1);
  EXPECT_EQ(MetricSample(page, "grid_event_resolve_seconds_count", sd), 4);
  EXPECT_EQ(MetricSample(page, "grid_event_close_seconds_count", sd), 3);
  EXPECT_EQ(
      MetricSample(page, "grid_event_accept_seconds_bucket", {{"level", "grid"}, {"le", "1"}}), 3)
      << "the grid accepted within its one-second limit three times";
  EXPECT_EQ(MetricSample(page, "grid_events_open"), 0);
  EXPECT_EQ(MetricSample(page, "grid_events_overdue"), 0);
  // Today's figures are today's rollups, as GetStats counts them.
  v1::GetStatsRequest today;
  today.set_last_days(1);
  today.set_unit_id(kSubdistrict);
  EXPECT_TRUE(PollUntil(
      [&] {
        auto stats = Stats(today);
        page = MetricsPage("grid-metrics");
        const std::map<std::string, std::string> reported = {{"subdistrict", kSubdistrict},
                                                             {"figure", "reported"}};
        const std::map<std::string, std::string> on_time = {{"subdistrict", kSubdistrict},
                                                            {"figure", "closed_on_time"}};
        return stats.ok() && MetricSample(page, "grid_events_today", reported) > 0 &&
               MetricSample(page, "grid_events_today", reported) == stats->rows(0).reported() &&
               MetricSample(page, "grid_events_today", on_time) == stats->rows(0).closed_on_time();
      },
      kDeadline))
      << page;
  EXPECT_GT(MetricSample(page, "grid_today_start_timestamp_seconds"), 0);

  // Every service: Redis latency and errors; routing and metrics: their groups' backlog.
  for (const std::string& service : Stack::ServiceNames()) {
    EXPECT_GT(MetricSample(MetricsPage(service), "grid_redis_command_seconds_count"), 0) << service;
  }
  EXPECT_TRUE(PollUntil(
      [&] {
        const std::string routing = MetricsPage("grid-routing");
        const std::string metrics = MetricsPage("grid-metrics");
        return routing.find("grid_stream_group_pending{group=\"routing\"") != std::string::npos &&
               metrics.find("grid_stream_group_lag{group=\"metrics\"") != std::string::npos;
      },
      kDeadline));
  EXPECT_EQ(
      MetricSample(MetricsPage("grid-metrics"), "grid_stream_group_lag", {{"group", "metrics"}}),
      0);
}

TEST_F(MetricsTest, TheOpenGaugesFollowTheBacklog) {
  const std::string id = Report();
  AwaitWhere(id, Dispatched);
  EXPECT_TRUE(PollUntil(
      [&] {
        return MetricSample(MetricsPage("grid-metrics"), "grid_events_open",
                            {{"subdistrict", kSubdistrict}, {"state", "dispatched"}}) == 1;
      },
      kDeadline))
      << MetricsPage("grid-metrics");
  // Nobody accepts: it climbs to the district and is overdue there.
  AwaitWhere(id, [](const v1::Event& e) { return e.overdue(); });
  EXPECT_TRUE(PollUntil(
      [&] {
        return MetricSample(MetricsPage("grid-metrics"), "grid_events_overdue",
                            {{"subdistrict", kSubdistrict}, {"level", "district"}}) == 1;
      },
      kDeadline))
      << MetricsPage("grid-metrics");
  v1::GetStatsRequest request;
  auto stats = Stats(request);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->rows(0).open(), 1);
  EXPECT_EQ(stats->rows(0).overdue(), 1);
  EXPECT_EQ(stats->rows(0).escalated(), 4);
  EXPECT_EQ(stats->rows(0).due(), 1) << "due once, at its first breach";
}

// Events filed by an older version of the stack, before the backlog index existed, have no
// entry: the metrics service indexes them once when it starts, and the gauges count them.
TEST_F(MetricsTest, TheBacklogIndexIsBuiltForEventsFiledBeforeIt) {
  const std::vector<std::string> ids = {Report(), Report(), Report()};
  for (const std::string& id : ids) {
    AwaitWhere(id, Dispatched);
  }
  // Nothing moves them meanwhile (the escalator would, with the quick policy's limits).
  for (const char* service : {"grid-metrics", "grid-escalation", "grid-routing"}) {
    stack_->StopService(service, SIGTERM);
  }
  // As the older version left Redis: records without entries, no index.
  for (const std::string& id : ids) {
    EXPECT_EQ(Redis({"HDEL", store::EventKey(kSubdistrict, id), "bl"}).integer, 1);
  }
  for (const redis::Reply& key :
       Redis({"KEYS", store::BacklogPrefix(kSubdistrict) + "*"}).elements) {
    Redis({"DEL", key.str});
  }
  auto started = stack_->StartService("grid-metrics");
  ASSERT_TRUE(started.ok()) << started;
  EXPECT_TRUE(PollUntil(
      [&] {
        return MetricSample(MetricsPage("grid-metrics"), "grid_events_open",
                            {{"subdistrict", kSubdistrict}, {"state", "dispatched"}}) == 3;
      },
      kDeadline))
      << MetricsPage("grid-metrics");
  EXPECT_EQ(Redis({"EXISTS", store::BacklogPrefix(kSubdistrict) + "built"}).integer, 1);
  for (const std::string& id : ids) {
    EXPECT_EQ(Redis({"HEXISTS", store::EventKey(kSubdistrict, id), "bl"}).integer, 1) << id;
  }
}

// The command centre's day is the Beijing day: changes at 07:59 and 08:01 Beijing time (two
// UTC days) count on the same day, changes at 23:59 and 00:01 on two. The scenario's events are
// filed straight into Redis with their times, and the real metrics service counts their live
// entries; GetStats goes through the gateway.
TEST_F(MetricsTest, DaysAreBeijingDaysThroughTheStack) {
  const auto events = metrics::testing::Scenario();
  for (std::vector<std::string>& command : metrics::testing::RecordCommands(events)) {
    Redis(std::move(command));
  }
  const std::string live = std::string("{") + kSubdistrict + "}:live";
  for (const v1::EventChange& change : metrics::testing::ChangesInOrder(events)) {
    Redis({"XADD", live, "*", "c", change.SerializeAsString()});
  }
  v1::GetStatsRequest dec1;
  dec1.set_first_day(metrics::testing::kDec1);
  dec1.set_last_day(metrics::testing::kDec1);
  v1::StatsRow row;
  EXPECT_TRUE(PollUntil(
      [&] {
        auto stats = Stats(dec1);
        row = stats.ok() ? stats->rows(0) : v1::StatsRow();
        return row.reported() == 7 && row.closed() == 3;
      },
      kDeadline))
      << row.ShortDebugString();
  EXPECT_EQ(row.closed_on_time(), 1) << "reported 07:59, closed 08:01: one day";
  EXPECT_EQ(row.due(), 4);

  v1::GetStatsRequest dec2;
  dec2.set_first_day(metrics::testing::kDec2);
  dec2.set_last_day(metrics::testing::kDec2);
  auto next = Stats(dec2);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->rows(0).reported(), 1) << "00:01 is the next day";
  EXPECT_EQ(next->first_day(), metrics::testing::kDec2);

  // From 07:59 to 08:01 Beijing time takes the whole Beijing day.
  v1::GetStatsRequest around_eight;
  *around_eight.mutable_from() = ToTimestamp(metrics::testing::At(9));
  *around_eight.mutable_to() = ToTimestamp(metrics::testing::At(11));
  auto whole = Stats(around_eight);
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_EQ(whole->first_day(), metrics::testing::kDec1);
  EXPECT_EQ(whole->last_day(), metrics::testing::kDec1);
  EXPECT_EQ(whole->rows(0).reported(), 7);

  v1::GetStatsRequest bad;
  bad.set_first_day("2026-12-32");
  EXPECT_THAT(Stats(bad).status().message(), ::testing::HasSubstr("first_day"));
  EXPECT_EQ(Stats(bad).status().code(), absl::StatusCode::kInvalidArgument);

  std::string table;
  ASSERT_EQ(RunCommand("GRID_TOKEN=" + stack_->Token(Stack::Admin()) + " " + Gridctl() +
                           " stats --from-day 2026-12-01 --to-day 2026-12-01",
                       table),
            0)
      << table;
  EXPECT_THAT(table, ::testing::HasSubstr("local days 2026-12-01 to 2026-12-01 (UTC+08:00)"));
  EXPECT_THAT(table, ::testing::ContainsRegex("\n +7 +1 +3 +1 +4 "));
}

// Order-safe statistics: the live stream of a scenario run through the stack is replayed to a
// fresh metrics process shuffled, with some changes twice (at-least-once), a third of it left
// pending by a reader that dies (and reclaimed after the rest), each batch handled concurrently:
// GetStats and the Prometheus figures come out as they did in order.
TEST_F(MetricsTest, AnyOrderOfDeliveryGivesTheSameFigures) {
  ASSERT_NO_FATAL_FAILURE(RunScenario());
  AwaitTotals(3);
  const std::vector<std::string> want_stats = StatsAnswers();
  std::string want_page;
  ASSERT_TRUE(PollUntil(
      [&] {
        want_page = CountedFigures(MetricsPage("grid-metrics"));
        return want_page.find("grid_events_today{figure=\"closed\",subdistrict=\"" +
                              std::string(kSubdistrict) + "\"} 3") != std::string::npos;
      },
      kDeadline))
      << want_page;

  stack_->StopService("grid-metrics", SIGKILL);
  const std::string live = std::string("{") + kSubdistrict + "}:live";
  std::vector<std::string> changes;
  for (const redis::Reply& entry : Redis({"XRANGE", live, "-", "+"}).elements) {
    changes.push_back(entry.elements[1].elements[1].str);
  }
  ASSERT_GT(changes.size(), 15u);
  // Forget every count (not the marks that say the rollups are complete).
  for (const redis::Reply& key : Redis({"KEYS", "*:mx2:*"}).elements) {
    if (key.str.find(":mx2:rederived") == std::string::npos) {
      Redis({"DEL", key.str});
    }
  }
  std::mt19937 random(10);
  for (int i = 0; i < 6; ++i) {
    changes.push_back(changes[random() % changes.size()]);
  }
  std::shuffle(changes.begin(), changes.end(), random);
  Redis({"DEL", live});
  for (const std::string& change : changes) {
    Redis({"XADD", live, "*", "c", change});
  }
  Redis({"XGROUP", "CREATE", live, "metrics", "0"});
  const redis::Reply dead = Redis({"XREADGROUP", "GROUP", "metrics", "dead-reader", "COUNT",
                                   std::to_string(changes.size() / 3), "STREAMS", live, ">"});
  ASSERT_TRUE(dead.IsArray() && !dead.elements.empty()) << dead.DebugString();

  auto started = stack_->StartService("grid-metrics");
  ASSERT_TRUE(started.ok()) << started;
  std::vector<std::string> got_stats;
  EXPECT_TRUE(PollUntil(
      [&] {
        got_stats = StatsAnswers();
        return Redis({"XPENDING", live, "metrics"}).elements[0].integer == 0 &&
               got_stats == want_stats;
      },
      std::chrono::seconds(60), std::chrono::milliseconds(200)));
  EXPECT_EQ(got_stats, want_stats);
  std::string got_page;
  EXPECT_TRUE(PollUntil(
      [&] {
        got_page = CountedFigures(MetricsPage("grid-metrics"));
        return got_page == want_page;
      },
      kDeadline));
  EXPECT_EQ(got_page, want_page);
}

// Upgrading in place: the metrics service finds rollups of UTC days (the "mx" keys of the
// version before) and no local-day rollups. It re-derives them from the event records, answers
// UNAVAILABLE until it is done, then the figures are what they were, and the old keys are gone.
TEST_F(MetricsTest, AnUpgradeRederivesTheRollupsFromTheEventRecords) {
  ASSERT_NO_FATAL_FAILURE(RunScenario());
  AwaitTotals(3);
  const std::vector<std::string> want = StatsAnswers();

  stack_->StopService("grid-metrics", SIGKILL);
  for (const redis::Reply& key : Redis({"KEYS", "*:mx2:*"}).elements) {
    Redis({"DEL", key.str});
  }
  const std::string sd = std::string("{") + kSubdistrict + "}";
  std::vector<std::string> legacy = {sd + ":mx:day:20261130", sd + ":mx:day:20261201",
                                     sd + ":mx:days", sd + ":mx:open"};
  Redis({"HSET", legacy[0], std::string(kGrid) + "|04|2|rep", "2"});
  Redis({"HSET", legacy[1], std::string(kGrid) + "|04|2|rep", "1"});
  Redis({"ZADD", legacy[2], "20787", "20261130", "20788", "20261201"});
  for (const std::string& id : EventIds()) {
    Redis({"HSET", legacy[3], id, "5"});
    Redis({"HSET", sd + ":mx:ev:" + id, "dc", "1"});
    legacy.push_back(sd + ":mx:ev:" + id);
  }

  auto started = stack_->StartService("grid-metrics");
  ASSERT_TRUE(started.ok()) << started;
  std::vector<std::string> got;
  EXPECT_TRUE(PollUntil(
      [&] {
        got = StatsAnswers();
        return got == want;
      },
      kDeadline));
  EXPECT_EQ(got, want);
  for (const std::string& key : legacy) {
    EXPECT_EQ(Redis({"EXISTS", key}).integer, 0) << key;
  }
  EXPECT_EQ(Redis({"KEYS", "*:mx2:rederived"}).elements.size(), 5u) << "every subdistrict";
  EXPECT_TRUE(PollUntil(
      [&] {
        const std::string page = MetricsPage("grid-metrics");
        return page.find("grid_rollup_rederive_remaining_events{subdistrict=\"370212001\"} 0") !=
               std::string::npos;
      },
      kDeadline));
}

TEST_F(MetricsTest, PromtoolAcceptsEveryServicesExposition) {
  REQUIRE_BINARY(promtool, "promtool");
  Report();
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("grid-metrics-test-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  for (const std::string& service : Stack::ServiceNames()) {
    const std::string page = MetricsPage(service);
    ASSERT_FALSE(page.empty()) << service;
    const std::filesystem::path file = dir / (service + ".prom");
    std::ofstream(file) << page;
    std::string output;
    EXPECT_EQ(RunCommand(promtool + " check metrics < " + file.string(), output), 0)
        << service << ":\n"
        << output;
  }
  std::filesystem::remove_all(dir);
}

TEST_F(MetricsTest, APrometheusServerScrapesTheStack) {
  REQUIRE_BINARY(prometheus, "prometheus");
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("grid-prometheus-test-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream config(dir / "prometheus.yml");
  config << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
         << "scrape_configs:\n  - job_name: gridline\n    static_configs:\n      - targets:\n";
  for (const std::string& service : Stack::ServiceNames()) {
    config << "          - 127.0.0.1:" << stack_->metrics_port(service) << "\n";
  }
  config.close();
  const int port = testing::FreePort();
  auto server = testing::Process::Start(prometheus,
                                        {"--config.file=" + (dir / "prometheus.yml").string(),
                                         "--storage.tsdb.path=" + (dir / "data").string(),
                                         "--web.listen-address=127.0.0.1:" + std::to_string(port)},
                                        {}, dir / "prometheus.log");
  ASSERT_TRUE(server.ok()) << server.status();

  const bool up = PollUntil(
      [&] {
        const std::string body = HttpGet(port, "/api/v1/targets");
        auto json = nlohmann::json::parse(body, nullptr, false);
        if (json.is_discarded()) {
          return false;
        }
        int healthy = 0;
        for (const auto& target : json["data"]["activeTargets"]) {
          healthy += target["health"] == "up" ? 1 : 0;
        }
        return healthy == static_cast<int>(Stack::ServiceNames().size());
      },
      std::chrono::seconds(30), std::chrono::milliseconds(200));
  ASSERT_TRUE(up) << HttpGet(port, "/api/v1/targets") << (*server)->ReadLog();

  for (int i = 0; i < 4; ++i) {
    Report();
  }
  std::string answer;
  const bool counted = PollUntil(
      [&] {
        answer = HttpGet(port, "/api/v1/query?query=sum(grid_events_reported_total)");
        auto json = nlohmann::json::parse(answer, nullptr, false);
        if (json.is_discarded() || json["data"]["result"].empty()) {
          return false;
        }
        return json["data"]["result"][0]["value"][1] == "4";
      },
      std::chrono::seconds(30), std::chrono::milliseconds(200));
  EXPECT_TRUE(counted) << answer;

  // Every query of the Grafana dashboards parses and runs.
  for (const char* dashboard : {"deploy/grafana/command-centre.json", "deploy/grafana/ops.json"}) {
    std::ifstream file(testing::SourcePath(dashboard));
    const auto json = nlohmann::json::parse(file, nullptr, false);
    ASSERT_FALSE(json.is_discarded()) << dashboard;
    ASSERT_FALSE(json["panels"].empty()) << dashboard;
    for (const auto& panel : json["panels"]) {
      for (const auto& target : panel["targets"]) {
        std::string expr = target["expr"];
        for (size_t at; (at = expr.find("$subdistrict")) != std::string::npos;) {
          expr.replace(at, 12, ".*");
        }
        std::string query = "/api/v1/query?query=";
        for (unsigned char c : expr) {
          char hex[4];
          std::snprintf(hex, sizeof(hex), "%%%02X", c);
          query += std::isalnum(c) ? std::string(1, static_cast<char>(c)) : std::string(hex);
        }
        const auto result = nlohmann::json::parse(HttpGet(port, query), nullptr, false);
        EXPECT_TRUE(!result.is_discarded() && result["status"] == "success")
            << dashboard << " \"" << panel["title"] << "\": " << expr;
      }
    }
  }
  (*server)->Terminate();
  std::filesystem::remove_all(dir);
}

TEST(PrometheusRulesTest, PromtoolTestsTheAlertRules) {
  REQUIRE_BINARY(promtool, "promtool");
  std::string output;
  EXPECT_EQ(RunCommand(promtool + " check config " +
                           testing::SourcePath("deploy/prometheus/prometheus.yml"),
                       output),
            0)
      << output;
  EXPECT_EQ(RunCommand(
                promtool + " test rules " + testing::SourcePath("deploy/prometheus/rules_test.yml"),
                output),
            0)
      << output;
}

}  // namespace
}  // namespace grid
