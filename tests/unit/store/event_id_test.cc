#include "common/store/event_id.h"

#include <gtest/gtest.h>

#include <set>

namespace grid::store {
namespace {

TEST(EventIdTest, CarriesTheSubdistrictAndSortsByTime) {
  const std::string a = NewEventId("370212001", 1'790'000'000'000);
  const std::string b = NewEventId("370212001", 1'790'000'000'001);
  EXPECT_EQ(a.size(), std::string("370212001-").size() + 16);
  EXPECT_EQ(SubdistrictOfEventId(a), "370212001");
  EXPECT_LT(a.substr(0, 20), b.substr(0, 20)) << "the time part sorts";
}

TEST(EventIdTest, IdsOfTheSameMillisecondDiffer) {
  std::set<std::string> ids;
  for (int i = 0; i < 10000; ++i) {
    ids.insert(NewEventId("370212001", 1'790'000'000'000));
  }
  EXPECT_EQ(ids.size(), 10000u);
}

TEST(EventIdTest, MalformedIdsHaveNoSubdistrict) {
  EXPECT_FALSE(SubdistrictOfEventId(""));
  EXPECT_FALSE(SubdistrictOfEventId("370212001"));
  EXPECT_FALSE(SubdistrictOfEventId("-01M8E25T9NFZPD5H"));
  EXPECT_FALSE(SubdistrictOfEventId("abc-01M8E25T9NFZPD5H"));
  EXPECT_FALSE(SubdistrictOfEventId("370212001-01M8E25T9NFZPD5"));
  EXPECT_FALSE(SubdistrictOfEventId("370212001-01M8E25T9NFZPD5U")) << "U is not Crockford";
  EXPECT_FALSE(SubdistrictOfEventId("{370212001}-01M8E25T9NFZPD5H"));
}

}  // namespace
}  // namespace grid::store
