// The escalator's bound on in-flight work, against a real Redis (the claims are its Lua script)
// and an event store that answers only when the test lets it: a burst of due timers is claimed
// no faster than the handles finish, never more than max_in_flight at once, and every timer is
// handled once.
#include "services/escalation/escalator.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <boost/asio/post.hpp>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <future>
#include <mutex>
#include <set>

#include "common/store/event_id.h"
#include "common/store/keys.h"
#include "tests/support/poll.h"
#include "tests/support/redis_test.h"
#include "tests/support/shipped_config.h"

namespace grid::escalation {
namespace {

using testing::PollUntil;
using namespace std::chrono_literals;

constexpr char kSd[] = "370212001";

// Holds every Get until the test answers it. Only Get is used by the escalator for events that
// are gone (it then removes their timers).
class HeldStore final : public store::EventStore {
 public:
  using store::EventStore::Apply;
  using store::EventStore::Get;
  using store::EventStore::History;

  void Get(const std::string& event_id, redis::Deadline,
           Callback<std::optional<v1::Event>> done) override {
    std::lock_guard lock(mu_);
    held_.push_back(std::move(done));
    asked_.insert(event_id);
    ++gets_;
    max_held_ = std::max(max_held_, held_.size());
  }
  void Reserve(const v1::Event&, redis::Deadline, Callback<store::Reservation> done) override {
    done(absl::UnimplementedError("Reserve"));
  }
  void FindOpenNear(const v1::Event&, double, redis::Deadline,
                    Callback<store::OpenNear> done) override {
    done(absl::UnimplementedError("FindOpenNear"));
  }
  void File(const store::Filing&, redis::Deadline, Callback<store::CreateResult> done) override {
    done(absl::UnimplementedError("File"));
  }
  void Apply(const store::Move&, redis::Deadline, Callback<store::MoveResult> done) override {
    done(absl::UnimplementedError("Apply"));
  }
  void History(const std::string&, redis::Deadline,
               Callback<std::vector<v1::EventChange>> done) override {
    done(absl::UnimplementedError("History"));
  }

  // Answers every held Get "no such event" on `io` (where the escalator runs).
  void AnswerAll(boost::asio::io_context& io) {
    std::deque<Callback<std::optional<v1::Event>>> held;
    {
      std::lock_guard lock(mu_);
      held.swap(held_);
    }
    boost::asio::post(io, [held = std::move(held)]() mutable {
      for (auto& done : held) {
        done(std::optional<v1::Event>());
      }
    });
  }
  std::size_t held() {
    std::lock_guard lock(mu_);
    return held_.size();
  }
  std::size_t max_held() {
    std::lock_guard lock(mu_);
    return max_held_;
  }
  std::size_t gets() {
    std::lock_guard lock(mu_);
    return gets_;
  }
  std::size_t distinct() {
    std::lock_guard lock(mu_);
    return asked_.size();
  }

 private:
  std::mutex mu_;
  std::deque<Callback<std::optional<v1::Event>>> held_;
  std::set<std::string> asked_;
  std::size_t gets_ = 0;
  std::size_t max_held_ = 0;
};

class EscalatorTest : public testing::RedisTest {};

TEST_F(EscalatorTest, ABurstIsClaimedNoFasterThanItsHandlesFinish) {
  constexpr int kTimers = 100;
  constexpr int kMaxInFlight = 10;
  SystemClock clock;
  const Millis now = clock.Now();
  for (int i = 0; i < kTimers; ++i) {
    Redis({"ZADD", store::TimersKey(kSd), std::to_string(now - 1000),
           store::NewEventId(kSd, now - i)});
  }
  ASSERT_EQ(Redis({"ZCARD", store::TimersKey(kSd)}).integer, kTimers);

  HeldStore events;
  store::TimerStore timers(*client_);
  prometheus::Registry registry;
  EscalatorMetrics metrics(registry);
  Escalator escalator(io_, events, timers, testing::ShippedTopology(), testing::ShippedPolicy(),
                      clock, metrics,
                      {.tick = 10ms, .lease = 30s, .batch = 200, .max_in_flight = kMaxInFlight});
  escalator.Start();

  // The first look claims what fits, and nothing more while those are unanswered.
  ASSERT_TRUE(PollUntil([&] { return events.held() == kMaxInFlight; }, 5s)) << events.held();
  EXPECT_FALSE(PollUntil([&] { return events.held() > kMaxInFlight; }, 300ms));
  EXPECT_EQ(Redis({"ZCOUNT", store::TimersKey(kSd), std::to_string(now + 1000), "+inf"}).integer,
            kMaxInFlight)
      << "only the claimed timers are leased";

  // Answered a batch at a time, the rest follow, each timer once.
  ASSERT_TRUE(PollUntil(
      [&] {
        events.AnswerAll(io_);
        return Redis({"ZCARD", store::TimersKey(kSd)}).integer == 0;
      },
      20s));
  EXPECT_LE(events.max_held(), static_cast<std::size_t>(kMaxInFlight));
  EXPECT_EQ(events.gets(), static_cast<std::size_t>(kTimers));
  EXPECT_EQ(events.distinct(), static_cast<std::size_t>(kTimers));
  // Nothing may call into the locals once they go: stop the clock, then the client (its last
  // callbacks run now), then let the io thread pass everything posted before.
  escalator.Stop();
  client_->Stop();
  std::promise<void> drained;
  boost::asio::post(io_, [&drained] { drained.set_value(); });
  drained.get_future().wait();
}

// Claims over Redis's INFO: how many claim script calls Redis served so far.
class EscalatorLooksTest : public testing::RedisTest {
 protected:
  long long ScriptCalls() {
    const std::string info = Redis({"INFO", "commandstats"}).str;
    long long calls = 0;
    for (const char* command : {"cmdstat_evalsha:calls=", "cmdstat_eval:calls="}) {
      const auto at = info.find(command);
      if (at != std::string::npos) {
        calls += std::atoll(info.c_str() + at + std::strlen(command));
      }
    }
    return calls;
  }

