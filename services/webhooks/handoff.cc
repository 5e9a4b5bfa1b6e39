#include "services/webhooks/handoff.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "absl/strings/match.h"
#include "common/store/keys.h"
#include "services/webhooks/webhook_keys.h"

namespace grid::webhooks {

Handoff::Handoff(boost::asio::io_context& io, redis::Client& blocking, redis::Client& commands,
                 const topology::Topology& topology, const Clock& clock,
                 const redis::Script& script, Options options, CurrentReceivers receivers,
                 Queued queued, Refused refused)
    : io_(io),
      blocking_(blocking),
      commands_(commands),
      topology_(topology),
      clock_(clock),
      script_(script),
      options_(std::move(options)),
      receivers_(std::move(receivers)),
      queued_(std::move(queued)),
      refused_(std::move(refused)),
      timer_(io) {}

void Handoff::Start() {
  boost::asio::post(io_, [self = shared_from_this()] { self->CreateGroups(0); });
}

void Handoff::Stop() {
  boost::asio::post(io_, [self = shared_from_this()] {
    self->stopped_ = true;
    self->timer_.cancel();
  });
}

void Handoff::RetryLater() {
  timer_.expires_after(options_.retry_delay);
  timer_.async_wait([self = shared_from_this()](boost::system::error_code) {
    if (!self->stopped_) {
      self->CreateGroups(0);
    }
  });
}

void Handoff::CreateGroups(size_t index) {
  if (stopped_) {
    return;
  }
  if (index == options_.streams.size()) {
    return Read(/*pending=*/true);
  }
  commands_.Command(
      {"XGROUP", "CREATE", options_.streams[index], options_.group, options_.group_start,
       "MKSTREAM"},
      [self = shared_from_this(), index](absl::StatusOr<redis::Reply> reply) {
        if (!reply.ok() || (reply->IsError() && !absl::StartsWith(reply->str, "BUSYGROUP"))) {
          spdlog::warn("webhooks: creating the group on {}: {}", self->options_.streams[index],
                       reply.ok() ? reply->DebugString() : reply.status().ToString());
          return self->RetryLater();
        }
        self->CreateGroups(index + 1);
      });
}

void Handoff::Read(bool pending) {
  if (stopped_) {
    return;
  }
  std::vector<std::string> argv = {"XREADGROUP",      "GROUP", options_.group,
                                   options_.consumer, "COUNT", std::to_string(options_.batch)};
  if (!pending) {
    argv.insert(argv.end(), {"BLOCK", std::to_string(options_.block.count())});
  }
  argv.push_back("STREAMS");
  argv.insert(argv.end(), options_.streams.begin(), options_.streams.end());
  for (size_t i = 0; i < options_.streams.size(); ++i) {
    argv.push_back(pending ? "0" : ">");
  }
  redis::Client& client = pending ? commands_ : blocking_;
  client.Command(std::move(argv), options_.block + std::chrono::seconds(5),
                 [self = shared_from_this(), pending](absl::StatusOr<redis::Reply> reply) {
                   self->OnRead(pending, std::move(reply));
                 });
}

void Handoff::OnRead(bool pending, absl::StatusOr<redis::Reply> reply) {
  if (stopped_) {
    return;
  }
  if (!reply.ok() || reply->IsError()) {
    spdlog::warn("webhooks: reading the live streams: {}",
                 reply.ok() ? reply->DebugString() : reply.status().ToString());
    if (reply.ok() && absl::StartsWith(reply->str, "NOGROUP")) {
      // The stream was deleted with its group (a FLUSHALL in tests): create them again.
      return RetryLater();
    }
    timer_.expires_after(options_.retry_delay);
    timer_.async_wait(
        [self = shared_from_this()](boost::system::error_code) { self->Read(/*pending=*/true); });
    return;
  }
  auto entries = std::make_shared<std::vector<store::StreamEntry>>(store::ParseStreamReply(*reply));
  if (entries->empty()) {
    // Pending ones all handed over: new ones next. A blocking read that timed out: again.
    return Read(/*pending=*/false);
  }
  HandOver(std::move(entries), 0, pending);
}

void Handoff::HandOver(std::shared_ptr<std::vector<store::StreamEntry>> entries, size_t index,
                       bool pending) {
  if (stopped_) {
    return;
  }
  if (index == entries->size()) {
    // After a pending batch, read pending again until none is left.
    return Read(pending);
  }
  const store::StreamEntry& entry = (*entries)[index];
  const std::string subdistrict(store::SubdistrictOfKey(entry.stream));
  v1::EventChange change;
  const std::string& payload = entry.Field("c");
  std::vector<std::string> names;
  if (!payload.empty() && change.ParseFromString(payload) && !change.event_id().empty()) {
    names = receivers_()->Matching(change, topology_);
  } else if (!entry.fields.empty()) {
    spdlog::error("webhooks: {} {} holds no change; acknowledged without delivery", entry.stream,
                  entry.id);
  }
  std::vector<std::string> keys = {entry.stream, store::EventKey(subdistrict, change.event_id())};
  for (const std::string& name : names) {
    keys.push_back(QueueKey(subdistrict, name));
  }
  for (const std::string& name : names) {
    keys.push_back(DeadLetterKey(subdistrict, name));
  }
  std::vector<std::string> args = {options_.group,
                                   entry.id,
                                   payload,
                                   std::to_string(names.size()),
                                   std::to_string(options_.max_queue),
                                   std::to_string(clock_.Now()),
                                   std::to_string(options_.dead_letter_max_length)};
  commands_.Eval(
      script_, std::move(keys), std::move(args),
      [self = shared_from_this(), entries, index, pending, subdistrict,
       names = std::move(names)](absl::StatusOr<redis::Reply> reply) {
        if (self->stopped_) {
          return;
        }
        if (!reply.ok() || !reply->IsArray() || reply->elements.empty()) {
          spdlog::warn("webhooks: handing {} {} over: {}; again from the pending ones",
                       (*entries)[index].stream, (*entries)[index].id,
                       reply.ok() ? reply->DebugString() : reply.status().ToString());
          self->timer_.expires_after(self->options_.retry_delay);
          self->timer_.async_wait([self](boost::system::error_code) {
            if (!self->stopped_) {
              self->Read(/*pending=*/true);
            }
          });
          return;
        }
        if (reply->elements[0].integer == 1 && reply->elements.size() == names.size() + 1) {
          for (size_t i = 0; i < names.size(); ++i) {
            if (reply->elements[i + 1].integer == 0) {
              self->queued_(subdistrict, names[i]);
            } else {
              self->refused_(names[i]);
            }
          }
        }
        self->HandOver(entries, index + 1, pending);
      });
}

}  // namespace grid::webhooks
