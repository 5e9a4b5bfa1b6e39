#include "common/input/fields.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "grid/v1/escalation.pb.h"
#include "grid/v1/gateway.pb.h"
#include "grid/v1/intake.pb.h"
#include "grid/v1/routing.pb.h"

namespace grid::input {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

v1::ReportEventRequest ValidReport() {
  v1::ReportEventRequest request;
  v1::Report& report = *request.mutable_report();
  report.set_client_request_id("app-42.2026-11-30T08:00:00Z");
  report.set_grid_id("37021200100101");
  report.set_category("0102");
  report.set_severity(v1::SEVERITY_NORMAL);
  report.set_description("暴露垃圾 at the gate\nsecond line");
  report.set_address("崂山区 株洲路 1号");
  report.add_media("https://cdn.example.com/a.jpg");
  report.add_media("photos/2026/1.jpg");
  report.mutable_location()->set_lat(36.1);
  report.mutable_location()->set_lng(120.47);
  report.mutable_reported_at()->set_seconds(1'790'000'000);
  request.mutable_actor()->set_subject("W3702120010010101");
  return request;
}

std::string Fault(const google::protobuf::Message& message, std::string_view prefix = "") {
  const absl::Status status = CheckFields(message, prefix);
  EXPECT_TRUE(status.ok() || status.code() == absl::StatusCode::kInvalidArgument) << status;
  return std::string(status.message());
}

TEST(CheckFieldsTest, AcceptsAValidRequestAndEmptyOnes) {
  EXPECT_TRUE(CheckFields(ValidReport()).ok()) << CheckFields(ValidReport());
  EXPECT_TRUE(CheckFields(v1::ReportEventRequest()).ok());
  EXPECT_TRUE(CheckFields(v1::ListEventsRequest()).ok());
}

TEST(CheckFieldsTest, BoundsAreInclusive) {
  v1::ResolveEventRequest request;
  request.set_event_id(std::string(kMaxIdBytes, 'e'));
  std::string note;
  for (int i = 0; i < kMaxNoteChars; ++i) {
    note += "垃";
  }
  request.set_note(note);
  for (int i = 0; i < kMaxMedia; ++i) {
    request.add_media("s3://b/" + std::string(kMaxMediaRefBytes - 7, 'k'));
  }
  EXPECT_TRUE(CheckFields(request).ok()) << CheckFields(request);

  request.set_note(note + "a");
  EXPECT_EQ(Fault(request), "note: is 4001 characters, at most 4000 are allowed");
  request.set_note("ok");
  request.set_event_id(std::string(kMaxIdBytes + 1, 'e'));
  EXPECT_EQ(Fault(request), "event_id: is 129 bytes, at most 128 are allowed");
  request.set_event_id("e");
  request.add_media("s3://b/k");
  EXPECT_EQ(Fault(request), "media: 10 items, at most 9 are allowed");
}

TEST(CheckFieldsTest, NamesTheFieldByItsPath) {
  v1::ReportEventRequest request = ValidReport();
  request.mutable_report()->set_address(std::string(501, 'a'));
  EXPECT_EQ(Fault(request), "report.address: is 501 characters, at most 500 are allowed");
  EXPECT_THAT(Fault(request.report(), "report"), StartsWith("report.address: "));
  EXPECT_THAT(Fault(request.report()), StartsWith("address: "));

  request = ValidReport();
  request.mutable_report()->add_media("javascript:alert(1)");
  EXPECT_THAT(Fault(request), StartsWith("report.media[2]: scheme \"javascript\" is not allowed"));
}

TEST(CheckFieldsTest, TextMustBeUtf8) {
  v1::VoidEventRequest request;
  request.set_reason("\xC3\x28");
  EXPECT_EQ(Fault(request), "reason: is not valid UTF-8");
}

TEST(CheckFieldsTest, IdsArePrintableAsciiWithoutRedisSyntax) {
  for (const std::string id : {"370212001-01JDX3M8ZK4F2QH7", "app-42_x.y~z@w+v=u/t,s;r|q!p",
                               "b64url-AZaz09-_", "device-7:2026-11-30T08:00:00Z"}) {
    v1::GetEventRequest request;
    request.set_event_id(id);
    EXPECT_TRUE(CheckFields(request).ok()) << id << " " << CheckFields(request);
  }
  for (const std::string& id :
       std::vector<std::string>{"a{b", "a}b", "a*", "a?", "[a]", "a\\b", "a\"b", "a'b", "a b",
                                "a\r\nb", "a\tb", std::string("a\0b", 3), "垃圾", "a\x7F"}) {
    v1::GetEventRequest request;
    request.set_event_id(id);
    EXPECT_THAT(Fault(request), StartsWith("event_id: may not contain ")) << id;
    EXPECT_LT(Fault(request).size(), 200u);
  }
  v1::ReportEventRequest report = ValidReport();
  report.mutable_report()->set_client_request_id("r1\r\nFLUSHALL");
  EXPECT_EQ(Fault(report),
            "report.client_request_id: may not contain \"\\r\" (ids are printable ASCII without "
            "spaces or any of { } * ? [ ] \\ \" ')");
}

TEST(CheckFieldsTest, TokensArePrintableAndBounded) {
  v1::ListEventsRequest request;
  request.set_page_token("ZTF8MTcxODAwMDAwMDAwMHwzNzAyMTIwMDEtMDFKRFgzTThaSzRGMlFINw");
  EXPECT_TRUE(CheckFields(request).ok());
  request.set_page_token("abc\n");
  EXPECT_THAT(Fault(request), StartsWith("page_token: is not a token"));
  request.set_page_token(std::string(kMaxPageTokenBytes + 1, 'a'));
  EXPECT_EQ(Fault(request), "page_token: is 1025 bytes, at most 1024 are allowed");

  v1::WatchEventsRequest watch;
  watch.set_cursor("w1:370212001=1718000000000-3," + std::string(10000, '1'));
  EXPECT_TRUE(CheckFields(watch).ok()) << "cursors grow with the topology";
  watch.set_cursor(std::string(kMaxCursorBytes + 1, 'w'));
  EXPECT_THAT(Fault(watch), StartsWith("cursor: is 65537 bytes"));
}

TEST(CheckFieldsTest, CountsAndVersionsAreNotNegative) {
  v1::ListUnitQueueRequest queue;
  queue.set_page_size(-1);
  EXPECT_EQ(Fault(queue), "page_size: must not be negative, got -1");
  v1::AcceptEventRequest accept;
  accept.set_expected_version(-3);
  EXPECT_EQ(Fault(accept), "expected_version: must not be negative, got -3");
  accept.set_expected_version(7);
  EXPECT_TRUE(CheckFields(accept).ok());
}

TEST(CheckFieldsTest, RepeatedFieldsAreBounded) {
  v1::ListEventsRequest request;
  for (int i = 0; i <= kMaxRepeated; ++i) {
    request.add_levels(v1::LEVEL_GRID);
  }
  EXPECT_EQ(Fault(request), "levels: 101 items, at most 100 are allowed");
}

TEST(CheckFieldsTest, TimestampsAndDurationsAreInTheirRanges) {
  v1::ListEventsRequest list;
  list.mutable_reported_after()->set_seconds(253402300799);   // 9999-12-31T23:59:59Z
  list.mutable_reported_before()->set_seconds(-62135596800);  // 0001-01-01T00:00:00Z
  EXPECT_TRUE(CheckFields(list).ok()) << CheckFields(list);
  list.mutable_reported_after()->set_seconds(253402300800);
  EXPECT_THAT(Fault(list), StartsWith("reported_after: is not a valid timestamp"));
  list.mutable_reported_after()->set_seconds(0);
  list.mutable_reported_after()->set_nanos(-1);
  EXPECT_THAT(Fault(list), StartsWith("reported_after: is not a valid timestamp"));

  v1::SuperviseEventRequest supervise;
  supervise.mutable_limit()->set_seconds(-60);
  EXPECT_TRUE(CheckFields(supervise).ok()) << "negative is a valid Duration; the move decides";
  supervise.mutable_limit()->set_seconds(315'576'000'001);
  EXPECT_THAT(Fault(supervise), StartsWith("limit: is not a valid duration"));
  supervise.mutable_limit()->set_seconds(60);
  supervise.mutable_limit()->set_nanos(-1);
  EXPECT_THAT(Fault(supervise), StartsWith("limit: is not a valid duration"));
}

TEST(CheckFieldsTest, CoordinatesAreFiniteAndInRange) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<std::pair<std::pair<double, double>, std::string>> cases = {
      {{nan, 120}, "report.location.lat: nan is outside -90..90"},
      {{inf, 120}, "report.location.lat: inf is outside -90..90"},
      {{-90.5, 120}, "report.location.lat: -90.5 is outside -90..90"},
      {{36, -inf}, "report.location.lng: -inf is outside -180..180"},
      {{36, 180.5}, "report.location.lng: 180.5 is outside -180..180"},
  };
  for (const auto& [point, fault] : cases) {
    v1::ReportEventRequest request = ValidReport();
    request.mutable_report()->mutable_location()->set_lat(point.first);
    request.mutable_report()->mutable_location()->set_lng(point.second);
    EXPECT_EQ(Fault(request), fault);
  }
  v1::ReportEventRequest edge = ValidReport();
  edge.mutable_report()->mutable_location()->set_lat(-90);
  edge.mutable_report()->mutable_location()->set_lng(180);
  EXPECT_TRUE(CheckFields(edge).ok());
}

TEST(CheckMediaRefTest, AllowsTheSchemesOfAnAppAndAnObjectStoreAndBareKeys) {
  for (const std::string ref :
       {"https://cdn.example.com/a.jpg", "http://10.0.0.1:9000/b/c.mp4", "s3://bucket/key.jpg",
        "oss://grid/photo.jpg", "OSS://grid/photo.jpg", "HTTPS://x/y", "photos/2026/1.jpg",
        "照片/现场.jpg", "photos/a:b.jpg", "1.jpg", "/photos/1.jpg"}) {
    EXPECT_TRUE(CheckMediaRef("media[0]", ref).ok()) << ref << " " << CheckMediaRef("m", ref);
  }
}

TEST(CheckMediaRefTest, RefusesEverythingElseNamingTheField) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "media[3]: is empty"},
      {"javascript:alert(1)", "media[3]: scheme \"javascript\" is not allowed"},
      {"JavaScript:alert(1)", "media[3]: scheme \"javascript\" is not allowed"},
      {"data:image/png;base64,AAAA", "media[3]: scheme \"data\" is not allowed"},
      {"vbscript:msgbox", "media[3]: scheme \"vbscript\" is not allowed"},
      {"file:///etc/passwd", "media[3]: scheme \"file\" is not allowed"},
      {"ftp://host/x", "media[3]: scheme \"ftp\" is not allowed"},
      {"c:\\photos\\1.jpg", "media[3]: scheme \"c\" is not allowed"},
      {"//evil.example/x.js", "media[3]: starts with \"//\""},
      {"https:/x.jpg", "media[3]: a https URL needs a host"},
      {"https:///x.jpg", "media[3]: a https URL needs a host"},
      {"s3:", "media[3]: a s3 URL needs a host"},
      {"photos/1 2.jpg", "media[3]: may not contain spaces or control characters"},
      {"photos/1.jpg\n", "media[3]: may not contain spaces or control characters"},
      {"\xC3\x28", "media[3]: is not valid UTF-8"},
      {"s3://b/" + std::string(kMaxMediaRefBytes, 'k'), "media[3]: is 2055 bytes"},
  };
  for (const auto& [ref, fault] : cases) {
    const absl::Status status = CheckMediaRef("media[3]", ref);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << ref;
    EXPECT_THAT(std::string(status.message()), StartsWith(fault)) << ref;
    EXPECT_LT(status.message().size(), 200u) << ref;
  }
}

}  // namespace
}  // namespace grid::input
