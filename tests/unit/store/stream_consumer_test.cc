// StreamConsumer against a real redis-server: poison entries go to the dead letters and never
// stop the entries behind them; failing ones are retried with back-off, then dead-lettered;
// entries of a dead consumer are taken over; a drained consumer leaves its group; consumers left
// behind by a crash are forgotten.
#include "common/store/stream_consumer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>

#include "common/store/keys.h"
#include "tests/support/poll.h"
#include "tests/support/redis_test.h"

namespace grid::store {
namespace {

using ::testing::HasSubstr;
using testing::PollUntil;

constexpr char kStream[] = "{370212001}:routing";
constexpr char kOther[] = "{370212002}:routing";
constexpr char kGroup[] = "routing";

// A client that loses the replies of its first `lose` XREADGROUPs that delivered entries: Redis
// ran the read (the entries are now pending for the consumer), the caller gets DEADLINE_EXCEEDED,
// as after a time-out or a connection reset at the wrong moment.
class LosingClient final : public redis::Client {
 public:
  LosingClient(redis::Client& inner, int lose) : inner_(inner), lose_(lose) {}

  void Command(std::vector<std::string> argv, redis::ReplyCallback cb) override {
    inner_.Command(std::move(argv), std::move(cb));
  }
  void Command(std::vector<std::string> argv, std::chrono::milliseconds timeout,
               redis::ReplyCallback cb) override {
    const bool read = !argv.empty() && argv[0] == "XREADGROUP";
    inner_.Command(std::move(argv), timeout,
                   [this, read, cb = std::move(cb)](absl::StatusOr<redis::Reply> reply) {
                     if (read && reply.ok() && !reply->IsError() &&
                         !ParseStreamReply(*reply).empty() && lose_.fetch_sub(1) > 0) {
                       ++lost_;
                       cb(absl::DeadlineExceededError("blocking: no reply in time (staged)"));
                       return;
                     }
                     cb(std::move(reply));
                   });
  }
  void Eval(const redis::Script& script, std::vector<std::string> keys,
            std::vector<std::string> args, redis::ReplyCallback cb) override {
    inner_.Eval(script, std::move(keys), std::move(args), std::move(cb));
  }
  bool Connected() const override { return inner_.Connected(); }

  int lost() const { return lost_; }

 private:
  redis::Client& inner_;
  std::atomic<int> lose_;
  std::atomic<int> lost_{0};
};

class StreamConsumerTest : public testing::RedisTest {
 protected:
  void SetUp() override {
    RedisTest::SetUp();
    redis::AsioClient::Options options;
    options.port = redis_.port();
    options.name = "blocking";
    blocking_ = std::make_unique<redis::AsioClient>(io_, options);
    blocking_->Start();
    ASSERT_TRUE(blocking_->WaitConnected(std::chrono::seconds(5)).ok());
  }

  void TearDown() override {
    if (consumer_ != nullptr) {
      consumer_->Stop();
    }
    blocking_->Stop();
    client_->Stop();
    consumer_.reset();
    RedisTest::TearDown();
  }

  StreamConsumer::Options Options(const std::string& name = "me") {
    StreamConsumer::Options options;
    options.streams = {kStream, kOther};
    options.group = kGroup;
    options.consumer = name;
    options.block = std::chrono::milliseconds(100);
    options.retry_delay = std::chrono::milliseconds(20);
    options.retry_max_delay = std::chrono::milliseconds(100);
    options.max_deliveries = 3;
    options.reclaim_interval = std::chrono::milliseconds(50);
    options.reclaim_min_idle = std::chrono::seconds(60);
    options.forget_idle_consumers_after = std::chrono::milliseconds(0);
    options.on_dead_letter = [this](const std::string& stream, std::string_view reason_class) {
      std::lock_guard lock(mu_);
      dead_lettered_.emplace_back(stream, std::string(reason_class));
    };
    return options;
  }

