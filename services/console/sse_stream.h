// The live feed (API.md, "The live feed"): one browser's Server-Sent Events stream over one
// WatchEvents call, and the SSE framing it writes.
//
// Admission: the gateway's refusals come at once, so the HTTP answer waits for the call's first
// message, its end, or `admit` — whichever is first; a refusal becomes an ordinary error response.
// After that: each change is a message whose id is its cursor, a gateway heartbeat an id-only
// block, and when the gateway cuts the call off (RESOURCE_EXHAUSTED with a cursor) or goes away
// (UNAVAILABLE), the stream resumes the call from the last cursor it passed on, so the browser sees
// no gap and no duplicate. Any other end is sent as `event: end` and the stream closes.
//
// Flow control: the call's next message is read only once the connection has room for it
// (Exchange::WhenReady), so the gateway's stream — a long catch-up above all — goes at the
// browser's pace. A browser that stops reading holds the call back until the gateway cuts it off
// (its queue of live changes full; the stream resumes from the cursor, as above) and the
// connection's write time-out closes it; the browser then resumes with Last-Event-ID.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "grid/v1/gateway.pb.h"
#include "services/console/console_metrics.h"
#include "services/console/exchange.h"
#include "services/console/gateway.h"

namespace grid::console {

// SSE framing (the WHATWG "server-sent events" format), one block each.
// "retry: 1000\n\n"
std::string SseRetry(std::chrono::milliseconds delay);
// "id: <id>\ndata: <json>\n\n": a default (message) event.
std::string SseMessage(std::string_view id, std::string_view json);
// ": heartbeat\nid: <id>\n\n": moves the browser's last event id, dispatches nothing.
std::string SseHeartbeat(std::string_view id);
// ": keep-alive\n\n"
std::string SseKeepAlive();
// "event: end\ndata: <json>\n\n"
std::string SseEnd(std::string_view json);

// The SSE message of each change, printed once for all the feeds that get it: the gateway sends a
// change with the same cursor to every watcher it passes, and printing protobuf JSON (~100 µs) is
// by far the dearest thing the console does per message. Bounded (the oldest entries go first);
// thread-safe.
//
// Found by cursor AND change (event id, version): a cursor names the set of entries a watcher has
// been given, not the last one. Live watchers get two subdistricts' entries in the order the
// reader read them, a resumed watch's history in id order, so the cursor after one subdistrict's
// change in the live feed can be the cursor after another subdistrict's change in a history.
class ChangeTexts final {
 public:
  explicit ChangeTexts(std::size_t capacity = 4096) : capacity_(capacity == 0 ? 1 : capacity) {}

  // SseMessage(cursor, ToJson(change)), printed now or found.
  std::string Get(const std::string& cursor, const v1::EventChange& change);

 private:
  const std::size_t capacity_;
  std::mutex mu_;
  std::unordered_map<std::string, std::string> texts_;
  std::deque<std::string> order_;
};

struct SseOptions {
  // The retry: hint sent first.
  std::chrono::milliseconds retry{1000};
  // How long the HTTP answer waits for a refusal before it says 200.
  std::chrono::milliseconds admit{250};
  // A keep-alive comment after this long without writing anything.
  std::chrono::milliseconds keepalive{15000};
  // Back-off of resumes after UNAVAILABLE or a rate limit, doubling from min to max.
  std::chrono::milliseconds resume_min{100};
  std::chrono::milliseconds resume_max{5000};
};

// Lifetime: shared; kept alive by its gateway call (the observer) and its timers until the
// exchange closes and the call has ended. Its state lives on the exchange's strand.
class SseStream final : public WatchObserver, public std::enable_shared_from_this<SseStream> {
 public:
  // Starts the gateway call of `request` (its cursor already the resume point) with `token` and
  // answers on `exchange`. `version`: the request's HTTP version.
  // `texts` is shared by every stream and must outlive them. The stream runs on the exchange's
  // strand, so that a change reaches the connection's queue in one hop from gRPC's thread.
  static std::shared_ptr<SseStream> Start(Gateway& gateway, const SseOptions& options,
                                          ChangeTexts& texts, std::string token,
                                          v1::WatchEventsRequest request, ExchangePtr exchange,
                                          unsigned version, ConsoleMetrics& metrics);

  SseStream(Gateway& gateway, const SseOptions& options, ChangeTexts& texts, std::string token,
            v1::WatchEventsRequest request, ExchangePtr exchange, unsigned version,
            ConsoleMetrics& metrics);
  ~SseStream() override;

  void OnMessage(const v1::WatchEventsResponse& message) override;
  void OnEnd(const grpc::Status& status, const WatchEnd& end) override;

 private:
  enum class Phase { kAdmitting, kStreaming, kDone };

  void Begin();
  void Admit();
  void Deliver(std::string text, std::string cursor);
  // Asks the gateway call for its next message once the connection has room for it.
  void ReadNext();
  void Ended(const grpc::Status& status, const WatchEnd& end);
  void ResumeAfter(std::chrono::milliseconds delay);
  void Resume();
  void Send(std::string text);
  void ScheduleKeepAlive();
  void Stop();
  // Ends the stream's own business: timers, the gauge.
  void Finish();

  const boost::asio::any_io_executor strand_;
  Gateway& gateway_;
  const SseOptions options_;
  ChangeTexts& texts_;
  const std::string token_;
  v1::WatchEventsRequest request_;
  ExchangePtr exchange_;
  const unsigned version_;
  ConsoleMetrics& metrics_;

  // On the strand:
  Phase phase_ = Phase::kAdmitting;
  WatchCallPtr call_;
  std::string last_cursor_;
  boost::asio::steady_timer admit_timer_;
  boost::asio::steady_timer keepalive_timer_;
  boost::asio::steady_timer resume_timer_;
  bool wrote_since_keepalive_ = false;
  std::chrono::milliseconds backoff_{0};
  bool counted_ = false;
};

}  // namespace grid::console
