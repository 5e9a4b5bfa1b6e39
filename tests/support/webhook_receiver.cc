#include "tests/support/webhook_receiver.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace grid::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

std::int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

bool WebhookSignatureValid(const std::string& header, const std::string& body,
                           const std::string& secret) {
  std::string t;
  std::string v1;
  for (absl::string_view part : absl::StrSplit(header, ',')) {
    if (absl::StartsWith(part, "t=")) {
      t = std::string(part.substr(2));
    } else if (absl::StartsWith(part, "v1=")) {
      v1 = std::string(part.substr(3));
    }
  }
  const std::string message = t + "." + body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &length);
  char hex[2 * EVP_MAX_MD_SIZE + 1] = {};
  for (unsigned int i = 0; i < length; ++i) {
    snprintf(hex + 2 * i, 3, "%02x", mac[i]);
  }
  long long seconds = 0;
  return !t.empty() && absl::SimpleAtoi(t, &seconds) &&
         std::llabs(NowMs() / 1000 - seconds) < 300 && v1.size() == 2 * length &&
         CRYPTO_memcmp(v1.data(), hex, v1.size()) == 0;
}

WebhookReceiver::WebhookReceiver(std::string secret, Answer answer)
    : secret_(std::move(secret)),
      answer_(std::move(answer)),
      acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
  port_ = acceptor_.local_endpoint().port();
  accept_thread_ = std::thread([this] { AcceptLoop(); });
}

WebhookReceiver::WebhookReceiver(std::string secret, std::string cert_file, std::string key_file)
    : WebhookReceiver(std::move(secret)) {
  tls_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  tls_->use_certificate_chain_file(cert_file);
  tls_->use_private_key_file(key_file, asio::ssl::context::pem);
}

WebhookReceiver::~WebhookReceiver() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  // Wake the blocked accept with a connection of our own.
  try {
    asio::io_context io;
    asio::ip::tcp::socket socket(io);
    socket.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port_)});
  } catch (const std::exception&) {
  }
  accept_thread_.join();
  for (auto& thread : connections_) {
    thread.join();
  }
}

std::string WebhookReceiver::url() const {
  return tls_ != nullptr ? absl::StrCat("https://localhost:", port_, "/hook")
                         : absl::StrCat("http://127.0.0.1:", port_, "/hook");
}

std::vector<WebhookReceiver::Request> WebhookReceiver::all() const {
  std::lock_guard lock(mu_);
  return all_;
}

std::vector<WebhookReceiver::Request> WebhookReceiver::firsts() const {
  std::lock_guard lock(mu_);
  return firsts_;
}

size_t WebhookReceiver::accepted() const {
  std::lock_guard lock(mu_);
  return firsts_.size();
}

void WebhookReceiver::AcceptLoop() {
  while (true) {
    asio::ip::tcp::socket socket(io_);
    boost::system::error_code ec;
    acceptor_.accept(socket, ec);
    std::lock_guard lock(mu_);
    if (stopping_) {
      return;
    }
    if (ec) {
      continue;
    }
    connections_.emplace_back(
        [this, socket = std::move(socket)]() mutable { Serve(std::move(socket)); });
  }
}

void WebhookReceiver::Serve(asio::ip::tcp::socket socket) {
  if (tls_ == nullptr) {
    return Exchange(socket);
  }
  beast::ssl_stream<asio::ip::tcp::socket&> stream(socket, *tls_);
  boost::system::error_code ec;
  stream.handshake(asio::ssl::stream_base::server, ec);
  if (!ec) {
    Exchange(stream);
  }
}

template <class Stream>
void WebhookReceiver::Exchange(Stream& stream) {
  beast::flat_buffer buffer;
  http::request<http::string_body> request;
  boost::system::error_code ec;
  http::read(stream, buffer, request, ec);
  if (ec) {
    return;
  }
  Request got;
  got.arrived_ms = NowMs();
  got.key = std::string(request["X-Grid-Idempotency-Key"]);
  got.event = std::string(request["X-Grid-Event"]);
  got.signature = std::string(request["X-Grid-Signature"]);
  got.body = request.body();
  got.signature_valid = WebhookSignatureValid(got.signature, got.body, secret_);
  int number = 0;
  {
    std::lock_guard lock(mu_);
    all_.push_back(got);
    number = static_cast<int>(all_.size());
  }
  const int status = answer_(number);
  if (status == 0) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return stopping_; });
    return;
  }
  if (status >= 200 && status < 300) {
    std::lock_guard lock(mu_);
    if (seen_.insert(got.key).second) {
      firsts_.push_back(got);
    }
  }
  http::response<http::string_body> response{static_cast<http::status>(status), 11};
  // A 204 or 304 has no body (Beast refuses to prepare one).
  if (status != 204 && status != 304) {
    response.body() = "{}";
  }
  response.prepare_payload();
  http::write(stream, response, ec);
}

}  // namespace grid::testing
