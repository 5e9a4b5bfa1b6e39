// grid-loadgen cluster: see benchmarks.h.
//
// Three configurations, one after the other, each on a stack of its own: Laoshan's topology on one
// redis-server, the same on a Redis Cluster, and a province (tools/topogen: 136 districts under 16
// cities, each with its own policy) on one redis-server. The first two run the dispatch workload at
// a fixed rate and then at saturation; the third the fixed-rate workload only (routing's latency
// against the topology's size).
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/config/json_file.h"
#include "grid/v1/gateway.grpc.pb.h"
#include "tests/support/paths.h"
#include "tools/loadgen/bench_stack.h"
#include "tools/loadgen/benchmarks.h"
#include "tools/loadgen/grpc_calls.h"
#include "tools/loadgen/paced_calls.h"
#include "tools/loadgen/workload.h"
#include "tools/topogen/generator.h"

namespace grid::loadgen {
namespace {

constexpr std::chrono::seconds kCallDeadline{5};
// How long the saturation phase's events may take to reach DISPATCHED once all are filed.
constexpr std::chrono::seconds kDispatchDeadline{120};
// Request ids of the saturation phase start here, clear of the fixed-rate phase's.
constexpr int kSaturationFirstIndex = 10'000'000;

struct Saturation {
  int filed = 0;
  double seconds = 0;
  // From the first call to the last event read back DISPATCHED.
  double until_dispatched_seconds = 0;
  double PerSecond() const { return seconds > 0 ? filed / seconds : 0; }
};

// Reports from `outstanding` callers as fast as the stack takes them for `seconds`, then every one
// read back until DISPATCHED (an event that never gets there fails the run).
absl::StatusOr<Saturation> Saturate(testing::Stack& stack, const StackConfig& config,
                                    int outstanding, int seconds, std::ostream& out) {
  const std::vector<std::string> grids = GridIds(*config.topology);
  const std::vector<std::string> categories = SpreadCategories(*config.policy);
  const std::string& district = config.topology->root_id();
  const std::string token = stack.Token("grid-loadgen", v1::ROLE_OPERATOR, district);
  const std::string run_id = absl::StrCat("loadgen-", getpid());
  grpc::ChannelArguments arguments;
  // Several connections: one channel's single connection would be the bottleneck.
  std::vector<std::unique_ptr<v1::GatewayService::Stub>> stubs;
  for (int i = 0; i < 4; ++i) {
    arguments.SetInt("grid-loadgen-channel", i);
    stubs.push_back(v1::GatewayService::NewStub(grpc::CreateCustomChannel(
        stack.address("grid-gateway"), grpc::InsecureChannelCredentials(), arguments)));
  }
  const int capacity = 2'000'000;
  std::vector<std::string> ids(static_cast<std::size_t>(capacity));
  const auto begin = std::chrono::steady_clock::now();
  const PacedOptions options{capacity, 0, outstanding, std::chrono::seconds(seconds)};
  const PacedResult result = RunPaced(options, [&](int index) {
    const v1::ReportEventRequest request =
        DispatchReport(kSaturationFirstIndex + index, grids, categories, run_id, district);
    v1::ReportEventResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kCallDeadline);
    context.AddMetadata("authorization", "Bearer " + token);
    const grpc::Status status = stubs[static_cast<std::size_t>(index) % stubs.size()]->ReportEvent(
        &context, request, &response);
    if (!status.ok()) {
      return FromGrpc(status, "ReportEvent");
    }
    ids[static_cast<std::size_t>(index)] = response.event_id();
    return absl::OkStatus();
  });
  if (result.failed > 0) {
    return absl::UnavailableError(
        absl::StrCat("saturation: ", result.failed,
                     " reports failed; the first: ", result.first_error.message()));
  }
  // The calls issued: every index up to the last (but those the clock stopped at the end).
  std::erase_if(ids, [](const std::string& id) { return id.empty(); });
  if (ids.size() != static_cast<std::size_t>(result.issued)) {
    return absl::InternalError(absl::StrCat("saturation: ", result.issued, " reports issued but ",
                                            ids.size(), " event ids answered"));
  }
  std::vector<std::string> last_state;
  const std::vector<std::optional<v1::Event>> events =
      ReadBackDispatched(*stubs.front(), token, ids, outstanding, kDispatchDeadline, last_state);
  int stuck = 0;
  for (const auto& event : events) {
    stuck += event.has_value() ? 0 : 1;
  }
  if (stuck > 0) {
    return absl::DeadlineExceededError(absl::StrCat("saturation: ", stuck, " of ", ids.size(),
                                                    " events did not reach DISPATCHED within ",
                                                    kDispatchDeadline.count(), " s"));
  }
  Saturation saturation;
  saturation.filed = static_cast<int>(ids.size());
  saturation.seconds = result.elapsed_seconds;
  saturation.until_dispatched_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  out << absl::StrFormat(
      "saturation: %d callers, %d reports filed in %.2f s: %.0f/s; all DISPATCHED and read back "
      "%.2f s after the first call\n",
      outstanding, saturation.filed, saturation.seconds, saturation.PerSecond(),
      saturation.until_dispatched_seconds);
  return saturation;
}

struct Configuration {
  std::string name;
  DispatchFigures dispatch;
  std::optional<Saturation> saturation;
};

absl::StatusOr<Configuration> Run(const std::string& name, testing::Stack::Options stack_options,
                                  const StackConfig& config, const ClusterOptions& options,
                                  bool saturate, std::ostream& out) {
  out << "\n== " << name << std::endl;
  testing::Stack stack(std::move(stack_options));
  DispatchOptions dispatch;
  dispatch.events = options.events;
  dispatch.rate = options.rate;
  dispatch.concurrency = options.concurrency;
  auto figures = MeasureDispatch(stack, config, dispatch, out);
  if (!figures.ok()) {
    return absl::Status(figures.status().code(),
                        absl::StrCat(name, ": ", figures.status().message()));
  }
  Configuration configuration{name, *figures, std::nullopt};
  if (saturate && options.seconds > 0) {
    auto saturation = Saturate(stack, config, options.outstanding, options.seconds, out);
    if (!saturation.ok()) {
      return absl::Status(saturation.status().code(),
                          absl::StrCat(name, ": ", saturation.status().message()));
    }
    configuration.saturation = *saturation;
  }
  return configuration;
}

double Ratio(double a, double b) { return b > 0 ? a / b : 0; }

// A province in a temporary directory, removed when this goes: tools/topogen's region of
// `districts` districts under `cities` cities (Shandong: 136 under 16), `grids` grids together,
// and each district's policy (the shipped policy moved onto its departments).
class ProvinceTopology {
 public:
  ~ProvinceTopology() {
    if (!dir_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
    }
  }

