// grid-loadgen ingest: see benchmarks.h.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/store/keys.h"
#include "grid/v1/gateway.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/support/paths.h"
#include "tests/support/poll.h"
#include "tests/support/ports.h"
#include "tools/loadgen/bench_stack.h"
#include "tools/loadgen/benchmarks.h"
#include "tools/loadgen/closed_loop.h"
#include "tools/loadgen/grpc_calls.h"
#include "tools/loadgen/paced_calls.h"
#include "tools/loadgen/process_cpu.h"
#include "tools/loadgen/redis_probe.h"
#include "tools/loadgen/summary.h"
#include "tools/loadgen/workload.h"

namespace grid::loadgen {
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kCallDeadline{10000};
// How long routing and metrics get to work off their backlog once the load stops.
constexpr milliseconds kDrainDeadline{180000};
// How long the fixed-rate phase's events get to reach DISPATCHED.
constexpr milliseconds kDispatchDeadline{60000};
constexpr char kLoadgen[] = "grid-loadgen";
constexpr char kRedis[] = "redis-server";

std::string LoadAverage() {
  std::ifstream file("/proc/loadavg");
  std::string one, five, fifteen;
  file >> one >> five >> fifteen;
  return absl::StrCat(one, " ", five, " ", fifteen);
}

// One connection to the gateway each (a channel argument of its own keeps gRPC from sharing one
// subchannel among them).
struct GatewayChannel {
  std::unique_ptr<v1::GatewayService::Stub> gateway;
  std::unique_ptr<grpc::health::v1::Health::Stub> health;
};
std::vector<GatewayChannel> Connect(const std::string& address, int channels) {
  std::vector<GatewayChannel> connected;
  for (int i = 0; i < channels; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("grid.loadgen.channel", i);
    auto channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
    connected.push_back(
        {v1::GatewayService::NewStub(channel), grpc::health::v1::Health::NewStub(channel)});
  }
  return connected;
}

// What a report of the saturation phase left: the event and where its record lives.
struct Filed {
  std::string event_id;
  std::string subdistrict;
};

// The grid workers of the topology with a bearer token each, so that the load comes from as many
// callers as the district has workers.
struct Reporter {
  v1::Worker worker;
  std::string subdistrict;
  std::string token;
};

class ReportLoad final {
 public:
  ReportLoad(std::vector<GatewayChannel>& channels, const std::vector<Reporter>& reporters,
             const std::vector<std::string>& categories, std::string run_id)
      : channels_(channels),
        reporters_(reporters),
        categories_(categories),
        run_id_(std::move(run_id)) {}

  // The report with index `index` (of the run), asynchronously (ClosedLoop's AsyncCall).
  void Start(int index, std::function<void(absl::Status)> done) {
    struct Call {
      grpc::ClientContext context;
      v1::ReportEventRequest request;
      v1::ReportEventResponse response;
    };
    const Reporter& reporter = ReporterOf(index);
    auto call = std::make_shared<Call>();
    call->request = WorkerReport(index, reporter.worker, categories_, run_id_);
    call->context.set_deadline(std::chrono::system_clock::now() + kCallDeadline);
    call->context.AddMetadata("authorization", "Bearer " + reporter.token);
    Stub(index).async()->ReportEvent(
        &call->context, &call->request, &call->response,
        [this, call, index, &reporter, done = std::move(done)](grpc::Status status) {
          done(Record(index, reporter, status, call->response));
        });
  }

  // The same, synchronously (RunPaced's call).
  absl::Status Call(int index) {
    const Reporter& reporter = ReporterOf(index);
    const v1::ReportEventRequest request =
        WorkerReport(index, reporter.worker, categories_, run_id_);
    v1::ReportEventResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kCallDeadline);
    context.AddMetadata("authorization", "Bearer " + reporter.token);
    const grpc::Status status = Stub(index).ReportEvent(&context, request, &response);
    return Record(index, reporter, status, response);
  }

  // The events filed since the last call, and forgets them.
  std::vector<Filed> TakeFiled() {
    std::lock_guard lock(mutex_);
    return std::exchange(filed_, {});
  }

