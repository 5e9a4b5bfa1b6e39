// The dead letters of every subdistrict ({sd}:dead, written by StreamConsumer through
// dead_letter.lua): listing them and putting them back on their streams (replay_dead_letter.lua),
// and the gRPC face of both (grid.v1.DeadLetterService, served by the routing process).
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/redis/client.h"
#include "common/redis/script.h"
#include "common/topology/topology.h"
#include "grid/v1/deadletters.grpc.pb.h"

namespace grid::routing {

// A dead letter from its entry in {subdistrict}:dead.
v1::DeadLetter ParseDeadLetter(const std::string& subdistrict, const std::string& id,
                               const std::vector<std::pair<std::string, std::string>>& fields);

// Threading: methods may be called from any thread; callbacks run on the Redis client's thread,
// exactly once. Bad requests fail with INVALID_ARGUMENT naming the field, Redis failures with
// UNAVAILABLE.
class DeadLetterStore final {
 public:
  template <class T>
  using Callback = std::function<void(absl::StatusOr<T>)>;

  // Borrows both; they must outlive every call.
  DeadLetterStore(redis::Client& redis, const topology::Topology& topology);

  void List(const v1::ListDeadLettersRequest& request, Callback<v1::ListDeadLettersResponse> done);
  void Replay(const v1::ReplayDeadLettersRequest& request,
              Callback<v1::ReplayDeadLettersResponse> done);

 private:
  // The subdistricts a request's unit_id names: one, or all for empty or the district.
  absl::StatusOr<std::vector<std::string>> Subdistricts(const std::string& unit_id) const;

  redis::Client& redis_;
  const topology::Topology& topology_;
  const redis::Script replay_;
};

class DeadLetterServiceImpl final : public v1::DeadLetterService::CallbackService {
 public:
  explicit DeadLetterServiceImpl(DeadLetterStore& store) : store_(store) {}

  grpc::ServerUnaryReactor* ListDeadLetters(grpc::CallbackServerContext* context,
                                            const v1::ListDeadLettersRequest* request,
                                            v1::ListDeadLettersResponse* response) override;
  grpc::ServerUnaryReactor* ReplayDeadLetters(grpc::CallbackServerContext* context,
                                              const v1::ReplayDeadLettersRequest* request,
                                              v1::ReplayDeadLettersResponse* response) override;

 private:
  DeadLetterStore& store_;
};

}  // namespace grid::routing
