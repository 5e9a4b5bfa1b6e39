// A GoogleTest fixture with a real redis-server and an AsioClient connected to it, its io_context
// run by a thread of its own; for tests of code that talks to Redis asynchronously.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/redis/asio_client.h"
#include "tests/support/redis_server.h"

namespace grid::testing {

class RedisTest : public ::testing::Test {
 protected:
  // Subclasses that override these call them first (SetUp) and last (TearDown, after they have
  // dropped everything that uses the client).
  void SetUp() override {
    ASSERT_TRUE(redis_.Start().ok()) << redis_.Log();
    thread_ = std::thread([this] { io_.run(); });
    redis::AsioClient::Options options;
    options.port = redis_.port();
    client_ = std::make_unique<redis::AsioClient>(io_, options);
    client_->Start();
    ASSERT_TRUE(client_->WaitConnected(std::chrono::seconds(5)).ok());
  }

  void TearDown() override {
    if (client_ != nullptr) {
      client_->Stop();
    }
    guard_.reset();
    io_.stop();
    if (thread_.joinable()) {
      thread_.join();
    }
  }

  // Runs an asynchronous call that reports an absl::StatusOr<T> and waits for its result.
  template <class T, class Call>
  absl::StatusOr<T> Wait(Call call) {
    std::promise<absl::StatusOr<T>> promise;
    call([&promise](absl::StatusOr<T> result) { promise.set_value(std::move(result)); });
    return promise.get_future().get();
  }

  // One command, synchronously; a failure fails the test and yields nil.
  redis::Reply Redis(std::vector<std::string> argv) {
    auto reply = redis::CommandSync(*client_, std::move(argv), std::chrono::seconds(2));
    EXPECT_TRUE(reply.ok()) << reply.status();
    return reply.ok() ? *reply : redis::Reply::Nil();
  }

  RedisServer redis_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_{
      io_.get_executor()};
  std::thread thread_;
  std::unique_ptr<redis::AsioClient> client_;
};

}  // namespace grid::testing