 private:
  const Reporter& ReporterOf(int index) const {
    return reporters_[static_cast<std::size_t>(index) % reporters_.size()];
  }
  v1::GatewayService::Stub& Stub(int index) {
    return *channels_[static_cast<std::size_t>(index) % channels_.size()].gateway;
  }

  absl::Status Record(int index, const Reporter& reporter, const grpc::Status& status,
                      const v1::ReportEventResponse& response) {
    if (!status.ok()) {
      return FromGrpc(status, "ReportEvent");
    }
    if (response.event_id().empty() || response.replayed() || !response.duplicate_of().empty()) {
      return absl::InternalError(absl::StrCat("ReportEvent ", index, ": not filed as a new event"));
    }
    std::lock_guard lock(mutex_);
    filed_.push_back({response.event_id(), reporter.subdistrict});
    return absl::OkStatus();
  }

  std::vector<GatewayChannel>& channels_;
  const std::vector<Reporter>& reporters_;
  const std::vector<std::string>& categories_;
  const std::string run_id_;
  std::mutex mutex_;
  std::vector<Filed> filed_;  // Guarded by mutex_.
};

// Health checks spread over the channels, asynchronously (ClosedLoop's AsyncCall).
void StartHealthCheck(std::vector<GatewayChannel>& channels, int index,
                      std::function<void(absl::Status)> done) {
  struct Call {
    grpc::ClientContext context;
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
  };
  auto call = std::make_shared<Call>();
  call->context.set_deadline(std::chrono::system_clock::now() + kCallDeadline);
  channels[static_cast<std::size_t>(index) % channels.size()].health->async()->Check(
      &call->context, &call->request, &call->response,
      [call, done = std::move(done)](grpc::Status status) {
        done(HealthStatus(status, call->response));
      });
}

// Waits until routing and metrics have worked off every entry; the time it took.
absl::StatusOr<double> Drain(testing::Stack& stack, const std::vector<std::string>& subdistricts) {
  const auto begin = SteadyClock::now();
  absl::StatusOr<Backlog> backlog = absl::UnknownError("not read");
  const bool drained = testing::PollUntil(
      [&] {
        backlog = ConsumerBacklog(stack.redis_client(), subdistricts);
        return backlog.ok() && backlog->Empty();
      },
      kDrainDeadline, milliseconds(10));
  if (!drained) {
    return absl::DeadlineExceededError(absl::StrCat(
        "the consumer groups still have work ", kDrainDeadline.count() / 1000,
        " s after the load: ", backlog.ok() ? backlog->where : backlog.status().ToString()));
  }
  return std::chrono::duration<double>(SteadyClock::now() - begin).count();
}

// How many of `filed` are DISPATCHED in their records now; the first that is not, in `first`.
absl::StatusOr<int> CountDispatched(testing::Stack& stack, const std::vector<Filed>& filed,
                                    std::string& first) {
  const std::string dispatched = std::to_string(static_cast<int>(v1::EVENT_STATE_DISPATCHED));
  int count = 0;
  for (const Filed& event : filed) {
    auto state =
        RedisCommand(stack, {"HGET", store::EventKey(event.subdistrict, event.event_id), "state"});
    if (!state.ok()) {
      return state.status();
    }
    if (state->IsString() && state->str == dispatched) {
      ++count;
    } else if (first.empty()) {
      first = absl::StrCat(event.event_id, " has state ", state->IsString() ? state->str : "none");
    }
  }
  return count;
}

