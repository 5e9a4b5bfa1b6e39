// Console::Handle against a fake gateway: the API's error surface, CSRF, sign-in and sign-out.
#include "services/console/console.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/auth/token.h"
#include "tests/unit/console/fakes.h"

namespace grid::console {
namespace {

using testing::FakeExchange;
using testing::FakeGateway;

class ConsoleTest : public ::testing::Test {
 protected:
  ConsoleTest()
      : dir_(std::filesystem::temp_directory_path() /
             ("console-test-" + std::to_string(::getpid()))),
        files_(dir_),
        clock_(1'800'000'000'000),
        metrics_(registry_),
        console_(gateway_, files_, clock_, ConsoleOptions(), metrics_) {
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "index.html") << "<!doctype html>";
  }
  ~ConsoleTest() override { std::filesystem::remove_all(dir_); }

  // A token the fake gateway "accepts": a real JWT, so that its claims decode.
  std::string Token(v1::Role role = v1::ROLE_OPERATOR) {
    auto token = auth::IssueToken({"op1", role, "370212001", 1'800'000'000, 1'800'003'600},
                                  std::string(40, 's'));
    EXPECT_TRUE(token.ok());
    return *token;
  }

  Response Call(http::verb method, const std::string& target,
                std::vector<std::pair<std::string, std::string>> headers = {},
                const std::string& body = "", bool secure = false) {
    Request request(method, target, 11);
    request.set(http::field::host, "127.0.0.1:7080");
    for (const auto& [name, value] : headers) {
      request.insert(name, value);
    }
    request.body() = body;
    request.prepare_payload();
    auto exchange = std::make_shared<FakeExchange>(secure);
    console_.Handle(std::move(request), exchange);
    auto response = exchange->AwaitResponse();
    EXPECT_TRUE(response.has_value()) << target;
    return response.value_or(Response());
  }

  static nlohmann::json Error(const Response& response) {
    return nlohmann::json::parse(response.body())["error"];
  }
  static std::vector<std::string> SetCookies(const Response& response) {
    std::vector<std::string> out;
    for (const auto& field : response) {
      if (field.name() == http::field::set_cookie) {
        out.emplace_back(field.value());
      }
    }
    return out;
  }

  std::filesystem::path dir_;
  FakeGateway gateway_;
  StaticFiles files_;
  FakeClock clock_;
  prometheus::Registry registry_;
  ConsoleMetrics metrics_;
  Console console_;
};

TEST_F(ConsoleTest, AReadIsForwardedWithTheBearerToken) {
  gateway_.answer = [](const std::string&, google::protobuf::Message* response) {
    static_cast<v1::GetEventResponse*>(response)->mutable_event()->set_id("E1");
    return grpc::Status::OK;
  };
  const Response response =
      Call(http::verb::get, "/api/v1/events/E1", {{"Authorization", "Bearer tok"}});
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response[http::field::content_type], "application/json; charset=utf-8");
  EXPECT_EQ(response[http::field::cache_control], "no-store");
  EXPECT_EQ(nlohmann::json::parse(response.body())["event"]["id"], "E1");
  EXPECT_EQ(gateway_.call(0).token, "tok");
}

TEST_F(ConsoleTest, WithoutATokenTheGatewayDecides) {
  gateway_.answer = [](const std::string&, google::protobuf::Message*) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "missing bearer token");
  };
  const Response response = Call(http::verb::get, "/api/v1/stats");
  EXPECT_EQ(response.result_int(), 401);
  EXPECT_EQ(Error(response)["code"], "UNAUTHENTICATED");
  EXPECT_EQ(gateway_.call(0).token, "");
}

TEST_F(ConsoleTest, UnknownPathsAndMethodsAreRefusedWithTheErrorBody) {
  const Response missing = Call(http::verb::get, "/api/v1/nothing");
  EXPECT_EQ(missing.result_int(), 404);
  EXPECT_EQ(Error(missing)["code"], "NOT_FOUND");
  const Response wrong = Call(http::verb::put, "/api/v1/events");
  EXPECT_EQ(wrong.result_int(), 405);
  EXPECT_EQ(wrong[http::field::allow], "GET, POST");
  EXPECT_EQ(gateway_.call_count(), 0u);
}

