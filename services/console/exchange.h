// The seam between the HTTP server and the console's logic: a request, and its way back to the
// client. The server owns connections; the console answers through an Exchange, from any thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <functional>
#include <memory>
#include <string>

namespace grid::console {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// One request's answer. Thread-safe: every method may be called from any thread (gRPC's, the
// io_context's); the implementation moves the work onto its connection's strand.
class Exchange {
 public:
  virtual ~Exchange() = default;

  // Answers the request with a whole response. Call once, and not after StartStream.
  virtual void Respond(Response response) = 0;

  // Answers with a stream: `header` now (its body is ignored), then each Send's text, in order,
  // until Close() or the client goes. Call once, instead of Respond.
  virtual void StartStream(Response header) = 0;
  // Queues `text` on the stream. False once the stream is closed (the client left, was cut off
  // for falling behind, or Close() was called): the caller should stop producing.
  virtual bool Send(std::string text) = 0;
  // Ends the stream once what is queued has been written.
  virtual void Close() = 0;
  // Flow control for a stream's producer: runs `ready` on the exchange's strand once the stream
  // has room — its unsent bytes at most half its bound — at once when it has room now and this is
  // called on the strand. Never runs if the stream closes first; a later call replaces an earlier
  // one that has not run. A producer that sends only when ready goes at the client's pace and
  // never overflows the bound, which is then only a guard against producers that do not wait.
  virtual void WhenReady(std::function<void()> ready) = 0;
  // `on_closed` runs once, on some thread, when the stream or the connection ends for whatever
  // reason (at once if it already has).
  virtual void OnClosed(std::function<void()> on_closed) = 0;

  // True when the connection is HTTPS (cookies get Secure).
  virtual bool secure() const = 0;

  // The strand the exchange's own work runs on. Work posted there runs in order with it, and a
  // Send from there is queued at once rather than posted.
  virtual boost::asio::any_io_executor executor() const = 0;
};

using ExchangePtr = std::shared_ptr<Exchange>;

}  // namespace grid::console
