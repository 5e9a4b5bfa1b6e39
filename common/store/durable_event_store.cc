#include "common/store/durable_event_store.h"

#include <memory>
#include <utility>

#include "common/store/keys.h"

namespace grid::store {

DurableEventStore::DurableEventStore(EventStore& store, redis::Durability& durability)
    : store_(store), durability_(durability) {}

void DurableEventStore::Reserve(const v1::Event& event, redis::Deadline deadline,
                                Callback<Reservation> done) {
  std::string key = RequestKey(event.reporter_id(), event.client_request_id());
  store_.Reserve(event, deadline,
                 [this, key = std::move(key), deadline,
                  done = std::move(done)](absl::StatusOr<Reservation> reservation) mutable {
                   if (!reservation.ok()) {
                     done(std::move(reservation));
                     return;
                   }
                   auto held = std::make_shared<Reservation>(*std::move(reservation));
                   durability_.AwaitReplica(std::move(key), deadline,
                                            [held, done = std::move(done)](absl::Status status) {
                                              if (status.ok()) {
                                                done(std::move(*held));
                                              } else {
                                                done(status);
                                              }
                                            });
                 });
}

void DurableEventStore::File(const Filing& filing, redis::Deadline deadline,
                             Callback<CreateResult> done) {
  store_.File(filing, deadline,
              [this, sd = filing.event.subdistrict_id(), deadline,
               done = std::move(done)](absl::StatusOr<CreateResult> result) mutable {
                if (!result.ok() || result->outcome == CreateResult::Outcome::kStale) {
                  done(std::move(result));
                  return;
                }
                const CreateResult filed = *result;
                durability_.AwaitReplica(EventKey(sd, filed.event_id), deadline,
                                         [filed, done = std::move(done)](absl::Status status) {
                                           if (status.ok()) {
                                             done(filed);
                                           } else {
                                             done(status);
                                           }
                                         });
              });
}

void DurableEventStore::FindOpenNear(const v1::Event& event, double radius_meters,
                                     redis::Deadline deadline, Callback<OpenNear> done) {
  store_.FindOpenNear(event, radius_meters, deadline, std::move(done));
}

void DurableEventStore::Get(const std::string& event_id, redis::Deadline deadline,
                            Callback<std::optional<v1::Event>> done) {
  store_.Get(event_id, deadline,
             [this, deadline,
              done = std::move(done)](absl::StatusOr<std::optional<v1::Event>> event) mutable {
               if (!event.ok() || !event->has_value()) {
                 done(std::move(event));
                 return;
               }
               auto found = std::make_shared<v1::Event>(**std::move(event));
               durability_.AwaitReplica(EventKey(found->subdistrict_id(), found->id()), deadline,
                                        [found, done = std::move(done)](absl::Status status) {
                                          if (status.ok()) {
                                            done(std::optional<v1::Event>(std::move(*found)));
                                          } else {
                                            done(status);
                                          }
                                        });
             });
}

void DurableEventStore::Apply(const Move& move, redis::Deadline deadline,
                              Callback<MoveResult> done) {
  store_.Apply(move, deadline, std::move(done));
}

void DurableEventStore::History(const std::string& event_id, redis::Deadline deadline,
                                Callback<std::vector<v1::EventChange>> done) {
  store_.History(event_id, deadline, std::move(done));
}

}  // namespace grid::store
