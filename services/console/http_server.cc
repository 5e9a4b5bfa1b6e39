#include "services/console/http_server.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/console/json_api.h"
#include "services/console/security_headers.h"

namespace grid::console {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

struct HttpServer::State : std::enable_shared_from_this<State> {
  State(net::io_context& io, HttpServerOptions options, RequestHandler handler,
        ConsoleMetrics& metrics)
      : io(io),
        options(std::move(options)),
        handler(std::move(handler)),
        metrics(metrics),
        acceptor(net::make_strand(io)),
        retry_timer(acceptor.get_executor()) {}

  void Accept();
  void Launch(tcp::socket socket);

  net::io_context& io;
  const HttpServerOptions options;
  const RequestHandler handler;
  ConsoleMetrics& metrics;
  std::unique_ptr<ssl::context> tls;
  tcp::acceptor acceptor;
  net::steady_timer retry_timer;
  std::atomic<std::size_t> connections{0};
  int port = 0;
};

namespace {

constexpr std::chrono::seconds kLingerTimeout{2};

// The socket was accepted onto a strand of its own (State::Accept); anything else is a bug.
net::strand<net::io_context::executor_type> StrandOf(const net::any_io_executor& executor) {
  const auto* strand = executor.target<net::strand<net::io_context::executor_type>>();
  if (strand == nullptr) {
    spdlog::critical("console: a connection's socket is not on a strand");
    std::abort();
  }
  return *strand;
}

bool IsHttpError(const beast::error_code& error) {
  return &error.category() == &beast::http::make_error_code(http::error::bad_target).category();
}

// One connection: reads a request, hands it to the handler, writes its answer (or streams), and
// reads the next. Every member is touched on the connection's strand only, but for `closed_flag_`;
// the Exchange methods post onto it.
template <class Stream>
class Connection final : public Exchange, public std::enable_shared_from_this<Connection<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  using Strand = net::strand<net::io_context::executor_type>;

  Connection(std::shared_ptr<HttpServer::State> state, Stream stream, bool refuse)
      : state_(std::move(state)),
        stream_(std::move(stream)),
        strand_(StrandOf(beast::get_lowest_layer(stream_).get_executor())),
        refuse_(refuse) {}

  ~Connection() override {
    state_->connections.fetch_sub(1);
    state_->metrics.connections.Decrement();
    RunClosedCallbacks();
  }

