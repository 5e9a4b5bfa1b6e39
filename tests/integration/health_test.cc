// Honest health on real processes: with Redis gone every service answers NOT_SERVING (readiness:
// "" and its service names) within seconds while "liveness" stays SERVING, the outage costs a
// bounded number of log lines, and everything is SERVING again, and works, once Redis is back.
// A secured stack shows the same on each service's plaintext health port.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "tests/support/poll.h"
#include "tests/support/stack.h"
#include "tests/support/stack_test.h"

namespace grid {
namespace {

using testing::HealthOf;
using testing::PollUntil;
using testing::Stack;

// The health service name of each binary's own service.
const std::map<std::string, std::string>& ServiceNames() {
  static const std::map<std::string, std::string> kNames = {
      {"grid-intake", "grid.v1.IntakeService"},
      {"grid-routing", "grid.v1.RoutingService"},
      {"grid-escalation", "grid.v1.EscalationService"},
      {"grid-metrics", "grid.v1.MetricsService"},
      {"grid-gateway", "grid.v1.GatewayService"}};
  return kNames;
}

// Log lines at info and above (the stack logs at debug; debug lines are not what an operator
// keeps).
int LogLines(const std::string& log) {
  std::istringstream lines(log);
  int count = 0;
  for (std::string line; std::getline(lines, line);) {
    count += line.find(" debug ") == std::string::npos ? 1 : 0;
  }
  return count;
}

class HealthTest : public testing::StackTest {
 protected:
  void SetUp() override {
    Stack::Options options;
    for (const auto& [binary, name] : ServiceNames()) {
      options.extra_args[binary] = {"--readiness-interval-ms", "500"};
    }
    StartStack(options);
  }

  bool All(const std::string& service_of, const std::string& want) {
    for (const auto& [binary, name] : ServiceNames()) {
      const std::string service = service_of == "own" ? name : service_of;
      if (HealthOf(stack_->address(binary), service) != want) {
        return false;
      }
    }
    return true;
  }
};

TEST_F(HealthTest, RedisDownIsNotServingAndLivenessStays) {
  ASSERT_TRUE(All("", "SERVING"));
  ASSERT_TRUE(All("own", "SERVING"));
  ASSERT_TRUE(All("liveness", "SERVING"));

  std::map<std::string, int> lines_before;
  for (const auto& [binary, name] : ServiceNames()) {
    lines_before[binary] = LogLines(stack_->process(binary)->ReadLog());
  }
  ASSERT_TRUE(stack_->redis().Stop().ok());
  const auto down = std::chrono::steady_clock::now();
  EXPECT_TRUE(PollUntil([&] { return All("", "NOT_SERVING"); }, std::chrono::seconds(5),
                        std::chrono::milliseconds(100)))
      << "within a few seconds";
  EXPECT_TRUE(All("own", "NOT_SERVING"));

  // Ten seconds of outage, liveness checked throughout: a Redis blip restarts no pod.
  bool alive = true;
  PollUntil(
      [&] {
        alive = alive && All("liveness", "SERVING");
        return std::chrono::steady_clock::now() - down >= std::chrono::seconds(10);
      },
      std::chrono::seconds(15), std::chrono::milliseconds(250));
  EXPECT_TRUE(alive);
  EXPECT_TRUE(All("", "NOT_SERVING"));
  for (const auto& [binary, name] : ServiceNames()) {
    const std::string log = stack_->process(binary)->ReadLog();
    const int logged = LogLines(log) - lines_before[binary];
    std::cout << binary << ": " << logged << " log lines (info and above) in 10 s without Redis\n";
    // The first occurrence of each failing loop, its throttled repeats, the reconnects: a few
    // dozen lines at most, not the hundred a second of old.
    EXPECT_LE(logged, 20) << binary << " logged " << logged << " lines in 10 s of outage:\n"
                          << log.substr(log.size() > 6000 ? log.size() - 6000 : 0);
  }

  ASSERT_TRUE(stack_->redis().Start().ok());
  EXPECT_TRUE(PollUntil([&] { return All("", "SERVING"); }, std::chrono::seconds(20),
                        std::chrono::milliseconds(100)));
  EXPECT_TRUE(All("own", "SERVING"));

  // And it works: a report is dispatched (Redis came back empty; the groups are made again).
  v1::ReportEventRequest request;
  request.mutable_report()->set_grid_id("37021200100101");
  request.mutable_report()->set_category("0408");
  request.mutable_report()->set_severity(v1::SEVERITY_NORMAL);
  request.mutable_report()->set_description("夜间施工噪音");
  v1::ReportEventResponse response;
  grpc::Status status;
  ASSERT_TRUE(PollUntil(
      [&] {
        response.Clear();
        status = gateway().ReportEvent(Context().get(), request, &response);
        return status.ok();
      },
      std::chrono::seconds(10), std::chrono::milliseconds(200)))
      << status.error_message();
  AwaitWhere(response.event_id(),
             [](const v1::Event& e) { return e.state() == v1::EVENT_STATE_DISPATCHED; });
}

TEST_F(HealthTest, TheGatewayIsNotReadyWithoutTheServicesItFronts) {
  stack_->StopService("grid-intake", SIGKILL);
  EXPECT_TRUE(PollUntil([&] { return HealthOf(stack_->address("grid-gateway")) == "NOT_SERVING"; },
                        std::chrono::seconds(5), std::chrono::milliseconds(100)));
  EXPECT_EQ(HealthOf(stack_->address("grid-gateway"), "liveness"), "SERVING");
  ASSERT_TRUE(stack_->StartService("grid-intake").ok());
  EXPECT_TRUE(PollUntil([&] { return HealthOf(stack_->address("grid-gateway")) == "SERVING"; },
                        std::chrono::seconds(10), std::chrono::milliseconds(100)));
}

// With TLS and mutual TLS on, probes read health on each service's plaintext health port: the
// same one health service as the main port's, so readiness (Redis, and for the gateway the
// services it fronts, probed over mutual TLS) shows there, and liveness stays.
class SecuredHealthTest : public testing::StackTest {
 protected:
  void SetUp() override {
    Stack::Options options;
    options.tls = true;
    options.mtls = true;
    for (const auto& [binary, name] : ServiceNames()) {
      options.extra_args[binary] = {"--readiness-interval-ms", "500"};
    }
    StartStack(options);
  }

