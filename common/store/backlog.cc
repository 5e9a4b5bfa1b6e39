#include "common/store/backlog.h"

#include <atomic>

#include "absl/strings/str_cat.h"
#include "common/redis/reply.h"
#include "common/store/keys.h"
#include "common/store/timers.h"

namespace grid::store {

extern const std::string_view kBacklogLua;
extern const std::string_view kBacklogFiguresLua;
extern const std::string_view kBacklogScanLua;
extern const std::string_view kBacklogIndexLua;

namespace {

bool IsFinal(v1::EventState state) {
  return state == v1::EVENT_STATE_CLOSED || state == v1::EVENT_STATE_VOIDED ||
         state == v1::EVENT_STATE_CANCELLED;
}

absl::StatusOr<long long> IntegerAt(const redis::Reply& reply, size_t i) {
  return reply.elements[i].AsInteger();
}

}  // namespace

std::string BacklogEntry(const v1::Event& event, Millis yellow_at) {
  if (IsFinal(event.state())) {
    return "";
  }
  Millis yellow = 0;
  Millis red = 0;
  // As the traffic light: no light without a running limit (policy::TrafficLightAt).
  const Millis deadline = RunningDeadline(event);
  const Millis limit = RunningLimit(event);
  if (deadline > 0 && limit > 0) {
    red = deadline + 1;
    yellow = yellow_at > 0 ? yellow_at : deadline - limit / 5;
  }
  return absl::StrCat(static_cast<int>(event.state()), "|", static_cast<int>(event.level()), "|",
                      event.overdue() ? 1 : 0, "|", yellow, "|", red);
}

std::string WithBacklogStep(std::string_view script) {
  std::string source(kBacklogLua);
  source.append(script);
  return source;
}

BacklogIndex::BacklogIndex(redis::Client& client)
    : client_(client),
      figures_(redis::Script::FromSource(std::string(kBacklogFiguresLua))),
      scan_(redis::Script::FromSource(std::string(kBacklogScanLua))),
      index_(redis::Script::FromSource(WithBacklogStep(kBacklogIndexLua))) {}

void BacklogIndex::Figures(const std::string& subdistrict, Millis now,
                           Callback<BacklogFigures> done) {
  client_.Eval(
      figures_, {BacklogPrefix(subdistrict)}, {std::to_string(now)},
      [done = std::move(done)](absl::StatusOr<redis::Reply> result) {
        absl::StatusOr<redis::Reply> reply = redis::Checked(std::move(result));
        if (!reply.ok()) {
          done(reply.status());
          return;
        }
        if (absl::Status status = reply->Expect(redis::Reply::Type::kArray);
            !status.ok() || reply->elements.empty() || (reply->elements.size() - 1) % 7) {
          done(absl::InternalError(absl::StrCat(
              "backlog index: unexpected reply to backlog_figures: ", reply->DebugString())));
          return;
        }
        BacklogFigures figures;
        std::vector<long long> n;
        for (size_t i = 0; i < reply->elements.size(); ++i) {
          absl::StatusOr<long long> value = IntegerAt(*reply, i);
          if (!value.ok()) {
            done(value.status());
            return;
          }
          n.push_back(*value);
        }
        figures.built = n[0] == 1;
        for (size_t i = 1; i + 6 < n.size(); i += 7) {
          BacklogRow row;
          row.level = static_cast<int>(n[i]);
          row.state = static_cast<int>(n[i + 1]);
          row.open = n[i + 2];
          const long long running = n[i + 3];
          const long long yellow_or_red = n[i + 4];
          row.red = n[i + 5];
          row.yellow = yellow_or_red - row.red;
          row.green = running - yellow_or_red;
          row.overdue = n[i + 6];
          figures.rows.push_back(row);
        }
        done(std::move(figures));
      });
}

struct BacklogIndex::Building {
  std::string subdistrict;
  YellowAtOf yellow_at;
  int batch = 0;
  std::string cursor = "0";
  std::function<void(absl::Status)> done;
  // The events of the current scan step still being indexed, and the first failure.
  std::atomic<size_t> pending{0};
  absl::Status status;
};

void BacklogIndex::Build(const std::string& subdistrict, YellowAtOf yellow_at, int batch,
                         std::function<void(absl::Status)> done) {
  auto building = std::make_shared<Building>();
  building->subdistrict = subdistrict;
  building->yellow_at = std::move(yellow_at);
  building->batch = std::max(batch, 1);
  building->done = std::move(done);
  client_.Command({"EXISTS", BacklogPrefix(subdistrict) + "built"},
                  [this, building](absl::StatusOr<redis::Reply> result) {
                    absl::StatusOr<redis::Reply> reply = redis::Checked(std::move(result));
                    if (!reply.ok()) {
                      building->done(reply.status());
                    } else if (reply->integer == 1) {
                      building->done(absl::OkStatus());
                    } else {
                      Scan(building);
                    }
                  });
}

void BacklogIndex::Scan(std::shared_ptr<Building> building) {
  const std::string& sd = building->subdistrict;
  const std::string finals = absl::StrCat(static_cast<int>(v1::EVENT_STATE_CLOSED), " ",
                                          static_cast<int>(v1::EVENT_STATE_VOIDED), " ",
                                          static_cast<int>(v1::EVENT_STATE_CANCELLED));
  client_.Eval(scan_, {EventsIndexKey(sd), EventKeyPrefix(sd)},
               {building->cursor, std::to_string(building->batch), finals},
               [this, building](absl::StatusOr<redis::Reply> result) {
                 absl::StatusOr<redis::Reply> reply = redis::Checked(std::move(result));
                 if (reply.ok() && (!reply->IsArray() || reply->elements.empty())) {
                   reply = absl::InternalError(absl::StrCat(
                       "backlog index: unexpected reply to backlog_scan: ", reply->DebugString()));
                 }
                 if (!reply.ok()) {
                   building->done(reply.status());
                   return;
                 }
                 building->cursor = reply->elements[0].str;
                 // Called once every event of this step is indexed (or failed): the next step, or
                 // the end.
                 auto next = [this, building] {
                   if (!building->status.ok()) {
                     building->done(building->status);
                   } else if (building->cursor != "0") {
                     Scan(building);
                   } else {
                     client_.Command({"SET", BacklogPrefix(building->subdistrict) + "built", "1"},
                                     [building](absl::StatusOr<redis::Reply> set) {
                                       building->done(redis::StatusOf(set));
                                     });
                   }
                 };
                 building->pending = reply->elements.size();  // the ids, plus one for this step
                 auto release = [building, next] {
                   if (building->pending.fetch_sub(1) == 1) {
                     next();
                   }
                 };
                 for (size_t i = 1; i < reply->elements.size(); ++i) {
                   const std::string id = reply->elements[i].str;
                   const std::string key = EventKey(building->subdistrict, id);
                   client_.Command({"HGET", key, "pb"}, [this, building, id, key, release](
                                                            absl::StatusOr<redis::Reply> record) {
                     absl::StatusOr<redis::Reply> got = redis::Checked(std::move(record));
                     v1::Event event;
                     if (!got.ok()) {
                       building->status.Update(got.status());
                     } else if (!got->IsString() || !event.ParseFromString(got->str)) {
                       // Gone since the scan (retention), or unreadable: nothing to index.
                       release();
                       return;
                     }
                     if (!building->status.ok()) {
                       release();
                       return;
                     }
                     client_.Eval(index_, {key, BacklogPrefix(building->subdistrict)},
                                  {id, std::to_string(event.version()),
                                   BacklogEntry(event, building->yellow_at(event))},
                                  [building, release](absl::StatusOr<redis::Reply> indexed) {
                                    building->status.Update(redis::StatusOf(indexed));
                                    release();
                                  });
                   });
                 }
                 release();
               });
}

}  // namespace grid::store
