// The Open311 GeoReport v2 door through Console::Handle, against a fake gateway: what each
// resource asks of the gateway (with the api key), what it answers in JSON and XML, and the
// spec's errors with their HTTP statuses.
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "services/console/console.h"
#include "tests/unit/console/fakes.h"

namespace grid::console {
namespace {

using nlohmann::json;
using testing::FakeExchange;
using testing::FakeGateway;

constexpr char kForm[] = "application/x-www-form-urlencoded";

class Open311Test : public ::testing::Test {
 protected:
  Open311Test()
      : files_(std::filesystem::temp_directory_path() / "open311-test-no-page"),
        clock_(1'800'000'000'000),
        metrics_(registry_),
        console_(gateway_, files_, clock_, ConsoleOptions(), metrics_) {
    gateway_.answer = [this](const std::string& method, google::protobuf::Message* response) {
      return Answer(method, response);
    };
  }

  // The gateway as the tests tell it: categories always, events by the maps below.
  grpc::Status Answer(const std::string& method, google::protobuf::Message* response) {
    if (auto it = refusals_.find(method); it != refusals_.end()) {
      return it->second;
    }
    if (method == "ListCategories") {
      auto* categories = static_cast<v1::ListCategoriesResponse*>(response);
      for (const auto& [code, name] : std::vector<std::pair<std::string, std::string>>{
               {"01", "市容环境"}, {"0101", "违法建设"}, {"0102", "暴露垃圾"}}) {
        v1::Category* category = categories->add_categories();
        category->set_code(code);
        category->set_name(name);
      }
    } else if (method == "ReportEvent") {
      static_cast<v1::ReportEventResponse*>(response)->set_event_id("370212001-NEW");
    } else if (method == "GetEvent") {
      const auto& request = static_cast<const v1::GetEventRequest&>(*LastRequest());
      const auto it = events_.find(request.event_id());
      if (it == events_.end()) {
        return grpc::Status(grpc::StatusCode::NOT_FOUND, "event " + request.event_id());
      }
      *static_cast<v1::GetEventResponse*>(response)->mutable_event() = it->second;
    } else if (method == "ListEvents") {
      const auto& request = static_cast<const v1::ListEventsRequest&>(*LastRequest());
      auto* list = static_cast<v1::ListEventsResponse*>(response);
      for (int i = 0; i < request.page_size() && i < 500; ++i) {
        *list->add_events() = Event(absl::StrCat("E", request.page_token(), "-", i));
      }
      list->set_next_page_token(request.page_token() + "p");
    }
    return grpc::Status::OK;
  }

  const google::protobuf::Message* LastRequest() const {
    return gateway_.call(gateway_.call_count() - 1).message.get();
  }

