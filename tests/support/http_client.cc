#include "tests/support/http_client.h"

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace grid::testing {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

absl::string_view A(std::string_view text) { return absl::string_view(text.data(), text.size()); }

tcp::endpoint Local(int port) {
  return tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port));
}

http::request<http::string_body> MakeRequest(int port, const std::string& method,
                                             const std::string& target, const HttpHeaders& headers,
                                             const std::string& body) {
  http::request<http::string_body> request(http::string_to_verb(method), target, 11);
  request.set(http::field::host, absl::StrCat("127.0.0.1:", port));
  for (const auto& [name, value] : headers) {
    request.insert(name, value);
  }
  request.body() = body;
  if (!body.empty() || method == "POST" || method == "PUT" || method == "DELETE") {
    request.prepare_payload();
  }
  return request;
}

HttpResult FromResponse(const http::response<http::string_body>& response) {
  HttpResult result;
  result.status = response.result_int();
  for (const auto& field : response) {
    const std::string name = absl::AsciiStrToLower(std::string(field.name_string()));
    if (name == "set-cookie") {
      result.set_cookies.emplace_back(field.value());
    }
    result.headers[name] = std::string(field.value());
  }
  result.body = response.body();
  return result;
}

// Runs one exchange on `stream` (tcp_stream or ssl_stream) with its timeout.
template <class Stream>
HttpResult Exchange(net::io_context& io, Stream& stream, int port, const std::string& method,
                    const std::string& target, const HttpHeaders& headers, const std::string& body,
                    std::chrono::milliseconds timeout) {
  HttpResult result;
  auto request = MakeRequest(port, method, target, headers, body);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  if (method == "HEAD") {
    parser.skip(true);
  }
  beast::get_lowest_layer(stream).expires_after(timeout);
  http::async_write(stream, request, [&](beast::error_code error, std::size_t) {
    if (error) {
      result.error = "write: " + error.message();
      return;
    }
    http::async_read(stream, buffer, parser, [&](beast::error_code read_error, std::size_t) {
      if (read_error) {
        result.error = "read: " + read_error.message();
        return;
      }
      result = FromResponse(parser.get());
    });
  });
  io.restart();
  io.run();
  return result;
}

}  // namespace

std::string HttpResult::Header(const std::string& lower_case_name) const {
  const auto it = headers.find(lower_case_name);
  return it == headers.end() ? std::string() : it->second;
}

HttpResult HttpFetch(int port, const std::string& method, const std::string& target,
                     const HttpHeaders& headers, const std::string& body,
                     std::chrono::milliseconds timeout) {
  net::io_context io;
  beast::tcp_stream stream(io);
  beast::error_code error;
  stream.expires_after(timeout);
  stream.async_connect(Local(port),
                       [&](beast::error_code connect_error) { error = connect_error; });
  io.run();
  if (error) {
    HttpResult result;
    result.error = "connect: " + error.message();
    return result;
  }
  return Exchange(io, stream, port, method, target, headers, body, timeout);
}

HttpResult HttpsFetch(int port, const std::string& ca_file, const std::string& server_name,
                      const std::string& method, const std::string& target,
                      std::chrono::milliseconds timeout) {
  HttpResult result;
  net::io_context io;
  ssl::context context(ssl::context::tls_client);
  beast::error_code error;
  context.load_verify_file(ca_file, error);
  if (error) {
    result.error = "load_verify_file: " + error.message();
    return result;
  }
  context.set_verify_mode(ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> stream(io, context);
  stream.set_verify_callback(ssl::host_name_verification(server_name));
  SSL_set_tlsext_host_name(stream.native_handle(), server_name.c_str());
  beast::get_lowest_layer(stream).expires_after(timeout);
  beast::get_lowest_layer(stream).async_connect(Local(port), [&](beast::error_code connect_error) {
    if (connect_error) {
      error = connect_error;
      return;
    }
    stream.async_handshake(ssl::stream_base::client,
                           [&](beast::error_code handshake_error) { error = handshake_error; });
  });
  io.run();
  if (error) {
    result.error = "handshake: " + error.message();
    return result;
  }
  return Exchange(io, stream, port, method, target, {}, "", timeout);
}

RawExchange HttpRaw(int port, std::string_view bytes, std::chrono::milliseconds timeout) {
  RawExchange result;
  net::io_context io;
  tcp::socket socket(io);
  beast::error_code error;
  socket.connect(Local(port), error);
  if (error) {
    result.closed = true;
    return result;
  }
  std::array<char, 4096> buffer{};
  std::function<void()> read = [&] {
    socket.async_read_some(net::buffer(buffer), [&](beast::error_code read_error, std::size_t n) {
      if (read_error) {
        result.closed = true;
        return;
      }
      result.received.append(buffer.data(), n);
      read();
    });
  };
  const std::string data(bytes);
  net::async_write(socket, net::buffer(data), [&](beast::error_code write_error, std::size_t) {
    // A server may answer and close before it has read everything: read what came anyway.
    (void)write_error;
    read();
  });
  io.run_for(timeout);
  if (!result.closed) {
    result.timed_out = true;
  }
  return result;
}

std::vector<SseEvent> SseParser::Feed(std::string_view bytes) {
  std::vector<SseEvent> out;
  buffer_.append(bytes);
  std::size_t start = 0;
  while (true) {
    const std::size_t end = buffer_.find_first_of("\r\n", start);
    if (end == std::string::npos) {
      break;
    }
    // "\r\n" is one line end; a lone "\r" at the buffer's end may be half of one.
    if (buffer_[end] == '\r' && end + 1 == buffer_.size()) {
      break;
    }
    Line(std::string_view(buffer_).substr(start, end - start), out);
    start = end + ((buffer_[end] == '\r' && buffer_[end + 1] == '\n') ? 2 : 1);
  }
  buffer_.erase(0, start);
  return out;
}

void SseParser::Line(std::string_view line, std::vector<SseEvent>& out) {
  if (line.empty()) {
    if (started_) {
      out.push_back(std::move(current_));
    }
    current_ = SseEvent();
    started_ = false;
    return;
  }
  started_ = true;
  if (line.front() == ':') {
    current_.comments.emplace_back(absl::StripLeadingAsciiWhitespace(A(line.substr(1))));
    return;
  }
  const std::size_t colon = line.find(':');
  const std::string_view field = line.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') {
    value.remove_prefix(1);
  }
  if (field == "data") {
    if (current_.has_data) {
      current_.data += '\n';
    }
    current_.data += value;
    current_.has_data = true;
  } else if (field == "id") {
    current_.id = std::string(value);
  } else if (field == "event") {
    current_.event = std::string(value);
  } else if (field == "retry") {
    long ms = 0;
    if (absl::SimpleAtoi(A(value), &ms)) {
      current_.retry_ms = ms;
    }
  }
}

