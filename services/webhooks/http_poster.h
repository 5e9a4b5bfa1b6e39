// POSTs a webhook with Boost.Beast: resolves the receiver's host, refuses non-public addresses
// unless the receiver allows them (IsNonPublic, checked on every address the name resolves to,
// and the connection goes to those checked addresses only), speaks TLS with certificate and host
// name verification for https, and reads the answer with a size bound and under one time bound
// for the whole exchange. Redirects are not followed: a 3xx is a failed attempt like any other
// non-2xx, so a receiver cannot send the request on to an address that was not checked.
// One connection per attempt (Connection: close).
//
// Threading: Post is called on the io_context's thread and `done` is called there, exactly once.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "services/webhooks/target.h"

namespace boost::asio::ssl {
class context;
}

namespace grid::webhooks {

struct PostResult {
  // The HTTP status; 0 when no answer came.
  int status = 0;
  // Why the attempt failed, one line; empty for a 2xx.
  std::string error;
  // A bounded label for the failure: "status", "timeout", "resolve", "refused", "connect",
  // "tls", "io"; empty for a 2xx.
  std::string reason;
  bool ok() const { return status >= 200 && status < 300; }
};

class HttpPoster final {
 public:
  struct Options {
    // The whole exchange: resolving, connecting, TLS, sending and reading the answer.
    std::chrono::milliseconds timeout{10000};
    // The most of an answer (head and body) that is read; a longer one fails the attempt.
    size_t max_response_bytes = 64 * 1024;
    // Extra PEM roots to trust besides the system's (empty: the system's only).
    std::string ca_file;
  };
  using Headers = std::vector<std::pair<std::string, std::string>>;

  // Fails (throws) only when ca_file cannot be read: start-up configuration.
  HttpPoster(boost::asio::io_context& io, Options options);
  ~HttpPoster();

  void Post(const Url& url, bool allow_private, const Headers& headers, std::string body,
            std::function<void(PostResult)> done);

 private:
  boost::asio::io_context& io_;
  Options options_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
};

}  // namespace grid::webhooks
