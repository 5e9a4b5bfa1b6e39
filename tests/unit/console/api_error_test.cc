#include "services/console/api_error.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace grid::console {
namespace {

TEST(HttpStatusOfTest, MapsEveryGrpcCodeTheUsualWay) {
  using C = grpc::StatusCode;
  const std::vector<std::pair<C, int>> expected = {
      {C::OK, 200},
      {C::INVALID_ARGUMENT, 400},
      {C::OUT_OF_RANGE, 400},
      {C::UNAUTHENTICATED, 401},
      {C::PERMISSION_DENIED, 403},
      {C::NOT_FOUND, 404},
      {C::ALREADY_EXISTS, 409},
      {C::ABORTED, 409},
      {C::FAILED_PRECONDITION, 409},
      {C::RESOURCE_EXHAUSTED, 429},
      {C::CANCELLED, 499},
      {C::UNIMPLEMENTED, 501},
      {C::UNAVAILABLE, 503},
      {C::DEADLINE_EXCEEDED, 504},
      {C::UNKNOWN, 500},
      {C::INTERNAL, 500},
      {C::DATA_LOSS, 500},
  };
  for (const auto& [code, status] : expected) {
    EXPECT_EQ(HttpStatusOf(code), status) << code;
  }
}

TEST(ErrorJsonTest, CarriesTheCodeTheStatusAndTheMessage) {
  const auto body = nlohmann::json::parse(ErrorJson(FromGrpc(
      grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "event E1: outside your \"unit\"\n"))));
  EXPECT_EQ(body["error"]["code"], "PERMISSION_DENIED");
  EXPECT_EQ(body["error"]["http"], 403);
  EXPECT_EQ(body["error"]["message"], "event E1: outside your \"unit\"\n");
  EXPECT_FALSE(body["error"].contains("retry_after_ms"));
}

TEST(ErrorJsonTest, ARateLimitCarriesTheGatewaysRetryHint) {
  const ApiError error =
      FromGrpc(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "retry after 250 ms"), 250);
  const auto body = nlohmann::json::parse(ErrorJson(error));
  EXPECT_EQ(body["error"]["http"], 429);
  EXPECT_EQ(body["error"]["retry_after_ms"], 250);
  EXPECT_EQ(RetryAfterSeconds(250), 1);
  EXPECT_EQ(RetryAfterSeconds(1000), 1);
  EXPECT_EQ(RetryAfterSeconds(1001), 2);
  EXPECT_EQ(RetryAfterSeconds(0), 1);
  // Only a rate limit keeps a hint.
  EXPECT_FALSE(FromGrpc(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down"), 5).retry_after_ms);
}

TEST(ErrorJsonTest, BytesThatAreNotUtf8DoNotBreakTheBody) {
  const auto body =
      nlohmann::json::parse(ErrorJson(MakeError(grpc::StatusCode::INTERNAL, "bad \xff byte")));
  EXPECT_EQ(body["error"]["code"], "INTERNAL");
}

}  // namespace
}  // namespace grid::console
