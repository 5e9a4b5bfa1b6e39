// The HTTP server on a real socket: bounds (431, 413, 400, slow clients, connection count)
// answered without harm to the next client, keep-alive, 100-continue, security headers, streams
// cut off when the client does not read, and HTTPS.
#include "services/console/http_server.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <memory>
#include <thread>

#include "services/console/json_api.h"
#include "services/console/security_headers.h"
#include "tests/support/http_client.h"
#include "tests/support/paths.h"
#include "tests/support/poll.h"

namespace grid::console {
namespace {

namespace net = boost::asio;
using grid::testing::HttpFetch;
using grid::testing::HttpRaw;
using grid::testing::PollUntil;

class HttpServerTest : public ::testing::Test {
 protected:
  HttpServerTest() : metrics_(registry_), work_(net::make_work_guard(io_)) {
    options_.listen = "127.0.0.1:0";
    options_.max_header_bytes = 2048;
    options_.max_body_bytes = 4096;
    options_.request_timeout = std::chrono::milliseconds(500);
    options_.stream_buffer_bytes = 256 * 1024;
    for (int i = 0; i < 2; ++i) {
      threads_.emplace_back([this] { io_.run(); });
    }
  }
  ~HttpServerTest() override {
    server_.reset();
    work_.reset();
    io_.stop();
    for (auto& thread : threads_) {
      thread.join();
    }
  }

