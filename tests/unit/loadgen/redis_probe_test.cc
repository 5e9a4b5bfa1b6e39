#include "tools/loadgen/redis_probe.h"

#include <gtest/gtest.h>

#include "common/store/keys.h"
#include "tests/support/redis_test.h"

namespace grid::loadgen {
namespace {

class ConsumerBacklogTest : public testing::RedisTest {
 protected:
  Backlog Read() {
    auto backlog = ConsumerBacklog(*client_, {"370212001", "370212002"});
    EXPECT_TRUE(backlog.ok()) << backlog.status();
    return backlog.ok() ? *backlog : Backlog{-1, -1, "failed"};
  }
};

TEST_F(ConsumerBacklogTest, EmptyOnlyOnceEveryEntryIsDeliveredAndAcknowledged) {
  const std::string stream = store::RoutingStream("370212002");
  EXPECT_TRUE(Read().Empty());  // No streams yet.
  Redis({"XGROUP", "CREATE", stream, "routing", "$", "MKSTREAM"});
  EXPECT_TRUE(Read().Empty());

  Redis({"XADD", stream, "*", "id", "e1"});
  Backlog backlog = Read();
  EXPECT_EQ(backlog.behind, 1);
  EXPECT_EQ(backlog.pending, 0);
  EXPECT_NE(backlog.where.find(stream), std::string::npos) << backlog.where;

  const redis::Reply read =
      Redis({"XREADGROUP", "GROUP", "routing", "c1", "COUNT", "10", "STREAMS", stream, ">"});
  ASSERT_EQ(read.elements.size(), 1u);
  const std::string id = read.elements[0].elements[1].elements[0].elements[0].str;
  backlog = Read();
  EXPECT_EQ(backlog.behind, 0);
  EXPECT_EQ(backlog.pending, 1);
  EXPECT_FALSE(backlog.Empty());

  // Acknowledged and trimmed, as routing does: nothing left.
  Redis({"XACK", stream, "routing", id});
  Redis({"XDEL", stream, id});
  EXPECT_TRUE(Read().Empty()) << Read().where;
}

TEST_F(ConsumerBacklogTest, CountsTheLiveStreamsGroupsToo) {
  const std::string live = store::LiveStream("370212001");
  Redis({"XGROUP", "CREATE", live, "metrics", "$", "MKSTREAM"});
  Redis({"XADD", live, "*", "c", "x"});
  EXPECT_EQ(Read().behind, 1);
}

TEST_F(ConsumerBacklogTest, InfoFieldReadsANumberOfItsSection) {
  auto memory = InfoField(*client_, "memory", "used_memory");
  ASSERT_TRUE(memory.ok()) << memory.status();
  EXPECT_GT(*memory, 0);
  EXPECT_EQ(InfoField(*client_, "memory", "no_such_field").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace grid::loadgen
