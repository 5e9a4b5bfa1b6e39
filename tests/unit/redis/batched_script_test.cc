// BatchedScript against a real redis-server: calls made together become one EVALSHA whose members
// each get exactly what the script alone answers; a lone call is the script itself.
#include "common/redis/batched_script.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <future>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/support/poll.h"
#include "tests/support/redis_test.h"

namespace grid::redis {
namespace {

using namespace std::chrono_literals;

// Increments KEYS[1] by ARGV[1] and answers {new value, ARGV[2]}; ARGV[2] == 'err' answers its own
// error, 'nil' answers nil, 'crash' raises a Lua error after the increment.
constexpr char kScript[] = R"lua(
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
if ARGV[2] == 'err' then
  return redis.error_reply('REFUSED ' .. KEYS[1])
end
if ARGV[2] == 'nil' then
  return nil
end
if ARGV[2] == 'crash' then
  local t = nil
  return t.field
end
return {v, ARGV[2]}
)lua";

class Results final {
 public:
  ReplyCallback Callback() {
    std::lock_guard<std::mutex> lock(mu_);
    const size_t slot = results_.size();
    results_.emplace_back(absl::UnknownError("no reply yet"));
    return [this, slot](absl::StatusOr<Reply> result) {
      std::lock_guard<std::mutex> lock(mu_);
      results_[slot] = std::move(result);
      ++done_;
    };
  }
  bool WaitFor(size_t n) {
    return grid::testing::PollUntil(
        [&] {
          std::lock_guard<std::mutex> lock(mu_);
          return done_ >= n;
        },
        10s);
  }
  absl::StatusOr<Reply> at(size_t i) {
    std::lock_guard<std::mutex> lock(mu_);
    return results_.at(i);
  }

 private:
  std::mutex mu_;
  std::vector<absl::StatusOr<Reply>> results_;
  size_t done_ = 0;
};

class BatchedScriptTest : public grid::testing::RedisTest {
 protected:
  // Loads both scripts, so that no call is answered NOSCRIPT (and counted twice).
  void Load(const BatchedScript& batched) {
    Redis({"SCRIPT", "LOAD", batched.script().source});
    Redis({"SCRIPT", "LOAD", batched.batch_script().source});
  }

  // How many times Redis ran EVALSHA or EVAL so far.
  long long ScriptCalls() {
    const Reply info = Redis({"INFO", "commandstats"});
    long long calls = 0;
    for (absl::string_view line : absl::StrSplit(info.str, "\r\n")) {
      for (absl::string_view name : {"cmdstat_evalsha:calls=", "cmdstat_eval:calls="}) {
        if (line.substr(0, name.size()) == name) {
          long long n = 0;
          absl::string_view rest = line.substr(name.size());
          EXPECT_TRUE(absl::SimpleAtoi(rest.substr(0, rest.find(',')), &n)) << line;
          calls += n;
        }
      }
    }
    return calls;
  }

  // Makes the calls in one turn of the io_context, as a consumer's batch or a pipeline's replies
  // do, and waits for every reply.
  void EvalTogether(
      BatchedScript& batched, Results& results,
      std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> calls) {
    std::vector<ReplyCallback> callbacks;
    for (size_t i = 0; i < calls.size(); ++i) {
      callbacks.push_back(results.Callback());
    }
    std::promise<void> made;
    boost::asio::post(io_, [&] {
      for (size_t i = 0; i < calls.size(); ++i) {
        batched.Eval(calls[i].first, calls[i].second, kNoDeadline, std::move(callbacks[i]));
      }
      made.set_value();
    });
    made.get_future().wait();
  }

