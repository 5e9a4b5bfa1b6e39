#include "services/webhooks/lease.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <random>

#include "absl/strings/str_cat.h"

namespace grid::store {
extern const std::string_view kWebhookLeaseLua;
extern const std::string_view kWebhookLeaseReleaseLua;
}  // namespace grid::store

namespace grid::webhooks {

Lease::Lease(boost::asio::io_context& io, redis::Client& redis, Options options,
             Callback on_acquired, Callback on_lost)
    : io_(io),
      redis_(redis),
      options_(std::move(options)),
      on_acquired_(std::move(on_acquired)),
      on_lost_(std::move(on_lost)),
      take_(redis::Script::FromSource(std::string(store::kWebhookLeaseLua))),
      release_(redis::Script::FromSource(std::string(store::kWebhookLeaseReleaseLua))),
      next_(io),
      expiry_(io) {}

std::string Lease::NewToken() {
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  std::random_device random;
  return absl::StrCat(host, "-", getpid(), "-", absl::Hex(random(), absl::kZeroPad8));
}

void Lease::Start() {
  boost::asio::post(io_, [self = shared_from_this()] { self->Try(); });
}

void Lease::Stop(std::function<void()> done) {
  boost::asio::post(io_, [self = shared_from_this(), done = std::move(done)] {
    self->stopped_ = true;
    self->next_.cancel();
    self->expiry_.cancel();
    if (self->held_) {
      self->held_ = false;
      self->on_lost_();
    }
    self->redis_.Eval(self->release_, {self->options_.key}, {self->options_.token},
                      [self, done](absl::StatusOr<redis::Reply> reply) {
                        if (reply.ok() && reply->IsInteger() && reply->integer == 1) {
                          spdlog::info("webhooks: lease given up");
                        }
                        done();
                      });
  });
}

void Lease::After(std::chrono::milliseconds wait) {
  next_.expires_after(wait);
  next_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec && !self->stopped_) {
      self->Try();
    }
  });
}

void Lease::Try() {
  if (stopped_) {
    return;
  }
  const auto sent = std::chrono::steady_clock::now();
  redis_.Eval(take_, {options_.key}, {options_.token, std::to_string(options_.ttl.count())},
              [self = shared_from_this(), sent](absl::StatusOr<redis::Reply> reply) {
                self->OnAnswer(sent, std::move(reply));
              });
}

void Lease::OnAnswer(std::chrono::steady_clock::time_point sent,
                     absl::StatusOr<redis::Reply> reply) {
  if (stopped_) {
    return;
  }
  if (!reply.ok() || !reply->IsInteger()) {
    // Unknown: the lease may or may not have been extended. The expiry timer decides.
    spdlog::warn("webhooks: lease: {}",
                 reply.ok() ? reply->DebugString() : reply.status().ToString());
    return After(options_.retry_every);
  }
  if (reply->integer == 0) {
    if (held_) {
      StepDown("another process holds the lease");
    } else if (!said_standby_) {
      said_standby_ = true;
      spdlog::info("webhooks: standby: another replica holds the lease ({}); trying every {} ms",
                   options_.key, options_.retry_every.count());
    }
    return After(options_.retry_every);
  }
  // Held until ttl after the call was sent, at the earliest.
  expiry_.expires_at(sent + options_.ttl);
  expiry_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec && !self->stopped_ && self->held_) {
      self->StepDown("the lease could not be extended before it ran out");
      self->After(self->options_.retry_every);
    }
  });
  if (!held_) {
    held_ = true;
    said_standby_ = false;
    spdlog::info("webhooks: lease {} taken ({}); delivering", options_.key, options_.token);
    on_acquired_();
  }
  After(options_.renew_every);
}

void Lease::StepDown(const std::string& why) {
  held_ = false;
  expiry_.cancel();
  spdlog::warn("webhooks: lease lost ({}); delivery stopped, standing by", why);
  on_lost_();
}

}  // namespace grid::webhooks