TEST_F(ConsoleTest, AMoveSignedInByCookieNeedsTheCsrfHeader) {
  const std::string cookies = "grid_session=" + Token() + "; grid_csrf=csrf-value-0123456789";
  const Response refused = Call(http::verb::post, "/api/v1/events/E1:accept",
                                {{"Cookie", cookies}, {"Content-Type", "application/json"}}, "{}");
  EXPECT_EQ(refused.result_int(), 403);
  EXPECT_NE(Error(refused)["message"].get<std::string>().find("X-Grid-CSRF"), std::string::npos);
  EXPECT_EQ(gateway_.call_count(), 0u);
  const Response accepted = Call(http::verb::post, "/api/v1/events/E1:accept",
                                 {{"Cookie", cookies},
                                  {"Content-Type", "application/json"},
                                  {"X-Grid-CSRF", "csrf-value-0123456789"}},
                                 R"({"expected_version":"2"})");
  EXPECT_EQ(accepted.result_int(), 200);
  ASSERT_EQ(gateway_.methods(), std::vector<std::string>{"AcceptEvent"});
  EXPECT_EQ(gateway_.call(0).request, "event_id: \"E1\"\nexpected_version: 2\n");
}

TEST_F(ConsoleTest, ABodyThatIsNotJsonIsRefused) {
  const Response response =
      Call(http::verb::post, "/api/v1/events/E1:accept",
           {{"Authorization", "Bearer t"}, {"Content-Type", "text/plain"}}, "expected_version=1");
  EXPECT_EQ(response.result_int(), 415);
  EXPECT_EQ(gateway_.call_count(), 0u);
}

TEST_F(ConsoleTest, SignInChecksTheTokenWithTheGatewayAndSetsTheCookies) {
  const std::string token = Token();
  const Response response =
      Call(http::verb::post, "/api/v1/session", {{"Content-Type", "application/json"}},
           nlohmann::json{{"token", token}}.dump());
  ASSERT_EQ(response.result_int(), 200) << response.body();
  ASSERT_EQ(gateway_.methods(), std::vector<std::string>{"GetTopology"});
  EXPECT_EQ(gateway_.call(0).token, token);
  EXPECT_EQ(gateway_.call(0).request, "unit_id: \"370212001\"\n");
  const auto session = nlohmann::json::parse(response.body());
  EXPECT_EQ(session["subject"], "op1");
  EXPECT_EQ(session["role"], "ROLE_OPERATOR");
  EXPECT_EQ(session["unit_id"], "370212001");
  EXPECT_EQ(session["expires_at"], "2027-01-15T09:00:00Z");
  EXPECT_EQ(session["via"], "cookie");
  const std::vector<std::string> cookies = SetCookies(response);
  ASSERT_EQ(cookies.size(), 2u);
  EXPECT_EQ(cookies[0],
            "grid_session=" + token + "; Path=/; Max-Age=3600; SameSite=Strict; HttpOnly");
  EXPECT_EQ(cookies[1], "grid_csrf=" + session["csrf_token"].get<std::string>() +
                            "; Path=/; Max-Age=3600; SameSite=Strict");
}

TEST_F(ConsoleTest, SignInOverHttpsMarksTheCookiesSecure) {
  const Response response =
      Call(http::verb::post, "/api/v1/session", {{"Content-Type", "application/json"}},
           nlohmann::json{{"token", Token()}}.dump(), /*secure=*/true);
  ASSERT_EQ(response.result_int(), 200);
  for (const std::string& cookie : SetCookies(response)) {
    EXPECT_NE(cookie.find("; Secure"), std::string::npos) << cookie;
  }
}

TEST_F(ConsoleTest, ATokenTheGatewayRefusesDoesNotSignIn) {
  gateway_.answer = [](const std::string&, google::protobuf::Message*) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "token: expired");
  };
  const Response response =
      Call(http::verb::post, "/api/v1/session", {{"Content-Type", "application/json"}},
           nlohmann::json{{"token", Token()}}.dump());
  EXPECT_EQ(response.result_int(), 401);
  EXPECT_EQ(Error(response)["message"], "token: expired");
  EXPECT_TRUE(SetCookies(response).empty());
}

TEST_F(ConsoleTest, ARoleRefusalStillProvesTheToken) {
  gateway_.answer = [](const std::string&, google::protobuf::Message*) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "HANDLER may not GetTopology");
  };
  const Response response = Call(http::verb::get, "/api/v1/session",
                                 {{"Authorization", "Bearer " + Token(v1::ROLE_HANDLER)}});
  EXPECT_EQ(response.result_int(), 200);
  const auto session = nlohmann::json::parse(response.body());
  EXPECT_EQ(session["role"], "ROLE_HANDLER");
  EXPECT_EQ(session["via"], "bearer");
  EXPECT_EQ(session["csrf_token"], "");
}