  void StartServer() {
    auto server = HttpServer::Start(
        io_, options_, [this](Request request, ExchangePtr exchange) { Handle(request, exchange); },
        metrics_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    port_ = server_->port();
  }

  // /echo answers the body; /stream streams until the client is cut off; else 404.
  void Handle(const Request& request, const ExchangePtr& exchange) {
    if (request.target() == "/echo") {
      exchange->Respond(JsonResponse(200, request.body(), request.version(), request.keep_alive()));
    } else if (request.target() == "/stream") {
      Response header(http::status::ok, request.version());
      header.set(http::field::content_type, "text/event-stream");
      exchange->StartStream(std::move(header));
      stream_ = exchange;
    } else {
      exchange->Respond(ErrorResponse(MakeError(grpc::StatusCode::NOT_FOUND, "no"),
                                      request.version(), request.keep_alive()));
    }
  }

  double Cutoffs(const std::string& reason) {
    return metrics_.sse_cutoffs.Add({{"reason", reason}}).Value();
  }

  // The server still serves an ordinary request.
  void ExpectHealthy() {
    const auto result =
        HttpFetch(port_, "POST", "/echo", {{"Content-Type", "application/json"}}, "{\"ok\":1}");
    EXPECT_EQ(result.status, 200) << result.error;
    EXPECT_EQ(result.body, "{\"ok\":1}");
  }

  // The metrics outlive the io_context: connections its handlers still hold count in them.
  prometheus::Registry registry_;
  ConsoleMetrics metrics_;
  net::io_context io_;
  net::executor_work_guard<net::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
  HttpServerOptions options_;
  std::unique_ptr<HttpServer> server_;
  int port_ = 0;
  ExchangePtr stream_;
};

TEST_F(HttpServerTest, EveryAnswerCarriesTheSecurityHeaders) {
  StartServer();
  const auto result = HttpFetch(port_, "GET", "/nothing");
  EXPECT_EQ(result.status, 404);
  EXPECT_EQ(result.Header("content-security-policy"), kContentSecurityPolicy);
  EXPECT_NE(result.Header("content-security-policy").find("frame-ancestors 'none'"),
            std::string::npos);
  EXPECT_EQ(result.Header("x-content-type-options"), "nosniff");
  EXPECT_EQ(result.Header("referrer-policy"), "no-referrer");
  EXPECT_EQ(result.Header("x-frame-options"), "DENY");
  EXPECT_EQ(result.Header("strict-transport-security"), "");
}

TEST_F(HttpServerTest, HeadersOverTheLimitAre431AndHarmNothing) {
  StartServer();
  const std::string request =
      "GET /echo HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n";
  const auto raw = HttpRaw(port_, request);
  EXPECT_EQ(raw.received.rfind("HTTP/1.1 431", 0), 0u) << raw.received;
  EXPECT_NE(raw.received.find("Content-Security-Policy"), std::string::npos);
  EXPECT_TRUE(raw.closed);
  // A request line over the limit counts as well.
  const auto long_target = HttpRaw(port_, "GET /" + std::string(4000, 'a') + " HTTP/1.1\r\n\r\n");
  EXPECT_EQ(long_target.received.rfind("HTTP/1.1 431", 0), 0u) << long_target.received;
  ExpectHealthy();
}

TEST_F(HttpServerTest, ABodyOverTheLimitIs413AndHarmsNothing) {
  StartServer();
  const std::string request =
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
      "10000\r\n\r\n" +
      std::string(10000, 'a');
  const auto raw = HttpRaw(port_, request);
  EXPECT_EQ(raw.received.rfind("HTTP/1.1 413", 0), 0u) << raw.received;
  EXPECT_NE(raw.received.find("\"INVALID_ARGUMENT\""), std::string::npos);
  ExpectHealthy();
}

TEST_F(HttpServerTest, MalformedRequestsAre400AndHarmNothing) {
  StartServer();
  for (const std::string request :
       {"GARBAGE\r\n\r\n", "GET / HTTP/9.9\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"}) {
    const auto raw = HttpRaw(port_, request);
    EXPECT_EQ(raw.received.rfind("HTTP/1.1 400", 0), 0u) << request << " -> " << raw.received;
    EXPECT_TRUE(raw.closed);
  }
  ExpectHealthy();
}

TEST_F(HttpServerTest, ASlowClientIsClosedAfterTheRequestTimeout) {
  StartServer();
  // Half a request, then nothing (slow-loris): the server closes it; the test's own bound is
  // ten times the server's.
  const auto started = std::chrono::steady_clock::now();
  const auto raw = HttpRaw(port_, "GET /echo HTTP/1.1\r\nHost: x\r\n", std::chrono::seconds(5));
  EXPECT_TRUE(raw.closed);
  EXPECT_FALSE(raw.timed_out);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  // So is a connection that sends nothing at all.
  EXPECT_TRUE(HttpRaw(port_, "", std::chrono::seconds(5)).closed);
  ExpectHealthy();
}

TEST_F(HttpServerTest, AKeptAliveConnectionServesRequestsInTurn) {
  StartServer();
  const std::string one =
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
      "1\r\n\r\n1";
  const std::string last =
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nConnection: close\r\n\r\n2";
  const auto raw = HttpRaw(port_, one + one + last);
  EXPECT_TRUE(raw.closed);
  std::size_t answers = 0;
  for (std::size_t at = 0; (at = raw.received.find("HTTP/1.1 200", at)) != std::string::npos;
       ++at) {
    ++answers;
  }
  EXPECT_EQ(answers, 3u) << raw.received;
}

TEST_F(HttpServerTest, ExpectContinueIsAnsweredBeforeTheBody) {
  StartServer();
  net::io_context io;
  net::ip::tcp::socket socket(io);
  socket.connect({net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port_)});
  net::write(socket, net::buffer(std::string("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: "
                                             "2\r\nExpect: 100-continue\r\n\r\n")));
  std::string received(64, '\0');
  const std::size_t n = socket.read_some(net::buffer(received));
  EXPECT_EQ(received.substr(0, n), "HTTP/1.1 100 Continue\r\n\r\n");
  net::write(socket, net::buffer(std::string("{}")));
  received.assign(4096, '\0');
  const std::size_t m = socket.read_some(net::buffer(received));
  EXPECT_EQ(received.substr(0, m).rfind("HTTP/1.1 200", 0), 0u);
}

TEST_F(HttpServerTest, ConnectionsOverTheLimitAre503) {
  options_.max_connections = 2;
  options_.request_timeout = std::chrono::seconds(30);
  StartServer();
  net::io_context io;
  std::vector<std::unique_ptr<net::ip::tcp::socket>> held;
  for (int i = 0; i < 2; ++i) {
    held.push_back(std::make_unique<net::ip::tcp::socket>(io));
    held.back()->connect({net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port_)});
  }
  ASSERT_TRUE(
      PollUntil([&] { return metrics_.connections.Value() == 2; }, std::chrono::seconds(5)));
  const auto refused = HttpFetch(port_, "GET", "/echo");
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(metrics_.connections_refused.Value(), 1);
  held.clear();
  ASSERT_TRUE(
      PollUntil([&] { return metrics_.connections.Value() == 0; }, std::chrono::seconds(5)));
  ExpectHealthy();
}

TEST_F(HttpServerTest, AStreamWhoseClientDoesNotReadIsCutOffAtItsBufferBound) {
  StartServer();
  net::io_context io;
  net::ip::tcp::socket socket(io);
  socket.connect({net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port_)});
  // A small receive window, and never read: the server's writes back up.
  socket.set_option(net::socket_base::receive_buffer_size(4096));
  net::write(socket, net::buffer(std::string("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")));
  ASSERT_TRUE(PollUntil([&] { return stream_ != nullptr; }, std::chrono::seconds(5)));
  const std::string chunk(16 * 1024, 'x');
  int sent = 0;
  // Bounded: 64 MiB, far beyond what kernel buffers hold, so the bound must bite first.
  while (stream_->Send("data: " + chunk + "\n\n") && ++sent < 4096) {
  }
  EXPECT_TRUE(PollUntil([&] { return !stream_->Send(""); }, std::chrono::seconds(10)));
  EXPECT_LT(sent, 4096);
  EXPECT_EQ(Cutoffs("buffer"), 1);
  ExpectHealthy();
}