  void Run() {
    if constexpr (kTls) {
      beast::get_lowest_layer(stream_).expires_after(state_->options.request_timeout);
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code error) {
                                if (error) {
                                  self->CloseNow();
                                  return;
                                }
                                self->Begin();
                              });
    } else {
      Begin();
    }
  }

  // Exchange:
  void Respond(Response response) override {
    net::post(stream_.get_executor(),
              [self = this->shared_from_this(), response = std::move(response)]() mutable {
                self->DoRespond(std::move(response));
              });
  }

  void StartStream(Response header) override {
    net::post(stream_.get_executor(),
              [self = this->shared_from_this(), header = std::move(header)]() mutable {
                self->DoStartStream(std::move(header));
              });
  }

  bool Send(std::string text) override {
    if (closed_flag_.load()) {
      return false;
    }
    if (strand_.running_in_this_thread()) {
      DoSend(std::move(text));
      return !closed_;
    }
    net::post(stream_.get_executor(),
              [self = this->shared_from_this(), text = std::move(text)]() mutable {
                self->DoSend(std::move(text));
              });
    return true;
  }

  void Close() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] {
      self->close_requested_ = true;
      if (!self->writing_) {
        self->Flush();
      }
    });
  }

  void WhenReady(std::function<void()> ready) override {
    if (strand_.running_in_this_thread()) {
      DoWhenReady(std::move(ready));
      return;
    }
    net::post(stream_.get_executor(),
              [self = this->shared_from_this(), ready = std::move(ready)]() mutable {
                self->DoWhenReady(std::move(ready));
              });
  }

  void OnClosed(std::function<void()> on_closed) override {
    net::post(stream_.get_executor(),
              [self = this->shared_from_this(), on_closed = std::move(on_closed)]() mutable {
                if (self->closed_) {
                  on_closed();
                } else {
                  self->on_closed_.push_back(std::move(on_closed));
                }
              });
  }

  bool secure() const override { return kTls; }

  boost::asio::any_io_executor executor() const override { return strand_; }

 private:
  void Begin() {
    if (refuse_) {
      DoRespond(ErrorResponse(
          MakeError(grpc::StatusCode::UNAVAILABLE, "too many connections; try again shortly"), 11,
          false));
      return;
    }
    Read();
  }

  void Read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(state_->options.max_header_bytes));
    parser_->body_limit(state_->options.max_body_bytes);
    beast::get_lowest_layer(stream_).expires_after(state_->options.request_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](
                                beast::error_code error, std::size_t) { self->OnHeader(error); });
  }

  void OnHeader(beast::error_code error) {
    if (error) {
      OnReadError(error);
      return;
    }
    // curl and others wait a second for "100 Continue" before sending a body of some size.
    const auto expect = parser_->get().find(http::field::expect);
    if (expect != parser_->get().end() && beast::iequals(expect->value(), "100-continue") &&
        !parser_->is_done()) {
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      net::async_write(stream_, net::buffer(kContinue),
                       [self = this->shared_from_this()](beast::error_code error, std::size_t) {
                         if (error) {
                           self->CloseNow();
                           return;
                         }
                         self->ReadBody();
                       });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code error, std::size_t) {
                       if (error) {
                         self->OnReadError(error);
                         return;
                       }
                       self->state_->handler(self->parser_->release(), self->shared_from_this());
                     });
  }

  void OnReadError(beast::error_code error) {
    const char* reason = nullptr;
    int status = 400;
    if (error == http::error::header_limit) {
      status = 431;
      reason = "request: the request line and headers exceed the limit";
    } else if (error == http::error::body_limit) {
      status = 413;
      reason = "request: the body exceeds the limit";
    } else if (error != http::error::end_of_stream && IsHttpError(error)) {
      reason = nullptr;
    } else {
      // The client went, or was too slow (the socket is closed already): nothing to answer.
      CloseNow();
      return;
    }
    ApiError answer =
        MakeError(grpc::StatusCode::INVALID_ARGUMENT,
                  reason != nullptr ? absl::StrCat(reason, " (",
                                                   status == 431 ? state_->options.max_header_bytes
                                                                 : state_->options.max_body_bytes,
                                                   " bytes)")
                                    : absl::StrCat("request: malformed HTTP: ", error.message()));
    answer.http = status;
    DoRespond(ErrorResponse(answer, 11, false));
  }

  void DoRespond(Response response) {
    if (closed_) {
      return;
    }
    ApplySecurityHeaders(response, kTls);
    response_ = std::make_unique<Response>(std::move(response));
    beast::get_lowest_layer(stream_).expires_after(state_->options.stream_write_timeout);
    http::async_write(stream_, *response_,
                      [self = this->shared_from_this()](beast::error_code error, std::size_t) {
                        if (error) {
                          self->CloseNow();
                          return;
                        }
                        if (!self->response_->keep_alive()) {
                          self->Shutdown();
                          return;
                        }
                        self->response_.reset();
                        self->Read();
                      });
  }

  void DoStartStream(Response header) {
    if (closed_) {
      return;
    }
    streaming_ = true;
    ApplySecurityHeaders(header, kTls);
    header.keep_alive(false);
    std::ostringstream text;
    text << header.base();
    pending_.insert(0, text.str());
    beast::get_lowest_layer(stream_).expires_never();
    WatchForClose();
    if (!writing_) {
      Flush();
    }
  }

  // A streaming client sends nothing more; a read completes when it goes.
  void WatchForClose() {
    stream_.async_read_some(net::buffer(discard_), [self = this->shared_from_this()](
                                                       beast::error_code error, std::size_t) {
      if (error) {
        self->CloseNow();
        return;
      }
      self->WatchForClose();
    });
  }

  void DoSend(std::string text) {
    if (closed_ || close_requested_) {
      return;
    }
    pending_ += text;
    if (pending_.size() + inflight_.size() > state_->options.stream_buffer_bytes) {
      state_->metrics.sse_cutoffs.Add({{"reason", "buffer"}}).Increment();
      CloseNow();
      return;
    }
    if (streaming_ && !writing_) {
      Flush();
    }
  }

  // The stream's producer may send more (WhenReady).
  bool HasRoom() const {
    return pending_.size() + inflight_.size() <= state_->options.stream_buffer_bytes / 2;
  }

  void DoWhenReady(std::function<void()> ready) {
    if (closed_) {
      return;
    }
    if (HasRoom()) {
      ready_ = nullptr;
      ready();
      return;
    }
    ready_ = std::move(ready);
  }

  void Flush() {
    if (closed_) {
      return;
    }
    if (pending_.empty()) {
      if (close_requested_) {
        Shutdown();
      }
      return;
    }
    inflight_.swap(pending_);
    pending_.clear();
    writing_ = true;
    beast::get_lowest_layer(stream_).expires_after(state_->options.stream_write_timeout);
    net::async_write(
        stream_, net::buffer(inflight_),
        [self = this->shared_from_this()](beast::error_code error, std::size_t) {
          self->writing_ = false;
          self->inflight_.clear();
          if (error) {
            if (error == beast::error::timeout) {
              self->state_->metrics.sse_cutoffs.Add({{"reason", "write timeout"}}).Increment();
            }
            self->CloseNow();
            return;
          }
          // The next write starts before the producer is told there is room, so that what it
          // sends meanwhile queues behind it.
          self->Flush();
          if (self->ready_ != nullptr && !self->closed_ && self->HasRoom()) {
            std::function<void()> ready = std::move(self->ready_);
            self->ready_ = nullptr;
            ready();
          }
        });
  }

  // Ends the connection after its last answer: TLS close_notify, or half-close and drain what the
  // client still sends (so that closing does not reset the connection under its last answer).
  void Shutdown() {
    if (closed_) {
      return;
    }
    if (streaming_) {
      // The stream's own read (WatchForClose) is pending, and a client of a stream sends nothing
      // more: closing now loses nothing written.
      CloseNow();
      return;
    }
    beast::get_lowest_layer(stream_).expires_after(kLingerTimeout);
    if constexpr (kTls) {
      stream_.async_shutdown(
          [self = this->shared_from_this()](beast::error_code) { self->CloseNow(); });
    } else {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      Linger();
    }
  }

  void Linger() {
    stream_.async_read_some(net::buffer(discard_), [self = this->shared_from_this()](
                                                       beast::error_code error, std::size_t) {
      if (error) {
        self->CloseNow();
        return;
      }
      self->Linger();
    });
  }

  void CloseNow() {
    if (closed_) {
      return;
    }
    closed_ = true;
    closed_flag_ = true;
    ready_ = nullptr;
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(stream_).close();
    RunClosedCallbacks();
  }

  void RunClosedCallbacks() {
    std::vector<std::function<void()>> callbacks;
    callbacks.swap(on_closed_);
    for (auto& callback : callbacks) {
      callback();
    }
  }

  std::shared_ptr<HttpServer::State> state_;
  Stream stream_;
  const Strand strand_;
  const bool refuse_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::unique_ptr<Response> response_;
  std::array<char, 512> discard_{};
  bool streaming_ = false;
  bool writing_ = false;
  bool close_requested_ = false;
  bool closed_ = false;
  std::atomic<bool> closed_flag_{false};
  std::string pending_;
  std::string inflight_;
  std::vector<std::function<void()>> on_closed_;
  // The producer's WhenReady, waiting for room.
  std::function<void()> ready_;
};

