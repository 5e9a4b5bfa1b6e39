// Open311 GeoReport v2 as plain data: paths, the form of a new request, the filters of a search,
// the mapping of an event to a service request, datetimes in Beijing time, the XML writer.
#include "services/console/georeport.h"

#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

namespace grid::console::georeport {
namespace {

using google::protobuf::Timestamp;
using google::protobuf::util::TimeUtil;

Timestamp At(const std::string& rfc3339) {
  Timestamp time;
  EXPECT_TRUE(TimeUtil::FromString(rfc3339, &time)) << rfc3339;
  return time;
}

TEST(GeoReportTest, PathsNameAResourceAndAFormat) {
  auto services = ParseTarget("/open311/v2/services.json");
  ASSERT_TRUE(services.has_value());
  EXPECT_EQ(services->resource, Resource::kServices);
  EXPECT_EQ(services->format, Format::kJson);
  auto service = ParseTarget("/open311/v2/services/0102.xml");
  ASSERT_TRUE(service.has_value());
  EXPECT_EQ(service->resource, Resource::kService);
  EXPECT_EQ(service->id, "0102");
  EXPECT_EQ(service->format, Format::kXml);
  auto request = ParseTarget("/open311/v2/requests/370212001-01JDX%2DA.json");
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(request->resource, Resource::kRequest);
  EXPECT_EQ(request->id, "370212001-01JDX-A");
  EXPECT_EQ(ParseTarget("/open311/v2/tokens/T1.xml")->resource, Resource::kToken);
  EXPECT_EQ(ParseTarget("/open311/v2/requests.xml")->resource, Resource::kRequests);

  EXPECT_FALSE(ParseTarget("/open311/v2/services.csv").has_value());
  EXPECT_FALSE(ParseTarget("/open311/v2/services").has_value());
  EXPECT_FALSE(ParseTarget("/open311/v2/discovery.json").has_value());
  EXPECT_FALSE(ParseTarget("/open311/v2/requests/.json").has_value());
  EXPECT_FALSE(ParseTarget("/open311/v2/requests/a/b.json").has_value());
  EXPECT_FALSE(ParseTarget("/open311/v2/requests/%zz.json").has_value());
  EXPECT_FALSE(ParseTarget("/open311/v3/services.json").has_value());
  EXPECT_EQ(RouteName("GET", Resource::kRequest), "GET /open311/v2/requests/{service_request_id}");
}

v1::ListCategoriesResponse Categories() {
  v1::ListCategoriesResponse response;
  for (const auto& [code, name] :
       std::vector<std::pair<std::string, std::string>>{{"01", "市容环境"},
                                                        {"0101", "违法建设"},
                                                        {"0102", "暴露垃圾"},
                                                        {"02", "宣传广告"},
                                                        {"0201", "违规户外广告"}}) {
    v1::Category* category = response.add_categories();
    category->set_code(code);
    category->set_name(name);
  }
  return response;
}

TEST(GeoReportTest, SmallClassesAreServicesInTheGroupOfTheirLargeClass) {
  const std::vector<Service> services = ServicesOf(Categories());
  ASSERT_EQ(services.size(), 3u);
  EXPECT_EQ(services[1].code, "0102");
  EXPECT_EQ(services[1].name, "暴露垃圾");
  EXPECT_EQ(services[1].group, "市容环境");
  EXPECT_EQ(services[2].group, "宣传广告");
  EXPECT_EQ(FindService(services, "01"), nullptr);
  const Document item = ServiceItem(services[1]);
  EXPECT_EQ(
      item.dump(),
      R"({"service_code":"0102","service_name":"暴露垃圾","description":"市容环境 · 暴露垃圾",)"
      R"("metadata":false,"type":"realtime","keywords":"","group":"市容环境"})");
}

TEST(GeoReportTest, AFormBecomesAReportWithoutPersonalData) {
  const QueryParams params = {{"api_key", "k"},
                              {"jurisdiction_id", "laoshan"},
                              {"service_code", "0102"},
                              {"lat", "36.113337"},
                              {"long", "120.433758"},
                              {"address_string", "张家涧社区 市场门口"},
                              {"email", "someone@example.com"},
                              {"first_name", "Li"},
                              {"last_name", "Wang"},
                              {"phone", "13800000000"},
                              {"device_id", "d1"},
                              {"account_id", "a1"},
                              {"media_url", "https://img.example/1.jpg"},
                              {"attribute[WHISPER]", "x"}};
  absl::StatusOr<ReportForm> form = ParseReportForm(params);
  ASSERT_TRUE(form.ok()) << form.status();
  EXPECT_EQ(form->api_key, "k");
  const v1::Report report = ReportOf(*form, "暴露垃圾");
  EXPECT_EQ(report.category(), "0102");
  EXPECT_DOUBLE_EQ(report.location().lat(), 36.113337);
  EXPECT_DOUBLE_EQ(report.location().lng(), 120.433758);
  EXPECT_EQ(report.grid_id(), "");
  EXPECT_EQ(report.address(), "张家涧社区 市场门口");
  // No description: the service's name.
  EXPECT_EQ(report.description(), "暴露垃圾");
  ASSERT_EQ(report.media_size(), 1);
  EXPECT_EQ(report.media(0), "https://img.example/1.jpg");
  EXPECT_EQ(report.severity(), v1::SEVERITY_NORMAL);
  EXPECT_EQ(report.reporter_id(), "");
  EXPECT_EQ(report.source(), v1::SOURCE_UNSPECIFIED);
  const std::string text = report.DebugString();
  for (const char* personal : {"someone@example.com", "Li", "Wang", "13800000000", "d1", "a1"}) {
    EXPECT_EQ(text.find(std::string("\"") + personal + "\""), std::string::npos) << personal;
  }

  form->description = "垃圾堆放 three days";
  form->media_url = "";
  const v1::Report described = ReportOf(*form, "暴露垃圾");
  EXPECT_EQ(described.description(), "垃圾堆放 three days");
  EXPECT_EQ(described.media_size(), 0);
}

void ExpectRefused(const QueryParams& params, const std::string& prefix) {
  absl::StatusOr<ReportForm> form = ParseReportForm(params);
  ASSERT_FALSE(form.ok()) << prefix;
  EXPECT_EQ(form.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(form.status().message()).rfind(prefix, 0), 0u) << form.status();
}

TEST(GeoReportTest, AFormWithoutAPlaceOrServiceIsRefusedNamingTheParameter) {
  ExpectRefused({{"lat", "36.1"}, {"long", "120.5"}}, "service_code: required");
  ExpectRefused({{"service_code", "0102"}}, "lat/long: required");
  ExpectRefused({{"service_code", "0102"}, {"address_string", "香港东路 1 号"}},
                "lat/long: required: this server has no geocoder");
  ExpectRefused({{"service_code", "0102"}, {"lat", "36.1"}}, "long: required");
  ExpectRefused({{"service_code", "0102"}, {"long", "120.5"}}, "lat: required");
  ExpectRefused({{"service_code", "0102"}, {"lat", "north"}, {"long", "120.5"}},
                "lat: not a number");
  ExpectRefused({{"service_code", "0102"}, {"lat", "36.1"}, {"long", "200"}}, "long: not a number");
  ExpectRefused({{"service_code", "0102"}, {"lat", "nan"}, {"long", "120"}}, "lat: not a number");
  ExpectRefused({{"service_code", "0102"}, {"service_code", "0101"}, {"lat", "1"}, {"long", "1"}},
                "service_code: given more than once");
}

TEST(GeoReportTest, ASearchReadsItsFilters) {
  absl::StatusOr<Search> search = ParseSearch({{"api_key", "k"},
                                               {"service_request_id", "E1, E2,,E1"},
                                               {"service_request_id", "E3"},
                                               {"status", "open"},
                                               {"page", "2"}});
  ASSERT_TRUE(search.ok()) << search.status();
  EXPECT_EQ(search->ids, (std::vector<std::string>{"E1", "E2", "E3"}));
  EXPECT_EQ(search->states.size(), 5u);

  search = ParseSearch({{"status", "closed"}});
  ASSERT_TRUE(search.ok());
  EXPECT_EQ(search->states,
            (std::vector<v1::EventState>{v1::EVENT_STATE_CLOSED, v1::EVENT_STATE_VOIDED,
                                         v1::EVENT_STATE_CANCELLED}));
  search = ParseSearch({{"status", "open,closed"}});
  ASSERT_TRUE(search.ok());
  EXPECT_TRUE(search->states.empty());

  EXPECT_EQ(std::string(ParseSearch({{"status", "pending"}}).status().message()),
            "status: open or closed, not \"pending\"");
  EXPECT_EQ(std::string(ParseSearch({{"start_date", "yesterday"}}).status().message())
                .rfind("start_date: not a W3C datetime", 0),
            0u);
  EXPECT_EQ(
      std::string(
          ParseSearch({{"end_date", "2026-11-30"}, {"end_date", "2026-12-01"}}).status().message()),
      "end_date: given more than once");
  QueryParams many;
  for (int i = 0; i <= kMaxIds; ++i) {
    many.emplace_back("service_request_id", absl::StrCat("E", i));
  }
  EXPECT_EQ(std::string(ParseSearch(many).status().message()).rfind("service_request_id:", 0), 0u);
}

TEST(GeoReportTest, ASearchDefaultsToTheLast90Days) {
  const std::int64_t now_ms = At("2026-12-01T00:00:00Z").seconds() * 1000;
  absl::StatusOr<Search> search = ParseSearch({{"status", "open"}, {"service_code", "0102"}});
  ASSERT_TRUE(search.ok());
  absl::StatusOr<v1::ListEventsRequest> request = ListRequestOf(*search, now_ms);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(TimeUtil::ToString(request->reported_after()), "2026-09-02T00:00:00Z");
  EXPECT_FALSE(request->has_reported_before());
  EXPECT_EQ(request->category_prefix(), "0102");
  EXPECT_EQ(request->states_size(), 5);
  EXPECT_EQ(request->page_size(), 500);

  // end_date is included.
  search = ParseSearch(
      {{"start_date", "2026-11-01T08:00:00+08:00"}, {"end_date", "2026-11-30T23:59:59+08:00"}});
  ASSERT_TRUE(search.ok()) << search.status();
  request = ListRequestOf(*search, now_ms);
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(TimeUtil::ToString(request->reported_after()), "2026-11-01T00:00:00Z");
  EXPECT_EQ(TimeUtil::ToString(request->reported_before()), "2026-11-30T15:59:59.000000001Z");

  // Only an end: the 90 days before it.
  search = ParseSearch({{"end_date", "2026-06-01T00:00:00Z"}});
  request = ListRequestOf(*search, now_ms);
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(TimeUtil::ToString(request->reported_after()), "2026-03-03T00:00:00Z");

  // Only an old start: the 90 days after it.
  search = ParseSearch({{"start_date", "2026-01-01T00:00:00Z"}});
  request = ListRequestOf(*search, now_ms);
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(TimeUtil::ToString(request->reported_before()), "2026-04-01T00:00:00Z");

  search =
      ParseSearch({{"start_date", "2026-01-01T00:00:00Z"}, {"end_date", "2026-06-01T00:00:00Z"}});
  EXPECT_EQ(std::string(ListRequestOf(*search, now_ms).status().message()),
            "start_date: start_date to end_date spans more than 90 days");
  search =
      ParseSearch({{"start_date", "2026-06-01T00:00:00Z"}, {"end_date", "2026-05-01T00:00:00Z"}});
  EXPECT_EQ(std::string(ListRequestOf(*search, now_ms).status().message()),
            "start_date: after end_date");
}

TEST(GeoReportTest, DatetimesAreW3cInBeijingTime) {
  EXPECT_EQ(W3cTime(At("2026-11-30T08:15:00.123Z")), "2026-11-30T16:15:00+08:00");
  EXPECT_EQ(W3cTime(At("2026-12-31T20:00:00Z")), "2027-01-01T04:00:00+08:00");
  const auto read = [](const std::string& text) {
    absl::StatusOr<Timestamp> time = ParseW3cTime(text);
    return time.ok() ? TimeUtil::ToString(*time) : std::string(time.status().message());
  };
  EXPECT_EQ(read("2026-11-30T16:15:00+08:00"), "2026-11-30T08:15:00Z");
  EXPECT_EQ(read("2026-11-30T08:15:00Z"), "2026-11-30T08:15:00Z");
  EXPECT_EQ(read("1994-11-05T08:15:30-05:00"), "1994-11-05T13:15:30Z");
  EXPECT_EQ(read("2026-11-30T08:15:00.250Z"), "2026-11-30T08:15:00.250Z");
  EXPECT_EQ(read("2026-11-30T16:15+08:00"), "2026-11-30T08:15:00Z");
  EXPECT_EQ(read("2026-11-30T16:15:00"), "2026-11-30T08:15:00Z");
  EXPECT_EQ(read("2026-11-30"), "2026-11-29T16:00:00Z");
  EXPECT_FALSE(ParseW3cTime("30/11/2026").ok());
  EXPECT_FALSE(ParseW3cTime("").ok());
  EXPECT_FALSE(ParseW3cTime("2026-13-01").ok());
}

TEST(GeoReportTest, StatesAreOpenUntilFinal) {
  for (v1::EventState state :
       {v1::EVENT_STATE_REPORTED, v1::EVENT_STATE_DISPATCHED, v1::EVENT_STATE_ACCEPTED,
        v1::EVENT_STATE_RESOLVED, v1::EVENT_STATE_SUSPENDED}) {
    EXPECT_EQ(StatusOf(state), "open") << v1::EventState_Name(state);
  }
  for (v1::EventState state :
       {v1::EVENT_STATE_CLOSED, v1::EVENT_STATE_VOIDED, v1::EVENT_STATE_CANCELLED}) {
    EXPECT_EQ(StatusOf(state), "closed") << v1::EventState_Name(state);
  }
}

v1::Event Dispatched() {
  v1::Event event;
  event.set_id("370212001-01JDXAAAAAAAAAAA");
  event.set_grid_id("37021200100101");
  event.set_category("0102");
  event.set_description("垃圾 & <rubbish>");
  event.set_address("张家涧社区");
  event.mutable_location()->set_lat(36.113337);
  event.mutable_location()->set_lng(120.433758);
  event.add_media("https://img.example/1.jpg");
  event.set_state(v1::EVENT_STATE_DISPATCHED);
  event.set_unit_id("370212001001");
  *event.mutable_reported_at() = At("2026-11-30T08:15:00Z");
  *event.mutable_updated_at() = At("2026-11-30T08:15:02Z");
  v1::Deadlines& deadlines = *event.mutable_deadlines();
  *deadlines.mutable_started_at() = At("2026-11-30T08:15:02Z");
  deadlines.mutable_resolve_limit()->set_seconds(7200);
  *deadlines.mutable_resolve_by() = At("2026-11-30T10:15:02Z");
  return event;
}

TEST(GeoReportTest, AnEventBecomesARequestItemWithTheSpecsFields) {
  const Document item = RequestItem(Dispatched(), "暴露垃圾");
  EXPECT_EQ(item.dump(),
            R"({"service_request_id":"370212001-01JDXAAAAAAAAAAA","status":"open",)"
            R"("status_notes":"已派遣 DISPATCHED · 370212001001","service_name":"暴露垃圾",)"
            R"("service_code":"0102","description":"垃圾 & <rubbish>",)"
            R"("agency_responsible":"370212001001","service_notice":"",)"
            R"("requested_datetime":"2026-11-30T16:15:00+08:00",)"
            R"("updated_datetime":"2026-11-30T16:15:02+08:00",)"
            R"("expected_datetime":"2026-11-30T18:15:02+08:00","address":"张家涧社区",)"
            R"("lat":36.113337,"long":120.433758,"media_url":"https://img.example/1.jpg"})");
}

TEST(GeoReportTest, ExpectedTimeOnlyWhileAClockRuns) {
  v1::Event event = Dispatched();
  // Without resolve_by: the clock's start plus the resolve limit.
  event.mutable_deadlines()->clear_resolve_by();
  EXPECT_EQ(W3cTime(*ExpectedTime(event)), "2026-11-30T18:15:02+08:00");
  event.set_state(v1::EVENT_STATE_ACCEPTED);
  EXPECT_TRUE(ExpectedTime(event).has_value());
  for (v1::EventState state : {v1::EVENT_STATE_REPORTED, v1::EVENT_STATE_RESOLVED,
                               v1::EVENT_STATE_SUSPENDED, v1::EVENT_STATE_CLOSED}) {
    event.set_state(state);
    EXPECT_FALSE(ExpectedTime(event).has_value()) << v1::EventState_Name(state);
  }
  event.set_state(v1::EVENT_STATE_REPORTED);
  event.clear_deadlines();
  event.clear_location();
  event.clear_media();
  const Document item = RequestItem(event, "暴露垃圾");
  EXPECT_TRUE(item["expected_datetime"].is_null());
  EXPECT_TRUE(item["lat"].is_null());
  EXPECT_EQ(item["media_url"], "");
  EXPECT_EQ(item["status_notes"], "已上报 REPORTED · 370212001001");
}

TEST(GeoReportTest, StatusNotesCarryTheNoteOfTheState) {
  v1::Event event = Dispatched();
  event.set_state(v1::EVENT_STATE_SUSPENDED);
  event.set_suspend_reason("等待施工");
  EXPECT_EQ(StatusNotes(event), "已挂账 SUSPENDED · 370212001001 · 等待施工");
  event.set_state(v1::EVENT_STATE_CLOSED);
  event.set_resolution_note("已清运");
  EXPECT_EQ(StatusNotes(event), "已结案 CLOSED · 370212001001 · 已清运");
  event.set_state(v1::EVENT_STATE_VOIDED);
  event.set_duplicate_of("370212001-0000");
  EXPECT_EQ(StatusNotes(event),
            "已作废 VOIDED · 370212001001 · 并入 370212001-0000 merged into 370212001-0000");
  EXPECT_EQ(StatusOf(event.state()), "closed");
}

TEST(GeoReportTest, XmlIsEscapedAndCarriesOnlyWhatXmlMay) {
  EXPECT_EQ(XmlEscape("a & b <c> \"d\" 'e'"), "a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos;");
  EXPECT_EQ(XmlEscape("暴露垃圾"), "暴露垃圾");
  EXPECT_EQ(XmlEscape(std::string("a\x01"
                                  "b\x7f",
                                  4)),
            "a\xEF\xBF\xBD"
            "b\x7f");
  EXPECT_EQ(XmlEscape(std::string("nul\0x", 5)), "nul\xEF\xBF\xBDx");
  EXPECT_EQ(XmlEscape("bad \xff\xfe utf-8 \xe6\x9a"),
            "bad \xEF\xBF\xBD\xEF\xBF\xBD utf-8 \xEF\xBF\xBD\xEF\xBF\xBD");
  // A surrogate encoded in UTF-8 and U+FFFF are not characters of XML.
  EXPECT_EQ(XmlEscape("\xed\xa0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(XmlEscape("\xef\xbf\xbf"), "\xEF\xBF\xBD");
  EXPECT_EQ(XmlEscape("tab\tline\ncr\r"), "tab\tline\ncr&#13;");
}

TEST(GeoReportTest, DocumentsRenderAsTheSpecShowsThem) {
  Document item = Document::object();
  item["service_request_id"] = "E1";
  item["service_notice"] = "a <b>";
  item["account_id"] = nullptr;
  const Document posted = Document::array({item});
  EXPECT_EQ(Render(Format::kJson, "service_requests", posted),
            R"([{"service_request_id":"E1","service_notice":"a <b>","account_id":null}])");
  EXPECT_EQ(Render(Format::kXml, "service_requests", posted),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
            "<service_requests><request><service_request_id>E1</service_request_id>"
            "<service_notice>a &lt;b&gt;</service_notice><account_id/></request>"
            "</service_requests>\n");

  Document definition = Document::object();
  definition["service_code"] = "0102";
  definition["attributes"] = Document::array();
  EXPECT_EQ(Render(Format::kXml, "service_definition", definition),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
            "<service_definition><service_code>0102</service_code><attributes/>"
            "</service_definition>\n");
  Document numbers = Document::object();
  numbers["lat"] = 36.113337;
  numbers["metadata"] = false;
  EXPECT_EQ(Render(Format::kXml, "request", numbers),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
            "<request><lat>36.113337</lat><metadata>false</metadata></request>\n");
  EXPECT_EQ(Render(Format::kXml, "services", Document::array()),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<services/>\n");
}

TEST(GeoReportTest, ErrorsAreTheSpecsDocuments) {
  EXPECT_EQ(ErrorText(Format::kJson, 403, "api_key: required"),
            R"([{"code":403,"description":"api_key: required"}])");
  EXPECT_EQ(ErrorText(Format::kXml, 400, "lat/long: <required>"),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
            "<errors><error><code>400</code><description>lat/long: &lt;required&gt;"
            "</description></error></errors>\n");
  // Bytes that are not UTF-8 in a gateway's message do not break JSON either.
  EXPECT_EQ(ErrorText(Format::kJson, 400, "bad \xff"),
            "[{\"code\":400,\"description\":\"bad \xEF\xBF\xBD\"}]");
}

}  // namespace
}  // namespace grid::console::georeport
