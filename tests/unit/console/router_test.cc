#include "services/console/router.h"

#include <gtest/gtest.h>

namespace grid::console {
namespace {

using Outcome = RouteMatch::Outcome;

class RouterTest : public ::testing::Test {
 protected:
  // The RPC a method and path reach, or "" when none.
  std::string Rpc(std::string_view method, std::string_view path) {
    const RouteMatch match = router_.Match(method, path);
    return match.outcome == Outcome::kFound ? match.route->rpc : "";
  }
  Router router_;
};

TEST_F(RouterTest, EveryReadReachesItsRpc) {
  EXPECT_EQ(Rpc("GET", "/api/v1/events/370212001-01ABC"), "GetEvent");
  EXPECT_EQ(Rpc("GET", "/api/v1/events"), "ListEvents");
  EXPECT_EQ(Rpc("GET", "/api/v1/events/370212001-01ABC/history"), "GetEventHistory");
  EXPECT_EQ(Rpc("GET", "/api/v1/units/370212001001/queue"), "ListUnitQueue");
  EXPECT_EQ(Rpc("GET", "/api/v1/overdue"), "ListOverdueEvents");
  EXPECT_EQ(Rpc("GET", "/api/v1/stats"), "GetStats");
  EXPECT_EQ(Rpc("GET", "/api/v1/topology"), "GetTopology");
}

TEST_F(RouterTest, EveryMoveReachesItsRpc) {
  EXPECT_EQ(Rpc("POST", "/api/v1/events"), "ReportEvent");
  const std::vector<std::pair<std::string, std::string>> verbs = {
      {"accept", "AcceptEvent"},     {"resolve", "ResolveEvent"},    {"verify", "VerifyEvent"},
      {"return", "ReturnEvent"},     {"suspend", "SuspendEvent"},    {"resume", "ResumeEvent"},
      {"cancel", "CancelEvent"},     {"void", "VoidEvent"},          {"reassign", "ReassignEvent"},
      {"escalate", "EscalateEvent"}, {"supervise", "SuperviseEvent"}};
  for (const auto& [verb, rpc] : verbs) {
    const RouteMatch match = router_.Match("POST", "/api/v1/events/E1:" + verb);
    ASSERT_EQ(match.outcome, Outcome::kFound) << verb;
    EXPECT_EQ(match.route->rpc, rpc);
    EXPECT_EQ(match.params.at("event_id"), "E1");
  }
}

TEST_F(RouterTest, PathParametersArePercentDecoded) {
  const RouteMatch match = router_.Match("GET", "/api/v1/events/a%2Fb%20c/history");
  ASSERT_EQ(match.outcome, Outcome::kFound);
  EXPECT_EQ(match.params.at("event_id"), "a/b c");
  // A verb after an encoded colon is still the id's own text, not a verb.
  const RouteMatch encoded = router_.Match("GET", "/api/v1/events/E1%3Aaccept");
  ASSERT_EQ(encoded.outcome, Outcome::kFound);
  EXPECT_EQ(encoded.route->rpc, "GetEvent");
  EXPECT_EQ(encoded.params.at("event_id"), "E1:accept");
}

TEST_F(RouterTest, MalformedOrEmptyParametersMatchNothing) {
  EXPECT_EQ(router_.Match("GET", "/api/v1/events/%zz").outcome, Outcome::kNotFound);
  EXPECT_EQ(router_.Match("GET", "/api/v1/events/a%00b").outcome, Outcome::kNotFound);
  EXPECT_EQ(router_.Match("GET", "/api/v1/events//history").outcome, Outcome::kNotFound);
  EXPECT_EQ(router_.Match("POST", "/api/v1/events/:accept").outcome, Outcome::kNotFound);
}

TEST_F(RouterTest, UnknownPathsAndVerbsAreNotFound) {
  EXPECT_EQ(router_.Match("GET", "/api/v1/nothing").outcome, Outcome::kNotFound);
  EXPECT_EQ(router_.Match("POST", "/api/v1/events/E1:explode").outcome, Outcome::kNotFound);
  EXPECT_EQ(router_.Match("GET", "/api/v2/events").outcome, Outcome::kNotFound);
  EXPECT_EQ(router_.Match("GET", "/api/v1/events/E1/history/more").outcome, Outcome::kNotFound);
}

TEST_F(RouterTest, AKnownPathWithAnotherMethodListsTheAllowedOnes) {
  const RouteMatch events = router_.Match("DELETE", "/api/v1/events");
  EXPECT_EQ(events.outcome, Outcome::kMethodNotAllowed);
  EXPECT_EQ(events.allow, "GET, POST");
  const RouteMatch accept = router_.Match("GET", "/api/v1/events/E1:accept");
  EXPECT_EQ(accept.outcome, Outcome::kMethodNotAllowed);
  EXPECT_EQ(accept.allow, "POST");
  const RouteMatch session = router_.Match("PUT", "/api/v1/session");
  EXPECT_EQ(session.allow, "GET, POST, DELETE");
}

TEST_F(RouterTest, TheLiveFeedAndSessionHaveRoutesOfTheirOwn) {
  EXPECT_EQ(router_.Match("GET", "/api/v1/watch").route->kind, RouteKind::kWatch);
  EXPECT_EQ(router_.Match("GET", "/api/v1/session").route->kind, RouteKind::kSession);
  EXPECT_EQ(router_.Match("POST", "/api/v1/session/codes").route->kind, RouteKind::kSigninCodes);
  EXPECT_EQ(router_.Match("GET", "/api/v1/watch").route->name(), "GET /api/v1/watch");
}

TEST(PercentDecodeTest, DecodesAndRefusesBadEscapes) {
  std::string out;
  EXPECT_TRUE(PercentDecode("%E5%B4%82%e5%b1%b1+x", out));
  EXPECT_EQ(out, "崂山+x");
  EXPECT_FALSE(PercentDecode("%4", out));
  EXPECT_FALSE(PercentDecode("%", out));
  EXPECT_FALSE(PercentDecode("%G0", out));
  EXPECT_FALSE(PercentDecode("%00", out));
}

}  // namespace
}  // namespace grid::console