  // Starts a consumer whose handler answers `answer(entry, delivery number)`.
  // `blocking`: the client of its blocking reads (default: blocking_).
  void Start(StreamConsumer::Options options,
             std::function<Verdict(const StreamEntry&, int)> answer,
             redis::Client* blocking = nullptr) {
    consumer_ = std::make_unique<StreamConsumer>(
        io_, blocking != nullptr ? *blocking : *blocking_, *client_, std::move(options),
        [this, answer](const StreamEntry& entry, std::function<void(Verdict)> done) {
          int delivery = 0;
          {
            std::lock_guard lock(mu_);
            delivery = ++deliveries_[entry.stream + " " + entry.id];
          }
          Verdict verdict = answer(entry, delivery);
          if (verdict.outcome == Outcome::kAck) {
            std::lock_guard lock(mu_);
            handled_.insert(entry.Field("id"));
          }
          done(std::move(verdict));
        });
    consumer_->Start();
  }

  std::string Add(const std::string& stream, std::vector<std::string> fields) {
    std::vector<std::string> argv = {"XADD", stream, "*"};
    argv.insert(argv.end(), fields.begin(), fields.end());
    return Redis(argv).str;
  }

  bool Handled(const std::string& id) {
    std::lock_guard lock(mu_);
    return handled_.count(id) != 0;
  }
  // Entry ids are per stream: two streams' entries added in the same millisecond share one.
  int Deliveries(const std::string& stream, const std::string& entry_id) {
    std::lock_guard lock(mu_);
    return deliveries_[stream + " " + entry_id];
  }
  long long Pending(const std::string& stream) {
    return Redis({"XPENDING", stream, kGroup}).elements[0].integer;
  }
  // The dead letters of `stream`'s subdistrict, each as field -> value.
  std::vector<std::map<std::string, std::string>> DeadLetters(const std::string& stream) {
    std::vector<std::map<std::string, std::string>> out;
    for (const redis::Reply& entry :
         Redis({"XRANGE", DeadLetterStreamOf(stream), "-", "+"}).elements) {
      std::map<std::string, std::string> fields;
      const auto& flat = entry.elements[1].elements;
      for (size_t i = 0; i + 1 < flat.size(); i += 2) {
        fields[flat[i].str] = flat[i + 1].str;
      }
      out.push_back(fields);
    }
    return out;
  }
  std::vector<std::string> Consumers(const std::string& stream) {
    std::vector<std::string> names;
    for (const redis::Reply& consumer : Redis({"XINFO", "CONSUMERS", stream, kGroup}).elements) {
      for (size_t i = 0; i + 1 < consumer.elements.size(); i += 2) {
        if (consumer.elements[i].str == "name") {
          names.push_back(consumer.elements[i + 1].str);
        }
      }
    }
    return names;
  }

