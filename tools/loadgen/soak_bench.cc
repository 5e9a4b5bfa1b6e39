// grid-loadgen soak: see benchmarks.h.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/redis/client.h"
#include "common/store/keys.h"
#include "grid/v1/gateway.grpc.pb.h"
#include "tools/loadgen/bench_stack.h"
#include "tools/loadgen/benchmarks.h"
#include "tools/loadgen/paced_calls.h"

namespace grid::loadgen {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr std::chrono::seconds kCallDeadline{10};

absl::Status FromGrpc(const grpc::Status& status, const std::string& what) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat(what, ": ", status.error_message()));
}

// One event through the whole loop, as the field works it: reported, dispatched by routing,
// accepted, resolved and verified on site (CLOSED). The caller is the stack's admin.
class Loop {
 public:
  Loop(v1::GatewayService::Stub& gateway, std::string token)
      : gateway_(gateway), token_(std::move(token)) {}

  absl::Status Run(const std::string& grid, const std::string& category) {
    v1::ReportEventRequest report;
    report.mutable_report()->set_grid_id(grid);
    report.mutable_report()->set_category(category);
    report.mutable_report()->set_severity(v1::SEVERITY_NORMAL);
    report.mutable_report()->set_description("soak: 暴露垃圾");
    v1::ReportEventResponse reported;
    if (auto status = Call(&v1::GatewayService::Stub::ReportEvent, report, reported, "report");
        !status.ok()) {
      return status;
    }
    const std::string& id = reported.event_id();
    // Routing is a step behind the report.
    v1::GetEventRequest get;
    get.set_event_id(id);
    v1::GetEventResponse event;
    const auto deadline = SteadyClock::now() + std::chrono::seconds(30);
    while (true) {
      if (auto status = Call(&v1::GatewayService::Stub::GetEvent, get, event, "get");
          !status.ok()) {
        return status;
      }
      if (event.event().state() == v1::EVENT_STATE_DISPATCHED) {
        break;
      }
      if (SteadyClock::now() > deadline) {
        return absl::DeadlineExceededError(absl::StrCat(id, " not dispatched in 30 s"));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    v1::AcceptEventRequest accept;
    accept.set_event_id(id);
    v1::AcceptEventResponse accepted;
    if (auto status = Call(&v1::GatewayService::Stub::AcceptEvent, accept, accepted, "accept");
        !status.ok()) {
      return status;
    }
    v1::ResolveEventRequest resolve;
    resolve.set_event_id(id);
    resolve.set_note("soak: cleared");
    resolve.add_media("s3://soak/after.jpg");
    v1::ResolveEventResponse resolved;
    if (auto status = Call(&v1::GatewayService::Stub::ResolveEvent, resolve, resolved, "resolve");
        !status.ok()) {
      return status;
    }
    v1::VerifyEventRequest verify;
    verify.set_event_id(id);
    verify.set_passed(true);
    verify.set_note("soak: checked on site");
    v1::VerifyEventResponse verified;
    if (auto status = Call(&v1::GatewayService::Stub::VerifyEvent, verify, verified, "verify");
        !status.ok()) {
      return status;
    }
    if (verified.event().state() != v1::EVENT_STATE_CLOSED) {
      return absl::InternalError(absl::StrCat(
          id, " is ", v1::EventState_Name(verified.event().state()), " after verification"));
    }
    return absl::OkStatus();
  }

 private:
  template <class Request, class Response>
  absl::Status Call(grpc::Status (v1::GatewayService::Stub::*rpc)(grpc::ClientContext*,
                                                                  const Request&, Response*),
                    const Request& request, Response& response, const char* what) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kCallDeadline);
    context.AddMetadata("authorization", "Bearer " + token_);
    const grpc::Status status = (gateway_.*rpc)(&context, request, &response);
    return status.ok() ? absl::OkStatus() : FromGrpc(status, what);
  }

  v1::GatewayService::Stub& gateway_;
  const std::string token_;
};

// What Redis holds at one moment.
struct Sample {
  double at_days = 0;
  long long used_memory = 0;
  long long keys = 0;
  long long live_entries = 0;
  long long routing_entries = 0;
};

