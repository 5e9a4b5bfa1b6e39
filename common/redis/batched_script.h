// Runs the calls of one Lua script that arrive together as one EVALSHA, so that under load the
// per-call cost in Redis (loading KEYS and ARGV into Lua, the call's dispatch, its propagation)
// and in the client is paid once per batch rather than once per call.
//
// How calls come together: a call is held until the end of the current turn of `executor` (one
// asio::post), never longer. Calls made meanwhile whose first keys carry the same hash tag
// ({subdistrict}, hence one slot: Redis Cluster needs every key of a script in one slot) join
// it, up to `max_batch`. At normal load a call is alone at the end of its turn and is sent as it
// always was, as the script itself; batches form only when calls pile up (a stream consumer's
// batch of entries, the replies of a pipeline handled in one turn, many gRPC threads at once).
// There is no linger: latency never grows to wait for company.
//
// What a batch is: the script's body wrapped as a Lua function, called once per member in the
// order the calls were made, each under pcall. Each member is exactly as atomic as the script
// alone (Redis runs a script to its end with nothing in between; it rolls back neither a script
// nor a batch that fails halfway) and gets exactly the reply the script alone would give: an
// array, an integer, nil, or an error reply (its own redis.error_reply, or the error a
// redis.call raised, e.g. WRONGTYPE). A member's error does not stop the members after it. The
// script must not depend on running first in its EVAL (it does not; Redis's scripts never see
// each other's locals) and its keys must all carry its first key's hash tag.
//
// When the batch call itself fails (Redis down, the deadline passed, a BUSY or OOM reply before
// the batch ran), every member gets that status or error reply, as each would have alone. The
// deadline of a batch is the earliest of its members'.
//
// Ordering: calls of one hash tag are run in the order they were made. Relative to other
// commands sent on the same client they are late by up to one turn of the executor: code that
// needs a later command to follow a call waits for the call's reply (as all store code does).
//
// Threading: Eval may be called from any thread; callbacks run on the client's executor,
// exactly once, never inline. The BatchedScript and the client must outlive every callback
// (stop the client, which fails what is in flight, before destroying either).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/redis/client.h"
#include "common/redis/script.h"

namespace grid::redis {

class BatchedScript final {
 public:
  static constexpr size_t kDefaultMaxBatch = 64;

  BatchedScript(Client& client, boost::asio::any_io_executor executor, Script script,
                size_t max_batch = kDefaultMaxBatch);
  ~BatchedScript();

  BatchedScript(const BatchedScript&) = delete;
  BatchedScript& operator=(const BatchedScript&) = delete;

  // As Client::Eval of the script: `cb` gets what the script alone would answer.
  void Eval(std::vector<std::string> keys, std::vector<std::string> args, Deadline deadline,
            ReplyCallback cb);

  const Script& script() const;
  // The script that runs a batch (for tests and SCRIPT LOAD).
  const Script& batch_script() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// The Lua source that runs `source` once per member of a batch (see BatchedScript). Its call:
// KEYS, every member's keys in order; ARGV[1] the number of members n, ARGV[2..2n+1] each
// member's key count and argument count, then every member's arguments in order. Its reply: an
// array of n replies, a member's nil as nil.
std::string BatchSource(std::string_view source);

}  // namespace grid::redis
