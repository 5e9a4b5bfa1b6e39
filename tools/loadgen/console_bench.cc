// grid-loadgen console: see benchmarks.h.
#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <mutex>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "grid/v1/intake.grpc.pb.h"
#include "tests/support/http_client.h"
#include "tools/loadgen/bench_stack.h"
#include "tools/loadgen/benchmarks.h"
#include "tools/loadgen/grpc_calls.h"
#include "tools/loadgen/grpc_watcher.h"
#include "tools/loadgen/paced_calls.h"
#include "tools/loadgen/summary.h"
#include "tools/loadgen/workload.h"

namespace grid::loadgen {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

// The `at` of an EventChange's JSON, in ms since the epoch; negative when absent.
double ChangeAtMs(std::string_view json) {
  static constexpr std::string_view kKey = "\"at\":\"";
  const std::size_t start = json.find(kKey);
  if (start == std::string_view::npos) {
    return -1;
  }
  const std::size_t end = json.find('"', start + kKey.size());
  google::protobuf::Timestamp at;
  if (end == std::string_view::npos ||
      !google::protobuf::util::TimeUtil::FromString(
          std::string(json.substr(start + kKey.size(), end - start - kKey.size())), &at)) {
    return -1;
  }
  return AtMs(at);
}

// One browser's live feed on the console, as EventSource would hold it: GET /api/v1/watch, then
// the event stream, each change's delivery latency recorded on receipt. Runs on `io`.
class SseClient final : public std::enable_shared_from_this<SseClient> {
 public:
  SseClient(net::io_context& io, int port, std::string target, const std::string& token)
      : socket_(io), port_(port) {
    request_ =
        absl::StrCat("GET ", target, " HTTP/1.1\r\nHost: 127.0.0.1:", port,
                     "\r\nAccept: text/event-stream\r\nAuthorization: Bearer ", token, "\r\n\r\n");
  }

  void Start() {
    net::post(socket_.get_executor(), [self = shared_from_this()] {
      boost::system::error_code error;
      self->socket_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"),
                                          static_cast<unsigned short>(self->port_)),
                            error);
      if (error) {
        self->End("connect: " + error.message());
        return;
      }
      net::async_write(self->socket_, net::buffer(self->request_),
                       [self](boost::system::error_code write_error, std::size_t) {
                         if (write_error) {
                           self->End("write: " + write_error.message());
                           return;
                         }
                         self->Read();
                       });
    });
  }

  void Stop() {
    stopping_ = true;
    net::post(socket_.get_executor(), [self = shared_from_this()] {
      boost::system::error_code ignored;
      self->socket_.close(ignored);
    });
  }

  bool attached() const { return messages_.load() > 0; }
  bool ended() const { return ended_.load(); }
  std::string why() const {
    std::lock_guard lock(mu_);
    return why_;
  }
  std::vector<Sample> samples() const {
    std::lock_guard lock(mu_);
    return samples_;
  }

 private:
  void Read() {
    socket_.async_read_some(
        net::buffer(buffer_),
        [self = shared_from_this()](boost::system::error_code error, std::size_t n) {
          if (error) {
            self->End("read: " + error.message());
            return;
          }
          self->OnBytes(std::string_view(self->buffer_.data(), n));
          self->Read();
        });
  }

  void OnBytes(std::string_view bytes) {
    const double now = NowMs();
    if (in_head_) {
      head_.append(bytes);
      const std::size_t end = head_.find("\r\n\r\n");
      if (end == std::string::npos) {
        return;
      }
      if (head_.rfind("HTTP/1.1 200", 0) != 0) {
        End("answered " + head_.substr(0, head_.find("\r\n")));
        return;
      }
      in_head_ = false;
      bytes = std::string_view(head_).substr(end + 4);
    }
    std::vector<Sample> received;
    for (const testing::SseEvent& event : parser_.Feed(bytes)) {
      if (event.id.has_value()) {
        messages_.fetch_add(1);
      }
      if (event.has_data && event.event.empty()) {
        const double at = ChangeAtMs(event.data);
        if (at > 0) {
          received.push_back(Sample{at, static_cast<float>(now - at)});
        }
      }
    }
    if (!received.empty()) {
      std::lock_guard lock(mu_);
      samples_.insert(samples_.end(), received.begin(), received.end());
    }
  }

  void End(const std::string& why) {
    if (stopping_.load()) {
      return;
    }
    std::lock_guard lock(mu_);
    why_ = why;
    ended_ = true;
  }

  tcp::socket socket_;
  const int port_;
  std::string request_;
  std::array<char, 32768> buffer_{};
  bool in_head_ = true;
  std::string head_;
  testing::SseParser parser_;
  std::atomic<int> messages_{0};
  std::atomic<bool> ended_{false};
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  std::string why_;
  std::vector<Sample> samples_;
};

