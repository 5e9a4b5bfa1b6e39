// HTTP for tests of the console: one request on a fresh connection, raw bytes for malformed
// requests, and a Server-Sent Events reader. On Boost.Beast and Asio; every call is bounded by a
// timeout. Not thread-safe: one object, one thread.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace grid::testing {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpResult {
  // 0 when no response came (see error).
  int status = 0;
  // By lower-case name; a repeated header keeps its last value (Set-Cookie: see set_cookies).
  std::map<std::string, std::string> headers;
  std::vector<std::string> set_cookies;
  std::string body;
  std::string error;

  std::string Header(const std::string& lower_case_name) const;
};

// `method` `target` on a new connection to 127.0.0.1:`port` (TLS when `tls`, verifying against
// the PEM `ca_file`... see HttpsFetch), within `timeout`.
HttpResult HttpFetch(int port, const std::string& method, const std::string& target,
                     const HttpHeaders& headers = {}, const std::string& body = "",
                     std::chrono::milliseconds timeout = std::chrono::seconds(10));

// The same over TLS, verifying the server's certificate against the PEM roots in `ca_file` and
// the name `server_name`.
HttpResult HttpsFetch(int port, const std::string& ca_file, const std::string& server_name,
                      const std::string& method, const std::string& target,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Writes `bytes` to 127.0.0.1:`port` and returns what comes back until the server closes or
// `timeout` passes (then `timed_out`).
struct RawExchange {
  std::string received;
  bool closed = false;
  bool timed_out = false;
};
RawExchange HttpRaw(int port, std::string_view bytes,
                    std::chrono::milliseconds timeout = std::chrono::seconds(10));

// One block of an event stream.
struct SseEvent {
  std::optional<std::string> id;
  std::string event;  // "" for the default (message) type.
  std::string data;   // Lines joined with '\n'.
  bool has_data = false;
  std::vector<std::string> comments;
  std::optional<long> retry_ms;
};

// The WHATWG event-stream parser: bytes in, complete blocks out.
class SseParser final {
 public:
  std::vector<SseEvent> Feed(std::string_view bytes);

 private:
  void Line(std::string_view line, std::vector<SseEvent>& out);
  std::string buffer_;
  SseEvent current_;
  bool started_ = false;
};

// A live feed: GET `target` with `headers`; the response head is read at Open.
class SseConnection final {
 public:
  // OK with the connection once the answer is 200 text/event-stream; else an error carrying the
  // status and body (FAILED_PRECONDITION "HTTP 403: {...}").
  static absl::StatusOr<std::unique_ptr<SseConnection>> Open(
      int port, const std::string& target, const HttpHeaders& headers = {},
      std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~SseConnection();

  // The next block within `timeout`; nullopt on timeout or when the server closed (closed()).
  std::optional<SseEvent> Next(std::chrono::milliseconds timeout);
  // The next block with data (a change or an end), skipping heartbeats and comments.
  std::optional<SseEvent> NextData(std::chrono::milliseconds timeout);
  bool closed() const { return closed_; }
  const HttpResult& head() const { return head_; }

  struct Impl;

 private:
  SseConnection() = default;
  std::unique_ptr<Impl> impl_;
  HttpResult head_;
  SseParser parser_;
  std::vector<SseEvent> ready_;
  bool closed_ = false;
};

}  // namespace grid::testing