absl::StatusOr<tcp::endpoint> ParseListen(const std::string& listen) {
  const std::size_t colon = listen.rfind(':');
  int port = -1;
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("--listen: \"", listen, "\" is not host:port"));
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  beast::error_code error;
  const net::ip::address address = net::ip::make_address(host.empty() ? "0.0.0.0" : host, error);
  if (error) {
    return absl::InvalidArgumentError(
        absl::StrCat("--listen: \"", host, "\" is not an IP address"));
  }
  return tcp::endpoint(address, static_cast<unsigned short>(port));
}

}  // namespace

void HttpServer::State::Accept() {
  acceptor.async_accept(net::make_strand(io),
                        [self = shared_from_this()](beast::error_code error, tcp::socket socket) {
                          if (error == net::error::operation_aborted || !self->acceptor.is_open()) {
                            return;
                          }
                          if (error) {
                            // Out of file descriptors, most likely: wait a little rather than spin.
                            spdlog::warn("console: accept failed: {}", error.message());
                            self->retry_timer.expires_after(std::chrono::milliseconds(100));
                            self->retry_timer.async_wait([self](beast::error_code wait_error) {
                              if (!wait_error) {
                                self->Accept();
                              }
                            });
                            return;
                          }
                          self->Launch(std::move(socket));
                          self->Accept();
                        });
}