// Sends `blocks` copies of `block` (0: without end) on a stream, each from the stream's strand
// once it says it has room, as the live feed does. Shared: the stream may call it after the test.
struct WaitingProducer : std::enable_shared_from_this<WaitingProducer> {
  WaitingProducer(ExchangePtr stream, std::string block, int blocks)
      : stream(std::move(stream)), block(std::move(block)), blocks(blocks) {}
  void Start() {
    net::post(stream->executor(), [self = shared_from_this()] { self->Produce(); });
  }
  void Produce() {
    if ((blocks == 0 || sent < blocks) && stream->Send(block)) {
      ++sent;
      stream->WhenReady([self = shared_from_this()] { self->Produce(); });
    }
  }
  const ExchangePtr stream;
  const std::string block;
  const int blocks;
  std::atomic<int> sent{0};
};

// A producer that sends only when the stream is ready (the live feed) goes at the client's pace:
// many times the buffer bound reaches a client that reads slowly, and the bound never bites.
TEST_F(HttpServerTest, AProducerThatWaitsUntilReadyGoesAtTheClientsPace) {
  StartServer();
  net::io_context io;
  net::ip::tcp::socket socket(io);
  socket.open(net::ip::tcp::v4());
  socket.set_option(net::socket_base::receive_buffer_size(4096));
  socket.connect({net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port_)});
  net::write(socket, net::buffer(std::string("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")));
  ASSERT_TRUE(PollUntil([&] { return stream_ != nullptr; }, std::chrono::seconds(5)));
  // 4 MiB in 16 KiB blocks, each sent from the strand when the stream says it has room.
  constexpr int kBlocks = 256;
  const std::string block = "data: " + std::string(16 * 1024 - 8, 'x') + "\n\n";
  auto producer = std::make_shared<WaitingProducer>(stream_, block, kBlocks);
  producer->Start();
  std::size_t received = 0;
  std::array<char, 4096> buffer{};
  const std::size_t want = kBlocks * block.size();
  while (received < want) {
    boost::system::error_code error;
    received += socket.read_some(net::buffer(buffer), error);
    ASSERT_FALSE(error) << error.message() << " after " << received << " bytes";
    if (received % (256 * 1024) < buffer.size()) {
      // Now and then the client is slow to read: the producer must wait for it.
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  EXPECT_EQ(producer->sent, kBlocks);
  EXPECT_EQ(Cutoffs("buffer"), 0);
  EXPECT_TRUE(stream_->Send(""));
}

// A client that stops reading holds a waiting producer back; the write time-out, not the buffer
// bound, then cuts it off.
TEST_F(HttpServerTest, AWaitingProducersStalledClientIsCutOffByTheWriteTimeout) {
  options_.stream_write_timeout = std::chrono::milliseconds(500);
  StartServer();
  net::io_context io;
  net::ip::tcp::socket socket(io);
  socket.open(net::ip::tcp::v4());
  socket.set_option(net::socket_base::receive_buffer_size(4096));
  socket.connect({net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port_)});
  net::write(socket, net::buffer(std::string("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")));
  ASSERT_TRUE(PollUntil([&] { return stream_ != nullptr; }, std::chrono::seconds(5)));
  const std::string block = "data: " + std::string(16 * 1024 - 8, 'x') + "\n\n";
  std::make_shared<WaitingProducer>(stream_, block, 0)->Start();
  EXPECT_TRUE(PollUntil([&] { return !stream_->Send(""); }, std::chrono::seconds(10)));
  EXPECT_EQ(Cutoffs("write timeout"), 1);
  EXPECT_EQ(Cutoffs("buffer"), 0);
  ExpectHealthy();
}

