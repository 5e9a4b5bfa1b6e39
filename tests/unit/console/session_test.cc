#include "services/console/session.h"

#include <gtest/gtest.h>

#include "common/auth/token.h"

namespace grid::console {
namespace {

Request MakeRequest(http::verb method, std::vector<std::pair<std::string, std::string>> headers) {
  Request request(method, "/api/v1/events/E1:accept", 11);
  request.set(http::field::host, "console.local:7080");
  for (const auto& [name, value] : headers) {
    request.set(name, value);
  }
  return request;
}

TEST(CookieValueTest, FindsTheNamedCookieOnly) {
  EXPECT_EQ(CookieValue("a=1; grid_session=tok.en.x; grid_csrf=c", "grid_session"), "tok.en.x");
  EXPECT_EQ(CookieValue("grid_sessionx=1;grid_csrf=c", "grid_csrf"), "c");
  EXPECT_FALSE(CookieValue("grid_sessionx=1", "grid_session").has_value());
  EXPECT_FALSE(CookieValue("", "grid_session").has_value());
}

TEST(CredentialsOfTest, TheAuthorizationHeaderWinsOverTheCookie) {
  const Credentials bearer =
      CredentialsOf(MakeRequest(http::verb::get, {{"Authorization", "Bearer abc"},
                                                  {"Cookie", "grid_session=def; grid_csrf=c1"}}));
  EXPECT_EQ(bearer.via, Credentials::Via::kBearer);
  EXPECT_EQ(bearer.token, "abc");
  const Credentials cookie =
      CredentialsOf(MakeRequest(http::verb::get, {{"Cookie", "grid_session=def; grid_csrf=c1"}}));
  EXPECT_EQ(cookie.via, Credentials::Via::kCookie);
  EXPECT_EQ(cookie.token, "def");
  EXPECT_EQ(cookie.csrf_cookie, "c1");
  EXPECT_EQ(CredentialsOf(MakeRequest(http::verb::get, {})).via, Credentials::Via::kNone);
  // An empty session cookie (signed out) is no token.
  EXPECT_EQ(CredentialsOf(MakeRequest(http::verb::get, {{"Cookie", "grid_session="}})).via,
            Credentials::Via::kNone);
}

TEST(CheckCsrfTest, ACookieBorneMoveNeedsTheMatchingHeader) {
  const std::string cookies = "grid_session=tok; grid_csrf=abcdefabcdefabcdef";
  const auto check = [&](std::vector<std::pair<std::string, std::string>> headers,
                         http::verb method = http::verb::post) {
    headers.emplace_back("Cookie", cookies);
    const Request request = MakeRequest(method, headers);
    return CheckCsrf(request, CredentialsOf(request), false);
  };
  EXPECT_TRUE(check({{"X-Grid-CSRF", "abcdefabcdefabcdef"}}).ok());
  EXPECT_EQ(check({}).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(check({{"X-Grid-CSRF", "abcdefabcdefabcdeX"}}).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(check({{"X-Grid-CSRF", "abc"}}).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(check({}, http::verb::delete_).code(), absl::StatusCode::kPermissionDenied);
  // Reads need nothing.
  EXPECT_TRUE(check({}, http::verb::get).ok());
  // The right header from a foreign origin is still refused, naming it.
  const absl::Status foreign =
      check({{"X-Grid-CSRF", "abcdefabcdefabcdef"}, {"Origin", "https://evil.example"}});
  EXPECT_EQ(foreign.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(foreign.message().find("evil.example"), std::string::npos);
  EXPECT_TRUE(
      check({{"X-Grid-CSRF", "abcdefabcdefabcdef"}, {"Origin", "http://console.local:7080"}}).ok());
}

TEST(CheckCsrfTest, ABearerTokenNeedsNoHeader) {
  const Request request = MakeRequest(
      http::verb::post, {{"Authorization", "Bearer tok"}, {"Cookie", "grid_session=other"}});
  EXPECT_TRUE(CheckCsrf(request, CredentialsOf(request), false).ok());
}

TEST(CookiesTest, SessionIsHttpOnlyStrictAndSecureOverHttps) {
  const std::string session = SessionCookie("tok", std::chrono::seconds(3600), true);
  EXPECT_EQ(session, "grid_session=tok; Path=/; Max-Age=3600; SameSite=Strict; HttpOnly; Secure");
  EXPECT_EQ(SessionCookie("tok", std::chrono::seconds(60), false),
            "grid_session=tok; Path=/; Max-Age=60; SameSite=Strict; HttpOnly");
  // The page's script reads the CSRF cookie: not HttpOnly.
  EXPECT_EQ(CsrfCookie("c", std::chrono::seconds(60), false),
            "grid_csrf=c; Path=/; Max-Age=60; SameSite=Strict");
  EXPECT_EQ(SessionCookie("", std::chrono::seconds(0), false),
            "grid_session=; Path=/; Max-Age=0; SameSite=Strict; HttpOnly");
}

TEST(RandomTokenTest, IsUrlSafeAndNeverRepeats) {
  const std::string a = RandomToken();
  const std::string b = RandomToken();
  EXPECT_EQ(a.size(), 43u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
}

TEST(DecodeClaimsTest, ReadsWhatAGatewayTokenSays) {
  const std::string secret(40, 's');
  auto token = auth::IssueToken({"h1", v1::ROLE_HANDLER, "370212001001", 1000, 2000}, secret);
  ASSERT_TRUE(token.ok());
  auto claims = DecodeClaims(*token);
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->subject, "h1");
  EXPECT_EQ(claims->role, v1::ROLE_HANDLER);
  EXPECT_EQ(claims->unit_id, "370212001001");
  EXPECT_EQ(claims->issued_at, 1000);
  EXPECT_EQ(claims->expires_at, 2000);
  EXPECT_EQ(DecodeClaims("not-a-jwt").status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(DecodeClaims("a.b.c").status().code(), absl::StatusCode::kUnauthenticated);
  // {"sub":"x"}: claims missing.
  EXPECT_EQ(DecodeClaims("e30.eyJzdWIiOiJ4In0.sig").status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(SigninCodesTest, ACodeWorksOnceAndOnlyUntilItExpires) {
  FakeClock clock(1'000'000);
  SigninCodes codes(clock, std::chrono::seconds(300), 10);
  const SigninCodes::Issued first = codes.Issue("token-1");
  EXPECT_EQ(first.expires_at_ms, 1'300'000);
  EXPECT_EQ(codes.Redeem(first.code), "token-1");
  EXPECT_FALSE(codes.Redeem(first.code).has_value());
  const SigninCodes::Issued second = codes.Issue("token-2");
  clock.Advance(300'000);
  EXPECT_FALSE(codes.Redeem(second.code).has_value());
  EXPECT_FALSE(codes.Redeem("made-up").has_value());
}

TEST(SigninCodesTest, HoldsAtMostItsCapacityDroppingTheOldest) {
  FakeClock clock(0);
  SigninCodes codes(clock, std::chrono::seconds(300), 3);
  std::vector<std::string> issued;
  for (int i = 0; i < 5; ++i) {
    issued.push_back(codes.Issue("t" + std::to_string(i)).code);
  }
  EXPECT_EQ(codes.size(), 3u);
  EXPECT_FALSE(codes.Redeem(issued[0]).has_value());
  EXPECT_FALSE(codes.Redeem(issued[1]).has_value());
  EXPECT_EQ(codes.Redeem(issued[4]), "t4");
}

}  // namespace
}  // namespace grid::console
