// Closed events leave the hot keys after a retention period: every interval, each subdistrict's
// events filed before (now - retention) are looked at, oldest first, and those in a final state
// (CLOSED, VOIDED, CANCELLED) since before then lose their record, their history and their place
// in the time index (expire_event.lua, one atomic step, only at the version read). GetEvent then
// answers NOT_FOUND; their figures stay in the metrics service's daily rollups, and their changes
// in the live stream for its window. Open events stay, however old.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>

#include "common/clock/clock.h"
#include "common/redis/client.h"
#include "common/topology/topology.h"
#include "grid/v1/event.pb.h"

namespace grid::routing {

// Whether an event may leave the hot keys at `now`: final, and final since before
// now - retention (closed_at; else updated_at, else created_at, for events filed final).
bool Expired(const v1::Event& event, Millis now, std::chrono::milliseconds retention);

// Threading: runs on the io_context's thread; Start and Stop post to it. Stop before the client
// stops.
class ClosedEventSweeper final {
 public:
  struct Options {
    std::chrono::milliseconds retention{std::chrono::hours(24 * 90)};
    std::chrono::milliseconds interval{std::chrono::minutes(10)};
    // Events looked at per read.
    int page = 200;
  };

  // Borrows everything; all must outlive the sweeper's last callback.
  ClosedEventSweeper(boost::asio::io_context& io, redis::Client& redis,
                     const topology::Topology& topology, const Clock& clock,
                     prometheus::Registry& registry, Options options);
  ~ClosedEventSweeper();

  void Start();
  void Stop();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace grid::routing
