// What a client hears when Redis (the event store) is loading, frozen or gone, on the real stack:
// UNAVAILABLE that says the store is down and to retry, within the caller's deadline, and never an
// internal address.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/redis/reply.h"
#include "grid/v1/routing.grpc.pb.h"
#include "tests/support/poll.h"
#include "tests/support/stack.h"
#include "tests/support/stack_test.h"

namespace grid {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::PollUntil;
using testing::RedisServer;
using testing::Stack;
using ::testing::StartsWith;
using namespace std::chrono_literals;

constexpr char kGrid[] = "37021200100101";

class StoreErrorsTest : public testing::StackTest {
 protected:
  static v1::Report MakeReport() {
    v1::Report report;
    report.set_grid_id(kGrid);
    report.set_category("0102");
    report.set_severity(v1::SEVERITY_NORMAL);
    report.set_description("暴露垃圾");
    return report;
  }

  grpc::Status Report(std::chrono::milliseconds deadline, v1::ReportEventResponse* out = nullptr) {
    v1::ReportEventRequest request;
    *request.mutable_report() = MakeReport();
    v1::ReportEventResponse response;
    grpc::Status status =
        gateway().ReportEvent(Context(Stack::Admin(), deadline).get(), request, &response);
    if (out != nullptr) {
      *out = response;
    }
    return status;
  }

  redis::Reply Redis(std::vector<std::string> argv) {
    auto reply = redis::CommandSync(stack_->redis_client(), std::move(argv), 10s);
    EXPECT_TRUE(reply.ok()) << reply.status();
    return reply.ok() ? *reply : redis::Reply::Nil();
  }

  long long InfoField(const std::string& section, const std::string& field) {
    const redis::Reply info = Redis({"INFO", section});
    for (absl::string_view line : absl::StrSplit(info.str, "\r\n")) {
      std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(line, ':');
      long long value = 0;
      if (kv.first == field && absl::SimpleAtoi(kv.second, &value)) {
        return value;
      }
    }
    return -1;
  }

  // The public message of a store failure: what is down, what to do, and no address.
  void ExpectStoreUnavailable(const grpc::Status& status) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
    EXPECT_THAT(status.error_message(), StartsWith(std::string(redis::kStoreUnavailable)));
    EXPECT_THAT(status.error_message(), HasSubstr("retry later"));
    EXPECT_THAT(status.error_message(), Not(HasSubstr("127.0.0.1")));
    EXPECT_THAT(status.error_message(), Not(HasSubstr(std::to_string(stack_->redis().port()))));
    EXPECT_THAT(status.error_message(), Not(HasSubstr("intake service")));
  }
};

// Redis thawed when it goes out of scope, whatever the test did.
class Frozen final {
 public:
  explicit Frozen(RedisServer& redis) : redis_(redis) { EXPECT_TRUE(redis_.Signal(SIGSTOP).ok()); }
  ~Frozen() { Thaw(); }
  void Thaw() {
    if (!thawed_) {
      thawed_ = true;
      EXPECT_TRUE(redis_.Signal(SIGCONT).ok());
    }
  }

 private:
  RedisServer& redis_;
  bool thawed_ = false;
};

