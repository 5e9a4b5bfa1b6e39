#include "tools/loadgen/live_streams.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace grid::loadgen {
namespace {

v1::EventChange Change(const std::string& id, v1::ChangeKind kind, Millis at) {
  v1::EventChange change;
  change.set_event_id(id);
  change.set_kind(kind);
  *change.mutable_at() = ToTimestamp(at);
  return change;
}

TEST(EscalationTallyTest, LatenessOfTheFirstEscalation) {
  EscalationTally tally({{"a", 1000}, {"b", 2000}, {"c", 3000}});
  tally.Add(Change("a", v1::CHANGE_KIND_DISPATCHED, 500));
  tally.Add(Change("a", v1::CHANGE_KIND_ESCALATED, 1040));
  tally.Add(Change("b", v1::CHANGE_KIND_ESCALATED, 1990));
  EXPECT_EQ(tally.expected(), 3);
  EXPECT_EQ(tally.escalated(), 2);
  EXPECT_EQ(tally.missing(), 1);
  std::vector<double> lateness = tally.LatenessMs();
  std::sort(lateness.begin(), lateness.end());
  EXPECT_EQ(lateness, (std::vector<double>{-10, 40}));
  EXPECT_EQ(tally.LatenessMs([](const std::string& id) { return id == "a"; }),
            std::vector<double>{40});
}

TEST(EscalationTallyTest, CountsRepeatsOncePerEventAndUnexpectedOnes) {
  EscalationTally tally({{"a", 1000}});
  tally.Add(Change("a", v1::CHANGE_KIND_ESCALATED, 1001));
  tally.Add(Change("a", v1::CHANGE_KIND_ESCALATED, 1002));
  tally.Add(Change("a", v1::CHANGE_KIND_ESCALATED, 1003));
  tally.Add(Change("z", v1::CHANGE_KIND_ESCALATED, 1003));
  EXPECT_EQ(tally.repeated(), 1);
  EXPECT_EQ(tally.unexpected(), 1);
  EXPECT_EQ(tally.LatenessMs(), std::vector<double>{1});
}

}  // namespace
}  // namespace grid::loadgen
