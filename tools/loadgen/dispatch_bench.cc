// grid-loadgen dispatch: see benchmarks.h.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <cmath>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "grid/v1/gateway.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tools/loadgen/bench_stack.h"
#include "tools/loadgen/benchmarks.h"
#include "tools/loadgen/grpc_calls.h"
#include "tools/loadgen/paced_calls.h"
#include "tools/loadgen/prometheus_text.h"
#include "tools/loadgen/summary.h"
#include "tools/loadgen/workload.h"

namespace grid::loadgen {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr std::chrono::seconds kCallDeadline{5};
// How long events may take to reach DISPATCHED once all are reported.
constexpr std::chrono::seconds kDispatchDeadline{60};

void SetDeadline(grpc::ClientContext& context) {
  context.set_deadline(std::chrono::system_clock::now() + kCallDeadline);
}

// The offered load's time limit: three times its planned length, and half a minute more.
std::chrono::milliseconds TimeLimit(const DispatchOptions& options) {
  return std::chrono::milliseconds(static_cast<long long>(3000.0 * options.events / options.rate) +
                                   30000);
}

std::string Rate(const PacedResult& result) {
  return absl::StrFormat("%.1f/s", result.elapsed_seconds > 0
                                       ? (result.issued - result.failed) / result.elapsed_seconds
                                       : 0.0);
}

void PrintHistogram(const Histogram& histogram, int expected, std::ostream& out) {
  out << absl::StrFormat(
      "routing's own grid_dispatch_latency_seconds: count %.0f%s, mean %.2f ms, "
      "bucket-interpolated p50 %.2f ms, p99 %.2f ms\n",
      histogram.count,
      histogram.count == expected ? " (= events reported, warm-up included)"
                                  : absl::StrCat(" (expected ", expected, ")"),
      histogram.count > 0 ? 1000.0 * histogram.sum / histogram.count : 0.0,
      1000.0 * EstimateQuantile(histogram, 0.5), 1000.0 * EstimateQuantile(histogram, 0.99));
  out << "  buckets, le (ms): cumulative count";
  int on_line = 0;
  for (const Histogram::Bucket& bucket : histogram.buckets) {
    out << (on_line++ % 8 == 0 ? "\n  " : "")
        << (std::isinf(bucket.le) ? std::string("+Inf") : absl::StrFormat("%g", 1000.0 * bucket.le))
        << ": " << absl::StrFormat("%-7.0f", bucket.count);
  }
  out << "\n";
}

}  // namespace

absl::Status RunDispatch(const DispatchOptions& options, std::ostream& out) {
  if (options.events <= 0 || options.rate <= 0 || options.concurrency <= 0 || options.warmup < 0) {
    return absl::InvalidArgumentError(
        "dispatch: --events, --rate and --concurrency must be positive");
  }
  auto config = LoadStackConfig();
  if (!config.ok()) {
    return config.status();
  }
  testing::Stack stack;
  return MeasureDispatch(stack, *config, options, out).status();
}