  bool All(const std::string& service_of, const std::string& want) {
    for (const auto& [binary, name] : ServiceNames()) {
      const std::string service = service_of == "own" ? name : service_of;
      if (HealthOf(stack_->health_address(binary), service) != want) {
        return false;
      }
    }
    return true;
  }
};

TEST_F(SecuredHealthTest, TheHealthPortShowsReadinessAndLiveness) {
  ASSERT_TRUE(All("", "SERVING"));
  ASSERT_TRUE(All("own", "SERVING"));
  ASSERT_TRUE(All("liveness", "SERVING"));

  ASSERT_TRUE(stack_->redis().Stop().ok());
  EXPECT_TRUE(PollUntil([&] { return All("", "NOT_SERVING"); }, std::chrono::seconds(5),
                        std::chrono::milliseconds(100)));
  EXPECT_TRUE(All("own", "NOT_SERVING"));
  EXPECT_TRUE(All("liveness", "SERVING"));
  ASSERT_TRUE(stack_->redis().Start().ok());
  EXPECT_TRUE(PollUntil([&] { return All("", "SERVING"); }, std::chrono::seconds(20),
                        std::chrono::milliseconds(100)));

  // The gateway probes what it fronts over mutual TLS: intake gone, the gateway is not ready.
  const std::string gateway = stack_->health_address("grid-gateway");
  stack_->StopService("grid-intake", SIGKILL);
  EXPECT_TRUE(PollUntil([&] { return HealthOf(gateway) == "NOT_SERVING"; }, std::chrono::seconds(5),
                        std::chrono::milliseconds(100)));
  EXPECT_EQ(HealthOf(gateway, "liveness"), "SERVING");
  ASSERT_TRUE(stack_->StartService("grid-intake").ok());
  EXPECT_TRUE(PollUntil([&] { return HealthOf(gateway) == "SERVING"; }, std::chrono::seconds(10),
                        std::chrono::milliseconds(100)));
}

}  // namespace
}  // namespace grid