struct SseConnection::Impl {
  net::io_context io;
  tcp::socket socket{io};
  std::array<char, 16384> buffer{};
  bool reading = false;
  bool eof = false;
  std::string incoming;

  void StartRead() {
    reading = true;
    socket.async_read_some(net::buffer(buffer), [this](beast::error_code error, std::size_t n) {
      reading = false;
      if (error) {
        eof = true;
        return;
      }
      incoming.append(buffer.data(), n);
    });
  }

  // Runs until a read completes or `deadline`; false at the deadline.
  bool Pump(Clock::time_point deadline) {
    if (eof) {
      return false;
    }
    if (!reading) {
      StartRead();
    }
    const auto now = Clock::now();
    if (now >= deadline) {
      return false;
    }
    io.restart();
    io.run_for(deadline - now);
    return !reading;
  }
};

SseConnection::~SseConnection() {
  if (impl_ != nullptr) {
    beast::error_code ignored;
    impl_->socket.close(ignored);
    impl_->io.restart();
    impl_->io.poll();
  }
}

absl::StatusOr<std::unique_ptr<SseConnection>> SseConnection::Open(
    int port, const std::string& target, const HttpHeaders& headers,
    std::chrono::milliseconds timeout) {
  std::unique_ptr<SseConnection> connection(new SseConnection());
  connection->impl_ = std::make_unique<Impl>();
  Impl& impl = *connection->impl_;
  const auto deadline = Clock::now() + timeout;
  beast::error_code error;
  impl.socket.connect(Local(port), error);
  if (error) {
    return absl::UnavailableError("connect: " + error.message());
  }
  std::string request = absl::StrCat("GET ", target, " HTTP/1.1\r\nHost: 127.0.0.1:", port,
                                     "\r\nAccept: text/event-stream\r\n");
  for (const auto& [name, value] : headers) {
    absl::StrAppend(&request, name, ": ", value, "\r\n");
  }
  request += "\r\n";
  net::write(impl.socket, net::buffer(request), error);
  if (error) {
    return absl::UnavailableError("write: " + error.message());
  }
  std::size_t head_end = std::string::npos;
  while ((head_end = impl.incoming.find("\r\n\r\n")) == std::string::npos) {
    if (!impl.Pump(deadline) && (impl.eof || Clock::now() >= deadline)) {
      return absl::DeadlineExceededError("no response head: " + impl.incoming);
    }
  }
  const std::string head = impl.incoming.substr(0, head_end);
  impl.incoming.erase(0, head_end + 4);
  std::vector<absl::string_view> lines = absl::StrSplit(head, "\r\n");
  HttpResult& result = connection->head_;
  std::vector<absl::string_view> status_line = absl::StrSplit(lines.front(), ' ');
  if (status_line.size() < 2 || !absl::SimpleAtoi(status_line[1], &result.status)) {
    return absl::InternalError("bad status line: " + std::string(lines.front()));
  }
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::size_t colon = lines[i].find(':');
    if (colon == absl::string_view::npos) {
      continue;
    }
    const std::string name = absl::AsciiStrToLower(lines[i].substr(0, colon));
    const std::string value(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
    if (name == "set-cookie") {
      result.set_cookies.push_back(value);
    }
    result.headers[name] = value;
  }
  if (result.status != 200) {
    std::size_t length = 0;
    (void)absl::SimpleAtoi(result.Header("content-length"), &length);
    while (impl.incoming.size() < length && impl.Pump(deadline)) {
    }
    return absl::FailedPreconditionError(
        absl::StrCat("HTTP ", result.status, ": ", impl.incoming.substr(0, length)));
  }
  return connection;
}

std::optional<SseEvent> SseConnection::Next(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (!ready_.empty()) {
      SseEvent event = std::move(ready_.front());
      ready_.erase(ready_.begin());
      return event;
    }
    if (!impl_->incoming.empty()) {
      for (SseEvent& event : parser_.Feed(impl_->incoming)) {
        ready_.push_back(std::move(event));
      }
      impl_->incoming.clear();
      continue;
    }
    if (impl_->eof) {
      closed_ = true;
      return std::nullopt;
    }
    if (!impl_->Pump(deadline) && !impl_->eof && impl_->incoming.empty()) {
      return std::nullopt;
    }
  }
}

std::optional<SseEvent> SseConnection::NextData(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    const auto now = Clock::now();
    if (now >= deadline) {
      return std::nullopt;
    }
    std::optional<SseEvent> event =
        Next(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now));
    if (!event.has_value() || event->has_data) {
      return event;
    }
  }
}

}  // namespace grid::testing