// Where Redis's memory per event goes: one event's own keys (MEMORY USAGE), and the share per
// event of the subdistricts' streams and sorted sets; the rest (unit queues, the open index,
// allocator overhead) is what used_memory grew by beyond them.
absl::Status PrintMemoryBreakdown(testing::Stack& stack, const Filed& sample,
                                  const std::vector<std::string>& subdistricts,
                                  double per_event_total, std::ostream& out) {
  const auto usage = [&](const std::string& key) -> absl::StatusOr<long long> {
    auto reply = RedisCommand(stack, {"MEMORY", "USAGE", key, "SAMPLES", "0"});
    if (!reply.ok()) {
      return reply.status();
    }
    return reply->IsInteger() ? reply->integer : 0;
  };
  auto pb =
      RedisCommand(stack, {"HGET", store::EventKey(sample.subdistrict, sample.event_id), "pb"});
  v1::Event event;
  if (!pb.ok() || !pb->IsString() || !event.ParseFromString(pb->str)) {
    return absl::InternalError(absl::StrCat("no readable record of ", sample.event_id));
  }
  std::vector<std::pair<std::string, std::string>> own = {
      {"record (hash)", store::EventKey(sample.subdistrict, sample.event_id)},
      {"history (list)", store::HistoryKey(sample.subdistrict, sample.event_id)},
      {"request id (string)", store::RequestKey(event.reporter_id(), event.client_request_id())}};
  std::vector<std::pair<std::string, double>> rows;
  for (const auto& [label, key] : own) {
    auto bytes = usage(key);
    if (!bytes.ok()) {
      return bytes.status();
    }
    rows.emplace_back(label, static_cast<double>(*bytes));
  }
  // Shared keys, divided by every event in the store (the warm-up's included).
  long long events = 0;
  std::map<std::string, long long> shared;
  for (const std::string& sd : subdistricts) {
    auto count = RedisCommand(stack, {"ZCARD", store::EventsIndexKey(sd)});
    if (!count.ok()) {
      return count.status();
    }
    events += count->IsInteger() ? count->integer : 0;
    for (const auto& [label, key] : std::vector<std::pair<std::string, std::string>>{
             {"live stream", store::LiveStream(sd)},
             {"routing stream", store::RoutingStream(sd)},
             {"time index (zset)", store::EventsIndexKey(sd)},
             {"timers (zset)", store::TimersKey(sd)}}) {
      auto bytes = usage(key);
      if (!bytes.ok()) {
        return bytes.status();
      }
      shared[label] += *bytes;
    }
  }
  for (const auto& [label, bytes] : shared) {
    rows.emplace_back(label + " share", events > 0 ? static_cast<double>(bytes) / events : 0);
  }
  double accounted = 0;
  out << "Redis memory per event, by key (MEMORY USAGE; shared keys over " << events << " events):";
  for (const auto& [label, bytes] : rows) {
    out << absl::StrFormat(" %s %.0f B;", label, bytes);
    accounted += bytes;
  }
  out << absl::StrFormat(" the rest (unit queues, overhead) %.0f B\n", per_event_total - accounted);
  return absl::OkStatus();
}

// What Redis spent its time on over the window (INFO commandstats since the CONFIG RESETSTAT at
// its start): per command, calls and microseconds per report, the costliest first. Scripts count
// under EVALSHA, with the commands they run listed apart as well.
absl::Status PrintCommandStats(testing::Stack& stack, int reports, std::ostream& out) {
  auto info = RedisCommand(stack, {"INFO", "commandstats"});
  if (!info.ok()) {
    return info.status();
  }
  struct Row {
    std::string command;
    double calls = 0;
    double usec = 0;
  };
  std::vector<Row> rows;
  // Lines: cmdstat_<name>:calls=N,usec=N,usec_per_call=X,...
  for (absl::string_view line : absl::StrSplit(info->str, '\n', absl::SkipEmpty())) {
    if (!absl::ConsumePrefix(&line, "cmdstat_")) {
      continue;
    }
    const auto colon = line.find(':');
    if (colon == absl::string_view::npos) {
      continue;
    }
    Row row{std::string(line.substr(0, colon))};
    for (absl::string_view field : absl::StrSplit(line.substr(colon + 1), ',')) {
      if (absl::ConsumePrefix(&field, "calls=")) {
        (void)absl::SimpleAtod(absl::StripTrailingAsciiWhitespace(field), &row.calls);
      } else if (absl::ConsumePrefix(&field, "usec=")) {
        (void)absl::SimpleAtod(absl::StripTrailingAsciiWhitespace(field), &row.usec);
      }
    }
    rows.push_back(std::move(row));
  }
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.usec > b.usec; });
  out << "Redis commands over the window (INFO commandstats; a script's own commands are counted "
         "within EVALSHA too):\n";
  out << absl::StrFormat("  %-22s %12s %14s %14s\n", "command", "per report", "us per call",
                         "us per report");
  for (const Row& row : rows) {
    out << absl::StrFormat(
        "  %-22s %12.2f %14.2f %14.2f\n", row.command, reports > 0 ? row.calls / reports : 0.0,
        row.calls > 0 ? row.usec / row.calls : 0.0, reports > 0 ? row.usec / reports : 0.0);
  }
  return absl::OkStatus();
}