absl::StatusOr<DispatchFigures> MeasureDispatch(testing::Stack& stack, const StackConfig& config,
                                                const DispatchOptions& options, std::ostream& out) {
  const std::vector<std::string> grids = GridIds(*config.topology);
  const std::vector<std::string> categories = SpreadCategories(*config.policy);
  if (grids.empty() || categories.empty()) {
    return absl::FailedPreconditionError(
        "dispatch: the topology has no grids or the policy no "
        "small-class categories");
  }
  out << absl::StrFormat(
      "grid-loadgen dispatch: %d reports at %g/s from %d callers (+%d warm-up); machine: %u "
      "cores\n",
      options.events, options.rate, options.concurrency, options.warmup, Cores());
  out << "load: " << grids.size() << " grids, categories " << absl::StrJoin(categories, " ")
      << ", SEVERITY_NORMAL, no location, an operator at " << config.topology->root_id() << "\n";

  if (auto status = StartStack(stack, out); !status.ok()) {
    return status;
  }
  auto channel =
      grpc::CreateChannel(stack.address("grid-gateway"), grpc::InsecureChannelCredentials());
  auto health = grpc::health::v1::Health::NewStub(channel);
  auto gateway = v1::GatewayService::NewStub(channel);
  const std::string run_id = absl::StrCat("loadgen-", getpid());
  const std::string& district = config.topology->root_id();
  // The reports' actor (workload.h): an operator of the district, as a bearer token.
  const std::string token = stack.Token("grid-loadgen", v1::ROLE_OPERATOR, district);

  const auto check = [&](int) { return CheckHealth(*health, kCallDeadline); };
  // Event ids: the warm-up's first, then the measured reports'.
  const int total = options.warmup + options.events;
  std::vector<std::string> ids(static_cast<std::size_t>(total));
  const auto report = [&](int index) {
    const v1::ReportEventRequest request =
        DispatchReport(index, grids, categories, run_id, district);
    v1::ReportEventResponse response;
    grpc::ClientContext context;
    SetDeadline(context);
    context.AddMetadata("authorization", "Bearer " + token);
    const grpc::Status status = gateway->ReportEvent(&context, request, &response);
    if (!status.ok()) {
      return FromGrpc(status, "ReportEvent");
    }
    if (response.event_id().empty() || response.replayed() || !response.duplicate_of().empty()) {
      return absl::InternalError(absl::StrCat("ReportEvent ", index, ": not filed as a new event"));
    }
    ids[static_cast<std::size_t>(index)] = response.event_id();
    return absl::OkStatus();
  };

  // Warm-up: the channel, the gateway's channels to its backends, the services' first requests.
  PacedOptions warmup{options.warmup, 0, options.concurrency, std::chrono::seconds(30)};
  const PacedResult warm_checks = RunPaced(warmup, check);
  const PacedResult warm_reports = RunPaced(warmup, report);
  if (warm_checks.failed + warm_reports.failed > 0) {
    return absl::UnavailableError(absl::StrCat(
        "dispatch: warm-up failed: ",
        (warm_checks.failed > 0 ? warm_checks.first_error : warm_reports.first_error).message()));
  }

  const PacedOptions paced{options.events, options.rate, options.concurrency, TimeLimit(options)};
  const PacedResult checks = RunPaced(paced, check);
  const PacedResult reports =
      RunPaced(paced, [&](int index) { return report(options.warmup + index); });
  out << "offered " << options.rate << "/s; achieved: health checks " << Rate(checks)
      << ", reports " << Rate(reports) << "\n";
  if (checks.failed > 0 || checks.issued < options.events || reports.failed > 0 ||
      reports.issued < options.events) {
    return absl::UnavailableError(absl::StrCat(
        "dispatch: health checks ", checks.issued, " issued, ", checks.failed, " failed; reports ",
        reports.issued, " issued, ", reports.failed, " failed; first error: ",
        (checks.failed > 0 ? checks.first_error : reports.first_error).ToString()));
  }

  std::vector<std::string> last_state;
  const std::vector<std::optional<v1::Event>> events =
      ReadBackDispatched(*gateway, token, ids, options.concurrency, kDispatchDeadline, last_state);
  std::vector<double> dispatch_ms;
  std::vector<std::string> stuck;
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (!events[i]) {
      stuck.push_back(absl::StrCat(ids[i], " (", last_state[i], ")"));
      continue;
    }
    if (i >= static_cast<std::size_t>(options.warmup)) {
      dispatch_ms.push_back(static_cast<double>(FromTimestamp(events[i]->dispatched_at()) -
                                                FromTimestamp(events[i]->created_at())));
    }
  }

  DispatchFigures figures;
  figures.reports_per_s =
      reports.elapsed_seconds > 0 ? (reports.issued - reports.failed) / reports.elapsed_seconds : 0;
  const Summary health_summary = Summarize(checks.Succeeded());
  const Summary report_summary = Summarize(reports.Succeeded());
  const Summary dispatch_summary = Summarize(dispatch_ms);
  out << SummaryHeader("ms") << "\n"
      << SummaryRow("baseline: Health/Check round trip", health_summary) << "\n"
      << SummaryRow("ReportEvent round trip", report_summary) << "\n"
      << SummaryRow("report -> DISPATCHED (server)", dispatch_summary) << "\n";
  out << absl::StrFormat(
      "ratio ReportEvent / Health/Check: p50 %.2fx, p99 %.2fx\n",
      health_summary.median > 0 ? report_summary.median / health_summary.median : 0.0,
      health_summary.p99 > 0 ? report_summary.p99 / health_summary.p99 : 0.0);
  out << "report -> DISPATCHED is Event.dispatched_at - created_at (ms resolution, stamped by "
         "intake and routing on this machine's clock)\n";

  auto page =
      HttpGet("127.0.0.1", stack.metrics_port("grid-routing"), "/metrics", std::chrono::seconds(5));
  auto histogram = page.ok() ? ParseHistogram(*page, "grid_dispatch_latency_seconds")
                             : absl::StatusOr<Histogram>(page.status());
  if (histogram.ok()) {
    PrintHistogram(*histogram, total, out);
    if (histogram->count > 0) {
      figures.routing_mean_ms = 1000.0 * histogram->sum / histogram->count;
      figures.routing_p99_ms = 1000.0 * EstimateQuantile(*histogram, 0.99);
    }
  } else {
    out << "routing's grid_dispatch_latency_seconds: unavailable: " << histogram.status() << "\n";
  }

  if (!stuck.empty()) {
    const std::size_t stuck_count = stuck.size();
    stuck.resize(std::min<std::size_t>(stuck_count, 10));
    return absl::DeadlineExceededError(absl::StrCat(
        "dispatch: ", stuck_count, " of ", total, " events did not reach DISPATCHED within ",
        kDispatchDeadline.count(), " s, e.g.: ", absl::StrJoin(stuck, ", ")));
  }
  out << "all " << total << " events reached DISPATCHED\n";
  figures.health = health_summary;
  figures.report = report_summary;
  figures.dispatched = dispatch_summary;
  return figures;
}

}  // namespace grid::loadgen
