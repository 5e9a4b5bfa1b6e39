#include "common/redis/slot.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"

namespace grid::redis {
namespace {

TEST(SlotTest, Crc16KnownValues) {
  // The check value of CRC-16/XMODEM, and the cluster specification's own example.
  EXPECT_EQ(Crc16("123456789"), 0x31C3);
  EXPECT_EQ(Crc16(""), 0);
  EXPECT_EQ(KeySlot("123456789"), 0x31C3 & 16383);
  EXPECT_EQ(KeySlot("123456789"), 12739);
  // Values CLUSTER KEYSLOT gives.
  EXPECT_EQ(KeySlot("foo"), 12182);
  EXPECT_EQ(KeySlot("bar"), 5061);
  EXPECT_EQ(KeySlot(std::string("\0\xff", 2)), Crc16(std::string("\0\xff", 2)) & 16383);
}

TEST(SlotTest, HashTags) {
  EXPECT_EQ(KeySlot("{user1000}.following"), KeySlot("{user1000}.followers"));
  EXPECT_EQ(KeySlot("{user1000}.following"), KeySlot("user1000"));
  // Values CLUSTER KEYSLOT gives.
  EXPECT_EQ(KeySlot("{user1000}.following"), 3443);
  EXPECT_EQ(KeySlot("foo{}{bar}"), 8363);
  EXPECT_EQ(KeySlot("foo{{bar}}zap"), 4015);
  // An empty tag: the whole key is hashed.
  EXPECT_EQ(KeySlot("foo{}{bar}"), Crc16("foo{}{bar}") & 16383);
  // Only the first '{' and the first '}' after it count.
  EXPECT_EQ(KeySlot("foo{{bar}}zap"), KeySlot("{bar"));
  EXPECT_EQ(KeySlot("foo{{bar}}zap"), Crc16("{bar") & 16383);
  EXPECT_EQ(KeySlot("foo{bar}{zap}"), KeySlot("bar"));
  // No closing brace: the whole key.
  EXPECT_EQ(KeySlot("foo{bar"), Crc16("foo{bar") & 16383);
  // The tags themselves.
  EXPECT_EQ(HashTag("{370212001}:ev:x"), "370212001");
  EXPECT_EQ(HashTag("plain"), "plain");
  EXPECT_EQ(HashTag("foo{}{bar}"), "foo{}{bar}");
  EXPECT_EQ(HashTag("foo{{bar}}zap"), "{bar");
  EXPECT_EQ(HashTag("foo{bar}{zap}"), "bar");
  EXPECT_EQ(HashTag("open{only"), "open{only");
}

absl::StatusOr<int> Slot(std::vector<std::string> argv) { return CommandSlot(argv); }

TEST(SlotTest, CommandSlotFindsTheKeys) {
  EXPECT_EQ(*Slot({"GET", "foo"}), KeySlot("foo"));
  EXPECT_EQ(*Slot({"get", "foo"}), KeySlot("foo"));
  EXPECT_EQ(*Slot({"HSET", "h", "f", "v"}), KeySlot("h"));
  EXPECT_EQ(*Slot({"DEL", "{t}a", "{t}b"}), KeySlot("t"));
  EXPECT_EQ(*Slot({"MSET", "{t}a", "1", "{t}b", "2"}), KeySlot("t"));
  EXPECT_EQ(*Slot({"XINFO", "GROUPS", "s"}), KeySlot("s"));
  EXPECT_EQ(*Slot({"XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"}), KeySlot("s"));
  EXPECT_EQ(*Slot({"MEMORY", "USAGE", "k", "SAMPLES", "0"}), KeySlot("k"));
  EXPECT_EQ(*Slot({"EVALSHA", "abc", "2", "{t}a", "{t}b", "not-a-key"}), KeySlot("t"));
  EXPECT_EQ(*Slot({"EVAL", "return 1", "0", "not-a-key"}), kNoSlot);
  // XREAD/XREADGROUP: the keys are the first half after STREAMS; ids and option values are not.
  EXPECT_EQ(*Slot({"XREAD", "COUNT", "10", "BLOCK", "100", "STREAMS", "{s}1", "{s}2", "0", "$"}),
            KeySlot("s"));
  EXPECT_EQ(*Slot({"XREADGROUP", "GROUP", "streams", "STREAMS", "COUNT", "5", "NOACK", "STREAMS",
                   "a", ">"}),
            KeySlot("a"));
}

TEST(SlotTest, KeylessCommandsHaveNoSlot) {
  for (const std::vector<std::string>& argv :
       std::vector<std::vector<std::string>>{{"PING"},
                                             {"INFO", "commandstats"},
                                             {"SCRIPT", "LOAD", "return 1"},
                                             {"TIME"},
                                             {"CLUSTER", "SLOTS"},
                                             {"XINFO", "HELP"},
                                             {"MEMORY", "STATS"}}) {
    absl::StatusOr<int> slot = CommandSlot(argv);
    ASSERT_TRUE(slot.ok()) << argv[0] << ": " << slot.status();
    EXPECT_EQ(*slot, kNoSlot) << argv[0];
  }
}

TEST(SlotTest, KeysInDifferentSlotsAreRefusedNamingTheCommand) {
  ASSERT_NE(KeySlot("a"), KeySlot("b"));
  for (const std::vector<std::string>& argv :
       std::vector<std::vector<std::string>>{{"DEL", "a", "b"},
                                             {"MSET", "a", "1", "b", "2"},
                                             {"XREAD", "STREAMS", "a", "b", "0", "0"},
                                             {"EVALSHA", "abc", "2", "a", "b"}}) {
    absl::StatusOr<int> slot = CommandSlot(argv);
    EXPECT_EQ(slot.status().code(), absl::StatusCode::kInvalidArgument) << argv[0];
    EXPECT_TRUE(absl::StartsWith(slot.status().message(), argv[0])) << slot.status();
    EXPECT_TRUE(absl::StrContains(slot.status().message(), "CROSSSLOT")) << slot.status();
  }
  absl::StatusOr<int> script = KeysSlot("script 0123", {"a", "b"});
  EXPECT_EQ(script.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(script.status().message(), "script 0123")) << script.status();
  EXPECT_EQ(*KeysSlot("script", {}), kNoSlot);
}

TEST(SlotTest, UnknownAndMalformedCommandsAreRefused) {
  for (const std::vector<std::string>& argv : std::vector<std::vector<std::string>>{
           {},
           {"NO-SUCH-COMMAND", "k"},
           {"DBSIZE"},  // One node's share: for every master, not for any one.
           {"GET"},
           {"MSET", "a", "1", "b"},
           {"EVALSHA", "abc", "3", "a"},
           {"EVALSHA", "abc", "-1"},
           {"XREAD", "STREAMS", "a", "b", "0"},
           {"XREAD", "STREAMS"},
           {"XREAD", "FOO", "STREAMS", "a", "0"}}) {
    EXPECT_EQ(CommandSlot(argv).status().code(), absl::StatusCode::kInvalidArgument)
        << (argv.empty() ? "(empty)" : argv[0]);
  }
}

}  // namespace
}  // namespace grid::redis