// The processes whose CPU time the benchmark reads.
absl::StatusOr<std::map<std::string, pid_t>> Processes(testing::Stack& stack) {
  std::map<std::string, pid_t> processes;
  for (const std::string& name : testing::Stack::ServiceNames()) {
    processes[name] = stack.process(name)->pid();
  }
  auto redis_pid = InfoField(stack.redis_client(), "server", "process_id");
  if (!redis_pid.ok()) {
    return redis_pid.status();
  }
  processes[kRedis] = static_cast<pid_t>(*redis_pid);
  processes[kLoadgen] = getpid();
  return processes;
}

void PrintCpu(const CpuSnapshot& used, int calls, double seconds, const std::string& what,
              std::ostream& out) {
  out << absl::StrFormat("%-26s %9s %9s %16s %11s\n", "CPU (from /proc)", "seconds", "cores",
                         "s / 1,000 " + what, "us / " + what.substr(0, what.size() - 1));
  double servers = 0;
  const auto row = [&](const std::string& name, double cpu) {
    out << absl::StrFormat("%-26s %9.2f %9.2f %16.3f %11.1f\n", name, cpu,
                           seconds > 0 ? cpu / seconds : 0.0, calls > 0 ? 1000.0 * cpu / calls : 0,
                           calls > 0 ? 1e6 * cpu / calls : 0);
  };
  for (const auto& [name, cpu] : used) {
    row(name, cpu);
    if (name != kLoadgen) {
      servers += cpu;
    }
  }
  row("servers (all but loadgen)", servers);
}

double ServerCpu(const CpuSnapshot& used) {
  double servers = 0;
  for (const auto& [name, cpu] : used) {
    servers += name == kLoadgen ? 0 : cpu;
  }
  return servers;
}

// Runs the peer's script and returns its alerts per second (its last line says
// "alertmanager_ingest_per_s N"); the script's figures are echoed to `out`.
absl::StatusOr<double> RunAlertmanager(int seconds, std::ostream& out) {
  const std::string script = testing::SourcePath("tools/peers/alertmanager-ingest");
  const std::string command = absl::StrCat(script, " ", seconds, " ", testing::FreePort(), " 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    return absl::InternalError(absl::StrCat("cannot run ", script));
  }
  std::string output;
  char buffer[4096];
  while (std::fgets(buffer, sizeof(buffer), pipe) != nullptr) {
    output += buffer;
  }
  const int exit_status = pclose(pipe);
  double per_second = -1;
  for (absl::string_view line : absl::StrSplit(output, '\n', absl::SkipEmpty())) {
    out << "  alertmanager: " << line << "\n";
    if (absl::ConsumePrefix(&line, "alertmanager_ingest_per_s ")) {
      if (!absl::SimpleAtod(line, &per_second)) {
        per_second = -1;
      }
    }
  }
  if (exit_status != 0 || per_second < 0) {
    return absl::UnavailableError(
        absl::StrCat(script, " failed (exit status ", exit_status, "): ", output));
  }
  return per_second;
}

// The figures of the grid's part of the run, for the last line.
struct GridFigures {
  double ingest_per_s = 0;
  double dispatched_per_s = 0;
  double rpc_p99_ms = 0;
  double echo_per_s = 0;
};

