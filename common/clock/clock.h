// The one injectable clock: every time in the system is UTC milliseconds read from a Clock.
#pragma once

#include <google/protobuf/timestamp.pb.h>

#include <atomic>
#include <chrono>
#include <cstdint>

namespace grid {

// Milliseconds since the Unix epoch, UTC.
using Millis = std::int64_t;

// Threading: Now() may be called from any thread.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual Millis Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  Millis Now() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// A clock that moves only when told to; for tests of time-dependent logic.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(Millis start = 0) : now_(start) {}
  Millis Now() const override { return now_.load(); }
  void Set(Millis now) { now_.store(now); }
  void Advance(Millis delta) { now_.fetch_add(delta); }

 private:
  std::atomic<Millis> now_;
};

inline google::protobuf::Timestamp ToTimestamp(Millis ms) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(ms / 1000);
  ts.set_nanos(static_cast<int32_t>((ms % 1000) * 1000000));
  return ts;
}

inline Millis FromTimestamp(const google::protobuf::Timestamp& ts) {
  return ts.seconds() * 1000 + ts.nanos() / 1000000;
}

}  // namespace grid
