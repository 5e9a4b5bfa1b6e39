// grid-loadgen durability: see benchmarks.h.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/loadgen/bench_stack.h"
#include "tools/loadgen/benchmarks.h"
#include "tools/loadgen/closed_loop.h"
#include "tools/loadgen/grpc_calls.h"
#include "tools/loadgen/summary.h"
#include "tools/loadgen/workload.h"

namespace grid::loadgen {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kCallDeadline{10000};

double Median(std::vector<double> values) {
  if (values.empty()) {
    return 0;
  }
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// The figures of one stack.
struct RunFigures {
  double sequential_median_ms = 0;
  double sequential_p99_ms = 0;
  double saturated_per_s = 0;
  double saturated_median_ms = 0;
  double saturated_p99_ms = 0;
};

// Reports from every grid worker of the topology (a token each, as ingest's load), through the
// gateway; every call must be filed.
class Reports final {
 public:
  Reports(testing::Stack& stack, const topology::Topology& topology,
          std::vector<std::string> categories)
      : categories_(std::move(categories)), run_id_(absl::StrCat("durability-", getpid())) {
    for (const v1::Worker& worker : topology.data().workers()) {
      workers_.push_back(worker);
      tokens_.push_back(stack.Token(worker.id(), v1::ROLE_WORKER, worker.grid_id()));
    }
    for (int i = 0; i < 4; ++i) {
      grpc::ChannelArguments args;
      args.SetInt("grid.loadgen.channel", i);
      stubs_.push_back(v1::GatewayService::NewStub(grpc::CreateCustomChannel(
          stack.address("grid-gateway"), grpc::InsecureChannelCredentials(), args)));
    }
  }

  void Start(int index, std::function<void(absl::Status)> done) {
    struct Call {
      grpc::ClientContext context;
      v1::ReportEventRequest request;
      v1::ReportEventResponse response;
    };
    const size_t who = static_cast<size_t>(index) % workers_.size();
    auto call = std::make_shared<Call>();
    call->request = WorkerReport(index, workers_[who], categories_, run_id_);
    call->context.set_deadline(std::chrono::system_clock::now() + kCallDeadline);
    call->context.AddMetadata("authorization", "Bearer " + tokens_[who]);
    stubs_[static_cast<size_t>(index) % stubs_.size()]->async()->ReportEvent(
        &call->context, &call->request, &call->response,
        [call, done = std::move(done)](grpc::Status status) {
          done(FromGrpc(status, "ReportEvent"));
        });
  }

 private:
  std::vector<std::string> categories_;
  std::string run_id_;
  std::vector<v1::Worker> workers_;
  std::vector<std::string> tokens_;
  std::vector<std::unique_ptr<v1::GatewayService::Stub>> stubs_;
};

absl::StatusOr<RunFigures> RunOne(const DurabilityOptions& options, int wait_ms,
                                  const StackConfig& config, std::ostream& out) {
  testing::Stack::Options stack_options;
  stack_options.redis_cluster = options.masters;
  stack_options.redis_cluster_replicas = 1;
  stack_options.extra_args["grid-intake"] = {"--redis-wait-ms", std::to_string(wait_ms)};
  testing::Stack stack(stack_options);
  if (absl::Status status = stack.Start(); !status.ok()) {
    return absl::Status(
        status.code(), absl::StrCat("stack did not start: ", status.message(), "\n", stack.Logs()));
  }
  Reports reports(stack, *config.topology, SpreadCategories(*config.policy));
  int next = 0;
  const auto from = [&](int first) {
    return [&reports, first](int index, std::function<void(absl::Status)> done) {
      reports.Start(first + index, std::move(done));
    };
  };
  const auto run = [&](int outstanding, int seconds) -> absl::StatusOr<ClosedLoopResult> {
    ClosedLoopResult result =
        RunClosedLoop(ClosedLoopOptions{outstanding, milliseconds(1000 * seconds)}, from(next));
    next += result.started;
    if (result.failed > 0) {
      return absl::UnavailableError(absl::StrCat(result.failed, " reports failed (--redis-wait-ms ",
                                                 wait_ms,
                                                 "); the first: ", result.first_error.message()));
    }
    return result;
  };
  if (auto warm = run(options.outstanding, 1); !warm.ok()) {
    return warm.status();
  }
  auto sequential = run(1, options.seconds);
  if (!sequential.ok()) {
    return sequential.status();
  }
  auto saturated = run(options.outstanding, options.seconds);
  if (!saturated.ok()) {
    return saturated.status();
  }
  const Summary one = Summarize(sequential->latency_ms);
  const Summary many = Summarize(saturated->latency_ms);
  RunFigures figures{.sequential_median_ms = one.median,
                     .sequential_p99_ms = one.p99,
                     .saturated_per_s = saturated->PerSecond(),
                     .saturated_median_ms = many.median,
                     .saturated_p99_ms = many.p99};
  out << absl::StrFormat(
             "  --redis-wait-ms %-4d one at a time: median %.2f ms, p99 %.2f ms; %d outstanding: "
             "%.0f reports/s, median %.2f ms, p99 %.2f ms",
             wait_ms, figures.sequential_median_ms, figures.sequential_p99_ms, options.outstanding,
             figures.saturated_per_s, figures.saturated_median_ms, figures.saturated_p99_ms)
      << std::endl;
  return figures;
}

}  // namespace

absl::Status RunDurability(const DurabilityOptions& options, std::ostream& out) {
  auto config = LoadStackConfig();
  if (!config.ok()) {
    return config.status();
  }
  out << "durability: ReportEvent through the gateway on a Redis Cluster of " << options.masters
      << " masters with a replica each, intake with --redis-wait-ms 0 (acknowledged once the "
         "master has it) and "
      << options.wait_ms << " (once a replica has it, WAIT); " << options.runs
      << " runs, a fresh stack each, the two alternating; each run: " << options.seconds
      << " s one call at a time, then " << options.seconds << " s with " << options.outstanding
      << " outstanding; " << Cores() << " cores" << std::endl;
  std::map<int, std::vector<RunFigures>> by_wait;
  for (int run = 0; run < options.runs; ++run) {
    out << "run " << run + 1 << ":" << std::endl;
    for (int wait_ms : {0, options.wait_ms}) {
      absl::StatusOr<RunFigures> figures = RunOne(options, wait_ms, *config, out);
      if (!figures.ok()) {
        return figures.status();
      }
      by_wait[wait_ms].push_back(*figures);
    }
  }
  const auto median = [&](int wait_ms, double RunFigures::*field) {
    std::vector<double> values;
    for (const RunFigures& figures : by_wait[wait_ms]) {
      values.push_back(figures.*field);
    }
    return Median(values);
  };
  out << "\nmedians of the runs        without WAIT   with WAIT   ratio\n";
  const auto row = [&](const char* label, double RunFigures::*field, const char* unit) {
    const double off = median(0, field);
    const double on = median(options.wait_ms, field);
    const int digits = std::string_view(unit) == "/s" ? 0 : 2;
    out << absl::StrFormat("%-26s %9.*f %s %9.*f %s   %.2fx\n", label, digits, off, unit, digits,
                           on, unit, off > 0 ? on / off : 0.0);
  };
  row("one at a time, median", &RunFigures::sequential_median_ms, "ms");
  row("one at a time, p99", &RunFigures::sequential_p99_ms, "ms");
  row("saturated, reports/s", &RunFigures::saturated_per_s, "/s");
  row("saturated, median", &RunFigures::saturated_median_ms, "ms");
  row("saturated, p99", &RunFigures::saturated_p99_ms, "ms");
  return absl::OkStatus();
}

}  // namespace grid::loadgen
