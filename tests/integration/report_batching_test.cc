// The gateway's forwarding of reports under load (services/gateway/report_batcher.h) on the real
// stack: reports that wait for a call to intake go together in one FileReports call, and each
// caller still gets exactly what its own ReportEvent would have answered. The services batch
// their script calls too (--script-batch, common/redis/batched_script.h): filings, dispatches and
// metric counts of a burst go to Redis in batches, with every effect exactly once.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/store/keys.h"
#include "tests/support/poll.h"
#include "tests/support/stack.h"
#include "tests/support/stack_test.h"

namespace grid {
namespace {

using ::testing::HasSubstr;
using testing::PollUntil;
using testing::Stack;

constexpr char kGridSd1[] = "37021200100101";
constexpr char kGridSd2[] = "37021200200101";
constexpr char kGridSd4[] = "37021200400101";
constexpr std::chrono::seconds kDeadline{30};

// Many ReportEvent calls in flight at once through the gateway's asynchronous stub.
class Burst final {
 public:
  struct Call {
    grpc::ClientContext context;
    v1::ReportEventRequest request;
    v1::ReportEventResponse response;
    grpc::Status status;
  };

  void Add(Stack& stack, const v1::Report& report) {
    auto call = std::make_unique<Call>();
    *call->request.mutable_report() = report;
    call->context.set_deadline(std::chrono::system_clock::now() + kDeadline);
    stack.Authorize(call->context, Stack::Admin());
    calls_.push_back(std::move(call));
  }

  // Starts every call, then waits for all of them.
  void Run(v1::GatewayService::Stub& gateway) {
    for (auto& call : calls_) {
      Call* raw = call.get();
      gateway.async()->ReportEvent(&raw->context, &raw->request, &raw->response,
                                   [this, raw](grpc::Status status) {
                                     std::lock_guard<std::mutex> lock(mu_);
                                     raw->status = std::move(status);
                                     ++done_;
                                     cv_.notify_all();
                                   });
    }
    std::unique_lock<std::mutex> lock(mu_);
    ASSERT_TRUE(cv_.wait_for(lock, kDeadline + std::chrono::seconds(5),
                             [this] { return done_ == calls_.size(); }))
        << done_ << " of " << calls_.size() << " calls answered";
  }

  Call& at(size_t i) { return *calls_.at(i); }
  size_t size() const { return calls_.size(); }

 private:
  std::vector<std::unique_ptr<Call>> calls_;
  std::mutex mu_;
  std::condition_variable cv_;
  size_t done_ = 0;
};

v1::Report MakeReport(const std::string& grid, const std::string& request_id,
                      const std::string& category = "0102") {
  v1::Report report;
  report.set_grid_id(grid);
  report.set_category(category);
  report.set_severity(v1::SEVERITY_NORMAL);
  report.set_description("暴露垃圾 " + request_id);
  report.set_client_request_id(request_id);
  return report;
}

class ReportBatchingTest : public testing::StackTest {
 protected:
  void SetUp() override {
    Stack::Options options;
    // Reports wait for company as soon as one call to intake is in flight, and the services'
    // script calls of one subdistrict made together go as one (off by default).
    options.extra_args["grid-gateway"] = {"--report-batch-above", "1"};
    for (const char* service : {"grid-intake", "grid-routing", "grid-escalation", "grid-metrics"}) {
      options.extra_args[service] = {"--script-batch", "64"};
    }
    StartStack(std::move(options));
  }

  double GatewayMetric(const std::string& name, const std::map<std::string, std::string>& labels) {
    return testing::MetricSample(testing::HttpGet(stack_->metrics_port("grid-gateway"), "/metrics"),
                                 name, labels);
  }

