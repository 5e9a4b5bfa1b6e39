#include "services/webhooks/signature.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "services/webhooks/delivery.h"

namespace grid::webhooks {
namespace {

// Computed with `printf '%s' '1700000000.{"change":{"event_id":"E1"}}' | openssl dgst -sha256
// -hmac whsec_test`.
TEST(SignatureTest, MatchesAValueComputedWithTheOpensslTool) {
  EXPECT_EQ(SignatureHex("whsec_test", 1700000000, R"({"change":{"event_id":"E1"}})"),
            "c1d19f22097203cacf6151783853a482f291d393a6f13fb266485e60b9b66386");
  EXPECT_EQ(SignatureHeader("whsec_test", 1700000000, R"({"change":{"event_id":"E1"}})"),
            "t=1700000000,v1=c1d19f22097203cacf6151783853a482f291d393a6f13fb266485e60b9b66386");
}

// The same check against the openssl tool at test time, over a body with bytes a shell would
// mangle if it were not passed through a file.
TEST(SignatureTest, MatchesTheOpensslToolOnAnyBody) {
  const std::string body = "{\"note\":\"清理完毕 \\\"quoted\\\" $HOME `x`\"}\n";
  char path[] = "/tmp/grid-signature-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string message = "1712345678." + body;
  ASSERT_EQ(write(fd, message.data(), message.size()), static_cast<ssize_t>(message.size()));
  close(fd);
  const std::string command =
      std::string("openssl dgst -sha256 -hmac 'another secret' -r < ") + path;
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char out[256] = {};
  const size_t got = fread(out, 1, sizeof(out) - 1, pipe);
  pclose(pipe);
  unlink(path);
  ASSERT_GE(got, 64u);
  EXPECT_EQ(SignatureHex("another secret", 1712345678, body), std::string(out, 64));
}

TEST(SignatureTest, DifferentTimesAndSecretsSignDifferently) {
  EXPECT_NE(SignatureHex("a", 1, "body"), SignatureHex("a", 2, "body"));
  EXPECT_NE(SignatureHex("a", 1, "body"), SignatureHex("b", 1, "body"));
}

TEST(DeliveryBodyTest, IsTheChangeAndTheEventAsJson) {
  v1::EventChange change;
  change.set_event_id("370212001-E1");
  change.set_version(3);
  change.set_kind(v1::CHANGE_KIND_ACCEPTED);
  v1::Event event;
  event.set_id("370212001-E1");
  event.set_version(3);
  const auto body = nlohmann::json::parse(DeliveryBody(change, &event));
  EXPECT_EQ(body["change"]["event_id"], "370212001-E1");
  EXPECT_EQ(body["change"]["kind"], "CHANGE_KIND_ACCEPTED");
  EXPECT_EQ(body["change"]["version"], "3");  // int64 is a string in protobuf JSON.
  EXPECT_EQ(body["event"]["id"], "370212001-E1");
  EXPECT_TRUE(nlohmann::json::parse(DeliveryBody(change, nullptr))["event"].is_null());
}

}  // namespace
}  // namespace grid::webhooks