absl::StatusOr<GridFigures> RunGrid(const IngestOptions& options, std::ostream& out) {
  auto config = LoadStackConfig();
  if (!config.ok()) {
    return config.status();
  }
  const topology::Topology& topology = *config->topology;
  const std::vector<std::string> categories = SpreadCategories(*config->policy);
  if (topology.data().workers().empty() || categories.empty()) {
    return absl::FailedPreconditionError(
        "ingest: the topology has no workers or the policy no small-class categories");
  }

  testing::Stack::Options stack_options;
  // Durable as deployed (deploy/local/up): AOF, fsync every second; one Redis, no WAIT.
  stack_options.redis_args = {"--appendonly", "yes", "--appendfsync", "everysec"};
  testing::Stack stack(stack_options);
  if (auto status = StartStack(stack, out); !status.ok()) {
    return status;
  }
  std::vector<Reporter> reporters;
  for (const v1::Worker& worker : topology.data().workers()) {
    reporters.push_back({worker, std::string(topology.SubdistrictOf(worker.grid_id())),
                         stack.Token(worker.id(), v1::ROLE_WORKER, worker.grid_id())});
  }
  out << "load: " << reporters.size() << " grid workers, a token each, each reporting in its own"
      << " grid; categories " << absl::StrJoin(categories, " ")
      << "; SEVERITY_NORMAL, no location; Redis AOF everysec\n";
  auto processes = Processes(stack);
  if (!processes.ok()) {
    return processes.status();
  }
  // For profilers attaching to the run (tools/profile-ingest).
  out << "processes:";
  for (const auto& [name, pid] : *processes) {
    out << " " << name << "=" << pid;
  }
  out << std::endl;
  std::vector<GatewayChannel> channels = Connect(stack.address("grid-gateway"), options.channels);
  const std::vector<std::string>& subdistricts = topology.subdistrict_ids();
  ReportLoad load(channels, reporters, categories, absl::StrCat("loadgen-", getpid()));
  int next_index = 0;  // Report indexes go on across phases: each request id is new.
  const auto reports_from = [&](int first) {
    return [&load, first](int index, std::function<void(absl::Status)> done) {
      load.Start(first + index, std::move(done));
    };
  };

  // Warm-up: connections, the services' first requests; then the stack drained of it.
  const ClosedLoopOptions warm{options.outstanding, milliseconds(1000 * options.warmup_seconds)};
  const ClosedLoopResult warm_checks = RunClosedLoop(
      warm, [&](int index, auto done) { StartHealthCheck(channels, index, std::move(done)); });
  const ClosedLoopResult warm_reports = RunClosedLoop(warm, reports_from(next_index));
  next_index += warm_reports.started;
  if (warm_checks.failed + warm_reports.failed > 0) {
    return absl::UnavailableError(absl::StrCat(
        "ingest: warm-up failed: ",
        (warm_checks.failed > 0 ? warm_checks.first_error : warm_reports.first_error).message()));
  }
  if (auto drained = Drain(stack, subdistricts); !drained.ok()) {
    return drained.status();
  }
  load.TakeFiled();

  const ClosedLoopOptions saturate{options.outstanding, milliseconds(1000 * options.seconds)};
  out << "\n1. bare gRPC: Health/Check to the gateway, closed loop, " << options.outstanding
      << " outstanding, " << options.seconds << " s (load average " << LoadAverage() << ")"
      << std::endl;
  CpuSnapshot before = TakeCpuSnapshot(*processes);
  const ClosedLoopResult echo = RunClosedLoop(
      saturate, [&](int index, auto done) { StartHealthCheck(channels, index, std::move(done)); });
  CpuSnapshot echo_cpu = CpuBetween(before, TakeCpuSnapshot(*processes));
  if (echo.failed > 0) {
    return absl::UnavailableError(
        absl::StrCat("ingest: a health check failed: ", echo.first_error.message()));
  }
  const Summary echo_summary = Summarize(echo.latency_ms);
  out << absl::StrFormat("health checks: %d in %.2f s: %.0f/s\n", echo.succeeded(),
                         echo.elapsed_seconds, echo.PerSecond());
  PrintCpu(echo_cpu, echo.succeeded(), echo.elapsed_seconds, "calls", out);

  out << "\n2. ingest: ReportEvent through the gateway, closed loop, " << options.outstanding
      << " outstanding, " << options.seconds
      << " s; the window ends when routing and metrics have no backlog (load average "
      << LoadAverage() << ")" << std::endl;
  auto memory_before = InfoField(stack.redis_client(), "memory", "used_memory");
  if (!memory_before.ok()) {
    return memory_before.status();
  }
  if (auto reset = RedisCommand(stack, {"CONFIG", "RESETSTAT"}); !reset.ok()) {
    return reset.status();
  }
  const auto window_begin = SteadyClock::now();
  before = TakeCpuSnapshot(*processes);
  const ClosedLoopResult reports = RunClosedLoop(saturate, reports_from(next_index));
  next_index += reports.started;
  auto drain_seconds = Drain(stack, subdistricts);
  const double window_seconds =
      std::chrono::duration<double>(SteadyClock::now() - window_begin).count();
  CpuSnapshot ingest_cpu = CpuBetween(before, TakeCpuSnapshot(*processes));
  if (reports.failed > 0) {
    return absl::UnavailableError(absl::StrCat(
        "ingest: ", reports.failed, " reports failed; the first: ", reports.first_error.message()));
  }
  if (!drain_seconds.ok()) {
    return drain_seconds.status();
  }
  const std::vector<Filed> filed = load.TakeFiled();
  // Read before the benchmark's own reads add to the counts (the drain's polling is in them).
  std::ostringstream command_stats;
  if (auto status = PrintCommandStats(stack, static_cast<int>(filed.size()), command_stats);
      !status.ok()) {
    return status;
  }
  std::string not_dispatched;
  auto dispatched = CountDispatched(stack, filed, not_dispatched);
  if (!dispatched.ok()) {
    return dispatched.status();
  }
  auto memory_after = InfoField(stack.redis_client(), "memory", "used_memory");
  if (!memory_after.ok()) {
    return memory_after.status();
  }
  const int filed_count = static_cast<int>(filed.size());
  GridFigures figures;
  figures.echo_per_s = echo.PerSecond();
  figures.ingest_per_s = filed_count / window_seconds;
  figures.dispatched_per_s = *dispatched / window_seconds;
  const Summary report_summary = Summarize(reports.latency_ms);
  figures.rpc_p99_ms = report_summary.p99;
  out << absl::StrFormat(
      "reports filed: %d; their calls took %.2f s (%.0f/s), then the backlog drained in %.2f s: "
      "window %.2f s, %.0f filed/s; DISPATCHED at the end: %d (%.0f/s)\n",
      filed_count, reports.elapsed_seconds, reports.PerSecond(), *drain_seconds, window_seconds,
      figures.ingest_per_s, *dispatched, figures.dispatched_per_s);
  PrintCpu(ingest_cpu, filed_count, window_seconds, "reports", out);
  out << command_stats.str();
  // One echo call costs the gateway and the client together; a report, the servers.
  const double echo_call_cpu =
      echo.succeeded() > 0 ? (echo_cpu[kLoadgen] + echo_cpu["grid-gateway"]) / echo.succeeded() : 0;
  const double report_server_cpu = filed_count > 0 ? ServerCpu(ingest_cpu) / filed_count : 0;
  out << absl::StrFormat(
      "server CPU per report %.1f us = %.2fx the CPU of one echo call (gateway and client "
      "together, %.1f us); the goal is <= 2.5x\n",
      1e6 * report_server_cpu, echo_call_cpu > 0 ? report_server_cpu / echo_call_cpu : 0.0,
      1e6 * echo_call_cpu);
  out << SummaryHeader("ms, at saturation") << "\n"
      << SummaryRow("Health/Check round trip", echo_summary) << "\n"
      << SummaryRow("ReportEvent round trip", report_summary) << "\n";
  const double memory_per_event =
      filed_count > 0 ? static_cast<double>(*memory_after - *memory_before) / filed_count : 0;
  out << absl::StrFormat(
      "Redis used_memory: %.1f MiB before, %.1f MiB after: %.0f bytes (%.2f KiB) per open event "
      "(%d events, DISPATCHED, with their stream entries); the goal is <= 2 KiB\n",
      *memory_before / 1048576.0, *memory_after / 1048576.0, memory_per_event,
      memory_per_event / 1024, filed_count);
  if (!filed.empty()) {
    if (auto status =
            PrintMemoryBreakdown(stack, filed.front(), subdistricts, memory_per_event, out);
        !status.ok()) {
      return status;
    }
  }
  if (*dispatched != filed_count) {
    return absl::DataLossError(absl::StrCat("ingest: ", filed_count - *dispatched, " of ",
                                            filed_count, " filed events are not DISPATCHED, e.g. ",
                                            not_dispatched));
  }

  const int paced_count = static_cast<int>(options.paced_rate * options.paced_seconds);
  if (paced_count > 0) {
    out << "\n3. fixed rate: " << paced_count << " reports at " << options.paced_rate << "/s from "
        << options.outstanding << " callers (load average " << LoadAverage() << ")\n";
    const PacedOptions paced{paced_count, options.paced_rate, options.outstanding,
                             milliseconds(3000 * options.paced_seconds + 30000)};
    const int first = next_index;
    const PacedResult result = RunPaced(paced, [&](int index) { return load.Call(first + index); });
    if (result.failed > 0 || result.issued < paced_count) {
      return absl::UnavailableError(absl::StrCat("ingest: fixed rate: ", result.issued,
                                                 " issued of ", paced_count, ", ", result.failed,
                                                 " failed; ", result.first_error.ToString()));
    }
    std::vector<std::string> ids;
    for (Filed& event : load.TakeFiled()) {
      ids.push_back(std::move(event.event_id));
    }
    std::vector<std::string> last_state;
    const std::string reader = stack.Token("grid-loadgen", v1::ROLE_OPERATOR, topology.root_id());
    const auto events = ReadBackDispatched(*channels.front().gateway, reader, ids,
                                           options.outstanding, kDispatchDeadline, last_state);
    std::vector<double> dispatch_ms;
    for (std::size_t i = 0; i < events.size(); ++i) {
      if (!events[i]) {
        return absl::DeadlineExceededError(absl::StrCat(
            "ingest: fixed rate: ", ids[i], " did not reach DISPATCHED: ", last_state[i]));
      }
      dispatch_ms.push_back(static_cast<double>(FromTimestamp(events[i]->dispatched_at()) -
                                                FromTimestamp(events[i]->created_at())));
    }
    out << absl::StrFormat("achieved %.0f/s\n", (result.issued - result.failed) /
                                                    std::max(result.elapsed_seconds, 1e-9));
    out << SummaryHeader("ms, at a fixed rate") << "\n"
        << SummaryRow("ReportEvent round trip", Summarize(result.Succeeded())) << "\n"
        << SummaryRow("report -> DISPATCHED (server)", Summarize(dispatch_ms)) << "\n"
        << "(goals: round trip p99 <= 5 ms, report -> DISPATCHED p99 <= 10 ms; the latter is "
           "dispatched_at - created_at, ms resolution)\n";
  }
  return figures;
}

}  // namespace