template <class Client>
std::vector<double> Window(const std::vector<Client>& clients, double from, double to) {
  std::vector<double> out;
  for (const auto& client : clients) {
    for (const Sample& sample : client->samples()) {
      if (sample.at_ms >= from && sample.at_ms < to) {
        out.push_back(sample.latency_ms);
      }
    }
  }
  return out;
}

}  // namespace

absl::Status RunConsole(const ConsoleBenchOptions& options, std::ostream& out) {
  if (options.clients <= 0 || options.district_clients < 0 ||
      options.district_clients > options.clients || options.grpc_watchers < 0 ||
      options.rate <= 0 || options.seconds <= 0 || options.channels <= 0) {
    return absl::InvalidArgumentError(
        "console: --clients, --rate, --seconds and --channels must be positive, "
        "--district-clients at most --clients");
  }
  if (options.via != "gateway" && options.via != "intake") {
    return absl::InvalidArgumentError("console: --via is gateway or intake");
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
    return absl::FailedPreconditionError("console: no grids, communities or categories");
  }
  out << absl::StrFormat(
      "grid-loadgen console: %d SSE clients on the console (%d of the whole district, %d spread "
      "over the %d communities) and, in the same run, %d gRPC WatchEvents watchers of the same "
      "mix on the gateway; %g reports/s through %s for %d s (each report: REPORTED by intake, "
      "DISPATCHED by routing); machine: %u cores\n",
      options.clients, options.district_clients, options.clients - options.district_clients,
      communities.size(), options.grpc_watchers, options.rate, options.via, options.seconds,
      Cores());

  testing::Stack::Options stack_options;
  stack_options.console = true;
  // The clients of one scope share one token (one subject): lift the gateway's per-subject cap.
  stack_options.extra_args["grid-gateway"] = {"--watch-max-per-subject", "0"};
  testing::Stack stack(stack_options);
  if (auto status = StartStack(stack, out); !status.ok()) {
    return status;
  }
  out << "console at 127.0.0.1:" << stack.console_port() << "\n";
  const std::string& district = topology.root_id();
  const std::string token = stack.Token("grid-loadgen", v1::ROLE_ADMIN, district);
  const auto unit_of = [&](int i, int district_count) -> std::string {
    return i < district_count
               ? ""
               : communities[static_cast<std::size_t>(i - district_count) % communities.size()];
  };

  // The baseline: gRPC watchers straight on the gateway.
  std::vector<std::unique_ptr<v1::GatewayService::Stub>> stubs;
  for (int i = 0; i < options.channels; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("grid.loadgen.channel", i);
    stubs.push_back(v1::GatewayService::NewStub(grpc::CreateCustomChannel(
        stack.address("grid-gateway"), grpc::InsecureChannelCredentials(), args)));
  }
  const int grpc_district = std::min(options.district_clients, options.grpc_watchers);
  std::vector<std::unique_ptr<BenchWatcher>> watchers;
  for (int i = 0; i < options.grpc_watchers; ++i) {
    v1::WatchEventsRequest request;
    request.set_unit_id(unit_of(i, grpc_district));
    watchers.push_back(std::make_unique<BenchWatcher>(
        *stubs[static_cast<std::size_t>(i % options.channels)], request, token));
    watchers.back()->Start();
  }

  // The browsers: SSE clients on the console, on an io_context of their own.
  net::io_context io;
  auto work = net::make_work_guard(io);
  std::thread io_thread([&io] { io.run(); });
  std::vector<std::shared_ptr<SseClient>> clients;
  for (int i = 0; i < options.clients; ++i) {
    const std::string unit = unit_of(i, options.district_clients);
    clients.push_back(std::make_shared<SseClient>(
        io, stack.console_port(),
        unit.empty() ? "/api/v1/watch" : absl::StrCat("/api/v1/watch?unit_id=", unit), token));
    clients.back()->Start();
  }
  const auto stop_all = [&] {
    for (auto& client : clients) {
      client->Stop();
    }
    for (auto& watcher : watchers) {
      watcher->Cancel();
    }
    for (auto& watcher : watchers) {
      (void)watcher->Wait(std::chrono::seconds(10));
    }
    work.reset();
    io.stop();
    io_thread.join();
  };

  auto report_channel =
      grpc::CreateChannel(stack.address(options.via == "gateway" ? "grid-gateway" : "grid-intake"),
                          grpc::InsecureChannelCredentials());
  auto gateway = v1::GatewayService::NewStub(report_channel);
  auto intake = v1::IntakeService::NewStub(report_channel);
  const std::string run_id = absl::StrCat("loadgen-console-", getpid());
  std::atomic<int> next_index{0};
  const auto report = [&](int) {
    return FileReport(options.via == "gateway" ? gateway.get() : nullptr, *intake, token,
                      DispatchReport(next_index++, grids, categories, run_id, district));
  };

  // Every client attached (its first change), within a bound: a trickle of reports over every
  // grid reaches every community.
  const auto attach_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  while (std::chrono::steady_clock::now() < attach_deadline) {
    int attached = 0;
    int ended = 0;
    for (const auto& client : clients) {
      attached += client->attached() ? 1 : 0;
      ended += client->ended() ? 1 : 0;
    }
    for (const auto& watcher : watchers) {
      attached += watcher->attached() ? 1 : 0;
    }
    if (ended > 0 || attached == options.clients + options.grpc_watchers) {
      break;
    }
    RunPaced(PacedOptions{200, 400, 8, std::chrono::seconds(5)}, report);
  }
  for (const auto& client : clients) {
    if (client->ended() || !client->attached()) {
      const std::string why = client->ended() ? client->why() : "no change within 90 s";
      stop_all();
      return absl::UnavailableError(absl::StrCat("console: an SSE client did not attach: ", why));
    }
  }

  // Warm-up at the full rate, not measured; then the measured window.
  (void)RunPaced(PacedOptions{static_cast<int>(options.rate * std::min(options.seconds, 3)),
                              options.rate, options.concurrency, std::chrono::seconds(30)},
                 report);
  const double from = NowMs();
  const PacedResult reports =
      RunPaced(PacedOptions{static_cast<int>(options.rate * options.seconds), options.rate,
                            options.concurrency, std::chrono::seconds(options.seconds * 3 + 10)},
               report);
  const double to = NowMs();
  // The last changes of the window arrive (bounded: the window's changes are all written by now
  // but for routing's last dispatches).
  std::this_thread::sleep_for(std::chrono::seconds(2));

  int sse_ended = 0;
  for (const auto& client : clients) {
    sse_ended += client->ended() ? 1 : 0;
  }
  int grpc_ended = 0;
  for (const auto& watcher : watchers) {
    grpc_ended += watcher->done() ? 1 : 0;
  }
  const std::vector<double> grpc_latencies = Window(watchers, from, to);
  const std::vector<double> sse_latencies = Window(clients, from, to);
  const Summary grpc_summary = Summarize(grpc_latencies);
  const Summary sse_summary = Summarize(sse_latencies);
  const double seconds = (to - from) / 1000.0;
  out << SummaryHeader("ms") << "\n";
  if (options.grpc_watchers > 0) {
    out << SummaryRow("latency, gRPC watchers (gateway)", grpc_summary) << "\n";
  }
  out << SummaryRow("latency, SSE clients (console)", sse_summary) << "\n";
  out << absl::StrFormat(
      "  reports: %d sent (%.0f/s achieved), %d failed; deliveries: %zu to the gRPC watchers, "
      "%zu to the SSE clients (%.0f/s)\n",
      reports.issued, seconds > 0 ? reports.issued / seconds : 0.0, reports.failed,
      grpc_latencies.size(), sse_latencies.size(),
      seconds > 0 ? sse_latencies.size() / seconds : 0.0);
  if (options.grpc_watchers > 0 && grpc_summary.p99 > 0) {
    out << absl::StrFormat("ratio SSE / gRPC: p50 %.2f, p99 %.2f\n",
                           grpc_summary.median > 0 ? sse_summary.median / grpc_summary.median : 0,
                           sse_summary.p99 / grpc_summary.p99);
    out << absl::StrFormat("goal: SSE p99 <= 100 ms: %s; SSE p99 <= 2 x gRPC p99: %s\n",
                           sse_summary.p99 <= 100 ? "met" : "NOT met",
                           sse_summary.p99 <= 2 * grpc_summary.p99 ? "met" : "NOT met");
  }
  out << absl::StrFormat("clients ended during the run (should be 0): %d SSE, %d gRPC\n", sse_ended,
                         grpc_ended);
  out << "latency = receipt time at the client (system clock) - EventChange.at (ms resolution, "
         "stamped by intake/routing on the same machine's clock); SSE clients and gRPC watchers "
         "ran at the same time on the same stack\n";
  stop_all();
  if (reports.failed > 0) {
    return absl::UnavailableError(
        absl::StrCat("console: reports failed: ", reports.first_error.message()));
  }
  if (sse_ended > 0 || grpc_ended > 0) {
    return absl::InternalError(absl::StrCat("console: ", sse_ended, " SSE clients and ", grpc_ended,
                                            " gRPC watchers ended during the run"));
  }
  if (sse_latencies.empty()) {
    return absl::InternalError("console: the SSE clients got no change in the window");
  }
  return absl::OkStatus();
}

}  // namespace grid::loadgen
