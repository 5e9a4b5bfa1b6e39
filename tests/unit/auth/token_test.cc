// Tokens: what IssueToken signs, TokenVerifier accepts, and every way a token is refused.
#include "common/auth/token.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <jwt.h>

#include <cstdlib>
#include <limits>

#include "tests/support/paths.h"

namespace grid::auth {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSecret[] = "0123456789abcdef0123456789abcdef-test-secret";
constexpr Millis kNow = 1'800'000'000'000;  // 2027-01-15

class TokenTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto loaded =
        topology::Topology::Load(testing::SourcePath("deploy/config/laoshan-topology.json"));
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    topology_ = new topology::TopologyPtr(*loaded);
  }
  static void TearDownTestSuite() { delete topology_; }

  static Claims Valid() {
    return Claims{"h1", v1::ROLE_HANDLER, "370212001001", kNow / 1000 - 60, kNow / 1000 + 3600};
  }
  static std::string Issue(const Claims& claims, std::string_view secret = kSecret) {
    auto token = IssueToken(claims, secret);
    EXPECT_TRUE(token.ok()) << token.status();
    return token.ok() ? *token : "";
  }
  absl::StatusOr<v1::Actor> Verify(const std::string& token, VerifyOptions options = {}) {
    return TokenVerifier(kSecret, **topology_, clock_, std::move(options)).Verify(token);
  }
  static void ExpectUnauthenticated(const absl::StatusOr<v1::Actor>& result,
                                    const std::string& what) {
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_THAT(result.status().message(), HasSubstr(what));
    EXPECT_THAT(result.status().message(), Not(HasSubstr(kSecret)));
  }

  static topology::TopologyPtr* topology_;
  FakeClock clock_{kNow};
};

topology::TopologyPtr* TokenTest::topology_ = nullptr;

TEST_F(TokenTest, AValidTokenNamesTheCaller) {
  auto actor = Verify(Issue(Valid()));
  ASSERT_TRUE(actor.ok()) << actor.status();
  EXPECT_EQ(actor->subject(), "h1");
  EXPECT_EQ(actor->role(), v1::ROLE_HANDLER);
  EXPECT_EQ(actor->unit_id(), "370212001001");
}

TEST_F(TokenTest, AMissingTokenIsRefused) { ExpectUnauthenticated(Verify(""), "missing"); }

TEST_F(TokenTest, AMalformedTokenIsRefused) {
  ExpectUnauthenticated(Verify("not.a.jwt"), "malformed");
  ExpectUnauthenticated(Verify("garbage"), "malformed");
}

TEST_F(TokenTest, AnExpiredTokenIsRefused) {
  const std::string token = Issue(Valid());
  clock_.Set(kNow + 3600 * 1000 + 5000);
  ExpectUnauthenticated(Verify(token), "expired");
}

TEST_F(TokenTest, ATokenWithoutExpiryIsRefused) {
  Claims claims = Valid();
  claims.expires_at = 0;
  ExpectUnauthenticated(Verify(Issue(claims)), "exp");
}

TEST_F(TokenTest, AForgedSignatureIsRefused) {
  std::string token = Issue(Valid());
  // Claim another role in the payload and keep the old signature.
  const Claims admin{"h1", v1::ROLE_ADMIN, "370212", kNow / 1000, kNow / 1000 + 3600};
  const std::string other = Issue(admin);
  const std::string forged = other.substr(0, other.rfind('.')) + token.substr(token.rfind('.'));
  ExpectUnauthenticated(Verify(forged), "bad signature");
  // A flipped character of the signature.
  token.back() = token.back() == 'A' ? 'B' : 'A';
  ExpectUnauthenticated(Verify(token), "bad signature");
}

TEST_F(TokenTest, ATokenSignedWithAnotherSecretIsRefused) {
  ExpectUnauthenticated(Verify(Issue(Valid(), "another-secret-of-at-least-32-bytes!!")),
                        "bad signature");
}