  static v1::Event Event(const std::string& id) {
    v1::Event event;
    event.set_id(id);
    event.set_category("0102");
    event.set_description("垃圾 <堆>");
    event.set_state(v1::EVENT_STATE_DISPATCHED);
    event.set_unit_id("370212001001");
    event.mutable_reported_at()->set_seconds(1'800'000'000);
    event.mutable_updated_at()->set_seconds(1'800'000'060);
    event.mutable_location()->set_lat(36.113337);
    event.mutable_location()->set_lng(120.433758);
    return event;
  }

  Response Call(http::verb method, const std::string& target, const std::string& body = "",
                const std::string& content_type = kForm) {
    Request request(method, target, 11);
    request.set(http::field::host, "127.0.0.1:7080");
    if (!body.empty()) {
      request.set(http::field::content_type, content_type);
    }
    request.body() = body;
    request.prepare_payload();
    auto exchange = std::make_shared<FakeExchange>();
    console_.Handle(std::move(request), exchange);
    auto response = exchange->AwaitResponse();
    EXPECT_TRUE(response.has_value()) << target;
    return response.value_or(Response());
  }

  static json Json(const Response& response) {
    return json::parse(response.body(), nullptr, /*allow_exceptions=*/false);
  }
  // The description of a JSON error document.
  static std::string Description(const Response& response) {
    const json body = Json(response);
    if (!body.is_array() || body.empty()) {
      return "not an error document: " + response.body();
    }
    EXPECT_EQ(body[0]["code"], response.result_int());
    return body[0]["description"];
  }

  FakeGateway gateway_;
  StaticFiles files_;
  FakeClock clock_;
  prometheus::Registry registry_;
  ConsoleMetrics metrics_;
  Console console_;
  std::map<std::string, grpc::Status> refusals_;
  std::map<std::string, v1::Event> events_;
};

TEST_F(Open311Test, ServicesAreTheSmallClassesForAnyCaller) {
  const Response response = Call(http::verb::get, "/open311/v2/services.json");
  ASSERT_EQ(response.result_int(), 200) << response.body();
  EXPECT_EQ(response[http::field::content_type], "application/json; charset=utf-8");
  EXPECT_EQ(response[http::field::cache_control], "no-store");
  const json services = Json(response);
  ASSERT_EQ(services.size(), 2u);
  EXPECT_EQ(services[1], json({{"service_code", "0102"},
                               {"service_name", "暴露垃圾"},
                               {"description", "市容环境 · 暴露垃圾"},
                               {"metadata", false},
                               {"type", "realtime"},
                               {"keywords", ""},
                               {"group", "市容环境"}}));
  ASSERT_EQ(gateway_.methods(), std::vector<std::string>{"ListCategories"});
  EXPECT_EQ(gateway_.call(0).api_key, "");
  EXPECT_EQ(gateway_.call(0).token, "");

  const Response xml = Call(http::verb::get, "/open311/v2/services.xml?api_key=k1");
  ASSERT_EQ(xml.result_int(), 200);
  EXPECT_EQ(xml[http::field::content_type], "text/xml; charset=utf-8");
  EXPECT_NE(xml.body().find("<services><service><service_code>0101</service_code>"),
            std::string::npos)
      << xml.body();
  EXPECT_EQ(gateway_.call(1).api_key, "k1");
}

TEST_F(Open311Test, AServiceDefinitionHasNoAttributes) {
  const Response response = Call(http::verb::get, "/open311/v2/services/0102.json");
  ASSERT_EQ(response.result_int(), 200);
  EXPECT_EQ(response.body(), R"({"service_code":"0102","attributes":[]})");
  const Response xml = Call(http::verb::get, "/open311/v2/services/0102.xml");
  EXPECT_NE(xml.body().find("<service_definition><service_code>0102</service_code><attributes/>"
                            "</service_definition>"),
            std::string::npos);
  const Response unknown = Call(http::verb::get, "/open311/v2/services/9999.json");
  EXPECT_EQ(unknown.result_int(), 404);
  EXPECT_EQ(Description(unknown),
            "service_code \"9999\": no such service; GET services lists them");
  const Response group = Call(http::verb::get, "/open311/v2/services/01.xml");
  EXPECT_EQ(group.result_int(), 404);
  EXPECT_NE(group.body().find("<errors><error><code>404</code><description>service_code "
                              "&quot;01&quot;: a group (市容环境)"),
            std::string::npos)
      << group.body();
}

TEST_F(Open311Test, APostedRequestIsReportedWithTheApiKey) {
  const Response response =
      Call(http::verb::post, "/open311/v2/requests.json",
           "api_key=key-1&service_code=0102&lat=36.113337&long=120.433758&address_string=%E5%BC%A0"
           "&email=a%40b.example&first_name=Li&phone=138&description=&media_url=https%3A%2F%2Fimg."
           "example%2F1.jpg&jurisdiction_id=laoshan");
  ASSERT_EQ(response.result_int(), 200) << response.body();
  EXPECT_EQ(Json(response),
            json::parse(R"([{"service_request_id":"370212001-NEW",)"
                        R"("service_notice":"已受理，按位置派往所在网格的责任单位 · )"
                        R"(Received: routed by its location to the unit )"
                        R"(responsible for its grid","account_id":null}])"));
  ASSERT_EQ(gateway_.methods(), (std::vector<std::string>{"ListCategories", "ReportEvent"}));
  EXPECT_EQ(gateway_.call(1).api_key, "key-1");
  EXPECT_EQ(gateway_.call(1).token, "");
  const auto& report = static_cast<const v1::ReportEventRequest&>(*gateway_.call(1).message);
  EXPECT_EQ(report.report().category(), "0102");
  EXPECT_EQ(report.report().grid_id(), "");
  EXPECT_EQ(report.report().address(), "张");
  EXPECT_EQ(report.report().description(), "暴露垃圾");
  EXPECT_EQ(report.report().media(0), "https://img.example/1.jpg");
  EXPECT_EQ(report.report().severity(), v1::SEVERITY_NORMAL);
  EXPECT_EQ(report.report().source(), v1::SOURCE_UNSPECIFIED);
  EXPECT_FALSE(report.has_actor());
  EXPECT_EQ(gateway_.call(1).request.find("a@b.example"), std::string::npos);
  EXPECT_EQ(gateway_.call(1).request.find("Li"), std::string::npos);