TEST_F(HttpServerTest, AStreamReachesItsClientInOrder) {
  StartServer();
  auto connection = grid::testing::SseConnection::Open(port_, "/stream");
  ASSERT_TRUE(connection.ok()) << connection.status();
  ASSERT_TRUE(PollUntil([&] { return stream_ != nullptr; }, std::chrono::seconds(5)));
  EXPECT_EQ((*connection)->head().Header("content-type"), "text/event-stream");
  EXPECT_EQ((*connection)->head().Header("connection"), "close");
  EXPECT_EQ((*connection)->head().Header("x-content-type-options"), "nosniff");
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(stream_->Send("id: " + std::to_string(i) + "\ndata: x\n\n"));
  }
  for (int i = 0; i < 100; ++i) {
    auto event = (*connection)->Next(std::chrono::seconds(5));
    ASSERT_TRUE(event.has_value());
    EXPECT_EQ(event->id, std::to_string(i));
  }
  stream_->Close();
  EXPECT_FALSE((*connection)->Next(std::chrono::seconds(5)).has_value());
  EXPECT_TRUE((*connection)->closed());
}

TEST_F(HttpServerTest, AClientLeavingAStreamClosesIt) {
  StartServer();
  bool closed = false;
  std::mutex mu;
  {
    auto connection = grid::testing::SseConnection::Open(port_, "/stream");
    ASSERT_TRUE(connection.ok());
    ASSERT_TRUE(PollUntil([&] { return stream_ != nullptr; }, std::chrono::seconds(5)));
    stream_->OnClosed([&] {
      std::lock_guard lock(mu);
      closed = true;
    });
  }
  EXPECT_TRUE(PollUntil(
      [&] {
        std::lock_guard lock(mu);
        return closed;
      },
      std::chrono::seconds(5)));
}

TEST_F(HttpServerTest, ServesHttpsWithItsCertificate) {
  options_.tls_cert_file = grid::testing::SourcePath("tests/unit/console/testdata/server.pem");
  options_.tls_key_file = grid::testing::SourcePath("tests/unit/console/testdata/server.key");
  StartServer();
  EXPECT_TRUE(server_->secure());
  const auto result = grid::testing::HttpsFetch(
      port_, grid::testing::SourcePath("tests/unit/console/testdata/ca.pem"), "localhost", "GET",
      "/nothing");
  EXPECT_EQ(result.status, 404) << result.error;
  EXPECT_EQ(result.Header("strict-transport-security"), "max-age=31536000");
  // A client that trusts another CA refuses the server.
  const auto untrusted = grid::testing::HttpsFetch(
      port_, grid::testing::SourcePath("tests/unit/console/testdata/other-ca.pem"), "localhost",
      "GET", "/nothing");
  EXPECT_EQ(untrusted.status, 0);
  EXPECT_NE(untrusted.error.find("handshake"), std::string::npos);
  // Plain HTTP to the HTTPS port gets no answer.
  EXPECT_EQ(HttpFetch(port_, "GET", "/nothing", {}, "", std::chrono::seconds(2)).status, 0);
}

TEST(HttpServerStartTest, BadOptionsAreRefusedNamingTheFlag) {
  net::io_context io;
  prometheus::Registry registry;
  ConsoleMetrics metrics(registry);
  HttpServerOptions options;
  options.listen = "nowhere";
  auto bad_listen = HttpServer::Start(io, options, nullptr, metrics);
  EXPECT_NE(bad_listen.status().message().find("--listen"), std::string_view::npos);
  options.listen = "127.0.0.1:0";
  options.tls_cert_file = "/nonexistent.pem";
  options.tls_key_file = "/nonexistent.key";
  auto bad_cert = HttpServer::Start(io, options, nullptr, metrics);
  EXPECT_NE(bad_cert.status().message().find("--tls-cert"), std::string_view::npos);
  options.tls_key_file = "";
  EXPECT_FALSE(HttpServer::Start(io, options, nullptr, metrics).ok());
}

}  // namespace
}  // namespace grid::console