absl::Status RunIngest(const IngestOptions& options, std::ostream& out) {
  if (options.outstanding <= 0 || options.channels <= 0 || options.seconds <= 0 ||
      options.warmup_seconds < 0 || options.paced_rate < 0 || options.paced_seconds < 0 ||
      options.alertmanager_seconds < 0) {
    return absl::InvalidArgumentError(
        "ingest: --outstanding, --channels and --seconds must be positive, the others not "
        "negative");
  }
  out << absl::StrFormat(
      "grid-loadgen ingest: %d outstanding over %d channels, %d s per phase; machine: %u cores, "
      "load average %s\n",
      options.outstanding, options.channels, options.seconds, Cores(), LoadAverage());
  // The stack is stopped before the peer runs, so that both have the machine to themselves.
  auto grid = RunGrid(options, out);
  if (!grid.ok()) {
    return grid.status();
  }
  double alertmanager = 0;
  if (options.alertmanager_seconds > 0) {
    out << "\n4. peer: Prometheus Alertmanager, one alert per POST, wrk, 32 connections, "
        << options.alertmanager_seconds << " s (load average " << LoadAverage() << ")\n";
    auto peer = RunAlertmanager(options.alertmanager_seconds, out);
    if (!peer.ok()) {
      return peer.status();
    }
    alertmanager = *peer;
  }
  out << "\nload average at the end: " << LoadAverage() << "\n";
  out << absl::StrFormat(
      "ingest_per_s=%.0f dispatched_per_s=%.0f rpc_p99_ms=%.2f echo_per_s=%.0f "
      "alertmanager_per_s=%.0f ratio_vs_alertmanager=%.3f ratio_vs_echo=%.3f\n",
      grid->ingest_per_s, grid->dispatched_per_s, grid->rpc_p99_ms, grid->echo_per_s, alertmanager,
      alertmanager > 0 ? grid->ingest_per_s / alertmanager : 0.0,
      grid->echo_per_s > 0 ? grid->ingest_per_s / grid->echo_per_s : 0.0);
  return absl::OkStatus();
}

}  // namespace grid::loadgen
