#include "services/gateway/watcher.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace grid::gateway {
namespace {

grpc::ByteBuffer Serialize(const v1::WatchEventsResponse& response) {
  const std::string bytes = response.SerializeAsString();
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

}  // namespace

WatchItemPtr MakeChangeItem(v1::EventChange change, std::size_t subdistrict, StreamId id,
                            StreamPositions positions,
                            const std::vector<std::string>& subdistricts) {
  auto item = std::make_shared<WatchItem>();
  item->cursor = EncodeCursor(subdistricts, positions);
  change.set_cursor(item->cursor);
  v1::WatchEventsResponse response;
  *response.mutable_change() = change;
  response.set_cursor(item->cursor);
  item->bytes = Serialize(response);
  item->change = std::make_shared<const v1::EventChange>(std::move(change));
  item->subdistrict = subdistrict;
  item->id = id;
  item->positions = std::move(positions);
  return item;
}

WatchItemPtr MakeHeartbeatItem(StreamPositions positions,
                               const std::vector<std::string>& subdistricts) {
  auto item = std::make_shared<WatchItem>();
  item->cursor = EncodeCursor(subdistricts, positions);
  v1::WatchEventsResponse response;
  response.mutable_heartbeat();
  response.set_cursor(item->cursor);
  item->bytes = Serialize(response);
  item->positions = std::move(positions);
  return item;
}

Watcher::Watcher(WatchFilter filter, std::size_t capacity,
                 const std::vector<std::string>& subdistricts, WatchWriter& writer)
    : filter_(std::move(filter)),
      capacity_(capacity == 0 ? 1 : capacity),
      subdistricts_(subdistricts),
      writer_(writer) {}

void Watcher::Begin(StreamPositions start, StreamPositions floor, bool history,
                    std::function<void()> want_history) {
  Action action;
  {
    std::lock_guard lock(mu_);
    last_cursor_ = EncodeCursor(subdistricts_, start);
    floor_ = std::move(floor);
    floor_active_ = !floor_.empty();
    history_done_ = !history;
    want_history_ = std::move(want_history);
    if (!writing_ && !ended_) {
      action = NextLocked();
    }
  }
  Run(std::move(action));
}

WatchItemPtr Watcher::AdjustForFloorLocked(const WatchItemPtr& item) {
  if (!floor_active_) {
    return item;
  }
  if (item->change != nullptr && item->id <= floor_[item->subdistrict]) {
    return nullptr;
  }
  StreamPositions positions = Max(item->positions, floor_);
  if (positions == item->positions) {
    // The reader has passed the floor everywhere: shared items are right from now on.
    floor_active_ = false;
    return item;
  }
  if (item->change == nullptr) {
    return MakeHeartbeatItem(std::move(positions), subdistricts_);
  }
  return MakeChangeItem(*item->change, item->subdistrict, item->id, std::move(positions),
                        subdistricts_);
}

bool Watcher::Offer(const WatchItemPtr& offered) {
  Action action;
  bool keep = true;
  {
    std::lock_guard lock(mu_);
    if (ending_ || ended_) {
      return false;
    }
    WatchItemPtr item = AdjustForFloorLocked(offered);
    if (item == nullptr) {
      return true;
    }
    if (live_.size() >= capacity_) {
      cut_off_ = true;
      EndLocked(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                             absl::StrCat("watch: fell ", capacity_,
                                          " changes behind and was cut off; resume with cursor ",
                                          last_cursor_)),
                action);
    } else {
      live_.push_back(std::move(item));
      if (!writing_) {
        action = NextLocked();
      }
    }
    keep = !ending_ && !ended_;
  }
  Run(std::move(action));
  return keep;
}

bool Watcher::OfferHeartbeat(const WatchItemPtr& heartbeat,
                             std::chrono::steady_clock::time_point now,
                             std::chrono::steady_clock::duration interval) {
  Action action;
  {
    std::lock_guard lock(mu_);
    if (ending_ || ended_) {
      return false;
    }
    if (writing_ || !history_.empty() || !history_done_ || !live_.empty() ||
        now - last_write_ < interval) {
      return true;
    }
    live_.push_back(AdjustForFloorLocked(heartbeat));
    action = NextLocked();
  }
  Run(std::move(action));
  return true;
}

