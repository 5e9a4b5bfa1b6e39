#include "common/redis/client.h"

#include <algorithm>
#include <future>
#include <utility>

#include "absl/strings/str_cat.h"

namespace grid::redis {
namespace {

// Beyond the command's own timeout, how long to wait for a client that should have answered
// with DEADLINE_EXCEEDED itself; only a stalled executor takes this long.
constexpr std::chrono::seconds kSyncGrace{1};

// The share of a caller's time kept back for the answer's way home, and its cap.
constexpr int kAnswerShare = 10;
constexpr std::chrono::milliseconds kAnswerMargin{250};
// A deadline further away than this is no deadline.
constexpr std::chrono::hours kFarAway{24};

}  // namespace

void Client::Command(std::vector<std::string> argv, Deadline deadline, ReplyCallback cb) {
  if (deadline == kNoDeadline) {
    Command(std::move(argv), std::move(cb));
    return;
  }
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  Command(std::move(argv), std::max(left, std::chrono::milliseconds(1)), std::move(cb));
}

void Client::Eval(const Script& script, std::vector<std::string> keys,
                  std::vector<std::string> args, Deadline /*deadline*/, ReplyCallback cb) {
  Eval(script, std::move(keys), std::move(args), std::move(cb));
}

Deadline DeadlineBefore(std::chrono::system_clock::time_point caller) {
  const auto wall_now = std::chrono::system_clock::now();
  const auto steady_now = std::chrono::steady_clock::now();
  if (caller == std::chrono::system_clock::time_point::max() || caller - wall_now > kFarAway) {
    return kNoDeadline;
  }
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(caller - wall_now);
  if (left <= std::chrono::milliseconds::zero()) {
    return steady_now;
  }
  return steady_now + left - std::min(left / kAnswerShare, kAnswerMargin);
}

absl::StatusOr<Reply> CommandSync(Client& client, std::vector<std::string> argv,
                                  std::chrono::milliseconds timeout) {
  const std::string name = argv.empty() ? std::string() : argv.front();
  // Shared with the callback: if we give up waiting, a late callback still has a promise to fill.
  auto promise = std::make_shared<std::promise<absl::StatusOr<Reply>>>();
  std::future<absl::StatusOr<Reply>> future = promise->get_future();
  client.Command(std::move(argv), timeout, [promise](absl::StatusOr<Reply> result) {
    promise->set_value(std::move(result));
  });
  if (future.wait_for(timeout + kSyncGrace) != std::future_status::ready) {
    return absl::DeadlineExceededError(
        absl::StrCat("redis ", name, ": no callback within ", (timeout + kSyncGrace).count(),
                     " ms; is the client's io_context running (and not on this thread)?"));
  }
  return future.get();
}

}  // namespace grid::redis
