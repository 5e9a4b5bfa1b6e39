#include "common/store/stream_consumer.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

namespace grid::store {
namespace {

std::vector<std::pair<std::string, std::string>> ParseFields(const redis::Reply& fields) {
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t i = 0; i + 1 < fields.elements.size(); i += 2) {
    out.emplace_back(fields.elements[i].str, fields.elements[i + 1].str);
  }
  return out;
}

void ParseEntries(const std::string& stream, const redis::Reply& entries,
                  std::vector<StreamEntry>& out) {
  for (const redis::Reply& entry : entries.elements) {
    if (entry.elements.size() < 2) {
      continue;
    }
    out.push_back(StreamEntry{stream, entry.elements[0].str, ParseFields(entry.elements[1])});
  }
}

}  // namespace

const std::string& StreamEntry::Field(std::string_view name) const {
  static const std::string kEmpty;
  for (const auto& [key, value] : fields) {
    if (key == name) {
      return value;
    }
  }
  return kEmpty;
}

std::vector<StreamEntry> ParseStreamReply(const redis::Reply& reply) {
  std::vector<StreamEntry> out;
  for (const redis::Reply& stream : reply.elements) {
    if (stream.elements.size() == 2) {
      ParseEntries(stream.elements[0].str, stream.elements[1], out);
    }
  }
  return out;
}

// All state lives here and is touched only on the io thread; callbacks hold a shared_ptr, so a
// late completion finds live memory and sees `stopped`.
struct StreamConsumer::State : std::enable_shared_from_this<State> {
  State(boost::asio::io_context& io, redis::Client& blocking, redis::Client& commands,
        Options options, Handler handler)
      : io(io),
        blocking(blocking),
        commands(commands),
        options(std::move(options)),
        handler(std::move(handler)),
        retry_timer(io),
        reclaim_timer(io) {}

  boost::asio::io_context& io;
  redis::Client& blocking;
  redis::Client& commands;
  Options options;
  Handler handler;
  boost::asio::steady_timer retry_timer;
  boost::asio::steady_timer reclaim_timer;
  bool stopped = false;

  void CreateGroups(size_t i) {
    if (stopped) {
      return;
    }
    if (i == options.streams.size()) {
      ReadPending(0, "0");
      return;
    }
    commands.Command(
        {"XGROUP", "CREATE", options.streams[i], options.group, options.group_start, "MKSTREAM"},
        [self = shared_from_this(), i](absl::StatusOr<redis::Reply> reply) {
          if (!reply.ok()) {
            self->After(self->options.retry_delay, [self] { self->CreateGroups(0); });
            return;
          }
          // BUSYGROUP: the group exists, as it does after the first start.
          if (reply->IsError() && reply->ErrorCode() != "BUSYGROUP") {
            spdlog::error("XGROUP CREATE {}: {}", self->options.streams[i], reply->str);
          }
          self->CreateGroups(i + 1);
        });
  }

  // Our own pending entries, stream by stream, from `after`: what a previous run of this
  // consumer read but did not acknowledge.
  void ReadPending(size_t i, std::string after) {
    if (stopped) {
      return;
    }
    if (i == options.streams.size()) {
      ReadNew();
      return;
    }
    commands.Command(
        {"XREADGROUP", "GROUP", options.group, options.consumer, "COUNT",
         std::to_string(options.batch), "STREAMS", options.streams[i], after},
        [self = shared_from_this(), i](absl::StatusOr<redis::Reply> reply) {
          if (!reply.ok() || reply->IsError()) {
            self->OnReadFailure(reply.ok() ? reply->str : std::string(reply.status().message()));
            return;
          }
          auto entries = ParseStreamReply(*reply);
          if (entries.empty()) {
            self->ReadPending(i + 1, "0");
            return;
          }
          const std::string last = entries.back().id;
          self->HandleAll(std::move(entries), [self, i, last](bool all_done) {
            if (all_done) {
              self->ReadPending(i, last);
            } else {
              self->After(self->options.retry_delay, [self] { self->ReadPending(0, "0"); });
            }
          });
        });
  }