  absl::Status Write(int grids, int districts, int cities, std::ostream& out) {
    const auto begin = std::chrono::steady_clock::now();
    topogen::RegionOptions options;
    options.grids = grids;
    options.districts = districts;
    options.cities = cities;
    auto topology = topogen::GenerateRegion(options);
    if (!topology.ok()) {
      return topology.status();
    }
    v1::Policy model;
    if (auto status =
            config::LoadJsonFile(testing::SourcePath(testing::Stack::Options().policy), model);
        !status.ok()) {
      return status;
    }
    auto policies = topogen::DistrictPolicies(*topology, model);
    if (!policies.ok()) {
      return policies.status();
    }
    dir_ = std::filesystem::temp_directory_path() / absl::StrCat("grid-province-", getpid());
    std::filesystem::create_directories(dir_ / "policies");
    std::ofstream file(path());
    file << topogen::ToJson(*topology);
    file.close();
    for (const v1::Policy& policy : *policies) {
      std::ofstream one(dir_ / "policies" / (policy.district_id() + ".json"));
      one << topogen::ToJson(policy);
      if (!one) {
        return absl::InternalError(absl::StrCat("cannot write ", policies_dir()));
      }
    }
    if (!file) {
      return absl::InternalError(absl::StrCat("cannot write ", path()));
    }
    int counts[v1::Level_ARRAYSIZE] = {};
    for (const v1::Unit& unit : topology->units()) {
      counts[unit.level()] += unit.kind() == v1::UNIT_KIND_DEPARTMENT ? 0 : 1;
    }
    out << absl::StrFormat(
        "province topology (tools/topogen --districts %d --cities %d --grids %d): %d districts, "
        "%d subdistricts, %d communities, %d grids, %d workers, %.0f MB of JSON and %d district "
        "policies, generated in %.1f s\n",
        districts, cities, grids, counts[v1::LEVEL_DISTRICT], counts[v1::LEVEL_SUBDISTRICT],
        counts[v1::LEVEL_COMMUNITY], counts[v1::LEVEL_GRID], topology->workers_size(),
        static_cast<double>(std::filesystem::file_size(path())) / 1e6,
        static_cast<int>(policies->size()),
        std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count());
    return absl::OkStatus();
  }

  std::string path() const { return (dir_ / "topology.json").string(); }
  std::string policies_dir() const { return (dir_ / "policies").string(); }

 private:
  std::filesystem::path dir_;
};

}  // namespace

