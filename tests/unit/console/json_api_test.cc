#include "services/console/json_api.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "grid/v1/gateway.pb.h"
#include "tests/unit/console/fakes.h"

namespace grid::console {
namespace {

const google::protobuf::MethodDescriptor& Method(const std::string& name) {
  const auto* method = GatewayMethod(name);
  EXPECT_NE(method, nullptr) << name;
  return *method;
}

template <class T>
T Built(const std::string& rpc, const std::map<std::string, std::string>& params,
        const QueryParams& query, std::string_view body, bool from_body) {
  auto built = BuildRequest(Method(rpc), params, query, body, from_body);
  EXPECT_TRUE(built.ok()) << built.status();
  T out;
  if (built.ok()) {
    out.CopyFrom(**built);
  }
  return out;
}

std::string Refusal(const std::string& rpc, const std::map<std::string, std::string>& params,
                    const QueryParams& query, std::string_view body, bool from_body) {
  auto built = BuildRequest(Method(rpc), params, query, body, from_body);
  EXPECT_FALSE(built.ok());
  EXPECT_EQ(built.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(built.status().message());
}

TEST(ParseQueryTest, SplitsDecodesAndKeepsRepeats) {
  auto query = ParseQuery("states=EVENT_STATE_DISPATCHED&states=EVENT_STATE_ACCEPTED&a=x+y%21&b");
  ASSERT_TRUE(query.ok());
  ASSERT_EQ(query->size(), 4u);
  EXPECT_EQ((*query)[1].second, "EVENT_STATE_ACCEPTED");
  EXPECT_EQ((*query)[2].second, "x y!");
  EXPECT_EQ((*query)[3].first, "b");
  EXPECT_EQ((*query)[3].second, "");
  EXPECT_FALSE(ParseQuery("a=%zz").ok());
  EXPECT_FALSE(ParseQuery("=1").ok());
  EXPECT_TRUE(ParseQuery("").ok());
}

TEST(BuildRequestTest, QueryParametersFillTheListRequest) {
  auto query = ParseQuery(
      "unit_id=370212001&states=EVENT_STATE_DISPATCHED&states=EVENT_STATE_ACCEPTED&"
      "levels=LEVEL_COMMUNITY&reportedAfter=2026-11-30T00:00:00Z&page_size=100");
  ASSERT_TRUE(query.ok());
  const auto request = Built<v1::ListEventsRequest>("ListEvents", {}, *query, "", false);
  EXPECT_EQ(request.unit_id(), "370212001");
  ASSERT_EQ(request.states_size(), 2);
  EXPECT_EQ(request.states(1), v1::EVENT_STATE_ACCEPTED);
  EXPECT_EQ(request.levels(0), v1::LEVEL_COMMUNITY);
  EXPECT_EQ(request.reported_after().seconds(), 1795996800);
  EXPECT_EQ(request.page_size(), 100);
}

TEST(BuildRequestTest, QueryBooleansAndEnumsReadAsTheJsonMappingReadsThem) {
  const auto topology = Built<v1::GetTopologyRequest>(
      "GetTopology", {}, {{"unit_id", "370212001"}, {"include_units", "true"}}, "", false);
  EXPECT_TRUE(topology.include_units());
  const auto stats = Built<v1::GetStatsRequest>(
      "GetStats", {}, {{"group_by", "STATS_DIMENSION_LEVEL"}, {"group_by", "STATS_DIMENSION_UNIT"}},
      "", false);
  ASSERT_EQ(stats.group_by_size(), 2);
  EXPECT_EQ(stats.group_by(1), v1::STATS_DIMENSION_UNIT);
}

TEST(BuildRequestTest, BadQueryParametersAreRefusedByName) {
  EXPECT_NE(Refusal("ListEvents", {}, {{"colour", "red"}}, "", false).find("\"colour\": unknown"),
            std::string::npos);
  EXPECT_NE(Refusal("ListEvents", {}, {{"unit_id", "a"}, {"unit_id", "b"}}, "", false)
                .find("\"unit_id\": given more than once"),
            std::string::npos);
  EXPECT_NE(Refusal("ListEvents", {}, {{"states", "open"}}, "", false).find("states"),
            std::string::npos);
  EXPECT_NE(Refusal("ListEvents", {}, {{"page_size", "many"}}, "", false).find("page_size"),
            std::string::npos);
  EXPECT_NE(Refusal("GetEvent", {{"event_id", "E1"}}, {{"event_id", "E2"}}, "", false)
                .find("comes from the path"),
            std::string::npos);
}

TEST(BuildRequestTest, PathParametersSetTheirFields) {
  const auto get = Built<v1::GetEventRequest>("GetEvent", {{"event_id", "E1"}}, {}, "", false);
  EXPECT_EQ(get.event_id(), "E1");
  const auto queue = Built<v1::ListUnitQueueRequest>("ListUnitQueue", {{"unit_id", "U1"}},
                                                     {{"page_size", "5"}}, "", false);
  EXPECT_EQ(queue.unit_id(), "U1");
  EXPECT_EQ(queue.page_size(), 5);
}

TEST(BuildRequestTest, AMoveTakesItsFieldsFromTheBody) {
  const auto resolve = Built<v1::ResolveEventRequest>(
      "ResolveEvent", {{"event_id", "E1"}}, {},
      R"({"note":"swept","media":["s3://a.jpg"],"expected_version":"3"})", true);
  EXPECT_EQ(resolve.event_id(), "E1");
  EXPECT_EQ(resolve.note(), "swept");
  EXPECT_EQ(resolve.media_size(), 1);
  EXPECT_EQ(resolve.expected_version(), 3);
  // lowerCamelCase and numbers for int64 are accepted too.
  const auto accept = Built<v1::AcceptEventRequest>("AcceptEvent", {{"event_id", "E1"}}, {},
                                                    R"({"expectedVersion": 7})", true);
  EXPECT_EQ(accept.expected_version(), 7);
  // No body at all is a move without fields.
  const auto resume =
      Built<v1::ResumeEventRequest>("ResumeEvent", {{"event_id", "E1"}}, {}, "", true);
  EXPECT_EQ(resume.event_id(), "E1");
  const auto supervise = Built<v1::SuperviseEventRequest>(
      "SuperviseEvent", {{"event_id", "E1"}}, {}, R"({"note":"today","limit":"7200s"})", true);
  EXPECT_EQ(supervise.limit().seconds(), 7200);
}

TEST(BuildRequestTest, BadBodiesAreRefusedNamingTheField) {
  EXPECT_NE(
      Refusal("AcceptEvent", {{"event_id", "E1"}}, {}, R"({"expected_version":1,"hurry":1})", true)
          .find("hurry"),
      std::string::npos);
  EXPECT_NE(Refusal("AcceptEvent", {{"event_id", "E1"}}, {}, R"({"event_id":"E2"})", true)
                .find("event_id: it comes from the path"),
            std::string::npos);
  EXPECT_NE(Refusal("VerifyEvent", {{"event_id", "E1"}}, {}, R"({"passed":"perhaps"})", true)
                .find("passed"),
            std::string::npos);
  EXPECT_NE(Refusal("AcceptEvent", {{"event_id", "E1"}}, {}, R"({"expected_version":)", true)
                .find("body: "),
            std::string::npos);
  EXPECT_NE(Refusal("AcceptEvent", {{"event_id", "E1"}}, {}, "[1]", true).find("body: "),
            std::string::npos);
  EXPECT_NE(Refusal("ReportEvent", {}, {{"x", "1"}}, "{}", true).find("\"x\""), std::string::npos);
  EXPECT_NE(Refusal("ReportEvent", {}, {},
                    R"({"report":{"grid_id":"1","severity":"SEVERITY_SCARY"}})", true)
                .find("severity"),
            std::string::npos);
}

TEST(ToJsonTest, PrintsProtoNamesDefaultsAndEnumNames) {
  v1::GetEventResponse response;
  response.mutable_event()->set_id("E1");
  response.mutable_event()->set_state(v1::EVENT_STATE_DISPATCHED);
  response.mutable_event()->set_version(3);
  const auto json = nlohmann::json::parse(ToJson(response));
  EXPECT_EQ(json["event"]["id"], "E1");
  EXPECT_EQ(json["event"]["state"], "EVENT_STATE_DISPATCHED");
  EXPECT_EQ(json["event"]["version"], "3");
  EXPECT_EQ(json["event"]["overdue"], false);
  EXPECT_EQ(json["event"]["media"], nlohmann::json::array());
  EXPECT_TRUE(json["event"].contains("escalation_count"));
  EXPECT_FALSE(json["event"].contains("closed_at"));
}

TEST(JsonApiTest, ForwardsTheTokenWithADeadlineAndMapsTheAnswer) {
  testing::FakeGateway gateway;
  gateway.answer = [](const std::string&, google::protobuf::Message* response) {
    static_cast<v1::GetEventResponse*>(response)->mutable_event()->set_id("E1");
    return grpc::Status::OK;
  };
  JsonApi api(gateway, std::chrono::milliseconds(1234));
  ApiAnswer answer;
  api.Call("GetEvent", {{"event_id", "E1"}}, {}, "", false, "tok",
           [&](ApiAnswer a) { answer = std::move(a); });
  ASSERT_TRUE(answer.ok);
  EXPECT_EQ(nlohmann::json::parse(answer.json)["event"]["id"], "E1");
  ASSERT_EQ(gateway.call_count(), 1u);
  EXPECT_EQ(gateway.call(0).method, "GetEvent");
  EXPECT_EQ(gateway.call(0).token, "tok");
  EXPECT_EQ(gateway.call(0).deadline.count(), 1234);
}

TEST(JsonApiTest, AGatewayRefusalBecomesTheErrorWithItsStatus) {
  testing::FakeGateway gateway;
  gateway.answer = [](const std::string&, google::protobuf::Message*) {
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "retry after 300 ms");
  };
  gateway.retry_after_ms = 300;
  JsonApi api(gateway, std::chrono::seconds(1));
  ApiAnswer answer;
  api.Call("ListEvents", {}, {}, "", false, "tok", [&](ApiAnswer a) { answer = std::move(a); });
  ASSERT_FALSE(answer.ok);
  const Response response = ToResponse(answer, 11, true);
  EXPECT_EQ(response.result_int(), 429);
  EXPECT_EQ(response[http::field::retry_after], "1");
  EXPECT_EQ(nlohmann::json::parse(response.body())["error"]["retry_after_ms"], 300);
}

TEST(JsonApiTest, ARequestThatCannotBeBuiltNeverReachesTheGateway) {
  testing::FakeGateway gateway;
  JsonApi api(gateway, std::chrono::seconds(1));
  ApiAnswer answer;
  api.Call("AcceptEvent", {{"event_id", "E1"}}, {}, R"({"bogus":1})", true, "tok",
           [&](ApiAnswer a) { answer = std::move(a); });
  EXPECT_FALSE(answer.ok);
  EXPECT_EQ(answer.error.http, 400);
  EXPECT_EQ(gateway.call_count(), 0u);
}

}  // namespace
}  // namespace grid::console