TEST_F(TokenTest, AnUnsignedTokenIsRefused) {
  // {"alg":"none","typ":"JWT"} . {"sub":"x","role":"ADMIN","unit":"370212","exp":99999999999} .
  const std::string none =
      "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0."
      "eyJzdWIiOiJ4Iiwicm9sZSI6IkFETUlOIiwidW5pdCI6IjM3MDIxMiIsImV4cCI6OTk5OTk5OTk5OTl9.";
  auto result = Verify(none);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnauthenticated);
}

// Signs arbitrary string claims with HS256, as a foreign issuer could.
std::string SignRaw(const std::vector<std::pair<std::string, std::string>>& claims, long exp) {
  jwt_t* jwt = nullptr;
  EXPECT_EQ(jwt_new(&jwt), 0);
  for (const auto& [key, value] : claims) {
    jwt_add_grant(jwt, key.c_str(), value.c_str());
  }
  jwt_add_grant_int(jwt, "exp", exp);
  jwt_set_alg(jwt, JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(kSecret),
              static_cast<int>(sizeof(kSecret) - 1));
  char* encoded = jwt_encode_str(jwt);
  std::string token(encoded);
  free(encoded);
  jwt_free(jwt);
  return token;
}

TEST_F(TokenTest, AFarFutureExpiryIsNotExpired) {
  // Found by the token fuzz target: exp * 1000 overflowed, and the token read as expired.
  const auto actor = Verify(SignRaw({{"sub", "x"}, {"role", "ADMIN"}, {"unit", "370212"}},
                                    std::numeric_limits<long>::max()));
  ASSERT_TRUE(actor.ok()) << actor.status();
  EXPECT_EQ(actor->subject(), "x");
}

