// The pieces of the dead letters and of retention that need no Redis.
#include "services/routing/dead_letters.h"

#include <gtest/gtest.h>

#include "services/routing/retention.h"

namespace grid::routing {
namespace {

TEST(ParseDeadLetterTest, ReadsTheFieldsDeadLetterLuaWrites) {
  const v1::DeadLetter letter =
      ParseDeadLetter("370212001", "1700000000500-0",
                      {{"stream", "{370212001}:routing"},
                       {"group", "routing"},
                       {"entry", "1700000000000-0"},
                       {"class", "permanent"},
                       {"reason", "event \"x\": stored record is corrupt"},
                       {"consumer", "host-42"},
                       {"deliveries", "1"},
                       {"at", "1700000000500"},
                       {"f:id", "370212001-x"},
                       {"f:f:odd", "\x01"}});
  EXPECT_EQ(letter.id(), "1700000000500-0");
  EXPECT_EQ(letter.subdistrict_id(), "370212001");
  EXPECT_EQ(letter.stream(), "{370212001}:routing");
  EXPECT_EQ(letter.group(), "routing");
  EXPECT_EQ(letter.entry_id(), "1700000000000-0");
  EXPECT_EQ(letter.reason_class(), "permanent");
  EXPECT_EQ(letter.reason(), "event \"x\": stored record is corrupt");
  EXPECT_EQ(letter.consumer(), "host-42");
  EXPECT_EQ(letter.deliveries(), 1);
  EXPECT_EQ(FromTimestamp(letter.dead_at()), 1700000000500);
  ASSERT_EQ(letter.fields_size(), 2);
  EXPECT_EQ(letter.fields(0).name(), "id");
  EXPECT_EQ(letter.fields(0).value(), "370212001-x");
  EXPECT_EQ(letter.fields(1).name(), "f:odd") << "only the first prefix is ours";
}

TEST(ParseDeadLetterTest, KeepsItsTextFieldsUtf8) {
  // A reason may quote an entry's garbage; a response's string fields must be UTF-8.
  const v1::DeadLetter letter =
      ParseDeadLetter("370212001", "1-0",
                      {{"reason", "event_id: \"\xff\x01\" is not a well-formed event id; 网格 ok"},
                       {"f:\xfe", "\xff"}});
  EXPECT_EQ(letter.reason(), "event_id: \"\\xff\x01\" is not a well-formed event id; 网格 ok");
  EXPECT_EQ(letter.fields(0).name(), "\xfe") << "bytes, as stored";
  std::string wire;
  EXPECT_TRUE(letter.SerializeToString(&wire));
  v1::DeadLetter back;
  EXPECT_TRUE(back.ParseFromString(wire));
}

v1::Event EventIn(v1::EventState state, Millis closed_at, Millis updated_at) {
  v1::Event event;
  event.set_state(state);
  *event.mutable_created_at() = ToTimestamp(1000);
  if (closed_at > 0) {
    *event.mutable_closed_at() = ToTimestamp(closed_at);
  }
  if (updated_at > 0) {
    *event.mutable_updated_at() = ToTimestamp(updated_at);
  }
  return event;
}

TEST(ExpiredTest, OnlyFinalEventsPastTheirRetention) {
  const std::chrono::milliseconds retention(10000);
  EXPECT_TRUE(Expired(EventIn(v1::EVENT_STATE_CLOSED, 5000, 5000), 15000, retention));
  EXPECT_FALSE(Expired(EventIn(v1::EVENT_STATE_CLOSED, 5001, 5001), 15000, retention));
  EXPECT_TRUE(Expired(EventIn(v1::EVENT_STATE_CANCELLED, 2000, 2000), 15000, retention));
  // A duplicate filed VOIDED has no closed_at: its last change counts, then its filing.
  EXPECT_TRUE(Expired(EventIn(v1::EVENT_STATE_VOIDED, 0, 3000), 15000, retention));
  EXPECT_TRUE(Expired(EventIn(v1::EVENT_STATE_VOIDED, 0, 0), 15000, retention));
  // Open events stay however old.
  EXPECT_FALSE(Expired(EventIn(v1::EVENT_STATE_DISPATCHED, 0, 1000), 1000000, retention));
  EXPECT_FALSE(Expired(EventIn(v1::EVENT_STATE_SUSPENDED, 0, 1000), 1000000, retention));
}

}  // namespace
}  // namespace grid::routing
