#include "common/redis/client.h"

#include <future>
#include <utility>

#include "absl/strings/str_cat.h"

namespace grid::redis {
namespace {

// Beyond the command's own timeout, how long to wait for a client that should have answered
// with DEADLINE_EXCEEDED itself; only a stalled executor takes this long.
constexpr std::chrono::seconds kSyncGrace{1};

}  // namespace

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