void Watcher::AddHistory(std::vector<WatchItemPtr> batch, bool done) {
  Action action;
  {
    std::lock_guard lock(mu_);
    if (ending_ || ended_) {
      return;
    }
    history_requested_ = false;
    for (WatchItemPtr& item : batch) {
      history_.push_back(std::move(item));
    }
    std::function<void()> released;
    if (done) {
      history_done_ = true;
      // The last batch: the reader is not needed any more.
      released = std::exchange(want_history_, nullptr);
    }
    if (!writing_) {
      action = NextLocked();
    }
    action.released = std::move(released);
  }
  Run(std::move(action));
}

void Watcher::Fail(const grpc::Status& status) {
  Action action;
  {
    std::lock_guard lock(mu_);
    if (ending_ || ended_) {
      return;
    }
    EndLocked(status, action);
  }
  Run(std::move(action));
}

void Watcher::SetExpiry(Millis expires_at) {
  std::lock_guard lock(mu_);
  expires_at_ = expires_at;
}

bool Watcher::ExpireIfDue(Millis now) {
  Action action;
  {
    std::lock_guard lock(mu_);
    if (now == 0 || expires_at_ == 0 || now < expires_at_ || ending_ || ended_) {
      return false;
    }
    EndLocked(grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                           "bearer token: expired during the watch; resume from the cursor "
                           "(trailing metadata grid-cursor) with a fresh token"),
              action);
  }
  Run(std::move(action));
  return true;
}

void Watcher::OnWriteDone(bool ok) {
  Action action;
  {
    std::lock_guard lock(mu_);
    writing_.reset();
    if (!ok && !ending_) {
      // The call is over (the client went away); it still has to be finished.
      ending_ = true;
      end_status_ = grpc::Status(grpc::StatusCode::CANCELLED, "watch: the write failed");
      live_.clear();
      history_.clear();
    }
    if (!ended_) {
      action = NextLocked();
    }
  }
  Run(std::move(action));
}

void Watcher::OnCancel() {
  Action action;
  {
    std::lock_guard lock(mu_);
    if (ending_ || ended_) {
      return;
    }
    EndLocked(grpc::Status(grpc::StatusCode::CANCELLED, "watch: cancelled"), action);
  }
  Run(std::move(action));
}

bool Watcher::ended() const {
  std::lock_guard lock(mu_);
  return ending_ || ended_;
}

bool Watcher::cut_off() const {
  std::lock_guard lock(mu_);
  return cut_off_;
}

std::string Watcher::last_cursor() const {
  std::lock_guard lock(mu_);
  return last_cursor_;
}

void Watcher::EndLocked(grpc::Status status, Action& action) {
  ending_ = true;
  end_status_ = std::move(status);
  live_.clear();
  history_.clear();
  if (!writing_) {
    action = NextLocked();
  }
}

Watcher::Action Watcher::NextLocked() {
  Action action;
  if (writing_ || ended_) {
    return action;
  }
  if (ending_) {
    ended_ = true;
    action.end = true;
    action.status = end_status_;
    action.cursor = last_cursor_;
    action.released = std::exchange(want_history_, nullptr);
    return action;
  }
  std::deque<WatchItemPtr>* from = nullptr;
  if (!history_.empty()) {
    from = &history_;
  } else if (!history_done_) {
    // Live changes wait until the history before them is written.
    if (!history_requested_ && want_history_) {
      history_requested_ = true;
      action.want_history = want_history_;
    }
    return action;
  } else if (!live_.empty()) {
    from = &live_;
  } else {
    return action;
  }
  writing_ = std::move(from->front());
  from->pop_front();
  last_cursor_ = writing_->cursor;
  last_write_ = std::chrono::steady_clock::now();
  action.write = &writing_->bytes;
  return action;
}

void Watcher::Run(Action action) {
  if (action.write != nullptr) {
    writer_.Write(*action.write);
  }
  if (action.end) {
    writer_.End(action.status, action.cursor);
  }
  if (action.want_history) {
    action.want_history();
  }
}

}  // namespace grid::gateway
