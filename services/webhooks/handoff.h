// Hands the live streams' entries over to the webhook receivers' queues, in order. It reads the
// streams in the webhooks consumer group as one fixed consumer, and hands each entry over with
// one Lua step that queues it for the receivers it matches and acknowledges it
// (webhook_handoff.lua), one entry at a time, waiting for each step's answer before the next.
// So each queue gets the live stream's order, and every entry exactly once:
//   - at start, and after any failure, it first reads the consumer's own pending entries (those
//     read before a crash or a failure and not handed over: all of them precede every entry not
//     yet read), then new ones;
//   - a failed step stops the batch: the entries behind it stay pending and come again, in order.
// The common StreamConsumer is not used: it handles a batch's entries concurrently and retries a
// failed one later, behind newer ones, which would reorder an event's changes.
//
// One consumer of the group must run at a time (a second would take entries of the same
// subdistrict concurrently): only the replica that holds the webhooks lease runs a handoff
// (lease.h, webhooks.h).
//
// Threading: everything runs on the io_context's thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/clock/clock.h"
#include "common/redis/client.h"
#include "common/redis/script.h"
#include "common/store/stream_consumer.h"
#include "common/topology/topology.h"
#include "services/webhooks/receivers.h"

namespace grid::webhooks {

class Handoff final : public std::enable_shared_from_this<Handoff> {
 public:
  struct Options {
    // Live streams of one read group (all on one Redis; one subdistrict's on a cluster).
    std::vector<std::string> streams;
    std::string group;
    std::string consumer;
    // Where a new group starts: "$" (changes from the first start on) or "0".
    std::string group_start = "$";
    int batch = 100;
    std::chrono::milliseconds block{1000};
    std::chrono::milliseconds retry_delay{500};
    // The most entries a receiver's queue of one subdistrict holds.
    int max_queue = 100000;
    int dead_letter_max_length = 10000;
  };
  // The configuration in force for the next entry.
  using CurrentReceivers = std::function<ReceiversPtr()>;
  // A change was queued for (subdistrict, receiver).
  using Queued = std::function<void(const std::string& subdistrict, const std::string& receiver)>;
  // A change was refused (sent to the dead letters) because the receiver's queue was full.
  using Refused = std::function<void(const std::string& receiver)>;

  // `blocking` serves XREADGROUP BLOCK only; both clients, the topology, the script and the
  // io_context outlive the handoff (or it is stopped and the io_context stopped first).
  Handoff(boost::asio::io_context& io, redis::Client& blocking, redis::Client& commands,
          const topology::Topology& topology, const Clock& clock, const redis::Script& script,
          Options options, CurrentReceivers receivers, Queued queued, Refused refused);

  void Start();
  // No further reads or steps after the one in flight.
  void Stop();

 private:
  void CreateGroups(size_t index);
  void Read(bool pending);
  void OnRead(bool pending, absl::StatusOr<redis::Reply> reply);
  void HandOver(std::shared_ptr<std::vector<store::StreamEntry>> entries, size_t index,
                bool pending);
  void RetryLater();

  boost::asio::io_context& io_;
  redis::Client& blocking_;
  redis::Client& commands_;
  const topology::Topology& topology_;
  const Clock& clock_;
  const redis::Script& script_;
  Options options_;
  CurrentReceivers receivers_;
  Queued queued_;
  Refused refused_;
  boost::asio::steady_timer timer_;
  bool stopped_ = false;
};

}  // namespace grid::webhooks
