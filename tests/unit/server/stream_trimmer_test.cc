// The trimmer never removes what a consumer group has not acknowledged, and keeps a window.
#include "common/server/stream_trimmer.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/server/stream_groups.h"
#include "tests/support/poll.h"
#include "tests/support/redis_test.h"

namespace grid::server {
namespace {

using std::chrono::milliseconds;
using testing::PollUntil;

TEST(TrimFloorTest, IsTheOldestEntryAGroupHasNotAcknowledged) {
  // Delivered up to 10-0, 5-1 still pending: 5-1 stays.
  EXPECT_EQ(TrimFloor({{"10-0", "5-1"}}, milliseconds(0), 0), "5-1");
  // Nothing pending: everything after the last delivered entry stays.
  EXPECT_EQ(TrimFloor({{"10-0", ""}}, milliseconds(0), 0), "10-1");
  // Two groups: the one further behind decides.
  EXPECT_EQ(TrimFloor({{"10-0", ""}, {"7-3", ""}}, milliseconds(0), 0), "7-4");
  // A group that read nothing keeps everything.
  EXPECT_EQ(TrimFloor({{"0-0", ""}}, milliseconds(0), 0), "0-1");
  // No group and no window: nothing says what may go.
  EXPECT_EQ(TrimFloor({}, milliseconds(0), 0), std::nullopt);
}

TEST(TrimFloorTest, AWindowKeepsWhatIsYoungerThanIt) {
  // All acknowledged up to 9000-0; the window keeps the last 5 s of 10 s.
  EXPECT_EQ(TrimFloor({{"9000-0", ""}}, milliseconds(5000), 10000), "5000-0");
  // The group is further behind than the window: the group decides.
  EXPECT_EQ(TrimFloor({{"9000-0", "3000-0"}}, milliseconds(5000), 10000), "3000-0");
  // No group: the window alone.
  EXPECT_EQ(TrimFloor({}, milliseconds(5000), 10000), "5000-0");
}

class StreamTrimmerTest : public testing::RedisTest {
 protected:
  std::vector<std::string> Ids(const std::string& stream) {
    std::vector<std::string> ids;
    for (const redis::Reply& entry : Redis({"XRANGE", stream, "-", "+"}).elements) {
      ids.push_back(entry.elements[0].str);
    }
    return ids;
  }
};

TEST_F(StreamTrimmerTest, TrimsWhatTheGroupAcknowledgedAndNothingElse) {
  const std::string stream = "{370212001}:routing";
  std::vector<std::string> ids;
  for (int i = 1; i <= 10; ++i) {
    ids.push_back(Redis({"XADD", stream, absl::StrCat(i, "-0"), "id", absl::StrCat(i)}).str);
  }
  Redis({"XGROUP", "CREATE", stream, "routing", "0"});
  // Six delivered; the third and the fifth not acknowledged.
  Redis({"XREADGROUP", "GROUP", "routing", "c", "COUNT", "6", "STREAMS", stream, ">"});
  Redis({"XACK", stream, "routing", ids[0], ids[1], ids[3], ids[5]});

  FakeClock clock(100000);
  StreamTrimmer trimmer(
      io_, *client_, clock, nullptr,
      {.streams = {stream}, .window = milliseconds(0), .interval = milliseconds(20)});
  trimmer.Start();
  ASSERT_TRUE(PollUntil([&] { return Ids(stream).size() == 8; }, std::chrono::seconds(5)));
  EXPECT_EQ(Ids(stream).front(), ids[2]) << "the oldest pending entry stays";
  // Acknowledged at last: everything delivered goes; the undelivered stay.
  Redis({"XACK", stream, "routing", ids[2], ids[4]});
  ASSERT_TRUE(PollUntil([&] { return Ids(stream).size() == 4; }, std::chrono::seconds(5)));
  EXPECT_EQ(Ids(stream).front(), ids[6]) << "never delivered: stays";
  trimmer.Stop();
}

TEST_F(StreamTrimmerTest, KeepsTheWindowEvenWhenAcknowledged) {
  const std::string stream = "{370212001}:live";
  for (int i = 1; i <= 10; ++i) {
    Redis({"XADD", stream, absl::StrCat(i * 1000, "-0"), "c", "x"});
  }
  Redis({"XGROUP", "CREATE", stream, "metrics", "$"});  // Has read everything.
  FakeClock clock(10500);
  StreamTrimmer trimmer(
      io_, *client_, clock, nullptr,
      {.streams = {stream}, .window = milliseconds(3000), .interval = milliseconds(20)});
  trimmer.Start();
  // Younger than 10500 - 3000 = 7500: 8000, 9000, 10000.
  ASSERT_TRUE(PollUntil([&] { return Ids(stream).size() == 3; }, std::chrono::seconds(5)));
  EXPECT_EQ(Ids(stream).front(), "8000-0");
  trimmer.Stop();
}

}  // namespace
}  // namespace grid::server
