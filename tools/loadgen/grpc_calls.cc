#include "tools/loadgen/grpc_calls.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "tools/loadgen/paced_calls.h"

namespace grid::loadgen {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr std::chrono::seconds kReadDeadline{5};

}  // namespace

absl::Status FromGrpc(const grpc::Status& status, const std::string& what) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat(what, ": ", status.error_message()));
}

absl::Status HealthStatus(const grpc::Status& status,
                          const grpc::health::v1::HealthCheckResponse& response) {
  if (!status.ok()) {
    return FromGrpc(status, "Health/Check");
  }
  if (response.status() != grpc::health::v1::HealthCheckResponse::SERVING) {
    return absl::UnavailableError("Health/Check: not SERVING");
  }
  return absl::OkStatus();
}

absl::Status CheckHealth(grpc::health::v1::Health::Stub& health,
                         std::chrono::milliseconds timeout) {
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + timeout);
  const grpc::Status status = health.Check(&context, request, &response);
  return HealthStatus(status, response);
}

std::vector<std::optional<v1::Event>> ReadBackDispatched(v1::GatewayService::Stub& gateway,
                                                         const std::string& token,
                                                         const std::vector<std::string>& ids,
                                                         int concurrency,
                                                         std::chrono::milliseconds within,
                                                         std::vector<std::string>& last_state) {
  std::vector<std::optional<v1::Event>> events(ids.size());
  last_state.assign(ids.size(), "not read");
  std::vector<int> pending(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    pending[i] = static_cast<int>(i);
  }
  const auto deadline = SteadyClock::now() + within;
  while (!pending.empty() && SteadyClock::now() < deadline) {
    std::vector<char> done(pending.size(), 0);
    PacedOptions round;
    round.count = static_cast<int>(pending.size());
    round.concurrency = concurrency;
    round.time_limit =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    RunPaced(round, [&](int k) {
      const auto index = static_cast<std::size_t>(pending[static_cast<std::size_t>(k)]);
      v1::GetEventRequest request;
      request.set_event_id(ids[index]);
      v1::GetEventResponse response;
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + kReadDeadline);
      context.AddMetadata("authorization", "Bearer " + token);
      const grpc::Status status = gateway.GetEvent(&context, request, &response);
      if (!status.ok()) {
        last_state[index] = absl::StrCat("GetEvent: ", status.error_message());
        return FromGrpc(status, "GetEvent");
      }
      last_state[index] = v1::EventState_Name(response.event().state());
      if (response.event().state() == v1::EVENT_STATE_DISPATCHED &&
          response.event().has_dispatched_at()) {
        events[index] = response.event();
        done[static_cast<std::size_t>(k)] = 1;
      }
      return absl::OkStatus();
    });
    std::vector<int> still;
    for (std::size_t k = 0; k < pending.size(); ++k) {
      if (!done[k]) {
        still.push_back(pending[k]);
      }
    }
    pending = std::move(still);
    if (!pending.empty()) {
      // Routing is a step behind the reports: give it a moment before the next round.
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  return events;
}

absl::Status FileReport(v1::GatewayService::Stub* gateway, v1::IntakeService::Stub& intake,
                        const std::string& token, const v1::ReportEventRequest& request) {
  v1::ReportEventResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::Status status;
  if (gateway != nullptr) {
    context.AddMetadata("authorization", "Bearer " + token);
    status = gateway->ReportEvent(&context, request, &response);
  } else {
    status = intake.ReportEvent(&context, request, &response);
  }
  return status.ok()
             ? absl::OkStatus()
             : absl::UnavailableError(absl::StrCat("ReportEvent: ", status.error_message()));
}

}  // namespace grid::loadgen