  const Response xml = Call(http::verb::post, "/open311/v2/requests.xml",
                            "api_key=key-1&service_code=0101&lat=36.1&long=120.5");
  ASSERT_EQ(xml.result_int(), 200);
  EXPECT_NE(xml.body().find("<service_requests><request><service_request_id>370212001-NEW"
                            "</service_request_id><service_notice>"),
            std::string::npos);
  EXPECT_NE(xml.body().find("<account_id/></request></service_requests>"), std::string::npos);
}

TEST_F(Open311Test, APostIsRefusedAsTheSpecSays) {
  const Response no_key =
      Call(http::verb::post, "/open311/v2/requests.json", "service_code=0102&lat=36.1&long=120.5");
  EXPECT_EQ(no_key.result_int(), 403);
  EXPECT_EQ(Description(no_key).rfind("api_key: required", 0), 0u);
  const Response no_place = Call(http::verb::post, "/open311/v2/requests.json",
                                 "api_key=k&service_code=0102&address_"
                                 "string=x");
  EXPECT_EQ(no_place.result_int(), 400);
  EXPECT_EQ(Description(no_place).rfind("lat/long: required: this server has no geocoder", 0), 0u);
  const Response json_body = Call(http::verb::post, "/open311/v2/requests.json",
                                  R"({"service_code":"0102"})", "application/json");
  EXPECT_EQ(json_body.result_int(), 415);
  EXPECT_EQ(gateway_.call_count(), 0u);

  const Response unknown = Call(http::verb::post, "/open311/v2/requests.xml",
                                "api_key=k&service_code=9999&lat=36.1&long=120.5");
  EXPECT_EQ(unknown.result_int(), 400);
  EXPECT_NE(unknown.body().find("<code>400</code><description>service_code &quot;9999&quot;: no "
                                "such service"),
            std::string::npos)
      << unknown.body();
  EXPECT_EQ(gateway_.methods(), std::vector<std::string>{"ListCategories"});

  // The gateway's refusals, in the form's words and the spec's statuses.
  refusals_["ReportEvent"] =
      grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                   "report.location: (30, 120) is outside the district's bounds");
  const std::string form = "api_key=k&service_code=0102&lat=30&long=120";
  const Response outside = Call(http::verb::post, "/open311/v2/requests.json", form);
  EXPECT_EQ(outside.result_int(), 400);
  EXPECT_EQ(Description(outside),
            "lat/long: report.location: (30, 120) is outside the district's bounds");
  refusals_["ReportEvent"] = grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "unknown api key");
  const Response bad_key = Call(http::verb::post, "/open311/v2/requests.json", form);
  EXPECT_EQ(bad_key.result_int(), 403);
  EXPECT_EQ(Description(bad_key), "api_key: unknown api key");
  refusals_["ReportEvent"] =
      grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "api key: not the key of a client system");
  EXPECT_EQ(Description(Call(http::verb::post, "/open311/v2/requests.json", form)),
            "api_key: not the key of a client system");
  refusals_["ReportEvent"] =
      grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "outside the jurisdiction");
  EXPECT_EQ(Call(http::verb::post, "/open311/v2/requests.json", form).result_int(), 403);
  refusals_["ReportEvent"] = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "rate limited");
  gateway_.retry_after_ms = 1500;
  const Response limited = Call(http::verb::post, "/open311/v2/requests.json", form);
  EXPECT_EQ(limited.result_int(), 429);
  EXPECT_EQ(limited[http::field::retry_after], "2");
  gateway_.retry_after_ms.reset();
  refusals_["ListCategories"] = grpc::Status(grpc::StatusCode::UNAVAILABLE, "gateway unavailable");
  const Response down = Call(http::verb::post, "/open311/v2/requests.xml", form);
  EXPECT_EQ(down.result_int(), 503);
  EXPECT_NE(down.body().find("<code>503</code>"), std::string::npos);
}

TEST_F(Open311Test, ARequestIsReadWithItsServiceName) {
  events_["E1"] = Event("E1");
  const Response response = Call(http::verb::get, "/open311/v2/requests/E1.json?api_key=k");
  ASSERT_EQ(response.result_int(), 200) << response.body();
  const json items = Json(response);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0]["service_request_id"], "E1");
  EXPECT_EQ(items[0]["status"], "open");
  EXPECT_EQ(items[0]["status_notes"], "已派遣 DISPATCHED · 370212001001");
  EXPECT_EQ(items[0]["service_name"], "暴露垃圾");
  EXPECT_EQ(items[0]["requested_datetime"], "2027-01-15T16:00:00+08:00");
  EXPECT_EQ(items[0]["lat"], 36.113337);
  EXPECT_EQ(gateway_.call(0).api_key, "k");

  const Response xml = Call(http::verb::get, "/open311/v2/requests/E1.xml?api_key=k");
  EXPECT_NE(xml.body().find("<description>垃圾 &lt;堆&gt;</description>"), std::string::npos);

  const Response missing = Call(http::verb::get, "/open311/v2/requests/E2.json?api_key=k");
  EXPECT_EQ(missing.result_int(), 404);
  EXPECT_EQ(Description(missing), "service_request_id \"E2\": not found");
  const Response no_key = Call(http::verb::get, "/open311/v2/requests/E1.json");
  EXPECT_EQ(no_key.result_int(), 403);
}

