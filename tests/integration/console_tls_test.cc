// The console in front of a gateway that speaks TLS, as deploy/local/up runs them: the console
// verifies the gateway's certificate against --gateway-ca and works through it; given a CA that
// did not sign that certificate it refuses the connection and answers the browser 503 with an
// error that names the flag to check (not the gateway's address), at once rather than hanging.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/http_client.h"
#include "tests/support/paths.h"
#include "tests/support/poll.h"
#include "tests/support/stack.h"
#include "tests/support/stack_test.h"

namespace grid {
namespace {

using nlohmann::json;
using testing::HttpFetch;
using testing::HttpResult;
using testing::PollUntil;
using testing::Stack;

constexpr char kGrid[] = "37021200100101";
constexpr char kDistrict[] = "370212";

class ConsoleTlsTest : public testing::StackTest {
 protected:
  // A stack whose gateway speaks TLS, with the console verifying it against `gateway_ca` (empty:
  // the stack's own CA, which signed the gateway's certificate).
  void Start(const std::string& gateway_ca = "") {
    Stack::Options options;
    options.tls = true;
    options.console = true;
    options.console_gateway_ca = gateway_ca;
    StartStack(std::move(options));
    admin_ = stack_->Token("admin", v1::ROLE_ADMIN, kDistrict);
  }

  HttpResult Api(const std::string& method, const std::string& target,
                 const std::string& body = "") {
    testing::HttpHeaders headers = {{"Authorization", "Bearer " + admin_}};
    if (!body.empty()) {
      headers.emplace_back("Content-Type", "application/json");
    }
    return HttpFetch(stack_->console_port(), method, target, headers, body);
  }

  static json Json(const HttpResult& result) {
    return json::parse(result.body, nullptr, /*allow_exceptions=*/false);
  }

  std::string admin_;
};

TEST_F(ConsoleTlsTest, WorksThroughAGatewayItVerifies) {
  Start();
  const HttpResult reported = Api("POST", "/api/v1/events",
                                  json{{"report",
                                        {{"grid_id", kGrid},
                                         {"category", "0102"},
                                         {"severity", "SEVERITY_NORMAL"},
                                         {"description", "暴露垃圾 by the school gate"}}}}
                                      .dump());
  ASSERT_EQ(reported.status, 200) << reported.body;
  const std::string id = Json(reported)["event_id"].get<std::string>();
  json event;
  EXPECT_TRUE(PollUntil(
      [&] {
        const HttpResult read = Api("GET", "/api/v1/events/" + id);
        event = Json(read)["event"];
        return read.status == 200 && event["state"] == "EVENT_STATE_DISPATCHED";
      },
      std::chrono::seconds(10)))
      << event.dump();
}

TEST_F(ConsoleTlsTest, AGatewayItsCaDidNotSignIsRefusedWithA503) {
  Start(testing::SourcePath("tests/unit/console/testdata/other-ca.pem"));
  // HttpFetch gives up after 10 s with status 0: a 503 means the console answered, not hung.
  const HttpResult read = Api("GET", "/api/v1/events/370212001-0000000000000000");
  ASSERT_EQ(read.status, 503) << read.body;
  const json error = Json(read)["error"];
  EXPECT_EQ(error["code"], "UNAVAILABLE") << read.body;
  const std::string message = error["message"].get<std::string>();
  EXPECT_NE(message.find("--gateway-ca"), std::string::npos) << message;
  EXPECT_EQ(message.find("127.0.0.1"), std::string::npos) << message;
  // The console's log has gRPC's detail for the operator.
  const std::string log = stack_->process(Stack::kConsole)->ReadLog();
  EXPECT_NE(log.find("gateway unreachable"), std::string::npos) << log;

  // A move is refused the same way, and leaves nothing behind.
  const HttpResult reported = Api("POST", "/api/v1/events",
                                  json{{"report",
                                        {{"grid_id", kGrid},
                                         {"category", "0102"},
                                         {"severity", "SEVERITY_NORMAL"},
                                         {"description", "never reaches the gateway"}}}}
                                      .dump());
  EXPECT_EQ(reported.status, 503) << reported.body;
}

}  // namespace
}  // namespace grid
