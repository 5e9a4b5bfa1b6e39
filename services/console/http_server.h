// The console's HTTP/1.1 server on Boost.Beast: accepts connections (plain or TLS), reads one
// request at a time within bounds (request line and headers, body, time, connection count) and
// hands each to a handler with an Exchange to answer on. Answers that cannot reach the handler
// — a malformed request 400, a body too large 413, headers too large 431, a request too slow 408,
// too many connections 503 — are the server's own.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "services/console/console_metrics.h"
#include "services/console/exchange.h"

namespace grid::console {

struct HttpServerOptions {
  // host:port; port 0 picks a free one (see HttpServer::port).
  std::string listen = "127.0.0.1:7080";
  // Request line plus headers, and body, at most (431, 413 beyond).
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;
  // A request (or the idle time before the next one on a kept-alive connection, or a TLS
  // handshake) must arrive within this: slow clients do not hold connections.
  std::chrono::milliseconds request_timeout{10000};
  // Open connections at most; one more is answered 503 and closed.
  std::size_t max_connections = 4096;
  // A stream (the live feed) whose unsent bytes pass this, or whose write makes no progress for
  // `stream_write_timeout`, is closed: the client is too slow.
  std::size_t stream_buffer_bytes = 1024 * 1024;
  std::chrono::milliseconds stream_write_timeout{10000};
  // HTTPS: both PEM files (certificate chain, private key), or neither for plain HTTP.
  std::string tls_cert_file;
  std::string tls_key_file;
};

// Called on the connection's strand for each request read in full; answers through the exchange,
// from any thread, at any later time.
using RequestHandler = std::function<void(Request, ExchangePtr)>;

// Threading: connections run on strands of `io`, which any number of threads may run. Stop (or
// the destructor) closes the listening socket; open connections end as their clients go, or when
// `io` stops.
class HttpServer final {
 public:
  // Binds and starts accepting. INVALID_ARGUMENT for a malformed address or unreadable TLS files,
  // UNAVAILABLE when the address cannot be bound. `metrics` must outlive the connections.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(boost::asio::io_context& io,
                                                           const HttpServerOptions& options,
                                                           RequestHandler handler,
                                                           ConsoleMetrics& metrics);
  ~HttpServer();

  // The port bound.
  int port() const;
  // True when serving HTTPS.
  bool secure() const;
  // Stops accepting.
  void Stop();

  struct State;

 private:
  explicit HttpServer(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

}  // namespace grid::console
