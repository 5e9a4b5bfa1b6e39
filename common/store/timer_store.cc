#include "common/store/timer_store.h"

#include <cstdlib>

#include "common/redis/reply.h"
#include "common/store/keys.h"

namespace grid::store {

extern const std::string_view kClaimTimersLua;
extern const std::string_view kRearmTimerLua;

TimerStore::TimerStore(redis::Client& client)
    : client_(client),
      claim_(redis::Script::FromSource(std::string(kClaimTimersLua))),
      rearm_(redis::Script::FromSource(std::string(kRearmTimerLua))) {}

void TimerStore::Claim(const std::string& subdistrict, Millis now, Millis lease_ms, int max,
                       Callback<Claimed> done) {
  client_.Eval(
      claim_, {TimersKey(subdistrict)},
      {std::to_string(now), std::to_string(lease_ms), std::to_string(max)},
      [done = std::move(done)](absl::StatusOr<redis::Reply> result) {
        absl::StatusOr<redis::Reply> reply = redis::Checked(std::move(result));
        if (!reply.ok()) {
          done(reply.status());
          return;
        }
        if (absl::Status status = reply->Expect(redis::Reply::Type::kArray); !status.ok()) {
          done(status);
          return;
        }
        if (reply->elements.size() != 2 || reply->elements[0].type != redis::Reply::Type::kArray) {
          done(absl::InternalError("claiming timers: the script answered an unexpected shape"));
          return;
        }
        Claimed claimed;
        const std::vector<redis::Reply>& due = reply->elements[0].elements;
        for (size_t i = 0; i + 1 < due.size(); i += 2) {
          claimed.timers.push_back(DueTimer{
              due[i].str, static_cast<Millis>(std::strtod(due[i + 1].str.c_str(), nullptr))});
        }
        // Lua's false arrives as a nil reply: no timer left.
        const redis::Reply& next = reply->elements[1];
        if (next.type == redis::Reply::Type::kString) {
          claimed.next_due = static_cast<Millis>(std::strtod(next.str.c_str(), nullptr));
        }
        done(std::move(claimed));
      });
}

void TimerStore::Rearm(const std::string& subdistrict, const std::string& event_id,
                       std::int64_t version, Millis due, Callback<bool> done) {
  client_.Eval(rearm_, {EventKey(subdistrict, event_id), TimersKey(subdistrict)},
               {std::to_string(version), due == 0 ? std::string() : std::to_string(due), event_id},
               [done = std::move(done)](absl::StatusOr<redis::Reply> result) {
                 absl::StatusOr<redis::Reply> reply = redis::Checked(std::move(result));
                 if (!reply.ok()) {
                   done(reply.status());
                 } else {
                   done(reply->integer == 1);
                 }
               });
}

}  // namespace grid::store
