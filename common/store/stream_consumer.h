// Reads Redis streams through a consumer group: its own pending entries first (after a restart),
// then new ones, and periodically reclaims entries that a dead consumer left pending (XAUTOCLAIM).
// At-least-once delivery; handlers are idempotent, which gives exactly-once effects.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/redis/client.h"

namespace grid::store {

struct StreamEntry {
  std::string stream;
  std::string id;
  std::vector<std::pair<std::string, std::string>> fields;

  // The value of a field, or empty.
  const std::string& Field(std::string_view name) const;
};

// What became of an entry.
enum class Outcome {
  // Handled; the consumer acknowledges it.
  kAck,
  // Handled and already acknowledged by the handler (e.g. inside its own atomic step).
  kAcked,
  // Not handled (Redis unavailable...); it stays pending and is read again later.
  kRetry,
};

// Threading: everything runs on the io_context's thread (the one that runs the Redis clients'
// callbacks); Start and Stop post to it.
class StreamConsumer final {
 public:
  using Handler = std::function<void(const StreamEntry&, std::function<void(Outcome)> done)>;

  struct Options {
    std::vector<std::string> streams;
    std::string group;
    std::string consumer;
    // Where a new group starts: "0" for the whole stream, "$" for new entries only.
    std::string group_start = "0";
    int batch = 100;
    std::chrono::milliseconds block{1000};
    std::chrono::milliseconds retry_delay{500};
    std::chrono::milliseconds reclaim_interval{5000};
    std::chrono::milliseconds reclaim_min_idle{30000};
  };

  // `blocking` is used for XREADGROUP BLOCK only, `commands` for everything else; both, and
  // the io_context, must outlive the consumer, which must be stopped (and the clients stopped,
  // so that no callback is left) before it is destroyed.
  StreamConsumer(boost::asio::io_context& io, redis::Client& blocking, redis::Client& commands,
                 Options options, Handler handler);
  ~StreamConsumer();

  void Start();
  // No further reads after the ones in flight.
  void Stop();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// Parses the entries of an XREADGROUP/XRANGE-shaped reply ([[stream, [[id, [f, v, ...]], ...]],
// ...]); entries deleted since they were delivered come with no fields.
std::vector<StreamEntry> ParseStreamReply(const redis::Reply& reply);

}  // namespace grid::store
