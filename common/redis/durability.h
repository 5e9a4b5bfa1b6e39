// Durability of an acknowledged write: whether it has reached a replica before the caller is told
// OK, so that losing the master that took it does not lose it (see ReplicaWaiter).
#pragma once

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "common/redis/client.h"

namespace grid::redis {

// Receives the outcome of AwaitReplica:
//   OK:          the write is on a replica (or its master has none: see the implementation);
//   UNAVAILABLE: not confirmed in time (no replica acknowledged, the master was unreachable or
//                is no longer the one with the key). The write may well have happened: a caller
//                that retries must be idempotent. Messages start with kStoreUnavailable and end
//                with "; retry later", as StatusOf()'s; they name no address.
using DurableCallback = std::function<void(absl::Status)>;

// Waits until a write the caller has just seen acknowledged is held by a replica of the master
// that took it.
//
// Threading: any thread may call; `done` is called exactly once, never inside the call, on the
// implementation's executor, and must not block.
class Durability {
 public:
  virtual ~Durability() = default;

  // `key` was written, and the write acknowledged, before this call (its reply has come). `done`
  // is answered once a replica holds that write (and everything the master had before it), or
  // with UNAVAILABLE by about `deadline` (kNoDeadline: the implementation's own bound).
  virtual void AwaitReplica(std::string key, Deadline deadline, DurableCallback done) = 0;
};

}  // namespace grid::redis