  redis::Reply Redis(std::vector<std::string> argv) {
    auto reply =
        redis::CommandSync(stack_->redis_client(), std::move(argv), std::chrono::seconds(2));
    EXPECT_TRUE(reply.ok()) << reply.status();
    return reply.ok() ? *reply : redis::Reply::Nil();
  }
};

TEST_F(ReportBatchingTest, ReportsThatWaitGoTogetherAndEachGetsWhatItsOwnCallWouldHave) {
  // 150 new reports across three subdistricts; 20 of an unknown category; 20 that repeat the
  // client request id of an earlier one of the burst (an app's retry racing its first attempt).
  constexpr int kNew = 150;
  constexpr int kBad = 20;
  constexpr int kRepeats = 20;
  const char* grids[] = {kGridSd1, kGridSd2, kGridSd4};
  Burst burst;
  for (int i = 0; i < kNew; ++i) {
    burst.Add(*stack_, MakeReport(grids[i % 3], absl::StrCat("burst-", i)));
    if (i % 7 == 3 && i / 7 < kBad) {
      burst.Add(*stack_, MakeReport(grids[i % 3], absl::StrCat("bad-", i), "0199"));
    }
    if (i % 7 == 5 && i / 7 < kRepeats) {
      burst.Add(*stack_, MakeReport(grids[i % 3], absl::StrCat("burst-", i)));
    }
  }
  burst.Run(gateway());
  ASSERT_FALSE(HasFatalFailure());

  std::map<std::string, std::set<std::string>> ids_by_request;  // request id -> event ids
  std::map<std::string, int> created_by_request;
  int bad = 0;
  for (size_t i = 0; i < burst.size(); ++i) {
    Burst::Call& call = burst.at(i);
    const std::string& request_id = call.request.report().client_request_id();
    if (call.request.report().category() == "0199") {
      ++bad;
      EXPECT_EQ(call.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << request_id;
      EXPECT_THAT(call.status.error_message(), HasSubstr("report.category: unknown category"));
      continue;
    }
    ASSERT_TRUE(call.status.ok()) << request_id << ": " << call.status.error_message();
    EXPECT_EQ(call.response.event_id(), call.response.event().id());
    EXPECT_EQ(call.response.event().grid_id(), call.request.report().grid_id());
    EXPECT_THAT(call.response.event().description(), HasSubstr(request_id));
    ids_by_request[request_id].insert(call.response.event_id());
    created_by_request[request_id] += call.response.replayed() ? 0 : 1;
  }
  EXPECT_EQ(bad, kBad);
  ASSERT_EQ(ids_by_request.size(), static_cast<size_t>(kNew));
  std::set<std::string> all_ids;
  for (const auto& [request_id, ids] : ids_by_request) {
    // A repeated request id got the one event; at most one of its calls says it was not
    // replayed (both may: the attempt that reserved the id finds it filed by the other, which
    // took over the reservation, and says so).
    EXPECT_EQ(ids.size(), 1u) << request_id;
    EXPECT_LE(created_by_request[request_id], 1) << request_id;
    all_ids.insert(*ids.begin());
  }
  EXPECT_EQ(all_ids.size(), static_cast<size_t>(kNew));

  // Some reports did wait and went together (the burst saw to it), and all were counted.
  EXPECT_GT(GatewayMetric("grid_gateway_reports_forwarded_total", {{"how", "batched"}}), 0);
  EXPECT_GT(GatewayMetric("grid_gateway_report_batches_total", {}), 0);
  EXPECT_EQ(GatewayMetric("grid_gateway_reports_forwarded_total", {}),
            static_cast<double>(burst.size()));

  // Each event was filed once and goes its way: routing dispatches every one of them.
  long long filed = 0;
  for (const char* sd : {"370212001", "370212002", "370212004"}) {
    filed += Redis({"ZCARD", store::EventsIndexKey(sd)}).integer;
  }
  EXPECT_EQ(filed, kNew);
  std::set<std::pair<std::string, std::string>> events;  // subdistrict, id
  for (size_t i = 0; i < burst.size(); ++i) {
    const Burst::Call& call = burst.at(i);
    if (call.status.ok()) {
      events.emplace(call.response.event().subdistrict_id(), call.response.event_id());
    }
  }
  ASSERT_EQ(events.size(), static_cast<size_t>(kNew));
  const std::string dispatched = std::to_string(static_cast<int>(v1::EVENT_STATE_DISPATCHED));
  EXPECT_TRUE(PollUntil(
      [&] {
        for (const auto& [sd, id] : events) {
          if (Redis({"HGET", store::EventKey(sd, id), "state"}).str != dispatched) {
            return false;
          }
        }
        return true;
      },
      std::chrono::seconds(30)));

  // And the metrics service counted each report and each dispatch once.
  std::string page;
  EXPECT_TRUE(PollUntil(
      [&] {
        page = testing::HttpGet(stack_->metrics_port("grid-metrics"), "/metrics");
        return testing::MetricSample(page, "grid_event_dispatch_seconds_count") >= kNew;
      },
      std::chrono::seconds(30)));
  EXPECT_EQ(testing::MetricSample(page, "grid_events_reported_total"), kNew) << page;
  EXPECT_EQ(testing::MetricSample(page, "grid_event_dispatch_seconds_count"), kNew) << page;
}

TEST_F(ReportBatchingTest, WhenIntakeIsDownEveryWaitingReportIsUnavailableNotInternal) {
  ASSERT_GE(stack_->StopService("grid-intake", SIGKILL), 0);
  Burst burst;
  for (int i = 0; i < 30; ++i) {
    burst.Add(*stack_, MakeReport(kGridSd1, absl::StrCat("down-", i)));
  }
  burst.Run(gateway());
  ASSERT_FALSE(HasFatalFailure());
  for (size_t i = 0; i < burst.size(); ++i) {
    const grpc::Status& status = burst.at(i).status;
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr("intake"));
  }

  // Back up, the same reports go through, once the gateway's channel has reconnected (as an app
  // retries).
  ASSERT_TRUE(stack_->StartService("grid-intake").ok());
  ASSERT_TRUE(PollUntil(
      [&] {
        v1::ReportEventRequest request;
        *request.mutable_report() = MakeReport(kGridSd1, "down-0");
        v1::ReportEventResponse response;
        return gateway().ReportEvent(Context().get(), request, &response).ok();
      },
      std::chrono::seconds(20)));
  Burst again;
  for (int i = 0; i < 30; ++i) {
    again.Add(*stack_, MakeReport(kGridSd1, absl::StrCat("down-", i)));
  }
  again.Run(gateway());
  ASSERT_FALSE(HasFatalFailure());
  for (size_t i = 0; i < again.size(); ++i) {
    EXPECT_TRUE(again.at(i).status.ok()) << again.at(i).status.error_message();
  }
}

}  // namespace
}  // namespace grid
