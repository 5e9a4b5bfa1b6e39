#include "common/redis/batched_script.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <map>
#include <mutex>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/redis/slot.h"

namespace grid::redis {
namespace {

struct Call {
  std::vector<std::string> keys;
  std::vector<std::string> args;
  Deadline deadline;
  ReplyCallback cb;
};

// Hands one reply of a batch to each member: its own element, or, when the batch as a whole
// failed, the failure.
void Distribute(std::vector<ReplyCallback>& callbacks, absl::StatusOr<Reply> result,
                const Script& batch) {
  if (!result.ok() || result->IsError()) {
    for (auto& cb : callbacks) {
      cb(result);
    }
    return;
  }
  if (!result->IsArray() || result->elements.size() != callbacks.size()) {
    const absl::Status wrong = absl::InternalError(
        absl::StrCat("unexpected reply to a batch of ", callbacks.size(), " calls of script ",
                     batch.sha1.substr(0, 12), ": ", result->DebugString()));
    for (auto& cb : callbacks) {
      cb(wrong);
    }
    return;
  }
  for (size_t i = 0; i < callbacks.size(); ++i) {
    callbacks[i](std::move(result->elements[i]));
  }
}

}  // namespace

std::string BatchSource(std::string_view source) {
  std::string batch = "local function one(KEYS, ARGV)\n";
  batch.append(source);
  batch.append(
      "\nend\n"
      "local n = tonumber(ARGV[1])\n"
      "local out = {}\n"
      "local k = 0\n"
      "local a = 1 + 2 * n\n"
      "for i = 1, n do\n"
      "  local nk = tonumber(ARGV[2 * i])\n"
      "  local na = tonumber(ARGV[2 * i + 1])\n"
      "  local keys, args = {}, {}\n"
      "  for j = 1, nk do keys[j] = KEYS[k + j] end\n"
      "  for j = 1, na do args[j] = ARGV[a + j] end\n"
      "  k = k + nk\n"
      "  a = a + na\n"
      "  local ok, r = pcall(one, keys, args)\n"
      "  if not ok then\n"
      "    if type(r) == 'table' and r.err then out[i] = r\n"
      "    else out[i] = redis.error_reply(tostring(r)) end\n"
      "  elseif r == nil then out[i] = false\n"
      "  else out[i] = r end\n"
      "end\n"
      "return out\n");
  return batch;
}

struct BatchedScript::State : std::enable_shared_from_this<State> {
  State(Client& client, boost::asio::any_io_executor executor, Script script, size_t max_batch)
      : client(&client),
        executor(std::move(executor)),
        script(std::move(script)),
        batch(Script::FromSource(BatchSource(this->script.source))),
        max_batch(std::max<size_t>(max_batch, 1)) {}

  void Add(Call call) {
    std::vector<Call> full;
    bool post = false;
    {
      std::lock_guard<std::mutex> lock(mu);
      std::vector<Call>& group =
          pending[std::string(HashTag(call.keys.empty() ? std::string_view() : call.keys[0]))];
      group.push_back(std::move(call));
      if (group.size() >= max_batch) {
        full.swap(group);
      }
      if (!flush_posted) {
        flush_posted = true;
        post = true;
      }
    }
    if (!full.empty()) {
      Send(std::move(full));
    }
    if (post) {
      boost::asio::post(executor, [self = shared_from_this()] { self->Flush(); });
    }
  }

  void Flush() {
    std::map<std::string, std::vector<Call>> groups;
    {
      std::lock_guard<std::mutex> lock(mu);
      flush_posted = false;
      groups.swap(pending);
    }
    for (auto& [tag, calls] : groups) {
      if (!calls.empty()) {
        Send(std::move(calls));
      }
    }
  }

  void Send(std::vector<Call> calls) {
    Client* target;
    {
      std::lock_guard<std::mutex> lock(mu);
      target = client;
    }
    if (target == nullptr) {
      // The BatchedScript is gone (we run on the executor here, never inside Eval).
      for (auto& call : calls) {
        call.cb(absl::UnavailableError("the batched script was destroyed with calls waiting"));
      }
      return;
    }
    if (calls.size() == 1) {
      Call& call = calls.front();
      target->Eval(script, std::move(call.keys), std::move(call.args), call.deadline,
                   std::move(call.cb));
      return;
    }
    std::vector<std::string> keys;
    std::vector<std::string> args;
    std::vector<ReplyCallback> callbacks;
    callbacks.reserve(calls.size());
    args.reserve(1 + 2 * calls.size());
    args.push_back(std::to_string(calls.size()));
    Deadline deadline = kNoDeadline;
    for (const Call& call : calls) {
      args.push_back(std::to_string(call.keys.size()));
      args.push_back(std::to_string(call.args.size()));
      deadline = std::min(deadline, call.deadline);
    }
    for (Call& call : calls) {
      std::move(call.keys.begin(), call.keys.end(), std::back_inserter(keys));
      std::move(call.args.begin(), call.args.end(), std::back_inserter(args));
      callbacks.push_back(std::move(call.cb));
    }
    target->Eval(batch, std::move(keys), std::move(args), deadline,
                 [self = shared_from_this(),
                  callbacks = std::move(callbacks)](absl::StatusOr<Reply> result) mutable {
                   Distribute(callbacks, std::move(result), self->batch);
                 });
  }

  std::mutex mu;
  Client* client;  // Null once the BatchedScript is destroyed.
  boost::asio::any_io_executor executor;
  const Script script;
  const Script batch;
  const size_t max_batch;
  std::map<std::string, std::vector<Call>> pending;
  bool flush_posted = false;
};

BatchedScript::BatchedScript(Client& client, boost::asio::any_io_executor executor, Script script,
                             size_t max_batch)
    : state_(std::make_shared<State>(client, std::move(executor), std::move(script), max_batch)) {}

BatchedScript::~BatchedScript() {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->client = nullptr;
}

void BatchedScript::Eval(std::vector<std::string> keys, std::vector<std::string> args,
                         Deadline deadline, ReplyCallback cb) {
  state_->Add(Call{std::move(keys), std::move(args), deadline, std::move(cb)});
}

const Script& BatchedScript::script() const { return state_->script; }
const Script& BatchedScript::batch_script() const { return state_->batch; }

}  // namespace grid::redis