absl::StatusOr<long long> InfoField(redis::Client& redis, const std::string& section,
                                    const std::string& field) {
  auto reply = redis::CommandSync(redis, {"INFO", section}, std::chrono::seconds(2));
  if (!reply.ok()) {
    return reply.status();
  }
  const std::string key = field + ":";
  const auto at = reply->str.find(key);
  if (at == std::string::npos) {
    return absl::NotFoundError(absl::StrCat("INFO ", section, " has no ", field));
  }
  return std::stoll(reply->str.substr(at + key.size()));
}

absl::StatusOr<Sample> TakeSample(redis::Client& redis, const std::vector<std::string>& sds,
                                  double at_days) {
  Sample sample;
  sample.at_days = at_days;
  auto memory = InfoField(redis, "memory", "used_memory");
  if (!memory.ok()) {
    return memory.status();
  }
  sample.used_memory = *memory;
  auto keys = redis::CommandSync(redis, {"DBSIZE"}, std::chrono::seconds(2));
  if (!keys.ok()) {
    return keys.status();
  }
  sample.keys = keys->integer;
  for (const std::string& sd : sds) {
    auto live = redis::CommandSync(redis, {"XLEN", store::LiveStream(sd)}, std::chrono::seconds(2));
    auto routing =
        redis::CommandSync(redis, {"XLEN", store::RoutingStream(sd)}, std::chrono::seconds(2));
    if (!live.ok() || !routing.ok()) {
      return absl::UnavailableError("XLEN failed");
    }
    sample.live_entries += live->integer;
    sample.routing_entries += routing->integer;
  }
  return sample;
}

double Mean(const std::vector<Sample>& samples, double from_day, double to_day) {
  double sum = 0;
  int count = 0;
  for (const Sample& sample : samples) {
    if (sample.at_days >= from_day && sample.at_days < to_day) {
      sum += static_cast<double>(sample.used_memory);
      ++count;
    }
  }
  return count == 0 ? 0 : sum / count;
}

}  // namespace