TEST_F(StoreErrorsTest, WhileRedisLoadsItsDataAfterARestartCallsAreUnavailable) {
  Stack::Options options;
  options.redis_args = {"--appendonly", "yes"};
  ASSERT_NO_FATAL_FAILURE(StartStack(options));
  v1::ReportEventResponse filed;
  ASSERT_TRUE(Report(5s, &filed).ok());

  // Enough data, in an RDB base file, for the reload to be slowed key by key: a few seconds.
  ASSERT_EQ(Redis({"EVAL",
                   "for i = 1, 20000 do redis.call('SET', 'fill:' .. i, string.rep('x', 100)) end "
                   "return 1",
                   "0"})
                .integer,
            1);
  Redis({"BGREWRITEAOF"});
  ASSERT_TRUE(PollUntil(
      [&] {
        return InfoField("persistence", "aof_rewrite_in_progress") == 0 &&
               InfoField("persistence", "aof_rewrite_scheduled") == 0 &&
               InfoField("persistence", "aof_last_bgrewrite_status") != 1;
      },
      20s));
  ASSERT_TRUE(stack_->redis().Stop().ok());
  stack_->redis().set_extra_args({"--appendonly", "yes", "--key-load-delay", "100",
                                  "--loading-process-events-interval-bytes", "1024"});
  ASSERT_TRUE(stack_->redis().Start(RedisServer::Ready::kAccepting).ok()) << stack_->redis().Log();

  // Once the services have reconnected, they hear LOADING; the client hears UNAVAILABLE.
  grpc::Status report;
  ASSERT_TRUE(PollUntil(
      [&] {
        report = Report(5s);
        return report.error_message().find("LOADING") != std::string::npos || report.ok();
      },
      20s, 50ms));
  ASSERT_FALSE(report.ok()) << "Redis finished loading before the test saw it load";
  ExpectStoreUnavailable(report);

  // Reads do not answer OK (or NOT_FOUND) with nothing while Redis says LOADING.
  auto routing = v1::RoutingService::NewStub(
      grpc::CreateChannel(stack_->address("grid-routing"), grpc::InsecureChannelCredentials()));
  grpc::ClientContext history_context;
  history_context.set_deadline(std::chrono::system_clock::now() + 5s);
  v1::GetEventHistoryRequest history_request;
  history_request.set_event_id(filed.event_id());
  v1::GetEventHistoryResponse history;
  ExpectStoreUnavailable(routing->GetEventHistory(&history_context, history_request, &history));

  v1::ListOverdueEventsRequest overdue_request;
  v1::ListOverdueEventsResponse overdue;
  ExpectStoreUnavailable(gateway().ListOverdueEvents(Context().get(), overdue_request, &overdue));

  // Loaded, it serves again, with its data.
  ASSERT_TRUE(PollUntil([&] { return Report(5s).ok(); }, 60s, 100ms));
  EXPECT_EQ(Get(filed.event_id()).id(), filed.event_id());
}

TEST_F(StoreErrorsTest, AFrozenRedisIsWaitedForUnderTheCallersDeadline) {
  ASSERT_NO_FATAL_FAILURE(StartStack());
  ASSERT_TRUE(Report(5s).ok());

  // Frozen for three seconds: a call with fifteen waits for it, past the client's default
  // timeout (2 s), and is filed.
  {
    Frozen frozen(stack_->redis());
    std::thread thaw([&] {
      std::this_thread::sleep_for(3s);  // The length of the outage, not a wait for something.
      frozen.Thaw();
    });
    const auto start = std::chrono::steady_clock::now();
    const grpc::Status status = Report(15s);
    const auto elapsed = std::chrono::steady_clock::now() - start;
    thaw.join();
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_GE(elapsed, 2500ms);
  }

  // Frozen for longer than the call can wait: UNAVAILABLE, before the caller's deadline.
  Frozen frozen(stack_->redis());
  const auto start = std::chrono::steady_clock::now();
  const grpc::Status status = Report(15s);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ExpectStoreUnavailable(status);
  EXPECT_LT(elapsed, 15s);
  EXPECT_GE(elapsed, 5s) << "the call waited for Redis, not for a fixed short timeout";
}

TEST_F(StoreErrorsTest, ADownRedisAndADownIntakeAreToldApart) {
  ASSERT_NO_FATAL_FAILURE(StartStack());
  ASSERT_TRUE(Report(5s).ok());

  ASSERT_TRUE(stack_->redis().Stop().ok());
  const auto start = std::chrono::steady_clock::now();
  const grpc::Status store_down = Report(15s);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "a down store fails fast";
  ExpectStoreUnavailable(store_down);
  ASSERT_TRUE(stack_->redis().Start().ok());

  stack_->StopService("grid-intake", SIGKILL);
  const grpc::Status intake_down = Report(5s);
  EXPECT_EQ(intake_down.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(intake_down.error_message(), "the intake service is unreachable; retry later");
}

}  // namespace
}  // namespace grid