  // What the script alone answers, with EVAL on the client.
  absl::StatusOr<Reply> Alone(std::vector<std::string> keys, std::vector<std::string> args) {
    std::promise<absl::StatusOr<Reply>> promise;
    client_->Eval(Script::FromSource(kScript), std::move(keys), std::move(args),
                  [&promise](absl::StatusOr<Reply> r) { promise.set_value(std::move(r)); });
    return promise.get_future().get();
  }
};

TEST_F(BatchedScriptTest, CallsMadeTogetherRunAsOneScriptCallAndEachGetsItsOwnReplyInOrder) {
  BatchedScript batched(*client_, io_.get_executor(), Script::FromSource(kScript));
  Load(batched);
  Results results;
  const long long before = ScriptCalls();
  EvalTogether(
      batched, results,
      {{{"{a}:n"}, {"1", "first"}}, {{"{a}:n"}, {"10", "second"}}, {{"{a}:m"}, {"5", "third"}}});
  ASSERT_TRUE(results.WaitFor(3));
  EXPECT_EQ(ScriptCalls() - before, 1);
  EXPECT_EQ(*results.at(0), Reply::Array({Reply::Integer(1), Reply::String("first")}));
  EXPECT_EQ(*results.at(1), Reply::Array({Reply::Integer(11), Reply::String("second")}));
  EXPECT_EQ(*results.at(2), Reply::Array({Reply::Integer(5), Reply::String("third")}));
}

TEST_F(BatchedScriptTest, AMembersErrorNilOrCrashIsWhatTheScriptAloneAnswersAndTheRestStillRun) {
  Redis({"SET", "{a}:text", "not a number"});
  BatchedScript batched(*client_, io_.get_executor(), Script::FromSource(kScript));
  Results results;
  EvalTogether(batched, results,
               {{{"{a}:n"}, {"1", "err"}},
                {{"{a}:text"}, {"1", "x"}},
                {{"{a}:n"}, {"1", "nil"}},
                {{"{a}:n"}, {"1", "crash"}},
                {{"{a}:n"}, {"1", "last"}}});
  ASSERT_TRUE(results.WaitFor(5));
  EXPECT_EQ(*results.at(0), Reply::Error("REFUSED {a}:n"));
  // The error redis.call raised (INCRBY of a string that is not a number), as the script alone
  // gets it.
  const absl::StatusOr<Reply> alone = Alone({"{a}:text"}, {"1", "x"});
  ASSERT_TRUE(alone.ok() && alone->IsError()) << alone.status();
  ASSERT_TRUE(results.at(1).ok());
  EXPECT_TRUE(results.at(1)->IsError());
  EXPECT_EQ(results.at(1)->ErrorCode(), alone->ErrorCode());
  EXPECT_EQ(*results.at(2), Reply::Nil());
  ASSERT_TRUE(results.at(3).ok());
  EXPECT_TRUE(results.at(3)->IsError()) << results.at(3)->DebugString();
  EXPECT_THAT(results.at(3)->str, ::testing::HasSubstr("attempt to index"));
  // Every member's increment happened (none is rolled back, as a script's is not), the crashed
  // one's included, and the last member ran after the errors.
  EXPECT_EQ(*results.at(4), Reply::Array({Reply::Integer(4), Reply::String("last")}));
}

TEST_F(BatchedScriptTest, ALoneCallIsTheScriptItselfAndTheBatchScriptIsNeverLoaded) {
  BatchedScript batched(*client_, io_.get_executor(), Script::FromSource(kScript));
  Results results;
  EvalTogether(batched, results, {{{"{a}:n"}, {"2", "only"}}});
  ASSERT_TRUE(results.WaitFor(1));
  EXPECT_EQ(*results.at(0), Reply::Array({Reply::Integer(2), Reply::String("only")}));
  const Reply exists =
      Redis({"SCRIPT", "EXISTS", batched.script().sha1, batched.batch_script().sha1});
  EXPECT_EQ(exists, Reply::Array({Reply::Integer(1), Reply::Integer(0)}));
}

TEST_F(BatchedScriptTest, CallsOfDifferentHashTagsAreSeparateCallsAndABatchNeverExceedsItsBound) {
  BatchedScript batched(*client_, io_.get_executor(), Script::FromSource(kScript),
                        /*max_batch=*/3);
  Load(batched);
  Results results;
  const long long before = ScriptCalls();
  std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> calls;
  for (int i = 0; i < 7; ++i) {
    calls.push_back({{"{a}:n"}, {"1", absl::StrCat("a", i)}});
  }
  calls.push_back({{"{b}:n"}, {"1", "b0"}});
  calls.push_back({{"{b}:n"}, {"1", "b1"}});
  EvalTogether(batched, results, calls);
  ASSERT_TRUE(results.WaitFor(9));
  // {a}: 3 + 3 + 1; {b}: 2.
  EXPECT_EQ(ScriptCalls() - before, 4);
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ(*results.at(i),
              Reply::Array({Reply::Integer(i + 1), Reply::String(absl::StrCat("a", i))}));
  }
  EXPECT_EQ(*results.at(8), Reply::Array({Reply::Integer(2), Reply::String("b1")}));
}

TEST_F(BatchedScriptTest, AfterTheServerForgotItsScriptsABatchIsSentAgainWhole) {
  BatchedScript batched(*client_, io_.get_executor(), Script::FromSource(kScript));
  Results results;
  EvalTogether(batched, results, {{{"{a}:n"}, {"1", "x"}}, {{"{a}:n"}, {"1", "y"}}});
  ASSERT_TRUE(results.WaitFor(2));
  Redis({"SCRIPT", "FLUSH"});
  EvalTogether(batched, results, {{{"{a}:n"}, {"1", "x"}}, {{"{a}:n"}, {"1", "y"}}});
  ASSERT_TRUE(results.WaitFor(4));
  EXPECT_EQ(*results.at(3), Reply::Array({Reply::Integer(4), Reply::String("y")}));
}

TEST_F(BatchedScriptTest, WhenTheBatchCallFailsEveryMemberGetsTheFailure) {
  BatchedScript batched(*client_, io_.get_executor(), Script::FromSource(kScript));
  ASSERT_TRUE(redis_.Stop().ok());
  Results results;
  EvalTogether(batched, results, {{{"{a}:n"}, {"1", "x"}}, {{"{a}:n"}, {"1", "y"}}});
  ASSERT_TRUE(results.WaitFor(2));
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_TRUE(absl::IsUnavailable(results.at(i).status())) << results.at(i).status();
  }
}

}  // namespace
}  // namespace grid::redis
