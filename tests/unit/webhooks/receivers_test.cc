#include "services/webhooks/receivers.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/config/json_file.h"
#include "tests/support/paths.h"
#include "tests/support/shipped_config.h"

namespace grid::webhooks {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::ShippedTopology;

constexpr char kGrid[] = "37021200100101";
constexpr char kCommunity[] = "370212001001";
constexpr char kSubdistrict[] = "370212001";
constexpr char kOtherSubdistrict[] = "370212002";
constexpr char kCityManagement[] = "370212D01";

absl::StatusOr<ReceiversPtr> Build(const std::string& json) {
  v1::WebhookConfig config;
  if (auto status = config::ParseJson(json, "webhooks.json", config); !status.ok()) {
    return status;
  }
  return Receivers::Build(std::move(config), ShippedTopology());
}

std::string One(const std::string& fields) {
  return R"({"receivers": [{"name": "a", "unit_id": "370212001", "url": "https://x.example/h",
              "secret": "s")" +
         (fields.empty() ? "" : ", " + fields) + "}]}";
}

TEST(ReceiversTest, TheShippedExampleLoads) {
  auto receivers =
      Receivers::Load(testing::SourcePath("deploy/config/webhooks.json"), ShippedTopology());
  ASSERT_TRUE(receivers.ok()) << receivers.status();
}

TEST(ReceiversTest, ErrorsNameTheFieldAtFault) {
  const auto error = [](const std::string& json) {
    auto built = Build(json);
    return built.ok() ? std::string("ok") : std::string(built.status().message());
  };
  EXPECT_EQ(error(One("")), "ok");
  EXPECT_THAT(error(R"({"receivers": [{"name": "a", "unit_id": "370212D99",
      "url": "https://x.example/", "secret": "s"}]})"),
              HasSubstr("receivers[0].unit_id: unknown unit \"370212D99\""));
  EXPECT_THAT(error(R"({"receivers": [{"name": "a", "unit_id": "370212001",
      "url": "ftp://x.example/", "secret": "s"}]})"),
              HasSubstr("receivers[0].url: \"ftp://x.example/\""));
  EXPECT_THAT(error(R"({"receivers": [{"name": "a", "unit_id": "370212001",
      "url": "https://x.example/"}]})"),
              HasSubstr("receivers[0].secret: required"));
  EXPECT_THAT(error(R"({"receivers": [{"name": "a", "unit_id": "370212001",
      "url": "https://x.example/", "secret": "s"}, {"name": "a", "unit_id": "370212001",
      "url": "https://y.example/", "secret": "s"}]})"),
              HasSubstr("receivers[1].name: \"a\" is used by another receiver"));
  EXPECT_THAT(error(R"({"receivers": [{"name": "Big Name", "unit_id": "370212001",
      "url": "https://x.example/", "secret": "s"}]})"),
              HasSubstr("receivers[0].name"));
  EXPECT_THAT(error(One(R"("category_prefixes": [""])")),
              HasSubstr("receivers[0].category_prefixes[0]"));
  EXPECT_THAT(error(One(R"("kinds": ["CHANGE_KIND_UNSPECIFIED"])")),
              HasSubstr("receivers[0].kinds[0]"));
  // A misspelt key is an error of protobuf's parser, naming it.
  EXPECT_THAT(error(One(R"("secrett": "s")")), HasSubstr("secrett"));
}

v1::EventChange Change(v1::ChangeKind kind, const std::string& from_unit,
                       const std::string& to_unit, const std::string& category = "0102") {
  v1::EventChange change;
  change.set_event_id("370212001-E1");
  change.set_kind(kind);
  change.set_grid_id(kGrid);
  change.set_subdistrict_id(kSubdistrict);
  change.set_from_unit_id(from_unit);
  change.set_to_unit_id(to_unit);
  change.set_category(category);
  return change;
}

