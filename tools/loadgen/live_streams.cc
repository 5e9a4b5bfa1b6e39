#include "tools/loadgen/live_streams.h"

#include "absl/strings/str_cat.h"

namespace grid::loadgen {
namespace {

constexpr std::chrono::milliseconds kReadTimeout{10000};
constexpr int kPage = 5000;

absl::StatusOr<redis::Reply> Run(redis::Client& client, std::vector<std::string> argv) {
  auto reply = redis::CommandSync(client, std::move(argv), kReadTimeout);
  if (reply.ok() && reply->IsError()) {
    return reply->ErrorStatus();
  }
  return reply;
}

}  // namespace

LiveStreamReader::LiveStreamReader(redis::Client& client, std::vector<std::string> streams)
    : client_(client), streams_(std::move(streams)), cursors_(streams_.size(), "0-0") {}

absl::Status LiveStreamReader::SkipToEnd() {
  for (std::size_t i = 0; i < streams_.size(); ++i) {
    auto last = Run(client_, {"XREVRANGE", streams_[i], "+", "-", "COUNT", "1"});
    if (!last.ok()) {
      return last.status();
    }
    if (!last->elements.empty() && !last->elements[0].elements.empty()) {
      cursors_[i] = last->elements[0].elements[0].str;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int> LiveStreamReader::ReadNew(
    const std::function<void(const v1::EventChange&)>& sink) {
  int read = 0;
  for (std::size_t i = 0; i < streams_.size(); ++i) {
    while (true) {
      auto page = Run(
          client_, {"XRANGE", streams_[i], "(" + cursors_[i], "+", "COUNT", std::to_string(kPage)});
      if (!page.ok()) {
        return page.status();
      }
      // [[id, [field, value, ...]], ...]
      for (const redis::Reply& entry : page->elements) {
        if (entry.elements.size() != 2) {
          return absl::DataLossError(absl::StrCat(streams_[i], ": malformed entry"));
        }
        cursors_[i] = entry.elements[0].str;
        ++read;
        const std::vector<redis::Reply>& fields = entry.elements[1].elements;
        for (std::size_t f = 0; f + 1 < fields.size(); f += 2) {
          if (fields[f].str != "c") {
            continue;
          }
          v1::EventChange change;
          if (!change.ParseFromString(fields[f + 1].str)) {
            return absl::DataLossError(
                absl::StrCat(streams_[i], " entry ", cursors_[i], ": not an EventChange"));
          }
          sink(change);
        }
      }
      if (page->elements.size() < static_cast<std::size_t>(kPage)) {
        break;
      }
    }
  }
  return read;
}

EscalationTally::EscalationTally(absl::flat_hash_map<std::string, Millis> due)
    : due_(std::move(due)) {}

void EscalationTally::Add(const v1::EventChange& change) {
  if (change.kind() != v1::CHANGE_KIND_ESCALATED) {
    return;
  }
  if (!due_.contains(change.event_id())) {
    ++unexpected_;
    return;
  }
  if (++times_[change.event_id()] == 2) {
    ++repeated_;
  }
  first_.try_emplace(change.event_id(), FromTimestamp(change.at()));
}

std::vector<double> EscalationTally::LatenessMs(
    const std::function<bool(const std::string& event_id)>& include) const {
  std::vector<double> lateness;
  lateness.reserve(first_.size());
  for (const auto& [id, at] : first_) {
    if (include && !include(id)) {
      continue;
    }
    lateness.push_back(static_cast<double>(at - due_.at(id)));
  }
  return lateness;
}

}  // namespace grid::loadgen
