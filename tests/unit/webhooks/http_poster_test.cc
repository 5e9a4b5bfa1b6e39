// HttpPoster against a real HTTP server on a free port of 127.0.0.1: the bounds on the answer's
// size and time, redirects, and the refusal of non-public addresses.
#include "services/webhooks/http_poster.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <future>
#include <string>
#include <thread>

namespace grid::webhooks {
namespace {

namespace asio = boost::asio;
using ::testing::HasSubstr;

// Answers each connection with `answer` (raw HTTP), or keeps it open without a word when empty.
class RawServer {
 public:
  explicit RawServer(std::string answer)
      : answer_(std::move(answer)), acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this] {
      while (true) {
        asio::ip::tcp::socket socket(io_);
        boost::system::error_code ec;
        acceptor_.accept(socket, ec);
        if (stop_) {
          return;
        }
        ++connections_;
        std::string request;
        asio::read_until(socket, asio::dynamic_buffer(request), "\r\n\r\n", ec);
        if (!answer_.empty()) {
          asio::write(socket, asio::buffer(answer_), ec);
        } else {
          held_.push_back(std::move(socket));
        }
      }
    });
  }
  ~RawServer() {
    stop_ = true;
    try {
      asio::io_context io;
      asio::ip::tcp::socket socket(io);
      socket.connect(acceptor_.local_endpoint());
    } catch (const std::exception&) {
    }
    thread_.join();
  }
  Url url() const {
    return Url{.tls = false,
               .host = "127.0.0.1",
               .port = acceptor_.local_endpoint().port(),
               .target = "/hook"};
  }
  int connections() const { return connections_; }

 private:
  std::string answer_;
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::vector<asio::ip::tcp::socket> held_;
};

PostResult PostTo(const Url& url, bool allow_private,
                  std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  asio::io_context io;
  HttpPoster::Options options;
  options.timeout = timeout;
  options.max_response_bytes = 64 * 1024;
  HttpPoster poster(io, options);
  PostResult result;
  bool done = false;
  poster.Post(url, allow_private, {{"X-Grid-Idempotency-Key", "E1:1"}}, "{}", [&](PostResult r) {
    result = std::move(r);
    done = true;
  });
  io.run();
  EXPECT_TRUE(done);
  return result;
}

std::string Answer(int status, const std::string& body, const std::string& extra = "") {
  return "HTTP/1.1 " + std::to_string(status) +
         " X\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + extra + "\r\n" + body;
}

TEST(HttpPosterTest, A2xxIsDelivered) {
  RawServer server(Answer(204, ""));
  const PostResult result = PostTo(server.url(), true);
  EXPECT_TRUE(result.ok()) << result.error;
  EXPECT_EQ(result.status, 204);
}

TEST(HttpPosterTest, AnAnswerOverTheSizeBoundFails) {
  RawServer server(Answer(200, std::string(100 * 1024, 'x')));
  const PostResult result = PostTo(server.url(), true);
  EXPECT_FALSE(result.ok()) << result.status;
  EXPECT_EQ(result.reason, "io");
}

TEST(HttpPosterTest, AnAnswerWithoutALengthOverTheSizeBoundFails) {
  RawServer server("HTTP/1.1 200 X\r\nConnection: close\r\n\r\n" + std::string(100 * 1024, 'x'));
  const PostResult result = PostTo(server.url(), true);
  EXPECT_FALSE(result.ok()) << result.status;
  EXPECT_EQ(result.reason, "io");
}

TEST(HttpPosterTest, AChunkedAnswerOverTheSizeBoundFails) {
  const std::string chunk(40 * 1024, 'x');
  std::string chunks;
  for (int i = 0; i < 3; ++i) {
    chunks += "a000\r\n" + chunk + "\r\n";
  }
  RawServer server("HTTP/1.1 200 X\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + "0\r\n\r\n");
  const PostResult result = PostTo(server.url(), true);
  EXPECT_FALSE(result.ok()) << result.status;
  EXPECT_EQ(result.reason, "io");
}

TEST(HttpPosterTest, NoAnswerWithinTheTimeBoundFails) {
  RawServer server("");
  const auto began = std::chrono::steady_clock::now();
  const PostResult result = PostTo(server.url(), true, std::chrono::milliseconds(300));
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.reason, "timeout");
  EXPECT_LT(std::chrono::steady_clock::now() - began, std::chrono::seconds(3));
}

TEST(HttpPosterTest, ARedirectIsNotFollowed) {
  RawServer server(Answer(302, "", "Location: http://169.254.169.254/latest/meta-data\r\n"));
  const PostResult result = PostTo(server.url(), true);
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.status, 302);
  EXPECT_EQ(result.reason, "status");
  EXPECT_THAT(result.error, HasSubstr("not followed"));
  EXPECT_EQ(server.connections(), 1);
}

TEST(HttpPosterTest, ALoopbackAddressIsRefusedUnlessAllowedAndNothingIsSent) {
  RawServer server(Answer(200, ""));
  PostResult result = PostTo(server.url(), false);
  EXPECT_EQ(result.reason, "refused");
  EXPECT_THAT(result.error, HasSubstr("127.0.0.1"));
  Url named = server.url();
  named.host = "localhost";
  result = PostTo(named, false);
  EXPECT_EQ(result.reason, "refused");
  EXPECT_EQ(server.connections(), 0);
}

}  // namespace
}  // namespace grid::webhooks
