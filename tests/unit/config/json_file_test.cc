#include "common/config/json_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "grid/v1/topology.pb.h"

namespace grid::config {
namespace {

using ::testing::HasSubstr;

TEST(ParseJsonTest, ParsesProtoFieldNames) {
  v1::Topology topology;
  ASSERT_TRUE(ParseJson(R"({"district_id": "370212", "units": [{"id": "370212",
      "level": "LEVEL_DISTRICT"}]})",
                        "t.json", topology)
                  .ok());
  EXPECT_EQ(topology.district_id(), "370212");
  ASSERT_EQ(topology.units_size(), 1);
  EXPECT_EQ(topology.units(0).level(), v1::LEVEL_DISTRICT);
}

TEST(ParseJsonTest, UnknownFieldIsAnErrorNamingIt) {
  v1::Topology topology;
  auto status = ParseJson(R"({"district_id": "370212", "distrct": 1})", "t.json", topology);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("t.json"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("distrct"));
}

TEST(ParseJsonTest, BadEnumValueNamesTheValue) {
  v1::Topology topology;
  auto status =
      ParseJson(R"({"units": [{"id": "1", "level": "LEVEL_CONTINENT"}]})", "t.json", topology);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("LEVEL_CONTINENT"));
  EXPECT_EQ(topology.units_size(), 0) << "nothing half-parsed is left behind";
}

TEST(LoadJsonFileTest, MissingFileIsNotFound) {
  v1::Topology topology;
  auto status = LoadJsonFile("/nonexistent/topology.json", topology);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(status.message()), HasSubstr("/nonexistent/topology.json"));
}

TEST(ToJsonTest, UsesProtoFieldNames) {
  v1::Topology topology;
  topology.set_district_id("370212");
  EXPECT_THAT(ToJson(topology, false), HasSubstr("\"district_id\":\"370212\""));
}

}  // namespace
}  // namespace grid::config