  std::unique_ptr<redis::AsioClient> blocking_;
  // A blocking client that loses replies, over blocking_ (a member, so that it outlives TearDown,
  // which stops everything that calls it).
  std::unique_ptr<LosingClient> losing_;
  std::unique_ptr<StreamConsumer> consumer_;
  std::mutex mu_;
  std::map<std::string, int> deliveries_;
  std::set<std::string> handled_;
  std::vector<std::pair<std::string, std::string>> dead_lettered_;
};

TEST_F(StreamConsumerTest, APoisonEntryGoesToTheDeadLettersAndTheOthersFlow) {
  // Before the consumer starts: the poison is first in line.
  const std::string poison = Add(kStream, {"id", "corrupt"});
  const std::string garbage = Add(kStream, {"x", "\xff\xfe", "y", "z"});
  Add(kStream, {"id", "a"});
  Add(kOther, {"id", "b"});
  Start(Options(), [](const StreamEntry& entry, int) -> Verdict {
    if (entry.Field("id").empty()) {
      return Verdict::DeadLetter("not a routing entry: it has no field \"id\"");
    }
    if (entry.Field("id") == "corrupt") {
      return Verdict::DeadLetter("event \"corrupt\": stored record is corrupt");
    }
    return Outcome::kAck;
  });
  ASSERT_TRUE(PollUntil([&] { return Handled("a") && Handled("b"); }, std::chrono::seconds(5)));
  Add(kStream, {"id", "c"});
  ASSERT_TRUE(PollUntil([&] { return Handled("c"); }, std::chrono::seconds(5)));
  ASSERT_TRUE(PollUntil([&] { return DeadLetters(kStream).size() == 2; }, std::chrono::seconds(5)));

  const auto letters = DeadLetters(kStream);
  EXPECT_EQ(letters[0].at("stream"), kStream);
  EXPECT_EQ(letters[0].at("group"), kGroup);
  EXPECT_EQ(letters[0].at("entry"), poison);
  EXPECT_EQ(letters[0].at("class"), "permanent");
  EXPECT_EQ(letters[0].at("reason"), "event \"corrupt\": stored record is corrupt");
  EXPECT_EQ(letters[0].at("consumer"), "me");
  EXPECT_EQ(letters[0].at("deliveries"), "1");
  EXPECT_EQ(letters[0].at("f:id"), "corrupt");
  EXPECT_EQ(letters[1].at("entry"), garbage);
  EXPECT_EQ(letters[1].at("f:x"), "\xff\xfe");
  EXPECT_EQ(letters[1].at("f:y"), "z");
  EXPECT_EQ(Pending(kStream), 0) << "dead letters are acknowledged";
  EXPECT_EQ(Deliveries(kStream, poison), 1) << "a permanent failure is not retried";
  std::lock_guard lock(mu_);
  EXPECT_EQ(dead_lettered_.size(), 2u);
  EXPECT_EQ(dead_lettered_[0], std::make_pair(std::string(kStream), std::string("permanent")));
}

TEST_F(StreamConsumerTest, AnEntryThatKeepsFailingIsRetriedThenDeadLettered) {
  std::atomic<bool> fail{true};
  Start(Options(), [&](const StreamEntry& entry, int) -> Verdict {
    if (entry.Field("id") == "flaky" && fail) {
      return Verdict::Retry("reading event flaky: UNAVAILABLE: redis: connection closed");
    }
    return Outcome::kAck;
  });
  const std::string flaky = Add(kStream, {"id", "flaky"});
  // The failing entry holds nothing up: later entries are handled meanwhile.
  Add(kStream, {"id", "after"});
  ASSERT_TRUE(PollUntil([&] { return Handled("after"); }, std::chrono::seconds(5)));
  ASSERT_TRUE(PollUntil([&] { return DeadLetters(kStream).size() == 1; }, std::chrono::seconds(5)));
  const auto letter = DeadLetters(kStream)[0];
  EXPECT_EQ(letter.at("entry"), flaky);
  EXPECT_EQ(letter.at("class"), "exhausted");
  EXPECT_EQ(letter.at("deliveries"), "3");
  EXPECT_THAT(letter.at("reason"), HasSubstr("not handled after 3 deliveries"));
  EXPECT_THAT(letter.at("reason"), HasSubstr("connection closed"));
  EXPECT_EQ(Deliveries(kStream, flaky), 3) << "handled once per delivery, max_deliveries in all";
  EXPECT_EQ(Pending(kStream), 0);
}

TEST_F(StreamConsumerTest, AFailureThatPassesIsRetriedUntilHandled) {
  Start(Options(), [&](const StreamEntry& entry, int delivery) -> Verdict {
    if (entry.Field("id") == "slow" && delivery < 3) {
      return Verdict::Retry("version race");
    }
    return Outcome::kAck;
  });
  const std::string slow = Add(kStream, {"id", "slow"});
  ASSERT_TRUE(PollUntil([&] { return Handled("slow"); }, std::chrono::seconds(5)));
  EXPECT_EQ(Deliveries(kStream, slow), 3);
  EXPECT_TRUE(DeadLetters(kStream).empty());
  ASSERT_TRUE(PollUntil([&] { return Pending(kStream) == 0; }, std::chrono::seconds(2)));
}

TEST_F(StreamConsumerTest, EntriesADeadConsumerLeftPendingAreTakenOver) {
  Redis({"XGROUP", "CREATE", kStream, kGroup, "0", "MKSTREAM"});
  Add(kStream, {"id", "orphan"});
  // A consumer that read it and died.
  Redis({"XREADGROUP", "GROUP", kGroup, "dead", "COUNT", "10", "STREAMS", kStream, ">"});
  StreamConsumer::Options options = Options();
  options.reclaim_min_idle = std::chrono::milliseconds(200);
  Start(options, [](const StreamEntry&, int) -> Verdict { return Outcome::kAck; });
  ASSERT_TRUE(PollUntil([&] { return Handled("orphan"); }, std::chrono::seconds(5)));
  ASSERT_TRUE(PollUntil([&] { return Pending(kStream) == 0; }, std::chrono::seconds(2)));
}

// A read whose reply is lost after Redis delivered its entries leaves them pending for this very
// consumer, which no other consumer takes over while it lives (reclaim_min_idle is a minute here):
// the consumer must look at its own pending entries after a failed read (a report stuck
// undispatched until the process died, found by the chaos run).
TEST_F(StreamConsumerTest, EntriesOfAReadWhoseReplyWasLostAreHandled) {
  // A member: its callbacks run until TearDown has stopped the consumer and the clients.
  losing_ = std::make_unique<LosingClient>(*blocking_, 1);
  Add(kStream, {"id", "first"});
  Start(
      Options(), [](const StreamEntry&, int) -> Verdict { return Outcome::kAck; }, losing_.get());
  ASSERT_TRUE(PollUntil([&] { return Handled("first"); }, std::chrono::seconds(5)));
  EXPECT_EQ(losing_->lost(), 1);
  ASSERT_TRUE(PollUntil([&] { return Pending(kStream) == 0; }, std::chrono::seconds(2)));
  // And the reads go on.
  Add(kOther, {"id", "second"});
  ASSERT_TRUE(PollUntil([&] { return Handled("second"); }, std::chrono::seconds(5)));
}

TEST_F(StreamConsumerTest, AnEntryEveryConsumerFailsOnIsDeadLetteredByDeliveryCount) {
  Redis({"XGROUP", "CREATE", kStream, kGroup, "0", "MKSTREAM"});
  const std::string crash = Add(kStream, {"id", "crashes-its-reader"});
  // Three readers in a row took it and died (the delivery count says so).
  Redis({"XREADGROUP", "GROUP", kGroup, "r1", "COUNT", "1", "STREAMS", kStream, ">"});
  for (const char* reader : {"r2", "r3"}) {
    Redis({"XCLAIM", kStream, kGroup, reader, "0", crash});
  }
  StreamConsumer::Options options = Options();
  options.reclaim_min_idle = std::chrono::milliseconds(100);
  Start(options, [](const StreamEntry&, int) -> Verdict { return Outcome::kAck; });
  ASSERT_TRUE(PollUntil([&] { return DeadLetters(kStream).size() == 1; }, std::chrono::seconds(5)));
  EXPECT_EQ(Deliveries(kStream, crash), 0) << "never handed to a handler again";
  EXPECT_EQ(DeadLetters(kStream)[0].at("class"), "exhausted");
  EXPECT_THAT(DeadLetters(kStream)[0].at("reason"), HasSubstr("last held by r3"));
}

TEST_F(StreamConsumerTest, DrainFinishesWhatIsInFlightAndLeavesTheGroup) {
  Start(Options("leaving"), [](const StreamEntry&, int) -> Verdict { return Outcome::kAck; });
  Add(kStream, {"id", "one"});
  ASSERT_TRUE(PollUntil([&] { return Handled("one"); }, std::chrono::seconds(5)));
  ASSERT_THAT(Consumers(kStream), ::testing::Contains("leaving"));
  std::promise<void> drained;
  consumer_->Drain([&] { drained.set_value(); });
  ASSERT_EQ(drained.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_THAT(Consumers(kStream), ::testing::Not(::testing::Contains("leaving")));
  EXPECT_THAT(Consumers(kOther), ::testing::Not(::testing::Contains("leaving")));
  // Nothing is read any more.
  Add(kStream, {"id", "two"});
  EXPECT_FALSE(PollUntil([&] { return Handled("two"); }, std::chrono::milliseconds(500)));
}

TEST_F(StreamConsumerTest, ADrainThatCannotFinishLeavesTheEntryPendingAndTheConsumerInPlace) {
  StreamConsumer::Options options = Options("stuck");
  options.drain_timeout = std::chrono::milliseconds(300);
  std::function<void(Verdict)> held;
  std::mutex held_mu;
  consumer_ = std::make_unique<StreamConsumer>(
      io_, *blocking_, *client_, options,
      [&](const StreamEntry&, std::function<void(Verdict)> done) {
        std::lock_guard lock(held_mu);
        held = std::move(done);  // Never answered before the drain ends.
      });
  consumer_->Start();
  Add(kStream, {"id", "long"});
  ASSERT_TRUE(PollUntil(
      [&] {
        std::lock_guard lock(held_mu);
        return held != nullptr;
      },
      std::chrono::seconds(5)));
  std::promise<void> drained;
  consumer_->Drain([&] { drained.set_value(); });
  ASSERT_EQ(drained.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(Pending(kStream), 1) << "not acknowledged: it was not finished";
  EXPECT_THAT(Consumers(kStream), ::testing::Contains("stuck"));
}

TEST_F(StreamConsumerTest, IdleConsumersHoldingNothingAreForgotten) {
  Redis({"XGROUP", "CREATE", kStream, kGroup, "0", "MKSTREAM"});
  Add(kStream, {"id", "held"});
  // "holder" holds an entry; "ghost" holds nothing (a crash leaves such consumers behind); "me"
  // is the consumer about to start.
  Redis({"XREADGROUP", "GROUP", kGroup, "holder", "COUNT", "1", "STREAMS", kStream, ">"});
  Redis({"XGROUP", "CREATECONSUMER", kStream, kGroup, "ghost"});
  Redis({"XGROUP", "CREATECONSUMER", kStream, kGroup, "me"});
  ASSERT_THAT(Consumers(kStream), ::testing::Contains("ghost"));
  StreamConsumer::Options options = Options();
  options.forget_idle_consumers_after = std::chrono::milliseconds(200);
  Start(options, [](const StreamEntry&, int) -> Verdict { return Outcome::kAck; });
  ASSERT_TRUE(PollUntil(
      [&] {
        const auto names = Consumers(kStream);
        return std::find(names.begin(), names.end(), "ghost") == names.end();
      },
      std::chrono::seconds(5)));
  EXPECT_THAT(Consumers(kStream), ::testing::Contains("holder")) << "it holds an entry";
  EXPECT_THAT(Consumers(kStream), ::testing::Contains("me")) << "ourselves, though idle";
}

TEST(RetryBackoffTest, DoublesPerDeliveryUpToTheMost) {
  using std::chrono::milliseconds;
  EXPECT_EQ(RetryBackoff(1, milliseconds(500), milliseconds(30000)), milliseconds(500));
  EXPECT_EQ(RetryBackoff(2, milliseconds(500), milliseconds(30000)), milliseconds(1000));
  EXPECT_EQ(RetryBackoff(4, milliseconds(500), milliseconds(30000)), milliseconds(4000));
  EXPECT_EQ(RetryBackoff(60, milliseconds(500), milliseconds(30000)), milliseconds(30000));
}

TEST(ParsePendingTest, ReadsTheExtendedForm) {
  using redis::Reply;
  const auto pending =
      ParsePending(Reply::Array({Reply::Array({Reply::String("1-0"), Reply::String("me"),
                                               Reply::Integer(1500), Reply::Integer(3)}),
                                 Reply::Array({Reply::String("malformed")})}));
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].id, "1-0");
  EXPECT_EQ(pending[0].consumer, "me");
  EXPECT_EQ(pending[0].idle_ms, 1500);
  EXPECT_EQ(pending[0].deliveries, 3);
}

TEST(DeadLetterStreamTest, IsThatOfTheStreamsSubdistrict) {
  EXPECT_EQ(DeadLetterStreamOf("{370212001}:routing"), "{370212001}:dead");
  EXPECT_EQ(DeadLetterStreamOf("{370212005}:live"), "{370212005}:dead");
  EXPECT_EQ(DeadLetterStreamOf("untagged"), "");
  EXPECT_EQ(SubdistrictOfKey("{370212001}:ev:x"), "370212001");
}

}  // namespace
}  // namespace grid::store
