// A department's webhook endpoint for tests and benchmarks: a Boost.Beast HTTP server on a free
// port of 127.0.0.1 (a thread per connection) that records every POST, checks its
// X-Grid-Signature with code of its own (HMAC-SHA256 over "<t>.<body>", not the service's), and
// keeps the first delivery of each X-Grid-Idempotency-Key in arrival order, as a receiver that
// drops repeats would.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace grid::testing {

// Whether `header` ("t=<t>,v1=<hex>") signs `body` with `secret`, with t within 5 minutes of now.
bool WebhookSignatureValid(const std::string& header, const std::string& body,
                           const std::string& secret);

class WebhookReceiver {
 public:
  struct Request {
    std::string key;
    // X-Grid-Event: "change" for a delivery, "ping" for TestWebhook's.
    std::string event;
    std::string signature;
    std::string body;
    bool signature_valid = false;
    // When it arrived, UTC ms.
    std::int64_t arrived_ms = 0;
  };
  // The status to answer request number n (from 1), or 0 to hang until the receiver goes.
  using Answer = std::function<int(int request_number)>;

  explicit WebhookReceiver(
      std::string secret, Answer answer = [](int) { return 200; });
  // Serves HTTPS with this PEM certificate chain and key (see deploy/local/make-certs).
  WebhookReceiver(std::string secret, std::string cert_file, std::string key_file);
  ~WebhookReceiver();

  int port() const { return port_; }
  // http://127.0.0.1:<port>/hook, or https://localhost:<port>/hook with TLS (the name the
  // certificates of deploy/local/make-certs carry).
  std::string url() const;

  // Every request so far.
  std::vector<Request> all() const;
  // The first 2xx-answered delivery of each key, in arrival order.
  std::vector<Request> firsts() const;
  size_t accepted() const;

 private:
  void AcceptLoop();
  void Serve(boost::asio::ip::tcp::socket socket);
  template <class Stream>
  void Exchange(Stream& stream);

  std::string secret_;
  Answer answer_;
  std::unique_ptr<boost::asio::ssl::context> tls_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  int port_ = 0;
  std::thread accept_thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::vector<std::thread> connections_;
  std::vector<Request> all_;
  std::vector<Request> firsts_;
  std::set<std::string> seen_;
};

}  // namespace grid::testing