  void ReadNew() {
    if (stopped) {
      return;
    }
    std::vector<std::string> argv = {"XREADGROUP",  "GROUP",
                                     options.group, options.consumer,
                                     "COUNT",       std::to_string(options.batch),
                                     "BLOCK",       std::to_string(options.block.count()),
                                     "STREAMS"};
    for (const auto& stream : options.streams) {
      argv.push_back(stream);
    }
    for (size_t i = 0; i < options.streams.size(); ++i) {
      argv.push_back(">");
    }
    blocking.Command(
        std::move(argv), options.block + std::chrono::seconds(2),
        [self = shared_from_this()](absl::StatusOr<redis::Reply> reply) {
          if (!reply.ok() || reply->IsError()) {
            self->OnReadFailure(reply.ok() ? reply->str : std::string(reply.status().message()));
            return;
          }
          auto entries = ParseStreamReply(*reply);
          if (entries.empty()) {
            self->ReadNew();
            return;
          }
          self->HandleAll(std::move(entries), [self](bool all_done) {
            if (all_done) {
              self->ReadNew();
            } else {
              self->After(self->options.retry_delay, [self] { self->ReadPending(0, "0"); });
            }
          });
        });
  }

  void OnReadFailure(const std::string& why) {
    spdlog::warn("reading {} as {}/{}: {}; retrying", options.streams.front(), options.group,
                 options.consumer, why);
    // NOGROUP after Redis lost its data: start over, creating the groups again.
    After(options.retry_delay, [self = shared_from_this()] { self->CreateGroups(0); });
  }

  // Hands every entry to the handler at once (they are independent events) and calls `then`
  // with true once all are acknowledged, false if any must be retried.
  void HandleAll(std::vector<StreamEntry> entries, std::function<void(bool)> then) {
    struct Batch {
      size_t left;
      bool all_done = true;
      std::function<void(bool)> then;
    };
    auto batch = std::make_shared<Batch>(Batch{entries.size(), true, std::move(then)});
    for (auto& entry : entries) {
      Handle(entry, [batch](bool done) {
        batch->all_done = batch->all_done && done;
        if (--batch->left == 0) {
          batch->then(batch->all_done);
        }
      });
    }
  }

  void Handle(const StreamEntry& entry, std::function<void(bool)> done) {
    auto self = shared_from_this();
    handler(entry, [self, stream = entry.stream, id = entry.id,
                    done = std::move(done)](Outcome outcome) mutable {
      switch (outcome) {
        case Outcome::kAcked:
          done(true);
          return;
        case Outcome::kRetry:
          done(false);
          return;
        case Outcome::kAck:
          self->commands.Command({"XACK", stream, self->options.group, id},
                                 [done = std::move(done)](absl::StatusOr<redis::Reply> reply) {
                                   done(reply.ok() && !reply->IsError());
                                 });
          return;
      }
    });
  }

  void ScheduleReclaim() {
    reclaim_timer.expires_after(options.reclaim_interval);
    reclaim_timer.async_wait([self = shared_from_this()](boost::system::error_code error) {
      if (error || self->stopped) {
        return;
      }
      for (const auto& stream : self->options.streams) {
        self->Reclaim(stream);
      }
      self->ScheduleReclaim();
    });
  }

  // Takes over entries that another consumer read but has not acknowledged for
  // reclaim_min_idle: that consumer is presumed dead.
  void Reclaim(const std::string& stream) {
    commands.Command(
        {"XAUTOCLAIM", stream, options.group, options.consumer,
         std::to_string(options.reclaim_min_idle.count()), "0-0", "COUNT",
         std::to_string(options.batch)},
        [self = shared_from_this(), stream](absl::StatusOr<redis::Reply> reply) {
          if (!reply.ok() || reply->IsError() || reply->elements.size() < 2 || self->stopped) {
            return;
          }
          std::vector<StreamEntry> entries;
          ParseEntries(stream, reply->elements[1], entries);
          if (!entries.empty()) {
            spdlog::info("reclaimed {} pending entries of {}", entries.size(), stream);
            self->HandleAll(std::move(entries), [](bool) {});
          }
        });
  }

  void After(std::chrono::milliseconds delay, std::function<void()> then) {
    retry_timer.expires_after(delay);
    retry_timer.async_wait(
        [self = shared_from_this(), then = std::move(then)](boost::system::error_code error) {
          if (!error && !self->stopped) {
            then();
          }
        });
  }
};

StreamConsumer::StreamConsumer(boost::asio::io_context& io, redis::Client& blocking,
                               redis::Client& commands, Options options, Handler handler)
    : state_(std::make_shared<State>(io, blocking, commands, std::move(options),
                                     std::move(handler))) {}

StreamConsumer::~StreamConsumer() { Stop(); }

void StreamConsumer::Start() {
  boost::asio::post(state_->io, [state = state_] {
    state->CreateGroups(0);
    state->ScheduleReclaim();
  });
}

void StreamConsumer::Stop() {
  boost::asio::post(state_->io, [state = state_] {
    state->stopped = true;
    state->retry_timer.cancel();
    state->reclaim_timer.cancel();
  });
}

}  // namespace grid::store