void HttpServer::State::Launch(tcp::socket socket) {
  const bool refuse = connections.fetch_add(1) + 1 > options.max_connections;
  metrics.connections.Increment();
  if (refuse) {
    metrics.connections_refused.Increment();
  }
  beast::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  if (tls != nullptr) {
    std::make_shared<Connection<beast::ssl_stream<beast::tcp_stream>>>(
        shared_from_this(),
        beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(socket)), *tls), refuse)
        ->Run();
  } else {
    std::make_shared<Connection<beast::tcp_stream>>(shared_from_this(),
                                                    beast::tcp_stream(std::move(socket)), refuse)
        ->Run();
  }
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(net::io_context& io,
                                                              const HttpServerOptions& options,
                                                              RequestHandler handler,
                                                              ConsoleMetrics& metrics) {
  absl::StatusOr<tcp::endpoint> endpoint = ParseListen(options.listen);
  if (!endpoint.ok()) {
    return endpoint.status();
  }
  auto state = std::make_shared<State>(io, options, std::move(handler), metrics);
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  if (!options.tls_cert_file.empty()) {
    state->tls = std::make_unique<ssl::context>(ssl::context::tls_server);
    state->tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                            ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                            ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
    beast::error_code error;
    state->tls->use_certificate_chain_file(options.tls_cert_file, error);
    if (error) {
      return absl::InvalidArgumentError(
          absl::StrCat("--tls-cert: ", options.tls_cert_file, ": ", error.message()));
    }
    state->tls->use_private_key_file(options.tls_key_file, ssl::context::pem, error);
    if (error) {
      return absl::InvalidArgumentError(
          absl::StrCat("--tls-key: ", options.tls_key_file, ": ", error.message()));
    }
  }
  beast::error_code error;
  state->acceptor.open(endpoint->protocol(), error);
  if (!error) {
    state->acceptor.set_option(net::socket_base::reuse_address(true), error);
  }
  if (!error) {
    state->acceptor.bind(*endpoint, error);
  }
  if (!error) {
    state->acceptor.listen(net::socket_base::max_listen_connections, error);
  }
  if (error) {
    return absl::UnavailableError(
        absl::StrCat("--listen: cannot listen on ", options.listen, ": ", error.message()));
  }
  state->port = state->acceptor.local_endpoint().port();
  net::post(state->acceptor.get_executor(), [state] { state->Accept(); });
  return std::unique_ptr<HttpServer>(new HttpServer(state));
}

HttpServer::~HttpServer() { Stop(); }

int HttpServer::port() const { return state_->port; }

bool HttpServer::secure() const { return state_->tls != nullptr; }

void HttpServer::Stop() {
  net::post(state_->acceptor.get_executor(), [state = state_] {
    beast::error_code ignored;
    state->retry_timer.cancel();
    state->acceptor.close(ignored);
  });
}

}  // namespace grid::console