TEST_F(TokenTest, NoTokenIsIssuedForAClientSystem) {
  // Found by the token fuzz target when ROLE_SYSTEM joined the enum: a token claiming SYSTEM was
  // signed, and refused by the verifier. SYSTEM comes with an api key only.
  Claims claims = Valid();
  claims.role = v1::ROLE_SYSTEM;
  const auto token = IssueToken(claims, kSecret);
  EXPECT_EQ(token.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(token.status().message(), ::testing::HasSubstr("role"));
}

TEST_F(TokenTest, ClaimsThatCannotBeSignedAsThemselvesAreRefused) {
  // Found by the token fuzz target: libjwt takes C strings, so a subject with a NUL was signed cut
  // short, and bytes that are not UTF-8 were signed mangled.
  for (const std::string& bad :
       {std::string("ab\0cd", 5), std::string("\xff\xfe"), std::string("a\xc3")}) {
    Claims claims = Valid();
    claims.subject = bad;
    auto token = IssueToken(claims, kSecret);
    EXPECT_EQ(token.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(token.status().message(), ::testing::HasSubstr("subject"));
    claims = Valid();
    claims.unit_id = bad;
    token = IssueToken(claims, kSecret);
    EXPECT_EQ(token.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(token.status().message(), ::testing::HasSubstr("unit"));
  }
  Claims claims = Valid();
  claims.subject = "网格员-张三";
  auto token = IssueToken(claims, kSecret);
  ASSERT_TRUE(token.ok()) << token.status();
  auto actor = Verify(*token);
  ASSERT_TRUE(actor.ok()) << actor.status();
  EXPECT_EQ(actor->subject(), "网格员-张三");
}

TEST_F(TokenTest, AnUnknownRoleIsRefused) {
  const long exp = kNow / 1000 + 3600;
  ExpectUnauthenticated(
      Verify(SignRaw({{"sub", "x"}, {"role", "SUPERUSER"}, {"unit", "370212"}}, exp)),
      "unknown role \"SUPERUSER\"");
  ExpectUnauthenticated(Verify(SignRaw({{"sub", "x"}, {"unit", "370212"}}, exp)), "no role");
  ExpectUnauthenticated(Verify(SignRaw({{"role", "ADMIN"}, {"unit", "370212"}}, exp)), "no sub");
  ASSERT_TRUE(Verify(SignRaw({{"sub", "x"}, {"role", "ADMIN"}, {"unit", "370212"}}, exp)).ok());

  // IssueToken refuses an unset role; the verifier refuses a token that carries one anyway.
  Claims claims = Valid();
  claims.role = v1::ROLE_UNSPECIFIED;
  EXPECT_EQ(IssueToken(claims, kSecret).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(ParseRole("SUPERUSER").has_value());
  EXPECT_EQ(ParseRole("role_operator"), v1::ROLE_OPERATOR);
  EXPECT_EQ(ParseRole("admin"), v1::ROLE_ADMIN);
}

TEST_F(TokenTest, AnUnknownUnitIsRefused) {
  Claims claims = Valid();
  claims.unit_id = "370212999";
  ExpectUnauthenticated(Verify(Issue(claims)), "unknown unit \"370212999\"");
}

TEST_F(TokenTest, ATokenNotValidYetIsRefusedBeyondTheLeeway) {
  Claims claims = Valid();
  // Within the leeway (60 s by default): an issuer whose clock runs a little ahead.
  claims.not_before = kNow / 1000 + 30;
  EXPECT_TRUE(Verify(Issue(claims)).ok());
  claims.not_before = kNow / 1000 + 120;
  ExpectUnauthenticated(Verify(Issue(claims)), "not valid yet (nbf is 120 s from now)");
  // No leeway: the same token 30 s ahead is refused too.
  claims.not_before = kNow / 1000 + 30;
  ExpectUnauthenticated(Verify(Issue(claims), {.leeway = std::chrono::seconds(0)}),
                        "not valid yet");
  // Once the time comes, it holds.
  claims.not_before = kNow / 1000 + 120;
  const std::string token = Issue(claims);
  clock_.Set(kNow + 61'000);
  EXPECT_TRUE(Verify(token).ok());
}

TEST_F(TokenTest, ATokenIssuedInTheFutureIsRefusedBeyondTheLeeway) {
  Claims claims = Valid();
  claims.issued_at = kNow / 1000 + 30;
  EXPECT_TRUE(Verify(Issue(claims)).ok());
  claims.issued_at = kNow / 1000 + 600;
  ExpectUnauthenticated(Verify(Issue(claims)), "issued in the future (iat is 600 s from now)");
}

TEST_F(TokenTest, TheIssuerMustMatchWhenOneIsRequired) {
  Claims claims = Valid();
  claims.issuer = "laoshan-sso";
  const VerifyOptions required{.issuer = "laoshan-sso"};
  EXPECT_TRUE(Verify(Issue(claims), required).ok());
  // Without a required issuer, any (or none) is accepted.
  EXPECT_TRUE(Verify(Issue(claims)).ok());
  claims.issuer = "someone-else";
  ExpectUnauthenticated(Verify(Issue(claims), required),
                        "issuer \"someone-else\" is not \"laoshan-sso\"");
  claims.issuer.clear();
  ExpectUnauthenticated(Verify(Issue(claims), required), "issuer \"\" is not");
}

TEST_F(TokenTest, TheAudienceMustBeNamedWhenOneIsRequired) {
  Claims claims = Valid();
  claims.audience = "grid-gateway";
  const VerifyOptions required{.audience = "grid-gateway"};
  EXPECT_TRUE(Verify(Issue(claims), required).ok());
  claims.audience = "grid-console";
  ExpectUnauthenticated(Verify(Issue(claims), required), "not meant for audience \"grid-gateway\"");
  claims.audience.clear();
  ExpectUnauthenticated(Verify(Issue(claims), required), "audience");

  // RFC 7519: aud may be an array; naming the gateway among others is enough.
  auto with_audiences = [](const char* json) {
    jwt_t* jwt = nullptr;
    EXPECT_EQ(jwt_new(&jwt), 0);
    jwt_add_grant(jwt, "sub", "x");
    jwt_add_grant(jwt, "role", "ADMIN");
    jwt_add_grant(jwt, "unit", "370212");
    jwt_add_grant_int(jwt, "exp", kNow / 1000 + 3600);
    jwt_add_grants_json(jwt, json);
    jwt_set_alg(jwt, JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(kSecret),
                static_cast<int>(sizeof(kSecret) - 1));
    char* encoded = jwt_encode_str(jwt);
    std::string token(encoded);
    free(encoded);
    jwt_free(jwt);
    return token;
  };
  EXPECT_TRUE(
      Verify(with_audiences(R"({"aud": ["grid-console", "grid-gateway"]})"), required).ok());
  ExpectUnauthenticated(Verify(with_audiences(R"({"aud": ["grid-console", 7]})"), required),
                        "audience");
}

TEST_F(TokenTest, ARememberedTokenStillEndsAtItsExpiryAndHoldsOnlyFromItsStart) {
  // One verifier, as the gateway has: the second check of the same text is answered from memory,
  // and must answer as a first check would at every moment.
  Claims claims = Valid();
  claims.not_before = kNow / 1000 + 30;  // Within the 60 s leeway.
  const std::string token = Issue(claims);
  TokenVerifier verifier(kSecret, **topology_, clock_);
  ASSERT_TRUE(verifier.Verify(token).ok());
  EXPECT_EQ(verifier.cached_tokens(), 1u);
  ASSERT_TRUE(verifier.Verify(token).ok());
  // A clock set back before nbf less the leeway: not valid yet, as a first check says.
  clock_.Set(kNow - 31'000);
  ASSERT_FALSE(verifier.Verify(token).ok());
  EXPECT_THAT(verifier.Verify(token).status().message(), HasSubstr("not valid yet"));
  clock_.Set(kNow);
  ASSERT_TRUE(verifier.Verify(token).ok());
  // The last second before exp holds; exp itself does not.
  clock_.Set((claims.expires_at - 1) * 1000 + 999);
  EXPECT_TRUE(verifier.Verify(token).ok());
  clock_.Set(claims.expires_at * 1000);
  auto expired = verifier.Verify(token);
  ASSERT_FALSE(expired.ok());
  EXPECT_THAT(expired.status().message(), HasSubstr("expired 0 s ago"));
}

TEST_F(TokenTest, ARememberedTokenDoesNotVouchForAnyOtherText) {
  TokenVerifier verifier(kSecret, **topology_, clock_);
  const std::string token = Issue(Valid());
  ASSERT_TRUE(verifier.Verify(token).ok());
  // The same claims with a character of the signature changed (not the last: its low bits are
  // padding), and the token with a byte more or less.
  std::string forged = token;
  char& in_signature = forged[forged.size() - 10];
  in_signature = in_signature == 'A' ? 'B' : 'A';
  EXPECT_FALSE(verifier.Verify(forged).ok());
  EXPECT_FALSE(verifier.Verify(token + "x").ok());
  EXPECT_FALSE(verifier.Verify(token.substr(0, token.size() - 1)).ok());
  EXPECT_EQ(verifier.cached_tokens(), 1u);
}

TEST_F(TokenTest, TheTokensRememberedAreBounded) {
  TokenVerifier verifier(kSecret, **topology_, clock_);
  Claims claims = Valid();
  for (std::size_t i = 0; i <= TokenVerifier::kCachedTokens; ++i) {
    claims.subject = "worker-" + std::to_string(i);
    ASSERT_TRUE(verifier.Verify(Issue(claims)).ok());
    ASSERT_LE(verifier.cached_tokens(), TokenVerifier::kCachedTokens);
  }
  // Full, it started over: the last one is remembered.
  EXPECT_EQ(verifier.cached_tokens(), 1u);
}

TEST_F(TokenTest, TheVerifiedTokenSaysWhenItExpires) {
  auto verified = TokenVerifier(kSecret, **topology_, clock_).VerifyToken(Issue(Valid()));
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->expires_at, (kNow / 1000 + 3600) * 1000);
  EXPECT_EQ(verified->actor.subject(), "h1");
}

TEST_F(TokenTest, AShortSecretIsRefused) {
  EXPECT_EQ(IssueToken(Valid(), "short").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace grid::auth
