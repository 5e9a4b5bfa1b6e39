// grid-loadgen watch: see benchmarks.h.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "grid/v1/gateway.grpc.pb.h"
#include "grid/v1/intake.grpc.pb.h"
#include "tools/loadgen/bench_stack.h"
#include "tools/loadgen/benchmarks.h"
#include "tools/loadgen/grpc_calls.h"
#include "tools/loadgen/grpc_watcher.h"
#include "tools/loadgen/paced_calls.h"
#include "tools/loadgen/summary.h"
#include "tools/loadgen/workload.h"

namespace grid::loadgen {
namespace {

// A watcher of the whole district that reads `per_second` messages a second at most, and resumes
// from the end cursor whenever the gateway cuts it off.
class SlowWatcher final {
 public:
  SlowWatcher(v1::GatewayService::Stub& stub, std::string token, double per_second)
      : thread_([this, &stub, token = std::move(token), per_second] {
          Run(stub, token, per_second);
        }) {}
  ~SlowWatcher() {
    stop_ = true;
    {
      std::lock_guard lock(mu_);
      if (context_ != nullptr) {
        context_->TryCancel();
      }
    }
    thread_.join();
  }
  int cut_offs() const { return cut_offs_.load(); }
  int read() const { return read_.load(); }

 private:
  void Run(v1::GatewayService::Stub& stub, const std::string& token, double per_second) {
    v1::WatchEventsRequest request;
    const auto pause = std::chrono::microseconds(static_cast<long long>(1e6 / per_second));
    while (!stop_) {
      auto context = std::make_unique<grpc::ClientContext>();
      context->AddMetadata("authorization", "Bearer " + token);
      {
        std::lock_guard lock(mu_);
        context_ = context.get();
      }
      auto reader = stub.WatchEvents(context.get(), request);
      v1::WatchEventsResponse response;
      while (!stop_ && reader->Read(&response)) {
        ++read_;
        std::this_thread::sleep_for(pause);
      }
      if (stop_) {
        context->TryCancel();
      }
      const grpc::Status status = reader->Finish();
      {
        std::lock_guard lock(mu_);
        context_ = nullptr;
      }
      if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
        ++cut_offs_;
        const auto& trailers = context->GetServerTrailingMetadata();
        if (auto it = trailers.find("grid-cursor"); it != trailers.end()) {
          request.set_cursor(std::string(it->second.data(), it->second.size()));
        }
      } else if (!stop_) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
  }

