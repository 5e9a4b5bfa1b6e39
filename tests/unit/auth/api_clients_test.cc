// The client systems' api keys (common/auth/api_clients.h): the file's rules, each naming the
// field at fault, and the look-up by key, which holds only the keys' digests.
#include "common/auth/api_clients.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "common/config/json_file.h"
#include "tests/support/shipped_config.h"

namespace grid::auth {
namespace {

using ::testing::HasSubstr;
using testing::ShippedTopology;

constexpr char kKey[] = "0123456789abcdef0123456789abcdef-hotline";

v1::ApiClientConfig Config(const std::string& json) {
  v1::ApiClientConfig config;
  EXPECT_TRUE(config::ParseJson(json, "api-keys", config).ok()) << json;
  return config;
}

std::string OneClient(const std::string& fields) {
  return R"({"clients": [{"name": "hotline", "key_sha256": ")" + Sha256Hex(kKey) +
         R"(", "unit_id": "370212001")" + fields + "}]}";
}

TEST(ApiClientsTest, Sha256HexIsTheStandardDigest) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(ApiClientsTest, FindsAClientByItsKeyAndCallsItASystemOfItsUnit) {
  auto clients =
      ApiClients::Build(Config(OneClient(R"(, "source": "SOURCE_HOTLINE")")), ShippedTopology());
  ASSERT_TRUE(clients.ok()) << clients.status();
  const v1::ApiClient* found = (*clients)->Find(kKey);
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->name(), "hotline");
  EXPECT_EQ(ApiClients::SourceOf(*found), v1::SOURCE_HOTLINE);
  const v1::Actor actor = ApiClients::ActorOf(*found);
  EXPECT_EQ(actor.subject(), "system:hotline");
  EXPECT_EQ(actor.role(), v1::ROLE_SYSTEM);
  EXPECT_EQ(actor.unit_id(), "370212001");
  EXPECT_EQ((*clients)->FindByName("hotline"), found);
  EXPECT_EQ((*clients)->Find(std::string(kKey) + "x"), nullptr);
  EXPECT_EQ((*clients)->Find(""), nullptr);
  EXPECT_EQ((*clients)->Find(Sha256Hex(kKey)), nullptr);  // The digest is not the key.
}

TEST(ApiClientsTest, AnUnsetSourceIsOpen311AndADisabledClientIsRefused) {
  auto clients = ApiClients::Build(Config(OneClient(R"(, "disabled": true)")), ShippedTopology());
  ASSERT_TRUE(clients.ok()) << clients.status();
  EXPECT_EQ((*clients)->Find(kKey), nullptr);
  const v1::ApiClient* named = (*clients)->FindByName("hotline");
  ASSERT_NE(named, nullptr);
  EXPECT_EQ(ApiClients::SourceOf(*named), v1::SOURCE_OPEN311);
}

TEST(ApiClientsTest, AKeyShorterThanTheLeastLengthIsNeverFound) {
  const std::string short_key = "short-key";
  auto clients = ApiClients::Build(Config(R"({"clients": [{"name": "a", "key_sha256": ")" +
                                          Sha256Hex(short_key) + R"(", "unit_id": "370212"}]})"),
                                   ShippedTopology());
  ASSERT_TRUE(clients.ok()) << clients.status();
  EXPECT_EQ((*clients)->Find(short_key), nullptr);
}

TEST(ApiClientsTest, BadFilesNameTheField) {
  const std::string digest = Sha256Hex(kKey);
  const struct {
    std::string json;
    std::string field;
  } cases[] = {
      {R"({"clients": [{"name": "Hot Line", "key_sha256": ")" + digest +
           R"(", "unit_id": "370212"}]})",
       "clients[0].name"},
      {R"({"clients": [{"name": "a", "key_sha256": "abc", "unit_id": "370212"}]})",
       "clients[0].key_sha256"},
      {R"({"clients": [{"name": "a", "key_sha256": ")" + digest + R"(", "unit_id": "370299"}]})",
       "clients[0].unit_id"},
      {R"({"clients": [{"name": "a", "key_sha256": ")" + digest +
           R"(", "unit_id": "370212", "source": "SOURCE_GRID_WORKER"}]})",
       "clients[0].source"},
      {R"({"clients": [{"name": "a", "key_sha256": ")" + digest +
           R"(", "unit_id": "370212"}, {"name": "a", "key_sha256": ")" + Sha256Hex("other") +
           R"(", "unit_id": "370212"}]})",
       "clients[1].name"},
      {R"({"clients": [{"name": "a", "key_sha256": ")" + digest +
           R"(", "unit_id": "370212"}, {"name": "b", "key_sha256": ")" + digest +
           R"(", "unit_id": "370212"}]})",
       "clients[1].key_sha256"},
  };
  for (const auto& c : cases) {
    auto clients = ApiClients::Build(Config(c.json), ShippedTopology());
    ASSERT_FALSE(clients.ok()) << c.json;
    EXPECT_EQ(clients.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(clients.status().message(), HasSubstr(c.field + ":")) << clients.status();
  }
}

}  // namespace
}  // namespace grid::auth