TEST_F(ConsoleTest, SignInRefusesFormsForeignOriginsAndOddBodies) {
  EXPECT_EQ(Call(http::verb::post, "/api/v1/session",
                 {{"Content-Type", "application/x-www-form-urlencoded"}}, "token=x")
                .result_int(),
            415);
  EXPECT_EQ(Call(http::verb::post, "/api/v1/session",
                 {{"Content-Type", "application/json"}, {"Origin", "https://evil.example"}},
                 nlohmann::json{{"token", Token()}}.dump())
                .result_int(),
            403);
  const Response extra =
      Call(http::verb::post, "/api/v1/session", {{"Content-Type", "application/json"}},
           R"({"token":"x","role":"ADMIN"})");
  EXPECT_EQ(extra.result_int(), 400);
  EXPECT_NE(Error(extra)["message"].get<std::string>().find("role"), std::string::npos);
  EXPECT_EQ(Call(http::verb::post, "/api/v1/session", {{"Content-Type", "application/json"}}, "{}")
                .result_int(),
            400);
  EXPECT_EQ(gateway_.call_count(), 0u);
}

TEST_F(ConsoleTest, ASessionTheGatewayNoLongerTakesIsClearedOnRead) {
  gateway_.answer = [](const std::string&, google::protobuf::Message*) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "token: expired");
  };
  const Response response =
      Call(http::verb::get, "/api/v1/session", {{"Cookie", "grid_session=" + Token()}});
  EXPECT_EQ(response.result_int(), 401);
  const auto cookies = SetCookies(response);
  ASSERT_EQ(cookies.size(), 2u);
  EXPECT_NE(cookies[0].find("grid_session=; Path=/; Max-Age=0"), std::string::npos);
}

TEST_F(ConsoleTest, SignOutClearsBothCookies) {
  const std::string cookies = "grid_session=" + Token() + "; grid_csrf=csrf-value-0123456789";
  EXPECT_EQ(Call(http::verb::delete_, "/api/v1/session", {{"Cookie", cookies}}).result_int(), 403);
  const Response response = Call(http::verb::delete_, "/api/v1/session",
                                 {{"Cookie", cookies}, {"X-Grid-CSRF", "csrf-value-0123456789"}});
  EXPECT_EQ(response.result_int(), 204);
  const auto set = SetCookies(response);
  ASSERT_EQ(set.size(), 2u);
  EXPECT_NE(set[0].find("grid_session=; Path=/; Max-Age=0"), std::string::npos);
  EXPECT_NE(set[1].find("grid_csrf=; Path=/; Max-Age=0"), std::string::npos);
}

TEST_F(ConsoleTest, AOneTimeCodeSignsInOnceAndRedirectsToThePage) {
  const std::string token = Token();
  // Codes are for bearer tokens only.
  EXPECT_EQ(Call(http::verb::post, "/api/v1/session/codes",
                 {{"Cookie", "grid_session=" + token + "; grid_csrf=c"}, {"X-Grid-CSRF", "c"}})
                .result_int(),
            401);
  const Response issued =
      Call(http::verb::post, "/api/v1/session/codes", {{"Authorization", "Bearer " + token}});
  ASSERT_EQ(issued.result_int(), 200) << issued.body();
  const auto code = nlohmann::json::parse(issued.body());
  EXPECT_EQ(code["expires_at"], "2027-01-15T08:05:00Z");
  const std::string path = code["signin_path"];
  EXPECT_EQ(path, "/signin?code=" + code["code"].get<std::string>());

  const Response redeemed = Call(http::verb::get, path);
  EXPECT_EQ(redeemed.result_int(), 303);
  EXPECT_EQ(redeemed[http::field::location], "/");
  const auto cookies = SetCookies(redeemed);
  ASSERT_EQ(cookies.size(), 2u);
  EXPECT_EQ(cookies[0].rfind("grid_session=" + token + ";", 0), 0u);

  const Response again = Call(http::verb::get, path);
  EXPECT_EQ(again.result_int(), 303);
  EXPECT_EQ(again[http::field::location], "/signin?error=code");
  EXPECT_TRUE(SetCookies(again).empty());
}

TEST_F(ConsoleTest, ThePageIsServedWithItsSecurityPolicyLeftToTheServer) {
  const Response page = Call(http::verb::get, "/events/E1");
  EXPECT_EQ(page.result_int(), 200);
  EXPECT_EQ(page.body(), "<!doctype html>");
  EXPECT_EQ(Call(http::verb::get, "/signin").body(), "<!doctype html>");
  EXPECT_EQ(Call(http::verb::post, "/events/E1").result_int(), 405);
  EXPECT_EQ(Call(http::verb::get, "/healthz").body(), "ok\n");
}

}  // namespace
}  // namespace grid::console