TEST(ReceiversTest, AChangeGoesToTheReceiversWhoseSubtreeHoldsItAndWhoseFiltersPass) {
  auto receivers = Build(R"({"receivers": [
    {"name": "sd", "unit_id": "370212001", "url": "https://x.example/", "secret": "s"},
    {"name": "other-sd", "unit_id": "370212002", "url": "https://x.example/", "secret": "s"},
    {"name": "city", "unit_id": "370212D01", "url": "https://x.example/", "secret": "s"},
    {"name": "district", "unit_id": "370212", "url": "https://x.example/", "secret": "s",
     "kinds": ["CHANGE_KIND_DISPATCHED"], "category_prefixes": ["01"]},
    {"name": "off", "unit_id": "370212001", "url": "https://x.example/", "secret": "s",
     "disabled": true}]})");
  ASSERT_TRUE(receivers.ok()) << receivers.status();
  const topology::Topology& topology = ShippedTopology();
  // Dispatched to the community: the subdistrict and the district see it; the department and the
  // other subdistrict do not.
  EXPECT_THAT((*receivers)->Matching(Change(v1::CHANGE_KIND_DISPATCHED, "", kCommunity), topology),
              ElementsAre("district", "sd"));
  // Escalated to the department: it sees the change that brought the event in.
  EXPECT_THAT(
      (*receivers)
          ->Matching(Change(v1::CHANGE_KIND_ESCALATED, kCommunity, kCityManagement), topology),
      ElementsAre("city", "sd"));
  // The district's receiver wants dispatches of class 01 only.
  EXPECT_THAT(
      (*receivers)->Matching(Change(v1::CHANGE_KIND_DISPATCHED, "", kCommunity, "0501"), topology),
      ElementsAre("sd"));
  EXPECT_EQ((*receivers)->Find("off"), nullptr);
  // A disabled receiver is sent nothing but is still known (status, ping, redelivery).
  ASSERT_NE((*receivers)->FindConfigured("off"), nullptr);
  EXPECT_TRUE((*receivers)->FindConfigured("off")->config.disabled());
  EXPECT_EQ((*receivers)->FindConfigured("sd"), (*receivers)->Find("sd"));
  EXPECT_EQ((*receivers)->FindConfigured("nobody"), nullptr);
  EXPECT_EQ((*receivers)->disabled().size(), 1u);
  (void)kOtherSubdistrict;
}

TEST(ReceiversTest, NoReceiversMatchNothing) {
  auto receivers = Build("{}");
  ASSERT_TRUE(receivers.ok());
  EXPECT_THAT((*receivers)->Matching(Change(v1::CHANGE_KIND_REPORTED, "", ""), ShippedTopology()),
              IsEmpty());
}

TEST(RetryDelayTest, DoublesFromTheBaseUpToTheCapWithJitterInTheUpperHalf) {
  using std::chrono::milliseconds;
  const milliseconds base(1000);
  const milliseconds cap(600000);
  EXPECT_EQ(RetryDelay(1, base, cap, 1.0), milliseconds(1000));
  EXPECT_EQ(RetryDelay(1, base, cap, 0.0), milliseconds(500));
  EXPECT_EQ(RetryDelay(2, base, cap, 1.0), milliseconds(2000));
  EXPECT_EQ(RetryDelay(4, base, cap, 1.0), milliseconds(8000));
  EXPECT_EQ(RetryDelay(10, base, cap, 1.0), milliseconds(512000));
  EXPECT_EQ(RetryDelay(11, base, cap, 1.0), cap);
  EXPECT_EQ(RetryDelay(1000, base, cap, 1.0), cap);
  EXPECT_EQ(RetryDelay(1000, base, cap, 0.0), cap / 2);
  for (int attempt = 1; attempt < 40; ++attempt) {
    for (const double jitter : {0.0, 0.3, 0.999}) {
      const auto delay = RetryDelay(attempt, base, cap, jitter);
      EXPECT_GE(delay, base / 2);
      EXPECT_LE(delay, cap);
    }
  }
}

}  // namespace
}  // namespace grid::webhooks
