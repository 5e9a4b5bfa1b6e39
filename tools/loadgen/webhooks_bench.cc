// grid-loadgen webhooks: see benchmarks.h.
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/clock/clock.h"
#include "grid/v1/gateway.grpc.pb.h"
#include "tests/support/poll.h"
#include "tests/support/webhook_receiver.h"
#include "tools/loadgen/bench_stack.h"
#include "tools/loadgen/benchmarks.h"
#include "tools/loadgen/grpc_calls.h"
#include "tools/loadgen/paced_calls.h"
#include "tools/loadgen/summary.h"
#include "tools/loadgen/workload.h"

namespace grid::loadgen {
namespace {

constexpr char kSecret[] = "grid-loadgen-webhook-secret";
constexpr std::chrono::seconds kCallDeadline{5};

}  // namespace

absl::Status RunWebhooks(const WebhooksOptions& options, std::ostream& out) {
  if (options.events <= 0 || options.rate <= 0 || options.concurrency <= 0 || options.warmup < 0) {
    return absl::InvalidArgumentError(
        "webhooks: --events, --rate and --concurrency must be positive");
  }
  auto config = LoadStackConfig();
  if (!config.ok()) {
    return config.status();
  }
  const std::vector<std::string> grids = GridIds(*config->topology);
  const std::vector<std::string> categories = SpreadCategories(*config->policy);
  const std::string& district = config->topology->root_id();
  out << absl::StrFormat(
      "grid-loadgen webhooks: %d reports at %g/s (each a REPORTED and a DISPATCHED change: %g "
      "changes/s) from %d callers (+%d warm-up), to one receiver of the district over HTTP on "
      "loopback; machine: %u cores\n",
      options.events, options.rate, 2 * options.rate, options.concurrency, options.warmup, Cores());

  testing::WebhookReceiver receiver(kSecret);
  char dir[] = "/tmp/grid-loadgen-webhooks-XXXXXX";
  if (mkdtemp(dir) == nullptr) {
    return absl::InternalError("webhooks: mkdtemp failed");
  }
  const std::string config_path = std::string(dir) + "/webhooks.json";
  const nlohmann::json webhooks = {{"receivers",
                                    {{{"name", "district"},
                                      {"unit_id", district},
                                      {"url", receiver.url()},
                                      {"secret", kSecret},
                                      {"allow_private", true}}}}};
  std::ofstream(config_path) << webhooks.dump();
  testing::Stack::Options stack_options;
  stack_options.webhooks_config = config_path;
  testing::Stack stack(stack_options);
  if (auto status = StartStack(stack, out); !status.ok()) {
    return status;
  }
  auto channel =
      grpc::CreateChannel(stack.address("grid-gateway"), grpc::InsecureChannelCredentials());
  auto gateway = v1::GatewayService::NewStub(channel);
  const std::string run_id = absl::StrCat("loadgen-webhooks-", getpid());
  const std::string token = stack.Token("grid-loadgen", v1::ROLE_OPERATOR, district);
  const auto report = [&](int index) {
    const v1::ReportEventRequest request =
        DispatchReport(index, grids, categories, run_id, district);
    v1::ReportEventResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kCallDeadline);
    context.AddMetadata("authorization", "Bearer " + token);
    const grpc::Status status = gateway->ReportEvent(&context, request, &response);
    return status.ok() ? absl::OkStatus() : FromGrpc(status, "ReportEvent");
  };
  const PacedResult warm =
      RunPaced({options.warmup, 0, options.concurrency, std::chrono::seconds(30)}, report);
  if (warm.failed > 0) {
    return absl::UnavailableError(
        absl::StrCat("webhooks: warm-up failed: ", warm.first_error.message()));
  }
  const size_t warm_changes = 2 * static_cast<size_t>(options.warmup);
  if (!testing::PollUntil([&] { return receiver.accepted() >= warm_changes; },
                          std::chrono::seconds(30))) {
    return absl::DeadlineExceededError(
        absl::StrCat("webhooks: the warm-up's changes did not all "
                     "arrive: ",
                     receiver.accepted(), " of ", warm_changes));
  }
  const size_t first_measured = receiver.all().size();

  const PacedOptions paced{
      options.events, options.rate, options.concurrency,
      std::chrono::milliseconds(static_cast<long long>(3000.0 * options.events / options.rate) +
                                30000)};
  const PacedResult reports =
      RunPaced(paced, [&](int index) { return report(options.warmup + index); });
  if (reports.failed > 0 || reports.issued < options.events) {
    return absl::UnavailableError(absl::StrCat("webhooks: reports ", reports.issued, " issued, ",
                                               reports.failed,
                                               " failed: ", reports.first_error.ToString()));
  }
  const size_t total = warm_changes + 2 * static_cast<size_t>(options.events);
  if (!testing::PollUntil([&] { return receiver.accepted() >= total; }, std::chrono::seconds(60))) {
    return absl::DeadlineExceededError(
        absl::StrCat("webhooks: not every change arrived: ", receiver.accepted(), " of ", total));
  }
  out << absl::StrFormat("offered %g reports/s; achieved %.1f/s\n", options.rate,
                         reports.issued / std::max(reports.elapsed_seconds, 1e-9));

  // Latency: from the change's time (stamped by the service that made it) to its arrival at the
  // receiver, for every measured change and for the dispatches alone.
  std::vector<double> all_ms;
  std::vector<double> dispatched_ms;
  size_t repeats = 0;
  size_t bad_signatures = 0;
  std::map<std::string, int> seen;
  const std::vector<testing::WebhookReceiver::Request> requests = receiver.all();
  for (size_t i = first_measured; i < requests.size(); ++i) {
    const auto& request = requests[i];
    if (!request.signature_valid) {
      ++bad_signatures;
    }
    if (seen[request.key]++ > 0) {
      ++repeats;
      continue;
    }
    const auto body = nlohmann::json::parse(request.body, nullptr, false);
    v1::EventChange change;
    if (body.is_discarded() ||
        !google::protobuf::util::JsonStringToMessage(body["change"].dump(), &change).ok()) {
      return absl::InternalError("webhooks: a body that is not a change: " + request.body);
    }
    const double ms = static_cast<double>(request.arrived_ms - FromTimestamp(change.at()));
    all_ms.push_back(ms);
    if (change.kind() == v1::CHANGE_KIND_DISPATCHED) {
      dispatched_ms.push_back(ms);
    }
  }
  out << "change time -> receiver (ms; the change's time is stamped by the service that made it, "
         "the arrival by the receiver, one clock):\n";
  out << SummaryHeader("ms") << "\n";
  out << SummaryRow("every change", Summarize(all_ms)) << "\n";
  out << SummaryRow("DISPATCHED", Summarize(dispatched_ms)) << "\n";
  out << "repeated deliveries " << repeats << ", bad signatures " << bad_signatures << "\n";
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  if (bad_signatures > 0) {
    return absl::InternalError("webhooks: bad signatures");
  }
  return absl::OkStatus();
}

}  // namespace grid::loadgen
