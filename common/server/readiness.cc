#include "common/server/readiness.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace grid::server {

struct Readiness::State : std::enable_shared_from_this<State> {
  State(boost::asio::io_context& io, std::chrono::milliseconds interval, OnChange on_change)
      : interval(interval), on_change(std::move(on_change)), timer(io) {}

  struct Named {
    std::string name;
    Probe probe;
  };
  // One round's answers; shared with the probes' callbacks, which may come after it ended.
  struct Round {
    std::vector<absl::Status> results;
    std::vector<bool> answered;
    bool over = false;
  };

  const std::chrono::milliseconds interval;
  OnChange on_change;
  boost::asio::steady_timer timer;
  std::vector<Named> probes;
  bool stopped = false;
  bool reported = false;
  bool ready = false;
  std::string why_not;
  std::shared_ptr<Round> round;

  void StartRound() {
    if (stopped) {
      return;
    }
    round = std::make_shared<Round>();
    round->results.assign(probes.size(), absl::OkStatus());
    round->answered.assign(probes.size(), false);
    for (size_t i = 0; i < probes.size(); ++i) {
      // A probe may answer on another thread (a gRPC health check): back to ours.
      probes[i].probe([self = shared_from_this(), current = round, i](absl::Status status) {
        boost::asio::post(self->timer.get_executor(),
                          [self, current, i, status = std::move(status)]() mutable {
                            if (current->over || self->stopped) {
                              return;
                            }
                            current->results[i] = std::move(status);
                            current->answered[i] = true;
                            for (bool answered : current->answered) {
                              if (!answered) {
                                return;
                              }
                            }
                            // Everything answered: decide now; the next round starts on the timer.
                            self->EndRound(current);
                          });
      });
    }
    timer.expires_after(interval);
    timer.async_wait([self = shared_from_this()](boost::system::error_code error) {
      if (error || self->stopped) {
        return;
      }
      if (!self->round->over) {
        self->EndRound(self->round);
      }
      self->StartRound();
    });
  }

  void EndRound(const std::shared_ptr<Round>& current) {
    current->over = true;
    std::string why;
    for (size_t i = 0; i < probes.size(); ++i) {
      absl::Status status = current->answered[i]
                                ? current->results[i]
                                : absl::DeadlineExceededError(
                                      absl::StrCat("no answer within ", interval.count(), " ms"));
      if (!status.ok()) {
        absl::StrAppend(&why, why.empty() ? "" : "; ", probes[i].name, ": ", status.message());
      }
    }
    const bool now_ready = why.empty();
    if (reported && now_ready == ready) {
      return;
    }
    reported = true;
    ready = now_ready;
    why_not = why;
    if (ready) {
      spdlog::info("ready: every dependency answers");
    } else {
      spdlog::warn("not ready: {}", why);
    }
    on_change(ready, why);
  }
};

Readiness::Readiness(boost::asio::io_context& io, std::chrono::milliseconds interval,
                     OnChange on_change)
    : state_(std::make_shared<State>(io, interval, std::move(on_change))) {}

Readiness::~Readiness() { Stop(); }

void Readiness::Add(std::string name, Probe probe) {
  state_->probes.push_back(State::Named{std::move(name), std::move(probe)});
}

void Readiness::Start() {
  boost::asio::post(state_->timer.get_executor(), [state = state_] { state->StartRound(); });
}

void Readiness::Stop() {
  boost::asio::post(state_->timer.get_executor(), [state = state_] {
    state->stopped = true;
    state->timer.cancel();
  });
}

Readiness::Probe RedisProbe(redis::Client& redis) {
  return [&redis](std::function<void(absl::Status)> done) {
    redis.Command({"PING"}, [done = std::move(done)](absl::StatusOr<redis::Reply> reply) {
      if (!reply.ok()) {
        done(reply.status());
      } else if (reply->IsError()) {
        done(reply->ErrorStatus());
      } else {
        done(absl::OkStatus());
      }
    });
  };
}

Readiness::Probe GrpcHealthProbe(std::shared_ptr<grpc::Channel> channel,
                                 std::chrono::milliseconds deadline) {
  auto stub = std::shared_ptr<grpc::health::v1::Health::Stub>(
      grpc::health::v1::Health::NewStub(std::move(channel)));
  return [stub, deadline](std::function<void(absl::Status)> done) {
    struct Call {
      grpc::ClientContext context;
      grpc::health::v1::HealthCheckRequest request;
      grpc::health::v1::HealthCheckResponse response;
    };
    auto call = std::make_shared<Call>();
    call->context.set_deadline(std::chrono::system_clock::now() + deadline);
    stub->async()->Check(
        &call->context, &call->request, &call->response,
        [call, done = std::move(done)](grpc::Status status) {
          if (!status.ok()) {
            done(absl::UnavailableError(status.error_message()));
          } else if (call->response.status() != grpc::health::v1::HealthCheckResponse::SERVING) {
            done(absl::UnavailableError("not serving"));
          } else {
            done(absl::OkStatus());
          }
        });
  };
}

}  // namespace grid::server