  std::atomic<bool> stop_{false};
  std::atomic<int> cut_offs_{0};
  std::atomic<int> read_{0};
  std::mutex mu_;
  grpc::ClientContext* context_ = nullptr;
  std::thread thread_;
};

// The latencies of samples written in [from, to) (ms since the epoch), of every watcher but the
// slow ones.
std::vector<double> Latencies(const std::vector<std::unique_ptr<BenchWatcher>>& watchers,
                              double from, double to, std::size_t& deliveries) {
  std::vector<double> out;
  for (const auto& watcher : watchers) {
    for (const Sample& sample : watcher->samples()) {
      if (sample.at_ms >= from && sample.at_ms < to) {
        out.push_back(sample.latency_ms);
      }
    }
  }
  deliveries = out.size();
  return out;
}

}  // namespace

absl::Status RunWatch(const WatchOptions& options, std::ostream& out) {
  if (options.watchers <= 0 || options.rate <= 0 || options.seconds <= 0 ||
      options.district_watchers < 0 || options.district_watchers > options.watchers ||
      options.channels <= 0 || options.slow < 0) {
    return absl::InvalidArgumentError(
        "watch: --watchers, --rate, --seconds and --channels must be positive, "
        "--district-watchers at most --watchers");
  }
  if (options.via != "gateway" && options.via != "intake") {
    return absl::InvalidArgumentError("watch: --via is gateway or intake");
  }
  auto config = LoadStackConfig();
  if (!config.ok()) {
    return config.status();
  }
  const topology::Topology& topology = *config->topology;
  std::vector<std::string> communities;
  for (const v1::Unit& unit : topology.data().units()) {
    if (unit.level() == v1::LEVEL_COMMUNITY) {
      communities.push_back(unit.id());
    }
  }
  const std::vector<std::string> grids = GridIds(topology);
  const std::vector<std::string> categories = SpreadCategories(*config->policy);
  if (grids.empty() || categories.empty() || communities.empty()) {
    return absl::FailedPreconditionError("watch: no grids, communities or categories");
  }
  out << absl::StrFormat(
      "grid-loadgen watch: %d watchers (%d of the whole district, %d spread over the %d "
      "communities) on one gateway over %d connections; %g reports/s through %s for %d s per "
      "phase (each report: REPORTED by intake, DISPATCHED by routing); machine: %u cores\n",
      options.watchers, options.district_watchers, options.watchers - options.district_watchers,
      communities.size(), options.channels, options.rate, options.via, options.seconds, Cores());

  // Every watcher is the same subject here (one token): lift the gateway's per-subject cap.
  testing::Stack::Options stack_options;
  stack_options.extra_args["grid-gateway"] = {"--watch-max-per-subject", "0"};
  testing::Stack stack(std::move(stack_options));
  if (auto status = StartStack(stack, out); !status.ok()) {
    return status;
  }
  const std::string& district = topology.root_id();
  const std::string token = stack.Token("grid-loadgen", v1::ROLE_ADMIN, district);

  std::vector<std::unique_ptr<v1::GatewayService::Stub>> stubs;
  for (int i = 0; i < options.channels; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("grid.loadgen.channel", i);  // A connection of its own.
    stubs.push_back(v1::GatewayService::NewStub(grpc::CreateCustomChannel(
        stack.address("grid-gateway"), grpc::InsecureChannelCredentials(), args)));
  }
  std::vector<std::unique_ptr<BenchWatcher>> watchers;
  for (int i = 0; i < options.watchers; ++i) {
    v1::WatchEventsRequest request;
    if (i >= options.district_watchers) {
      request.set_unit_id(communities[static_cast<std::size_t>(i - options.district_watchers) %
                                      communities.size()]);
    }
    watchers.push_back(std::make_unique<BenchWatcher>(
        *stubs[static_cast<std::size_t>(i % options.channels)], request, token));
    watchers.back()->Start();
  }
  const auto cancel_all = [&] {
    for (auto& watcher : watchers) {
      watcher->Cancel();
    }
    for (auto& watcher : watchers) {
      (void)watcher->Wait(std::chrono::seconds(10));
    }
  };

  // The report stream: through the gateway (authorised, forwarded) or into intake directly.
  auto report_channel =
      grpc::CreateChannel(stack.address(options.via == "gateway" ? "grid-gateway" : "grid-intake"),
                          grpc::InsecureChannelCredentials());
  auto gateway = v1::GatewayService::NewStub(report_channel);
  auto intake = v1::IntakeService::NewStub(report_channel);
  const std::string run_id = absl::StrCat("loadgen-watch-", getpid());
  std::atomic<int> next_index{0};
  const auto report = [&](int) {
    return FileReport(options.via == "gateway" ? gateway.get() : nullptr, *intake, token,
                      DispatchReport(next_index++, grids, categories, run_id, district));
  };

  // Every watcher attached (its first heartbeat or change), within a bound.
  const auto attach_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  // Heartbeats come after 15 s of silence: a trickle of reports gets everyone a first message.
  while (std::chrono::steady_clock::now() < attach_deadline) {
    int attached = 0;
    for (const auto& watcher : watchers) {
      attached += watcher->attached() ? 1 : 0;
    }
    if (attached == options.watchers) {
      break;
    }
    RunPaced(PacedOptions{200, 400, 8, std::chrono::seconds(5)}, report);
  }
  int failed_early = 0;
  for (const auto& watcher : watchers) {
    failed_early += watcher->done() ? 1 : 0;
  }
  if (failed_early > 0) {
    cancel_all();
    return absl::UnavailableError(absl::StrCat("watch: ", failed_early, " watchers ended early"));
  }

  struct Phase {
    std::string label;
    double from_ms = 0;
    double to_ms = 0;
    PacedResult reports;
  };
  const auto run_phase = [&](const std::string& label, int seconds) {
    Phase phase;
    phase.label = label;
    const int count = static_cast<int>(options.rate * seconds);
    phase.from_ms = NowMs();
    phase.reports = RunPaced(PacedOptions{count, options.rate, options.concurrency,
                                          std::chrono::seconds(seconds * 3 + 10)},
                             report);
    phase.to_ms = NowMs();
    return phase;
  };

  // Warm-up at the full rate, not measured: connections, routing's consumer, allocators.
  (void)run_phase("warm-up", std::min(options.seconds, 3));
  std::vector<Phase> phases;
  phases.push_back(run_phase("no slow", options.seconds));
  int slow_cut_offs = 0;
  int slow_read = 0;
  {
    // Each on a connection of its own without BDP probing, as a client on a slow link: its
    // flow-control window stays small, so the gateway's writes to it back up.
    std::vector<std::unique_ptr<v1::GatewayService::Stub>> slow_stubs;
    std::vector<std::unique_ptr<SlowWatcher>> slow;
    for (int i = 0; i < options.slow; ++i) {
      grpc::ChannelArguments args;
      args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
      args.SetInt("grid.loadgen.slow", i);
      slow_stubs.push_back(v1::GatewayService::NewStub(grpc::CreateCustomChannel(
          stack.address("grid-gateway"), grpc::InsecureChannelCredentials(), args)));
      slow.push_back(std::make_unique<SlowWatcher>(*slow_stubs.back(), token, options.slow_rate));
    }
    phases.push_back(run_phase(absl::StrFormat("+%d slow at %g/s", options.slow, options.slow_rate),
                               options.seconds));
    for (const auto& watcher : slow) {
      slow_cut_offs += watcher->cut_offs();
      slow_read += watcher->read();
    }
  }
  // The last changes of the last phase arrive.
  std::this_thread::sleep_for(std::chrono::seconds(2));

  int ended = 0;
  for (const auto& watcher : watchers) {
    ended += watcher->done() ? 1 : 0;
  }
  out << SummaryHeader("ms") << "\n";
  absl::Status result = absl::OkStatus();
  for (const Phase& phase : phases) {
    std::size_t deliveries = 0;
    const std::vector<double> latencies =
        Latencies(watchers, phase.from_ms, phase.to_ms, deliveries);
    const double seconds = (phase.to_ms - phase.from_ms) / 1000.0;
    out << SummaryRow(absl::StrCat("latency, ", phase.label), Summarize(latencies)) << "\n";
    out << absl::StrFormat(
        "  reports: %d sent (%.0f/s achieved), %d failed; deliveries to the %d watchers: %zu "
        "(%.0f/s)\n",
        phase.reports.issued, seconds > 0 ? phase.reports.issued / seconds : 0.0,
        phase.reports.failed, options.watchers, deliveries, seconds > 0 ? deliveries / seconds : 0);
    if (phase.reports.failed > 0 && result.ok()) {
      result = absl::UnavailableError(
          absl::StrCat("watch: reports failed: ", phase.reports.first_error.message()));
    }
  }
  out << absl::StrFormat(
      "slow watcher(s): read %d messages, cut off %d times (each resumed from its cursor)\n",
      slow_read, slow_cut_offs);
  out << absl::StrFormat("watchers ended during the run (should be 0): %d\n", ended);
  out << "latency = receipt time at the watcher (system clock) - EventChange.at (ms resolution, "
         "stamped by intake/routing on the same machine's clock)\n";
  cancel_all();
  if (ended > 0 && result.ok()) {
    result = absl::InternalError(absl::StrCat("watch: ", ended, " watchers were cut off"));
  }
  return result;
}

}  // namespace grid::loadgen
