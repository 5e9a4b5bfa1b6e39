// The console's one dependency: the public GatewayService, called with the caller's bearer token.
// An interface, so that the HTTP layer is tested against a fake gateway.
#pragma once

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <grpcpp/support/status.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "grid/v1/gateway.pb.h"

namespace grid::console {

// How one call is made.
struct CallOptions {
  // The bearer token to forward ("authorization: Bearer <token>"); empty: none.
  std::string token;
  // The call's deadline from now; zero: none (the live feed).
  std::chrono::milliseconds deadline{0};
  // A client system's api key to forward ("x-api-key: <key>": the Open311 door); empty: none.
  std::string api_key;
};

// How a unary call ended.
struct CallResult {
  grpc::Status status;
  // The gateway's "retry-after-ms" trailer, when it sent one (rate limits).
  std::optional<std::int64_t> retry_after_ms;
};

// What the gateway's trailers said when a WatchEvents call ended.
struct WatchEnd {
  // "grid-cursor": where to resume (a cut-off for falling behind); empty when none.
  std::string cursor;
  // "retry-after-ms": a rate limit's hint.
  std::optional<std::int64_t> retry_after_ms;
};

// Receives one WatchEvents call's messages and its end. Called on gRPC's threads, one call at a
// time and in order: OnMessage for each message, then OnEnd once. The call reads only a few
// messages beyond those the observer asked for (WatchCall::Next): the gateway's stream is read at
// the pace of whoever the observer hands the messages on to.
class WatchObserver {
 public:
  virtual ~WatchObserver() = default;
  virtual void OnMessage(const v1::WatchEventsResponse& message) = 0;
  virtual void OnEnd(const grpc::Status& status, const WatchEnd& end) = 0;
};

// A running WatchEvents call.
class WatchCall {
 public:
  virtual ~WatchCall() = default;
  // Ends the call; the observer then gets OnEnd (CANCELLED) unless it already ended. Any thread.
  virtual void Cancel() = 0;
  // Lets one more message be read: once for each OnMessage, at any time after it began (even
  // before it returned). The first kWatchReadAhead + 1 messages are read without asking. Any
  // thread; nothing once the call ended.
  virtual void Next() = 0;
};

// How many messages a watch call reads beyond those its observer asked for (see WatchCall::Next).
inline constexpr int kWatchReadAhead = 4;

using WatchCallPtr = std::shared_ptr<WatchCall>;

// Thread-safe.
class Gateway {
 public:
  virtual ~Gateway() = default;

  // Calls `method` of grid.v1.GatewayService (a unary one) with `request`; `done` runs once, on
  // a gRPC thread, with `response` filled when the status is OK. `request` and `response` must
  // stay alive until then: keep them in `done`'s captures.
  virtual void Call(const google::protobuf::MethodDescriptor& method, const CallOptions& options,
                    const google::protobuf::Message& request, google::protobuf::Message* response,
                    std::function<void(CallResult)> done) = 0;

  // Starts WatchEvents; `observer` is held until its OnEnd has run.
  virtual WatchCallPtr Watch(const CallOptions& options, const v1::WatchEventsRequest& request,
                             std::shared_ptr<WatchObserver> observer) = 0;
};

using GatewayPtr = std::unique_ptr<Gateway>;

// The method of grid.v1.GatewayService named `name` ("GetEvent"); null when there is none.
const google::protobuf::MethodDescriptor* GatewayMethod(const std::string& name);

}  // namespace grid::console