absl::Status RunCluster(const ClusterOptions& options, std::ostream& out) {
  if (options.events <= 0 || options.rate <= 0 || options.concurrency <= 0 ||
      options.outstanding <= 0 || options.seconds < 0 || options.masters < 3 ||
      options.province_grids < 0) {
    return absl::InvalidArgumentError(
        "cluster: --events, --rate, --concurrency and --outstanding must be positive, --masters "
        "at least 3 (Redis Cluster's minimum), --seconds and --province-grids not negative");
  }
  auto laoshan = LoadStackConfig();
  if (!laoshan.ok()) {
    return laoshan.status();
  }
  out << absl::StrFormat(
      "grid-loadgen cluster: %d reports at %g/s from %d callers, then %d callers as fast as "
      "they go for %d s; one redis-server vs a cluster of %d masters; Laoshan vs %d grids; "
      "machine: %u cores (load generator, services and every Redis share them)\n",
      options.events, options.rate, options.concurrency, options.outstanding, options.seconds,
      options.masters, options.province_grids, Cores());

  auto single =
      Run("Laoshan, one redis-server", testing::Stack::Options(), *laoshan, options, true, out);
  if (!single.ok()) {
    return single.status();
  }
  testing::Stack::Options on_cluster;
  on_cluster.redis_cluster = options.masters;
  auto cluster = Run(absl::StrCat("Laoshan, a Redis Cluster of ", options.masters, " masters"),
                     on_cluster, *laoshan, options, true, out);
  if (!cluster.ok()) {
    return cluster.status();
  }
  std::optional<Configuration> province;
  ProvinceTopology province_file;
  if (options.province_grids > 0) {
    out << "\n";
    if (auto status = province_file.Write(options.province_grids, options.province_districts,
                                          options.province_cities, out);
        !status.ok()) {
      return status;
    }
    const auto load_begin = std::chrono::steady_clock::now();
    auto config = LoadStackConfig(province_file.path(), province_file.policies_dir());
    if (!config.ok()) {
      return config.status();
    }
    out << absl::StrFormat(
        "province topology and policy loaded in %.1f s\n",
        std::chrono::duration<double>(std::chrono::steady_clock::now() - load_begin).count());
    testing::Stack::Options big;
    big.topology = province_file.path();
    big.policy = "";
    big.api_client_unit = config->topology->root_id();
    for (const std::string& name : testing::Stack::ServiceNames()) {
      big.extra_args[name] = {"--district-policy", province_file.policies_dir()};
    }
    auto ran = Run("province, one redis-server", big, *config, options, false, out);
    if (!ran.ok()) {
      return ran.status();
    }
    province = *ran;
  }

  out << "\n== summary (medians and p99s in ms)\n";
  const auto row = [&](const Configuration& c) {
    out << absl::StrFormat(
        "%-40s ReportEvent %5.2f / %5.2f  report->DISPATCHED %4.1f / %4.1f  routing mean %5.2f, "
        "p99 %5.2f  saturation %s\n",
        c.name, c.dispatch.report.median, c.dispatch.report.p99, c.dispatch.dispatched.median,
        c.dispatch.dispatched.p99, c.dispatch.routing_mean_ms, c.dispatch.routing_p99_ms,
        c.saturation ? absl::StrFormat("%.0f reports/s", c.saturation->PerSecond()) : "-");
  };
  row(*single);
  row(*cluster);
  if (province) {
    row(*province);
  }
  const double ingest_ratio = Ratio(cluster->saturation ? cluster->saturation->PerSecond() : 0,
                                    single->saturation ? single->saturation->PerSecond() : 0);
  // Routing's own histogram: dispatched_at - created_at has whole milliseconds only.
  const double routing_mean_ratio =
      province ? Ratio(province->dispatch.routing_mean_ms, single->dispatch.routing_mean_ms) : 0;
  const double routing_p99_ratio =
      province ? Ratio(province->dispatch.routing_p99_ms, single->dispatch.routing_p99_ms) : 0;
  out << "(ReportEvent and report->DISPATCHED: median / p99 of each report, the latter in whole "
         "ms; routing: its own grid_dispatch_latency_seconds, exact mean and bucket-interpolated "
         "p99)\n";
  out << absl::StrFormat(
      "cluster: single_ingest_per_s=%.0f cluster_ingest_per_s=%.0f ratio_cluster_vs_single=%.2f "
      "single_report_p50_ms=%.2f cluster_report_p50_ms=%.2f laoshan_routing_mean_ms=%.2f "
      "province_routing_mean_ms=%.2f ratio_province_vs_laoshan_mean=%.2f "
      "ratio_province_vs_laoshan_p99=%.2f\n",
      single->saturation ? single->saturation->PerSecond() : 0,
      cluster->saturation ? cluster->saturation->PerSecond() : 0, ingest_ratio,
      single->dispatch.report.median, cluster->dispatch.report.median,
      single->dispatch.routing_mean_ms, province ? province->dispatch.routing_mean_ms : 0,
      routing_mean_ratio, routing_p99_ratio);
  return absl::OkStatus();
}

}  // namespace grid::loadgen