absl::Status RunSoak(const SoakOptions& options, std::ostream& out) {
  if (options.days < options.fill_days + 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("--days must be at least --fill-days + 2 (", options.fill_days + 2, ")"));
  }
  auto config = LoadStackConfig();
  if (!config.ok()) {
    return config.status();
  }
  const auto scaled = [&](double days) {
    return std::to_string(std::max<long long>(1, std::llround(days * options.day_seconds)));
  };
  const std::string interval = std::to_string(
      std::max<long long>(1, std::llround(options.day_seconds * options.housekeeping_days)));
  testing::Stack::Options stack_options;
  stack_options.extra_args["grid-routing"] = {
      "--closed-retention-seconds",   scaled(options.retention_days),
      "--retention-interval-seconds", interval,
      "--trim-interval-seconds",      interval};
  stack_options.extra_args["grid-metrics"] = {
      "--live-window-seconds", scaled(options.window_days), "--trim-interval-seconds", interval,
      "--rollup-ttl-seconds", scaled(options.window_days),
      // Rollups are per local day: compressed as the others, so that they roll over and expire.
      "--day-seconds", scaled(1)};
  testing::Stack stack(stack_options);
  if (auto status = StartStack(stack, out); !status.ok()) {
    return status;
  }
  const auto& sds = (*config).topology->subdistrict_ids();
  std::vector<std::string> grids;
  for (const v1::Unit& unit : (*config).topology->data().units()) {
    if (unit.level() == v1::LEVEL_GRID) {
      grids.push_back(unit.id());
    }
  }
  const int events = options.days * options.reports_per_day;
  const double rate = options.reports_per_day / options.day_seconds;
  out << absl::StrFormat(
      "soak: %d simulated days of %.0f s each, %d reports a day (%d events through the whole "
      "loop, %.1f/s), over %zu grids; windows: live stream %.1f d (%s s), closed events %.1f d "
      "(%s s), rollups %.1f d; trims and sweeps every %s s; %u cores\n",
      options.days, options.day_seconds, options.reports_per_day, events, rate, grids.size(),
      options.window_days, scaled(options.window_days), options.retention_days,
      scaled(options.retention_days), options.window_days, interval, Cores());

  Loop loop(stack.gateway(), stack.Token(testing::Stack::Admin()));
  std::mutex mu;
  std::vector<Sample> samples;
  absl::Status sample_error;
  std::atomic<bool> done{false};
  const auto start = SteadyClock::now();
  const auto days_since_start = [&] {
    return std::chrono::duration<double>(SteadyClock::now() - start).count() / options.day_seconds;
  };
  std::thread sampler([&] {
    const auto step = std::chrono::duration<double>(options.day_seconds / options.samples_per_day);
    for (int n = 0; !done; ++n) {
      std::this_thread::sleep_until(start +
                                    std::chrono::duration_cast<SteadyClock::duration>(step * n));
      auto sample = TakeSample(stack.redis_client(), sds, days_since_start());
      std::lock_guard lock(mu);
      if (sample.ok()) {
        samples.push_back(*sample);
      } else if (sample_error.ok()) {
        sample_error = sample.status();
      }
    }
  });

  PacedOptions paced;
  paced.count = events;
  paced.rate = rate;
  paced.concurrency = options.concurrency;
  paced.time_limit = std::chrono::milliseconds(
      static_cast<long long>(1000 * options.day_seconds * (options.days + 1)));
  static constexpr const char* kCategories[] = {"0102", "0104", "0401", "0408", "0701"};
  const PacedResult result = RunPaced(paced, [&](int i) {
    const std::string& grid = grids[(static_cast<std::size_t>(i) * 7919) % grids.size()];
    return loop.Run(grid, kCategories[i % 5]);
  });
  // The last day ends on the clock, not with the last report.
  std::this_thread::sleep_until(
      start + std::chrono::duration_cast<SteadyClock::duration>(
                  std::chrono::duration<double>(options.day_seconds * options.days)));
  done = true;
  sampler.join();

  out << absl::StrFormat("loop: %d of %d events closed, %d failed, in %.0f s\n",
                         result.issued - result.failed, events, result.failed,
                         result.elapsed_seconds);
  out << "Redis by simulated day (used_memory, keys, live-stream and routing-stream entries):\n";
  for (int day = 0; day < options.days; ++day) {
    std::lock_guard lock(mu);
    const Sample* last = nullptr;
    for (const Sample& sample : samples) {
      if (sample.at_days >= day && sample.at_days < day + 1) {
        last = &sample;
      }
    }
    if (last != nullptr) {
      out << absl::StrFormat(
          "  day %d: %8.1f KiB (mean %8.1f KiB)  %6lld keys  %6lld live  %4lld "
          "routing\n",
          day + 1, last->used_memory / 1024.0, Mean(samples, day, day + 1) / 1024.0, last->keys,
          last->live_entries, last->routing_entries);
    }
  }
  const double filled = Mean(samples, options.fill_days, options.fill_days + 1);
  const double end = Mean(samples, options.days - 1, options.days);
  const double change = filled > 0 ? (end - filled) / filled : 0;
  out << absl::StrFormat(
      "memory: %.1f KiB when the windows first filled (mean of day %d), %.1f KiB at the end "
      "(mean of day %d): %+.1f%% (must be within 10%%)\n",
      filled / 1024.0, options.fill_days + 1, end / 1024.0, options.days, 100 * change);

  if (!sample_error.ok()) {
    return sample_error;
  }
  if (result.failed > 0 || result.issued < events) {
    return absl::InternalError(absl::StrCat(
        events - (result.issued - result.failed),
        " events did not go through the loop; first error: ", result.first_error.ToString()));
  }
  if (filled <= 0 || end <= 0) {
    return absl::InternalError("not enough memory samples");
  }
  if (std::abs(change) > 0.10) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "Redis memory changed by %+.1f%% between the first full day and the last", 100 * change));
  }
  return absl::OkStatus();
}

}  // namespace grid::loadgen
