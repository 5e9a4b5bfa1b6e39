// Test doubles of the console's seams: a gateway that records calls and answers as told, and an
// exchange that records what the console answered.
#pragma once

#include <atomic>
#include <boost/asio/post.hpp>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "services/console/exchange.h"
#include "services/console/gateway.h"
#include "tests/support/poll.h"

namespace grid::console::testing {

// Answers unary calls with `answer` (status, and a response filled by `fill`) at once, on the
// caller's thread; records each call. Watches are recorded and driven by the test.
class FakeGateway final : public Gateway {
 public:
  struct Recorded {
    std::string method;
    std::string token;
    std::chrono::milliseconds deadline;
    std::string api_key;
    std::string request;  // The request's DebugString.
    std::unique_ptr<google::protobuf::Message> message;
  };

  class FakeWatch final : public WatchCall {
   public:
    void Cancel() override { cancelled = true; }
    void Next() override { ++nexts; }
    std::atomic<bool> cancelled{false};
    // How many times the next message was asked for.
    std::atomic<int> nexts{0};
  };

  struct Watching {
    v1::WatchEventsRequest request;
    std::string token;
    std::shared_ptr<WatchObserver> observer;
    std::shared_ptr<FakeWatch> call;
  };

  std::function<grpc::Status(const std::string& method, google::protobuf::Message* response)>
      answer = [](const std::string&, google::protobuf::Message*) { return grpc::Status::OK; };
  std::optional<std::int64_t> retry_after_ms;

  void Call(const google::protobuf::MethodDescriptor& method, const CallOptions& options,
            const google::protobuf::Message& request, google::protobuf::Message* response,
            std::function<void(CallResult)> done) override {
    {
      std::lock_guard lock(mu_);
      Recorded recorded{
          method.name(),         options.token,
          options.deadline,      options.api_key,
          request.DebugString(), std::unique_ptr<google::protobuf::Message>(request.New())};
      recorded.message->CopyFrom(request);
      calls_.push_back(std::move(recorded));
    }
    const grpc::Status status = answer(method.name(), response);
    done(CallResult{status, retry_after_ms});
  }

  WatchCallPtr Watch(const CallOptions& options, const v1::WatchEventsRequest& request,
                     std::shared_ptr<WatchObserver> observer) override {
    auto call = std::make_shared<FakeWatch>();
    std::lock_guard lock(mu_);
    watches_.push_back(Watching{request, options.token, std::move(observer), call});
    cv_.notify_all();
    return call;
  }

  std::vector<std::string> methods() const {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const auto& call : calls_) {
      out.push_back(call.method);
    }
    return out;
  }
  const Recorded& call(std::size_t i) const {
    std::lock_guard lock(mu_);
    return calls_.at(i);
  }
  std::size_t call_count() const {
    std::lock_guard lock(mu_);
    return calls_.size();
  }
  // Waits until at least `n` watches were started; the n-th (from 1).
  Watching* AwaitWatch(std::size_t n) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, std::chrono::seconds(5), [&] { return watches_.size() >= n; })) {
      return nullptr;
    }
    return &watches_[n - 1];
  }
  std::size_t watch_count() const {
    std::lock_guard lock(mu_);
    return watches_.size();
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Recorded> calls_;
  std::deque<Watching> watches_;
};

// Records the answer; thread-safe.
class FakeExchange final : public Exchange {
 public:
  explicit FakeExchange(bool secure = false, boost::asio::any_io_executor executor = {})
      : secure_(secure), executor_(std::move(executor)) {}

  void Respond(Response response) override {
    std::lock_guard lock(mu_);
    response_ = std::move(response);
    cv_.notify_all();
  }
  void StartStream(Response header) override {
    std::lock_guard lock(mu_);
    response_ = std::move(header);
    streaming_ = true;
    cv_.notify_all();
  }
  bool Send(std::string text) override {
    std::lock_guard lock(mu_);
    if (closed_) {
      return false;
    }
    sent_ += text;
    cv_.notify_all();
    return true;
  }
  void Close() override {
    std::vector<std::function<void()>> callbacks;
    {
      std::lock_guard lock(mu_);
      closed_ = true;
      callbacks.swap(on_closed_);
      cv_.notify_all();
    }
    for (auto& callback : callbacks) {
      callback();
    }
  }
  // At once while the client has room (SetRoom), else when it gets room.
  void WhenReady(std::function<void()> ready) override {
    {
      std::lock_guard lock(mu_);
      if (closed_) {
        return;
      }
      if (!room_) {
        ready_ = std::move(ready);
        return;
      }
    }
    ready();
  }
  // The client stops taking what it is sent (false), or takes it again (true).
  void SetRoom(bool room) {
    std::function<void()> ready;
    {
      std::lock_guard lock(mu_);
      room_ = room;
      if (room && !closed_) {
        ready.swap(ready_);
      }
    }
    if (ready) {
      if (executor_) {
        // On the strand, as the real exchange runs it.
        boost::asio::post(executor_, std::move(ready));
      } else {
        ready();
      }
    }
  }

  void OnClosed(std::function<void()> on_closed) override {
    {
      std::lock_guard lock(mu_);
      if (!closed_) {
        on_closed_.push_back(std::move(on_closed));
        return;
      }
    }
    on_closed();
  }
  bool secure() const override { return secure_; }
  boost::asio::any_io_executor executor() const override { return executor_; }

  // The client goes away.
  void Drop() { Close(); }

  // Waits for an answer (a response or a stream's header).
  std::optional<Response> AwaitResponse(
      std::chrono::milliseconds deadline = std::chrono::seconds(5)) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, deadline, [&] { return response_.has_value(); })) {
      return std::nullopt;
    }
    return response_;
  }
  // Waits until the stream's text contains `needle`; the text so far.
  std::string AwaitSent(const std::string& needle,
                        std::chrono::milliseconds deadline = std::chrono::seconds(5)) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, deadline, [&] { return sent_.find(needle) != std::string::npos; });
    return sent_;
  }
  bool AwaitClosed(std::chrono::milliseconds deadline = std::chrono::seconds(5)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, deadline, [&] { return closed_; });
  }
  std::string sent() const {
    std::lock_guard lock(mu_);
    return sent_;
  }
  bool streaming() const {
    std::lock_guard lock(mu_);
    return streaming_;
  }
  bool closed() const {
    std::lock_guard lock(mu_);
    return closed_;
  }

 private:
  const bool secure_;
  const boost::asio::any_io_executor executor_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Response> response_;
  bool streaming_ = false;
  bool closed_ = false;
  std::string sent_;
  std::vector<std::function<void()>> on_closed_;
  bool room_ = true;
  std::function<void()> ready_;
};

}  // namespace grid::console::testing