  void StopAll(Escalator& escalator, HeldStore& events) {
    events.AnswerAll(io_);
    escalator.Stop();
    client_->Stop();
    std::promise<void> drained;
    boost::asio::post(io_, [&drained] { drained.set_value(); });
    drained.get_future().wait();
  }
};

// A subdistrict is looked at when its earliest timer falls due, whatever the recheck, and
// otherwise no more often than claims_per_second allows over all subdistricts.
TEST_F(EscalatorLooksTest, ATimerIsClaimedWhenDueAndIdleSubdistrictsAreNotPolledEveryTick) {
  SystemClock clock;
  const Millis now = clock.Now();
  const std::string id = store::NewEventId(kSd, now);
  Redis({"ZADD", store::TimersKey(kSd), std::to_string(now + 700), id});
  HeldStore events;
  store::TimerStore timers(*client_);
  prometheus::Registry registry;
  EscalatorMetrics metrics(registry);
  // Five subdistricts at one claim a second: each is rechecked every 5 s when nothing is due.
  Escalator escalator(
      io_, events, timers, testing::ShippedTopology(), testing::ShippedPolicy(), clock, metrics,
      {.tick = 10ms, .lease = 30s, .batch = 200, .max_in_flight = 100, .claims_per_second = 1});
  const long long before = ScriptCalls();
  escalator.Start();
  ASSERT_TRUE(PollUntil([&] { return events.gets() == 1; }, 3s)) << "claimed when due";
  EXPECT_GE(clock.Now(), now + 700);
  EXPECT_FALSE(PollUntil([&] { return events.gets() > 1; }, 1500ms));
  // The first look at the five, the look when the timer fell due, and nothing else yet: every
  // tick would have been about 5 × 220 claims.
  const long long calls = ScriptCalls() - before;
  EXPECT_LE(calls, 12) << "claims in ~2 s";
  EXPECT_GE(calls, 6);
  StopAll(escalator, events);
}

// A timer set after a look (routing dispatched meanwhile) is found by the recheck.
TEST_F(EscalatorLooksTest, ATimerSetAfterALookIsFoundByTheRecheck) {
  SystemClock clock;
  HeldStore events;
  store::TimerStore timers(*client_);
  prometheus::Registry registry;
  EscalatorMetrics metrics(registry);
  // Five subdistricts at five claims a second: a recheck every second.
  Escalator escalator(
      io_, events, timers, testing::ShippedTopology(), testing::ShippedPolicy(), clock, metrics,
      {.tick = 10ms, .lease = 30s, .batch = 200, .max_in_flight = 100, .claims_per_second = 5});
  escalator.Start();
  ASSERT_TRUE(PollUntil([&] { return ScriptCalls() >= 5; }, 3s)) << "the first look";
  const Millis now = clock.Now();
  Redis({"ZADD", store::TimersKey(kSd), std::to_string(now - 1), store::NewEventId(kSd, now)});
  ASSERT_TRUE(PollUntil([&] { return events.gets() == 1; }, 3s)) << "found by the recheck";
  StopAll(escalator, events);
}

}  // namespace
}  // namespace grid::escalation
