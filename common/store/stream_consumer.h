// Reads Redis streams through a consumer group, at least once, and never lets one entry stop the
// ones behind it:
//   - new entries are read (XREADGROUP >) and handed to the handler, a batch at a time;
//   - an entry the handler could not handle (Outcome::kRetry) stays pending and is handled again
//     later, with back-off (retry_delay doubling per delivery up to retry_max_delay), while new
//     entries keep flowing;
//   - entries another consumer left pending for reclaim_min_idle are taken over (XCLAIM): that
//     consumer is presumed dead;
//   - an entry that cannot be handled at all (Outcome::kDeadLetter), or one delivered
//     max_deliveries times without success (XPENDING's delivery count), moves to its subdistrict's
//     dead-letter stream with the reason, and is acknowledged (dead_letter.lua, one atomic step);
//   - consumers of the group that hold nothing and were idle for forget_idle_consumers_after are
//     deleted (a crash leaves its consumer behind);
//   - Drain() stops reading, finishes what is in flight and deletes this consumer from the group
//     when it holds nothing; what it could not finish stays pending for another consumer to take.
// Handlers are idempotent, which gives exactly-once effects.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
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
  // Not handled for a reason that may pass (Redis unavailable, a version race...): it stays
  // pending and is handled again later; after max_deliveries it is dead-lettered.
  kRetry,
  // Cannot ever be handled (not an entry of ours, a corrupt record): dead-lettered at once.
  kDeadLetter,
};

// The handler's answer: an outcome and, for kRetry and kDeadLetter, why (one line, for the log
// and the dead letter).
struct Verdict {
  // Implicit, so that a handler may answer a bare Outcome.
  Verdict(Outcome outcome) : outcome(outcome) {}  // NOLINT(google-explicit-constructor)
  static Verdict Retry(std::string reason) { return Verdict(Outcome::kRetry, std::move(reason)); }
  static Verdict DeadLetter(std::string reason) {
    return Verdict(Outcome::kDeadLetter, std::move(reason));
  }

  Outcome outcome;
  std::string reason;

 private:
  Verdict(Outcome outcome, std::string reason) : outcome(outcome), reason(std::move(reason)) {}
};

// The reason classes of dead letters (the label `reason_class` of grid_dead_letters_total).
inline constexpr std::string_view kPermanent = "permanent";
inline constexpr std::string_view kExhausted = "exhausted";

// Threading: everything runs on the io_context's thread (the one that runs the Redis clients'
// callbacks); Start, Stop and Drain post to it. The handler is called on that thread and may
// answer from any thread the Redis client calls back on (the same one).
class StreamConsumer final {
 public:
  using Handler = std::function<void(const StreamEntry&, std::function<void(Verdict)> done)>;

  struct Options {
    std::vector<std::string> streams;
    std::string group;
    std::string consumer;
    // Where a new group starts: "0" for the whole stream, "$" for new entries only.
    std::string group_start = "0";
    int batch = 100;
    std::chrono::milliseconds block{1000};
    // After a failed read, and the first wait before an entry that failed is handled again;
    // doubled per delivery up to retry_max_delay.
    std::chrono::milliseconds retry_delay{500};
    std::chrono::milliseconds retry_max_delay{30000};
    // Deliveries after which an entry that keeps failing is dead-lettered (class "exhausted").
    int max_deliveries = 8;
    // How often to look for entries other consumers left pending, and how long they must have
    // been left.
    std::chrono::milliseconds reclaim_interval{5000};
    std::chrono::milliseconds reclaim_min_idle{30000};
    // Consumers of the group that hold no entries and were idle this long are deleted (0: never).
    std::chrono::milliseconds forget_idle_consumers_after{std::chrono::hours(1)};
    // The dead-letter streams' approximate cap, per subdistrict.
    int dead_letter_max_length = 10000;
    // How long Drain waits for the entries in flight.
    std::chrono::milliseconds drain_timeout{5000};
    // Called (on the io thread) for every entry moved to a dead-letter stream.
    std::function<void(const std::string& stream, std::string_view reason_class)> on_dead_letter;
  };

  // `blocking` is used for XREADGROUP BLOCK only, `commands` for everything else; both, and
  // the io_context, must outlive the consumer, which must be stopped (and the clients stopped,
  // so that no callback is left) before it is destroyed.
  StreamConsumer(boost::asio::io_context& io, redis::Client& blocking, redis::Client& commands,
                 Options options, Handler handler);
  ~StreamConsumer();

  void Start();
  // No further reads or retries after the ones in flight; the consumer stays in the group.
  void Stop();
  // For a clean exit: stops reading, waits (up to drain_timeout) for the entries in flight to be
  // handled, then deletes this consumer from the group on every stream where it holds no entry,
  // and calls `done` (on the io thread). Entries it holds stay pending: another consumer takes
  // them over after reclaim_min_idle.
  void Drain(std::function<void()> done);

  const Options& options() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// Parses the entries of an XREADGROUP/XRANGE-shaped reply ([[stream, [[id, [f, v, ...]], ...]],
// ...]); entries deleted since they were delivered come with no fields.
std::vector<StreamEntry> ParseStreamReply(const redis::Reply& reply);

// The wait before the next delivery of an entry that failed `deliveries` times: `first`, doubled
// per further delivery, at most `most`.
std::chrono::milliseconds RetryBackoff(long long deliveries, std::chrono::milliseconds first,
                                       std::chrono::milliseconds most);

// One entry of an extended XPENDING reply.
struct PendingEntry {
  std::string id;
  std::string consumer;
  long long idle_ms = 0;
  long long deliveries = 0;
};
std::vector<PendingEntry> ParsePending(const redis::Reply& reply);

}  // namespace grid::store
