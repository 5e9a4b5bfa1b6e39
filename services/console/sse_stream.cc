#include "services/console/sse_stream.h"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>

#include "absl/strings/str_cat.h"
#include "services/console/api_error.h"
#include "services/console/json_api.h"

namespace grid::console {
namespace {

namespace net = boost::asio;

// A field value may not hold a line break (it would end the field) or NUL.
std::string FieldValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c != '\n' && c != '\r' && c != '\0') {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

std::string SseRetry(std::chrono::milliseconds delay) {
  return absl::StrCat("retry: ", delay.count(), "\n\n");
}

std::string SseMessage(std::string_view id, std::string_view json) {
  return absl::StrCat("id: ", FieldValue(id), "\ndata: ", FieldValue(json), "\n\n");
}

std::string SseHeartbeat(std::string_view id) {
  return absl::StrCat(": heartbeat\nid: ", FieldValue(id), "\n\n");
}

std::string SseKeepAlive() { return ": keep-alive\n\n"; }

std::string SseEnd(std::string_view json) {
  return absl::StrCat("event: end\ndata: ", FieldValue(json), "\n\n");
}

std::string ChangeTexts::Get(const std::string& cursor, const v1::EventChange& change) {
  // A line break cannot be in a cursor (the gateway's) or an event id (the store's).
  std::string key = absl::StrCat(cursor, "\n", change.event_id(), "\n", change.version());
  {
    std::lock_guard lock(mu_);
    if (const auto it = texts_.find(key); it != texts_.end()) {
      return it->second;
    }
  }
  // Printed outside the lock: two feeds may print the same change at once, which is harmless.
  std::string text = SseMessage(cursor, ToJson(change));
  std::lock_guard lock(mu_);
  if (texts_.emplace(key, text).second) {
    order_.push_back(std::move(key));
    while (order_.size() > capacity_) {
      texts_.erase(order_.front());
      order_.pop_front();
    }
  }
  return text;
}

std::shared_ptr<SseStream> SseStream::Start(Gateway& gateway, const SseOptions& options,
                                            ChangeTexts& texts, std::string token,
                                            v1::WatchEventsRequest request, ExchangePtr exchange,
                                            unsigned version, ConsoleMetrics& metrics) {
  auto stream =
      std::make_shared<SseStream>(gateway, options, texts, std::move(token), std::move(request),
                                  std::move(exchange), version, metrics);
  net::post(stream->strand_, [stream] { stream->Begin(); });
  return stream;
}

SseStream::SseStream(Gateway& gateway, const SseOptions& options, ChangeTexts& texts,
                     std::string token, v1::WatchEventsRequest request, ExchangePtr exchange,
                     unsigned version, ConsoleMetrics& metrics)
    : strand_(exchange->executor()),
      gateway_(gateway),
      options_(options),
      texts_(texts),
      token_(std::move(token)),
      request_(std::move(request)),
      exchange_(std::move(exchange)),
      version_(version),
      metrics_(metrics),
      last_cursor_(request_.cursor()),
      admit_timer_(strand_),
      keepalive_timer_(strand_),
      resume_timer_(strand_) {}

SseStream::~SseStream() = default;

void SseStream::Finish() {
  phase_ = Phase::kDone;
  admit_timer_.cancel();
  keepalive_timer_.cancel();
  resume_timer_.cancel();
  if (counted_) {
    counted_ = false;
    metrics_.sse_streams.Decrement();
  }
}

void SseStream::Begin() {
  std::weak_ptr<SseStream> weak = shared_from_this();
  exchange_->OnClosed([weak] {
    if (auto self = weak.lock()) {
      net::post(self->strand_, [self] { self->Stop(); });
    }
  });
  call_ = gateway_.Watch(CallOptions{token_, std::chrono::milliseconds(0), ""}, request_,
                         shared_from_this());
  admit_timer_.expires_after(options_.admit);
  admit_timer_.async_wait([self = shared_from_this()](boost::system::error_code error) {
    if (!error && self->phase_ == Phase::kAdmitting) {
      self->Admit();
    }
  });
}

void SseStream::Admit() {
  admit_timer_.cancel();
  phase_ = Phase::kStreaming;
  counted_ = true;
  metrics_.sse_streams.Increment();
  Response header(http::status::ok, version_);
  header.set(http::field::content_type, "text/event-stream; charset=utf-8");
  header.set(http::field::cache_control, "no-store");
  // Proxies (nginx) would otherwise hold the stream back in their buffers.
  header.set("X-Accel-Buffering", "no");
  exchange_->StartStream(std::move(header));
  Send(SseRetry(options_.retry));
  ScheduleKeepAlive();
}

void SseStream::OnMessage(const v1::WatchEventsResponse& message) {
  // On gRPC's thread: the JSON is printed here, the rest is the strand's.
  std::string cursor = message.cursor();
  std::string text;
  if (message.has_change()) {
    if (cursor.empty()) {
      cursor = message.change().cursor();
    }
    text = texts_.Get(cursor, message.change());
  } else if (!cursor.empty()) {
    text = SseHeartbeat(cursor);
  }
  net::post(strand_, [self = shared_from_this(), text = std::move(text),
                      cursor = std::move(cursor)]() mutable {
    self->Deliver(std::move(text), std::move(cursor));
  });
}

void SseStream::OnEnd(const grpc::Status& status, const WatchEnd& end) {
  net::post(strand_, [self = shared_from_this(), status, end] { self->Ended(status, end); });
}

void SseStream::Deliver(std::string text, std::string cursor) {
  if (phase_ == Phase::kAdmitting) {
    Admit();
  }
  if (phase_ != Phase::kStreaming) {
    return;
  }
  backoff_ = std::chrono::milliseconds(0);
  if (!cursor.empty()) {
    last_cursor_ = std::move(cursor);
  }
  if (!text.empty()) {
    metrics_.sse_messages.Increment();
    Send(std::move(text));
  }
  ReadNext();
}

void SseStream::ReadNext() {
  if (phase_ != Phase::kStreaming || call_ == nullptr) {
    return;
  }
  // The next message once the browser has taken most of what it was sent: a catch-up of
  // thousands of changes goes at the browser's pace instead of overflowing its buffer (and
  // cutting it off after a few messages, again at every resume). A call that ended meanwhile is
  // not asked: its successor reads its own first message.
  std::weak_ptr<SseStream> weak = weak_from_this();
  std::weak_ptr<WatchCall> call = call_;
  exchange_->WhenReady([weak, call] {
    const std::shared_ptr<SseStream> self = weak.lock();
    const WatchCallPtr current = call.lock();
    if (self != nullptr && current != nullptr && current == self->call_) {
      current->Next();
    }
  });
}

void SseStream::Ended(const grpc::Status& status, const WatchEnd& end) {
  if (phase_ == Phase::kDone) {
    return;
  }
  call_.reset();
  if (phase_ == Phase::kAdmitting) {
    if (!status.ok()) {
      // Refused at once: an ordinary error answer, which EventSource does not retry.
      Finish();
      exchange_->Respond(ErrorResponse(FromGrpc(status, end.retry_after_ms), version_, true));
      return;
    }
    Admit();
  }
  const grpc::StatusCode code = status.error_code();
  if (code == grpc::StatusCode::RESOURCE_EXHAUSTED && !end.cursor.empty()) {
    // The gateway cut the console off for falling behind: resume at once from where it says.
    metrics_.sse_cutoffs.Add({{"reason", "gateway cut-off"}}).Increment();
    last_cursor_ = end.cursor;
    Resume();
    return;
  }
  if (status.ok() || code == grpc::StatusCode::UNAVAILABLE ||
      code == grpc::StatusCode::RESOURCE_EXHAUSTED || code == grpc::StatusCode::CANCELLED) {
    // The gateway went away (restart, shutdown) or limits the rate: resume with back-off.
    metrics_.sse_cutoffs.Add({{"reason", "gateway unavailable"}}).Increment();
    backoff_ =
        backoff_.count() == 0 ? options_.resume_min : std::min(backoff_ * 2, options_.resume_max);
    ResumeAfter(end.retry_after_ms
                    ? std::max(backoff_, std::chrono::milliseconds(*end.retry_after_ms))
                    : backoff_);
    return;
  }
  Send(SseEnd(ErrorJson(FromGrpc(status))));
  Finish();
  exchange_->Close();
}

void SseStream::ResumeAfter(std::chrono::milliseconds delay) {
  resume_timer_.expires_after(delay);
  resume_timer_.async_wait([self = shared_from_this()](boost::system::error_code error) {
    if (!error && self->phase_ == Phase::kStreaming) {
      self->Resume();
    }
  });
}

void SseStream::Resume() {
  request_.set_cursor(last_cursor_);
  call_ = gateway_.Watch(CallOptions{token_, std::chrono::milliseconds(0), ""}, request_,
                         shared_from_this());
}

void SseStream::Send(std::string text) {
  wrote_since_keepalive_ = true;
  if (!exchange_->Send(std::move(text))) {
    Stop();
  }
}

void SseStream::ScheduleKeepAlive() {
  keepalive_timer_.expires_after(options_.keepalive);
  keepalive_timer_.async_wait([self = shared_from_this()](boost::system::error_code error) {
    if (error || self->phase_ != Phase::kStreaming) {
      return;
    }
    if (!self->wrote_since_keepalive_) {
      self->Send(SseKeepAlive());
    }
    self->wrote_since_keepalive_ = false;
    self->ScheduleKeepAlive();
  });
}

void SseStream::Stop() {
  if (phase_ == Phase::kDone) {
    return;
  }
  Finish();
  if (call_ != nullptr) {
    call_->Cancel();
    call_.reset();
  }
}

}  // namespace grid::console
