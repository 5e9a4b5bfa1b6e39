#include "services/webhooks/http_poster.h"

#include <openssl/ssl.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>

#include "absl/strings/str_cat.h"

namespace grid::webhooks {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

class Exchange final : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(asio::io_context& io, std::shared_ptr<asio::ssl::context> tls, Url url,
           bool allow_private, const HttpPoster::Options& options,
           std::function<void(PostResult)> done)
      : tls_(std::move(tls)),
        url_(std::move(url)),
        allow_private_(allow_private),
        max_bytes_(options.max_response_bytes),
        timeout_(options.timeout),
        resolver_(io),
        stream_(io, *tls_),
        timer_(io),
        done_(std::move(done)) {}

  void Start(http::request<http::string_body> request) {
    request_ = std::move(request);
    timer_.expires_after(timeout_);
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) {
        self->timed_out_ = true;
        self->resolver_.cancel();
        beast::error_code ignored;
        self->stream_.next_layer().socket().close(ignored);
      }
    });
    resolver_.async_resolve(
        url_.host, std::to_string(url_.port),
        [self = shared_from_this()](beast::error_code ec, tcp::resolver::results_type results) {
          self->OnResolved(ec, std::move(results));
        });
  }

 private:
  void OnResolved(beast::error_code ec, tcp::resolver::results_type results) {
    if (ec) {
      return Fail("resolve", absl::StrCat("resolving ", url_.host, ": ", ec.message()));
    }
    for (const auto& entry : results) {
      const asio::ip::address address = entry.endpoint().address();
      if (!allow_private_ && IsNonPublic(address)) {
        return Fail("refused",
                    absl::StrCat("refused: ", url_.host, " resolves to ", address.to_string(),
                                 ", not a public address (allow_private is off)"));
      }
    }
    stream_.next_layer().async_connect(
        results, [self = shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
          self->OnConnected(ec);
        });
  }

  void OnConnected(beast::error_code ec) {
    if (ec) {
      return Fail("connect",
                  absl::StrCat("connecting to ", url_.host, ":", url_.port, ": ", ec.message()));
    }
    if (!url_.tls) {
      return Write(stream_.next_layer());
    }
    beast::error_code parsed;
    const auto literal = asio::ip::make_address(url_.host, parsed);
    (void)literal;
    // SNI for a name; certificate checked against the name (or the IP literal).
    if (parsed && !SSL_set_tlsext_host_name(stream_.native_handle(), url_.host.c_str())) {
      return Fail("tls", "setting the TLS server name failed");
    }
    stream_.set_verify_mode(asio::ssl::verify_peer);
    stream_.set_verify_callback(asio::ssl::host_name_verification(url_.host));
    stream_.async_handshake(
        asio::ssl::stream_base::client, [self = shared_from_this()](beast::error_code ec) {
          if (ec) {
            return self->Fail("tls", absl::StrCat("TLS handshake: ", ec.message()));
          }
          self->Write(self->stream_);
        });
  }

  template <class Stream>
  void Write(Stream& stream) {
    http::async_write(stream, request_,
                      [self = shared_from_this(), &stream](beast::error_code ec, size_t) {
                        if (ec) {
                          return self->Fail("io", absl::StrCat("sending: ", ec.message()));
                        }
                        self->Read(stream);
                      });
  }

  // The header first, then the body: Beast 1.74's eager parsing (http::async_read) lets a
  // Content-Length over body_limit through, so the header is read on its own (not eager), where
  // the limit holds, and the body after it.
  template <class Stream>
  void Read(Stream& stream) {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(std::min<size_t>(max_bytes_, 16 * 1024)));
    parser_->body_limit(max_bytes_);
    http::async_read_header(
        stream, buffer_, *parser_,
        [self = shared_from_this(), &stream](beast::error_code ec, size_t) {
          if (ec) {
            return self->Fail("io", absl::StrCat("reading the answer: ", ec.message()));
          }
          if (self->parser_->is_done()) {
            return self->Answered();
          }
          http::async_read(
              stream, self->buffer_, *self->parser_, [self](beast::error_code ec, size_t) {
                if (ec) {
                  return self->Fail("io", absl::StrCat("reading the answer: ", ec.message()));
                }
                self->Answered();
              });
        });
  }

  void Answered() {
    PostResult result;
    result.status = static_cast<int>(parser_->get().result_int());
    Finish(std::move(result));
  }

  void Fail(std::string reason, std::string error) {
    if (timed_out_) {
      error = absl::StrCat("no answer within ", timeout_.count(), " ms");
      reason = "timeout";
    }
    PostResult result;
    result.error = std::move(error);
    result.reason = std::move(reason);
    Finish(std::move(result));
  }

  void Finish(PostResult result) {
    if (done_ == nullptr) {
      return;
    }
    timer_.cancel();
    beast::error_code ignored;
    stream_.next_layer().socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.next_layer().socket().close(ignored);
    if (!result.ok() && result.status != 0) {
      result.reason = "status";
      result.error = absl::StrCat(
          "answered ", result.status,
          result.status >= 300 && result.status < 400 ? " (a redirect: not followed)" : "");
    }
    auto done = std::move(done_);
    done_ = nullptr;
    done(std::move(result));
  }

  std::shared_ptr<asio::ssl::context> tls_;
  Url url_;
  bool allow_private_;
  size_t max_bytes_;
  std::chrono::milliseconds timeout_;
  tcp::resolver resolver_;
  beast::ssl_stream<beast::tcp_stream> stream_;
  asio::steady_timer timer_;
  http::request<http::string_body> request_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
  bool timed_out_ = false;
  std::function<void(PostResult)> done_;
};

std::string HostHeader(const Url& url) {
  const bool v6 = url.host.find(':') != std::string::npos;
  std::string host = v6 ? absl::StrCat("[", url.host, "]") : url.host;
  if (url.port != (url.tls ? 443 : 80)) {
    absl::StrAppend(&host, ":", url.port);
  }
  return host;
}

}  // namespace

HttpPoster::HttpPoster(asio::io_context& io, Options options)
    : io_(io),
      options_(std::move(options)),
      tls_(std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client)) {
  tls_->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                    asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                    asio::ssl::context::no_tlsv1_1);
  tls_->set_default_verify_paths();
  if (!options_.ca_file.empty()) {
    tls_->load_verify_file(options_.ca_file);
  }
  tls_->set_verify_mode(asio::ssl::verify_peer);
}

HttpPoster::~HttpPoster() = default;

void HttpPoster::Post(const Url& url, bool allow_private, const Headers& headers, std::string body,
                      std::function<void(PostResult)> done) {
  http::request<http::string_body> request{http::verb::post, url.target, 11};
  request.set(http::field::host, HostHeader(url));
  request.set(http::field::user_agent, "gridline-webhooks/1");
  request.set(http::field::content_type, "application/json");
  request.set(http::field::connection, "close");
  for (const auto& [name, value] : headers) {
    request.set(name, value);
  }
  request.body() = std::move(body);
  request.prepare_payload();
  auto exchange =
      std::make_shared<Exchange>(io_, tls_, url, allow_private, options_, std::move(done));
  exchange->Start(std::move(request));
}

}  // namespace grid::webhooks
