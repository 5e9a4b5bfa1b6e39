#include "services/intake/report_validator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/shipped_config.h"

namespace grid::intake {
namespace {

using ::testing::HasSubstr;

class ValidateReportTest : public ::testing::Test {
 protected:
  v1::Report Valid() const {
    v1::Report report;
    report.set_grid_id("37021200100101");
    report.set_category("0102");
    report.set_severity(v1::SEVERITY_NORMAL);
    report.set_description("暴露垃圾");
    report.mutable_location()->set_lat(36.1);
    report.mutable_location()->set_lng(120.5);
    return report;
  }

  absl::Status Check(const v1::Report& report) const {
    return ValidateReport(report, actor_, testing::ShippedTopology(), testing::ShippedPolicy(),
                          kNow);
  }

  // 2026-11-30T08:00:00Z: the time of receipt.
  static constexpr Millis kNow = 1'796'025'600'000;

  v1::Actor actor_;
};

TEST_F(ValidateReportTest, AcceptsAValidReportAndOneWithoutLocation) {
  EXPECT_TRUE(Check(Valid()).ok()) << Check(Valid());
  v1::Report report = Valid();
  report.clear_location();
  EXPECT_TRUE(Check(report).ok());
}

TEST_F(ValidateReportTest, BoundsAreInclusive) {
  v1::Report report = Valid();
  std::string text;
  for (int i = 0; i < kMaxDescriptionChars; ++i) {
    text += "垃";
  }
  report.set_description(text);
  for (int i = 0; i < kMaxMedia; ++i) {
    report.add_media("oss://grid/photo.jpg");
  }
  EXPECT_TRUE(Check(report).ok()) << Check(report);
  report.set_description(text + "a");
  EXPECT_THAT(std::string(Check(report).message()),
              HasSubstr("report.description: is 4001 characters, at most 4000"));
}

TEST_F(ValidateReportTest, EachBadFieldIsNamed) {
  const std::vector<std::pair<std::function<void(v1::Report&)>, std::string>> cases = {
      {[](v1::Report& r) { r.clear_grid_id(); }, "report.grid_id: required"},
      {[](v1::Report& r) { r.set_grid_id("370212001001"); }, "report.grid_id: unknown grid"},
      {[](v1::Report& r) { r.clear_category(); }, "report.category: required"},
      {[](v1::Report& r) { r.set_category("0199"); }, "report.category: unknown category"},
      {[](v1::Report& r) { r.clear_severity(); }, "report.severity: required"},
      {[](v1::Report& r) { r.clear_description(); }, "report.description: required"},
      {[](v1::Report& r) { r.set_description("\xFF"); }, "report.description: is not valid UTF-8"},
      {[](v1::Report& r) { r.set_address(std::string(501, 'a')); }, "report.address"},
      {[](v1::Report& r) { r.add_media(""); }, "report.media[0]"},
      {[](v1::Report& r) { r.mutable_location()->set_lat(-90.5); }, "report.location.lat"},
      {[](v1::Report& r) { r.mutable_location()->set_lng(180.5); }, "report.location.lng"},
      {[](v1::Report& r) { r.mutable_location()->set_lat(NAN); }, "report.location.lat"},
      {[](v1::Report& r) { r.mutable_location()->set_lat(31.2); }, "report.location:"},
      {[](v1::Report& r) { r.set_client_request_id(std::string(129, 'x')); },
       "report.client_request_id"},
      {[](v1::Report& r) { r.mutable_reported_at()->set_seconds(-5); }, "report.reported_at"},
      {[](v1::Report& r) { r.set_severity(static_cast<v1::Severity>(99)); },
       "report.severity: unknown severity 99"},
      {[](v1::Report& r) { r.set_source(static_cast<v1::Source>(99)); },
       "report.source: unknown source 99"},
      {[](v1::Report& r) { r.add_media("javascript:alert(1)"); },
       "report.media[0]: scheme \"javascript\" is not allowed"},
      {[](v1::Report& r) {
         r.add_media("oss://grid/1.jpg");
         r.add_media("data:text/html,x");
       },
       "report.media[1]: scheme \"data\" is not allowed"},
      {[](v1::Report& r) { r.set_grid_id("3702120010010*"); }, "report.grid_id: may not contain"},
      {[](v1::Report& r) { r.mutable_reported_at()->set_nanos(-1); },
       "report.reported_at: is not a valid timestamp"},
  };
  for (const auto& [spoil, message] : cases) {
    v1::Report report = Valid();
    spoil(report);
    const absl::Status status = Check(report);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << message;
    EXPECT_THAT(std::string(status.message()), HasSubstr(message));
  }
}

TEST_F(ValidateReportTest, AWorkerReportsOnlyInTheCommunityOfTheirGrid) {
  v1::Report report = Valid();
  actor_.set_role(v1::ROLE_WORKER);
  actor_.set_subject("W3702120010010101");  // patrols grid 37021200100101
  EXPECT_TRUE(Check(report).ok()) << Check(report);
  report.set_grid_id("37021200100102");  // a neighbouring grid of the same community
  EXPECT_TRUE(Check(report).ok()) << Check(report);
  report.set_grid_id("37021200100201");  // another community of the same subdistrict
  EXPECT_THAT(std::string(Check(report).message()),
              HasSubstr("report.reporter_id: grid worker \"W3702120010010101\" patrols community "
                        "\"370212001001\", not the community \"370212001002\""));
  actor_.set_subject("W0");
  EXPECT_THAT(std::string(Check(report).message()),
              HasSubstr("report.reporter_id: unknown grid worker \"W0\""));
}

TEST_F(ValidateReportTest, OtherRolesReportAnywhere) {
  v1::Report report = Valid();
  report.set_grid_id("37021200500101");
  for (v1::Role role : {v1::ROLE_HANDLER, v1::ROLE_OPERATOR, v1::ROLE_ADMIN}) {
    actor_.set_role(role);
    actor_.set_subject("someone");
    EXPECT_TRUE(Check(report).ok()) << v1::Role_Name(role);
  }
  EXPECT_EQ(ReporterOf(report, actor_), "someone");
  // Without a role, a named reporter is taken for a grid worker.
  actor_.Clear();
  report.set_reporter_id("not-a-worker");
  EXPECT_EQ(Check(report).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ValidateReportTest, ReportedAtWithinTheClockSkewAndTheOfflineWindow) {
  v1::Report report = Valid();
  const auto at = [&report](Millis ms) { *report.mutable_reported_at() = ToTimestamp(ms); };
  at(kNow + kMaxClockSkew);
  EXPECT_TRUE(Check(report).ok()) << "a clock up to 5 min fast is taken as now";
  at(kNow + kMaxClockSkew + 1000);
  EXPECT_EQ(std::string(Check(report).message()),
            "report.reported_at: is 301 s after its receipt; at most 300 s of clock skew is "
            "allowed");
  const Millis window = testing::ShippedPolicy().OfflineWindow();
  EXPECT_EQ(window, 7LL * 24 * 3600 * 1000) << "the shipped policy keeps a week";
  at(kNow - window);
  EXPECT_TRUE(Check(report).ok()) << Check(report);
  at(kNow - window - 1);
  EXPECT_EQ(std::string(Check(report).message()),
            "report.reported_at: is older than the offline window of 7 days (the policy's "
            "offline_window)");
}

TEST_F(ValidateReportTest, MessagesQuoteAtMostABitOfWhatTheClientSent) {
  v1::Report report = Valid();
  report.set_category(std::string(kMaxIdBytes, '9'));
  const std::string message(Check(report).message());
  EXPECT_THAT(message, HasSubstr("report.category: unknown category \"999"));
  EXPECT_LT(message.size(), 120u) << message;
}

}  // namespace
}  // namespace grid::intake
