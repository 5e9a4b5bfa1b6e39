#include "common/server/stream_groups.h"

#include <gtest/gtest.h>

#include "common/telemetry/redis_metrics.h"

namespace grid::server {
namespace {

using redis::Reply;

Reply Group(const std::string& name, long long pending, Reply lag) {
  return Reply::Array({Reply::String("name"), Reply::String(name), Reply::String("consumers"),
                       Reply::Integer(1), Reply::String("pending"), Reply::Integer(pending),
                       Reply::String("last-delivered-id"), Reply::String("1-0"),
                       Reply::String("entries-read"), Reply::Integer(3), Reply::String("lag"),
                       std::move(lag)});
}

TEST(GroupBacklogTest, FindsTheGroupsLagAndPending) {
  const Reply reply = Reply::Array(
      {Group("routing", 1, Reply::Integer(0)), Group("metrics", 4, Reply::Integer(7))});
  auto backlog = ParseGroupBacklog(reply, "metrics");
  ASSERT_TRUE(backlog.has_value());
  EXPECT_EQ(backlog->lag, 7);
  EXPECT_EQ(backlog->pending, 4);
  EXPECT_FALSE(ParseGroupBacklog(reply, "other").has_value());
  EXPECT_FALSE(ParseGroupBacklog(Reply::Error("ERR no such key"), "metrics").has_value());
}

TEST(GroupBacklogTest, AnUnknownLagIsMinusOne) {
  auto backlog = ParseGroupBacklog(Reply::Array({Group("metrics", 2, Reply::Nil())}), "metrics");
  ASSERT_TRUE(backlog.has_value());
  EXPECT_EQ(backlog->lag, -1);
  EXPECT_EQ(backlog->pending, 2);
}

TEST(GroupBacklogTest, ReadsTheConsumersAndTheLastDeliveredEntry) {
  auto backlog =
      ParseGroupBacklog(Reply::Array({Group("routing", 0, Reply::Integer(0))}), "routing");
  ASSERT_TRUE(backlog.has_value());
  EXPECT_EQ(backlog->consumers, 1);
  EXPECT_EQ(backlog->last_delivered_id, "1-0");
}

// The age of the oldest entry a group has not acknowledged, from stream ids (ms-seq).
TEST(OldestUnackedTest, IsTheOlderOfThePendingAndTheUndelivered) {
  EXPECT_EQ(OldestUnacked("1000-5", "2000-0"), "1000-5");
  EXPECT_EQ(OldestUnacked("3000-0", "2000-0"), "2000-0");
  EXPECT_EQ(OldestUnacked("", "2000-0"), "2000-0");
  EXPECT_EQ(OldestUnacked("1000-0", ""), "1000-0");
  EXPECT_EQ(OldestUnacked("", ""), "");
  // Numerically, not as text.
  EXPECT_EQ(OldestUnacked("999-0", "1000-0"), "999-0");
  EXPECT_EQ(OldestUnacked("1000-10", "1000-9"), "1000-9");
}

TEST(OldestUnackedTest, AgeIsFromTheIdsTime) {
  EXPECT_DOUBLE_EQ(AgeSeconds("1700000000000-3", 1700000300500), 300.5);
  EXPECT_DOUBLE_EQ(AgeSeconds("", 1700000300500), 0);
  EXPECT_DOUBLE_EQ(AgeSeconds("1700000400000-0", 1700000300500), 0) << "clock skew: not negative";
  EXPECT_EQ(StreamIdMillis("1700000000000-3"), 1700000000000);
  EXPECT_EQ(StreamIdMillis("x-1"), std::nullopt);
}

TEST(CommandLabelTest, IsUpperCaseAndBounded) {
  EXPECT_EQ(telemetry::CommandLabel("evalsha"), "EVALSHA");
  EXPECT_EQ(telemetry::CommandLabel(""), "UNKNOWN");
  EXPECT_EQ(telemetry::CommandLabel(std::string(100, 'x')).size(), 24u);
}

}  // namespace
}  // namespace grid::server