TEST_F(Open311Test, ATokenIsTheRequestsId) {
  events_["E1"] = Event("E1");
  const Response response = Call(http::verb::get, "/open311/v2/tokens/E1.json?api_key=k");
  ASSERT_EQ(response.result_int(), 200);
  EXPECT_EQ(response.body(), R"([{"service_request_id":"E1","token":"E1"}])");
  EXPECT_EQ(Call(http::verb::get, "/open311/v2/tokens/E9.xml?api_key=k").result_int(), 404);
}

TEST_F(Open311Test, ASearchPagesUpToAThousandRequests) {
  const Response response =
      Call(http::verb::get, "/open311/v2/requests.json?api_key=k&status=open&service_code=0102");
  ASSERT_EQ(response.result_int(), 200);
  EXPECT_EQ(Json(response).size(), 1000u);
  ASSERT_EQ(gateway_.methods(),
            (std::vector<std::string>{"ListCategories", "ListEvents", "ListEvents"}));
  const auto& first = static_cast<const v1::ListEventsRequest&>(*gateway_.call(1).message);
  EXPECT_EQ(first.page_size(), 500);
  EXPECT_EQ(first.category_prefix(), "0102");
  EXPECT_EQ(first.states_size(), 5);
  EXPECT_EQ(first.unit_id(), "");
  EXPECT_EQ(first.reported_after().seconds(), 1'800'000'000 - 90 * 24 * 3600);
  const auto& second = static_cast<const v1::ListEventsRequest&>(*gateway_.call(2).message);
  EXPECT_EQ(second.page_token(), "p");
  EXPECT_EQ(gateway_.call(2).api_key, "k");
}

TEST_F(Open311Test, ASearchByIdsIgnoresTheOtherFilters) {
  events_["E1"] = Event("E1");
  events_["E3"] = Event("E3");
  events_["E3"].set_state(v1::EVENT_STATE_CLOSED);
  const Response response =
      Call(http::verb::get,
           "/open311/v2/requests.xml?api_key=k&service_request_id=E3,E2,E1&status=open&service_"
           "code=9999");
  ASSERT_EQ(response.result_int(), 200) << response.body();
  const std::string body = response.body();
  const std::size_t e3 = body.find("<service_request_id>E3</service_request_id><status>closed");
  const std::size_t e1 = body.find("<service_request_id>E1</service_request_id><status>open");
  EXPECT_NE(e3, std::string::npos) << body;
  EXPECT_NE(e1, std::string::npos) << body;
  EXPECT_LT(e3, e1);
  EXPECT_EQ(body.find("E2"), std::string::npos);
}

TEST_F(Open311Test, ASearchIsRefusedAsTheSpecSays) {
  EXPECT_EQ(Call(http::verb::get, "/open311/v2/requests.json").result_int(), 403);
  const Response status = Call(http::verb::get, "/open311/v2/requests.json?api_key=k&status=new");
  EXPECT_EQ(status.result_int(), 400);
  EXPECT_EQ(Description(status), "status: open or closed, not \"new\"");
  const Response code =
      Call(http::verb::get, "/open311/v2/requests.json?api_key=k&service_code=9999");
  EXPECT_EQ(code.result_int(), 400);
  const Response span =
      Call(http::verb::get,
           "/open311/v2/requests.json?api_key=k&start_date=2026-01-01T00:00:00Z&end_date=2026-06-01"
           "T00:00:00%2B08:00");
  EXPECT_EQ(span.result_int(), 400);
  EXPECT_EQ(Description(span), "start_date: start_date to end_date spans more than 90 days");
  EXPECT_EQ(gateway_.methods(), (std::vector<std::string>{"ListCategories", "ListCategories"}));
}

TEST_F(Open311Test, PathsAndMethodsOutsideTheSpecAreRefused) {
  const Response format = Call(http::verb::get, "/open311/v2/services.csv");
  EXPECT_EQ(format.result_int(), 404);
  EXPECT_EQ(format[http::field::content_type], "application/json; charset=utf-8");
  EXPECT_EQ(Json(format)[0]["code"], 404);
  EXPECT_EQ(Call(http::verb::get, "/open311/v2/nothing.json").result_int(), 404);
  EXPECT_EQ(Call(http::verb::get, "/open311").result_int(), 404);
  const Response method = Call(http::verb::delete_, "/open311/v2/requests.xml");
  EXPECT_EQ(method.result_int(), 405);
  EXPECT_EQ(method[http::field::allow], "GET, POST");
  EXPECT_EQ(Call(http::verb::post, "/open311/v2/services.json").result_int(), 405);
  EXPECT_EQ(gateway_.call_count(), 0u);
}

}  // namespace
}  // namespace grid::console
