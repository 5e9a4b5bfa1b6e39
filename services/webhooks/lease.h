// The webhooks service's lease in Redis: one process at a time hands the live streams over and
// delivers (a second would take entries of the same subdistrict concurrently, handoff.h), so a
// second replica waits on standby and takes over when the first is gone.
//
// The lease is one key (`wh:lease`, any slot of a cluster) holding the holder's token, with a
// time to live. A process tries to take it every retry_every (SET NX PX inside
// webhook_lease.lua); the holder extends it every renew_every with the same script, which
// extends only the caller's own lease (compare and extend). The holder steps down (on_lost) when
// the script says another holds it, or when the lease it last extended may have run out
// (ttl after the extension was sent) with no answer since: Redis is out of reach, and a standby
// that reaches it may hold the lease by then. Stop gives the lease up (webhook_lease_release.lua)
// so that a standby takes over at once after a clean stop; after a crash (kill -9) it takes over
// when the ttl has run out, within ttl + retry_every.
//
// What it does not fence: a holder that stalls longer than the ttl (SIGSTOP, a frozen VM) and
// then goes on may hand over or deliver a little before its own expiry timer fires and it steps
// down. Deliveries are at least once anyway (receivers drop repeats by the idempotency key); a
// handoff step is acknowledged at most once (webhook_handoff.lua), so nothing is queued twice,
// though two changes of an event could reach its queue out of order in that window.
//
// Threading: everything runs on the io_context's thread; Start and Stop post to it, and
// on_acquired and on_lost are called there.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "common/redis/client.h"
#include "common/redis/script.h"

namespace grid::webhooks {

// The lease's key.
inline constexpr char kLeaseKey[] = "wh:lease";

class Lease final : public std::enable_shared_from_this<Lease> {
 public:
  struct Options {
    std::string key = kLeaseKey;
    // This process's token: unique per process (host, pid and a random part; see NewToken).
    std::string token;
    std::chrono::milliseconds ttl{6000};
    std::chrono::milliseconds renew_every{2000};
    std::chrono::milliseconds retry_every{1000};
  };
  using Callback = std::function<void()>;

  // Borrows the io_context and the client; they outlive the lease (or Stop is called and the
  // io_context stopped first).
  Lease(boost::asio::io_context& io, redis::Client& redis, Options options, Callback on_acquired,
        Callback on_lost);

  void Start();
  // Steps down (on_lost when held) and gives the lease up; `done` is called once the release got
  // its answer (or failed), on the io thread.
  void Stop(std::function<void()> done);
  // Whether this process holds the lease now. On the io thread.
  bool held() const { return held_; }
  const std::string& token() const { return options_.token; }

  // "<host>-<pid>-<8 random hex digits>".
  static std::string NewToken();

 private:
  void Try();
  void OnAnswer(std::chrono::steady_clock::time_point sent, absl::StatusOr<redis::Reply> reply);
  void StepDown(const std::string& why);
  void After(std::chrono::milliseconds wait);

  boost::asio::io_context& io_;
  redis::Client& redis_;
  Options options_;
  Callback on_acquired_;
  Callback on_lost_;
  const redis::Script take_;
  const redis::Script release_;
  boost::asio::steady_timer next_;
  // Fires when the lease last extended may have run out.
  boost::asio::steady_timer expiry_;
  bool held_ = false;
  bool stopped_ = false;
  // Logged once per standby spell, not at every try.
  bool said_standby_ = false;
};

}  // namespace grid::webhooks
