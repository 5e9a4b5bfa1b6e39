#include "services/webhooks/admin.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "services/webhooks/signature.h"
#include "tests/support/shipped_config.h"

namespace grid::webhooks {
namespace {

using ::testing::HasSubstr;
using testing::ShippedTopology;

TEST(RedactedUrlTest, TakesOutUserInformationOnly) {
  EXPECT_EQ(RedactedUrl("https://user:pw@city.example.org/hook?a=b@c"),
            "https://city.example.org/hook?a=b@c");
  EXPECT_EQ(RedactedUrl("http://token@10.0.0.5:8080"), "http://10.0.0.5:8080");
  EXPECT_EQ(RedactedUrl("https://a:b@c@host.example/x"), "https://host.example/x");
  EXPECT_EQ(RedactedUrl("https://city.example.org/grid/webhook"),
            "https://city.example.org/grid/webhook");
  EXPECT_EQ(RedactedUrl("https://city.example.org/p@th"), "https://city.example.org/p@th");
  EXPECT_EQ(RedactedUrl("not a url"), "not a url");
}

TEST(PingBodyTest, IsJsonNamingTheReceiverAndSignsLikeADelivery) {
  v1::WebhookReceiver receiver;
  receiver.set_name("city-management");
  receiver.set_unit_id("370212D01");
  const std::string body = PingBody(receiver, 1764670504123);
  const auto json = nlohmann::json::parse(body);
  EXPECT_EQ(json["ping"]["receiver"], "city-management");
  EXPECT_EQ(json["ping"]["unit_id"], "370212D01");
  EXPECT_EQ(json["ping"]["at"], "2025-12-02T10:15:04.123Z");
  EXPECT_EQ(SignatureHeader("s", 1764670504, body),
            "t=1764670504,v1=" + SignatureHex("s", 1764670504, body));
}

TEST(CheckRedeliverTest, NamesTheFieldAtFault) {
  v1::RedeliverWebhooksRequest request;
  EXPECT_EQ(CheckRedeliver(request, ShippedTopology()).message(), "receiver: required");
  request.set_receiver("city-management");
  EXPECT_TRUE(CheckRedeliver(request, ShippedTopology()).ok());
  request.set_limit(-1);
  const absl::Status negative = CheckRedeliver(request, ShippedTopology());
  EXPECT_EQ(negative.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(negative.message(), HasSubstr("limit: -1"));
  request.set_limit(5);
  request.set_subdistrict_id("370212001001");  // A community, not a subdistrict.
  const absl::Status community = CheckRedeliver(request, ShippedTopology());
  EXPECT_EQ(community.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(community.message(), HasSubstr("subdistrict_id: \"370212001001\""));
  request.set_subdistrict_id("370212001");
  EXPECT_TRUE(CheckRedeliver(request, ShippedTopology()).ok());
}

}  // namespace
}  // namespace grid::webhooks
