#include "tests/support/stack.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <fstream>
#include <random>
#include <sstream>

#include "common/auth/api_clients.h"
#include "common/auth/token.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/support/http_client.h"
#include "tests/support/paths.h"
#include "tests/support/poll.h"
#include "tests/support/ports.h"
#include "tests/support/sanitizer_reports.h"

namespace grid::testing {

const std::vector<std::string>& Stack::ServiceNames() {
  static const std::vector<std::string> kNames = {"grid-intake", "grid-routing", "grid-escalation",
                                                  "grid-metrics", "grid-gateway"};
  return kNames;
}

Stack::Stack(Options options)
    : options_(std::move(options)), guard_(io_.get_executor()), io_thread_([this] { io_.run(); }) {
  char pattern[] = "/tmp/grid-stack-XXXXXX";
  const char* made = mkdtemp(pattern);
  dir_ = made != nullptr ? made : "/tmp";
  // A fresh secret per stack: tokens of one test never open another's gateway.
  std::random_device random;
  jwt_secret_ = "test-secret-";
  for (int i = 0; i < 32; ++i) {
    jwt_secret_ += "0123456789abcdef"[random() % 16];
  }
  std::ofstream(dir_ / "jwt-secret") << jwt_secret_ << "\n";
  // A client system of the whole district (Options::api_client_unit) with a key of the stack's
  // own (api_key()).
  api_key_ = "test-api-key-";
  for (int i = 0; i < 40; ++i) {
    api_key_ += "0123456789abcdef"[random() % 16];
  }
  std::ofstream(dir_ / "api-keys.json")
      << R"({"clients": [{"name": ")" << kApiClient << R"(", "key_sha256": ")"
      << auth::Sha256Hex(api_key_) << R"(", "unit_id": ")" << options_.api_client_unit
      << R"(", "source": "SOURCE_OPEN311"}]})"
      << "\n";
  for (const std::string& name : ServiceNames()) {
    services_[name] = Service{FreePort(), FreePort(), secured() ? FreePort() : 0, nullptr};
  }
  if (!options_.webhooks_config.empty()) {
    services_[kWebhooks] = Service{FreePort(), FreePort(), secured() ? FreePort() : 0, nullptr};
  }
  if (options_.console) {
    services_[kConsole] = Service{FreePort(), FreePort(), 0, nullptr};
    if (options_.console_static_dir.empty()) {
      std::filesystem::create_directories(dir_ / "web");
      std::ofstream(dir_ / "web" / "index.html") << "<!doctype html><title>grid console</title>\n";
      options_.console_static_dir = (dir_ / "web").string();
    }
  }
}

Stack::~Stack() {
  // Our own connection first: a server shutting down waits out its grace period for open
  // client connections.
  gateway_.reset();
  if (auto console = services_.find(kConsole);
      console != services_.end() && console->second.process != nullptr) {
    console->second.process->Terminate();
  }
  if (auto webhooks = services_.find(kWebhooks);
      webhooks != services_.end() && webhooks->second.process != nullptr) {
    (void)webhooks->second.process->Kill(SIGTERM);
  }
  // Signal every service at once (the gateway first, so nothing logs about vanished backends)
  // and then wait: each takes a moment to exit (the metrics endpoint's web server stops on a
  // two-second poll), and waiting for them one by one would add those moments up.
  for (auto it = ServiceNames().rbegin(); it != ServiceNames().rend(); ++it) {
    if (services_[*it].process != nullptr) {
      (void)services_[*it].process->Kill(SIGTERM);
    }
  }
  for (auto it = ServiceNames().rbegin(); it != ServiceNames().rend(); ++it) {
    services_[*it].process.reset();
  }
  if (redis_client_ != nullptr) {
    redis_client_->Stop();
  }
  guard_.reset();
  io_.stop();
  io_thread_.join();
  // Sanitized services (build-san/) report memory errors, undefined behaviour and leaks in their
  // logs, which go with the directory.
  if (const std::string reports = SanitizerReports(dir_); !reports.empty()) {
    ADD_FAILURE() << reports;
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string Stack::address(const std::string& name) const {
  return "127.0.0.1:" + std::to_string(services_.at(name).port);
}

int Stack::metrics_port(const std::string& name) const { return services_.at(name).metrics_port; }

int Stack::port_of(const std::string& name) const { return services_.at(name).port; }

pid_t Stack::pid(const std::string& name) const {
  const Service& service = services_.at(name);
  return service.process != nullptr ? service.process->pid() : 0;
}

std::string Stack::health_address(const std::string& name) const {
  return "127.0.0.1:" + std::to_string(services_.at(name).health_port);
}

std::filesystem::path Stack::tls_dir() const { return secured() ? dir_ / "tls" : ""; }

std::shared_ptr<grpc::ChannelCredentials> Stack::gateway_credentials() const {
  if (!options_.tls) {
    return grpc::InsecureChannelCredentials();
  }
  std::ifstream file(tls_dir() / "ca.pem");
  std::ostringstream roots;
  roots << file.rdbuf();
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = roots.str();
  return grpc::SslCredentials(ssl);
}

std::vector<std::string> Stack::GridctlArgs() const {
  std::vector<std::string> args = {"--gateway", address("grid-gateway")};
  if (options_.tls) {
    args.insert(args.end(), {"--ca", (tls_dir() / "ca.pem").string()});
  } else {
    args.push_back("--insecure");
  }
  return args;
}

std::vector<std::string> Stack::Args(const std::string& name) const {
  const Service& service = services_.at(name);
  return Args(name, service.port, service.metrics_port, service.health_port);
}

std::vector<std::string> Stack::Args(const std::string& name, int port, int metrics_port,
                                     int health_port) const {
  if (name == kConsole) {
    std::vector<std::string> args = {
        "--listen",         "127.0.0.1:" + std::to_string(port),
        "--metrics-listen", "127.0.0.1:" + std::to_string(metrics_port),
        "--gateway",        address("grid-gateway"),
        "--static-dir",     options_.console_static_dir,
        "--log-level",      "debug"};
    if (options_.tls) {
      // Verified TLS to the gateway, trusting the stack's CA.
      args.insert(args.end(), {"--gateway-ca", options_.console_gateway_ca.empty()
                                                   ? (tls_dir() / "ca.pem").string()
                                                   : options_.console_gateway_ca});
    }
    if (auto extra = options_.extra_args.find(name); extra != options_.extra_args.end()) {
      args.insert(args.end(), extra->second.begin(), extra->second.end());
    }
    return args;
  }
  std::vector<std::string> args = {
      "--listen",         "127.0.0.1:" + std::to_string(port),
      "--metrics-listen", "127.0.0.1:" + std::to_string(metrics_port),
      "--redis",          "127.0.0.1:" + std::to_string(redis_.port()),
      "--topology",       SourcePath(options_.topology),
      "--policy",         options_.policy.empty() ? std::string() : SourcePath(options_.policy),
      "--log-level",      "debug"};
  if (cluster_ != nullptr) {
    args.insert(args.end(), {"--redis-cluster", cluster_->Seeds()});
  }
  if (name == kWebhooks) {
    const std::string& config = options_.webhooks_config;
    args.insert(args.end(), {"--config", config.front() == '/' ? config : SourcePath(config)});
  }
  if (auto extra = options_.extra_args.find(name); extra != options_.extra_args.end()) {
    args.insert(args.end(), extra->second.begin(), extra->second.end());
  }
  const std::string tls = tls_dir().string();
  if (health_port != 0) {
    args.insert(args.end(), {"--health-listen", "127.0.0.1:" + std::to_string(health_port)});
  }
  if (name == "grid-gateway" ? options_.tls : options_.mtls) {
    args.insert(args.end(), {"--tls-cert", tls + "/server.pem", "--tls-key", tls + "/server.key"});
  }
  if (name != "grid-gateway" && options_.mtls) {
    args.insert(args.end(), {"--tls-client-ca", tls + "/ca.pem"});
  }
  if (name == "grid-gateway" && options_.mtls) {
    args.insert(args.end(), {"--backend-ca", tls + "/ca.pem", "--backend-cert", tls + "/client.pem",
                             "--backend-key", tls + "/client.key"});
  }
  if (name == "grid-gateway") {
    args.push_back("--jwt-secret-file");
    args.push_back((dir_ / "jwt-secret").string());
    const auto own = options_.extra_args.find(name);
    if (own == options_.extra_args.end() ||
        std::find(own->second.begin(), own->second.end(), "--api-keys") == own->second.end()) {
      args.push_back("--api-keys");
      args.push_back((dir_ / "api-keys.json").string());
    }
    const auto extra = options_.extra_args.find(name);
    if (extra == options_.extra_args.end() ||
        std::find(extra->second.begin(), extra->second.end(), "--rate-per-second") ==
            extra->second.end()) {
      args.push_back("--rate-per-second");
      args.push_back("0");
    }
    for (const char* backend : {"intake", "routing", "escalation", "metrics"}) {
      args.push_back(std::string("--") + backend);
      args.push_back(address(std::string("grid-") + backend));
    }
    if (services_.count(kWebhooks) != 0) {
      args.insert(args.end(), {"--webhooks", address(kWebhooks)});
    }
  }
  return args;
}

absl::Status Stack::Start() {
  if (secured()) {
    // The same script deploy/local/up runs, so the tests prove the certificates it makes.
    auto made = Process::Start(SourcePath("deploy/local/make-certs"), {tls_dir().string()}, {},
                               dir_ / "make-certs.log");
    if (!made.ok()) {
      return made.status();
    }
    if (const int status = (*made)->Wait(); status != 0) {
      return absl::InternalError("deploy/local/make-certs failed: " + DescribeWaitStatus(status) +
                                 "\n" + (*made)->ReadLog());
    }
  }
  redis::AsioClient::Options client_options;
  client_options.name = "test";
  if (options_.redis_cluster > 0) {
    cluster_ =
        std::make_unique<RedisCluster>(options_.redis_cluster, options_.redis_cluster_replicas);
    if (auto status = cluster_->Start(); !status.ok()) {
      return absl::Status(status.code(), absl::StrCat(status.message(), "\n", cluster_->Log()));
    }
    auto seeds = redis::ParseEndpoints(cluster_->Seeds());
    if (!seeds.ok()) {
      return seeds.status();
    }
    redis_client_ = std::make_unique<redis::ClusterClient>(
        io_, redis::ClusterClient::Options{.seeds = *std::move(seeds), .node = client_options});
  } else {
    redis_.set_extra_args(options_.redis_args);
    if (auto status = redis_.Start(); !status.ok()) {
      return status;
    }
    client_options.port = redis_.port();
    redis_client_ = std::make_unique<redis::AsioClient>(io_, client_options);
  }
  redis_client_->Start();
  if (auto status = redis_client_->WaitConnected(std::chrono::seconds(5)); !status.ok()) {
    return status;
  }
  for (const std::string& name : ServiceNames()) {
    if (auto status = StartService(name); !status.ok()) {
      return status;
    }
  }
  gateway_ = v1::GatewayService::NewStub(
      grpc::CreateChannel(address("grid-gateway"), gateway_credentials()));
  if (options_.console) {
    if (auto status = StartService(kConsole); !status.ok()) {
      return status;
    }
  }
  if (!options_.webhooks_config.empty()) {
    if (auto status = StartService(kWebhooks); !status.ok()) {
      return status;
    }
  }
  return absl::OkStatus();
}

absl::Status Stack::StartService(const std::string& name) {
  Service& service = services_.at(name);
  service.process.reset();
  auto process = Process::Start(BinPath(name), Args(name), {}, dir_ / (name + ".log"));
  if (!process.ok()) {
    return process.status();
  }
  service.process = *std::move(process);
  auto status = name == kConsole ? WaitHttpHealthy(service.port, std::chrono::seconds(20))
                                 : WaitServing(secured() ? health_address(name) : address(name),
                                               std::chrono::seconds(20));
  if (!status.ok()) {
    return absl::UnavailableError(name +
                                  " did not become healthy: " + std::string(status.message()) +
                                  "\n" + service.process->ReadLog());
  }
  return absl::OkStatus();
}

int Stack::StopService(const std::string& name, int signal, std::chrono::milliseconds grace) {
  Service& service = services_.at(name);
  if (service.process == nullptr || !service.process->Running()) {
    return -1;
  }
  if (signal == SIGTERM) {
    return service.process->Terminate(grace);
  }
  (void)service.process->Kill(signal);
  return service.process->Wait();
}

absl::StatusOr<std::unique_ptr<Process>> Stack::StartReplica(
    const std::string& name, const std::vector<std::string>& extra_args, std::string* address,
    bool wait_serving) {
  const int port = FreePort();
  const int metrics_port = FreePort();
  const int health_port = secured() ? FreePort() : 0;
  std::vector<std::string> args = Args(name, port, metrics_port, health_port);
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  auto process =
      Process::Start(BinPath(name), args, {}, dir_ / (name + "-" + std::to_string(port) + ".log"));
  if (!process.ok()) {
    return process.status();
  }
  const std::string listening = "127.0.0.1:" + std::to_string(port);
  if (!wait_serving) {
    if (address != nullptr) {
      *address = health_port != 0 ? "127.0.0.1:" + std::to_string(health_port) : listening;
    }
    return process;
  }
  if (auto status =
          WaitServing("127.0.0.1:" + std::to_string(health_port != 0 ? health_port : port),
                      std::chrono::seconds(20));
      !status.ok()) {
    return absl::UnavailableError(name + " replica did not become healthy: " +
                                  std::string(status.message()) + "\n" + (*process)->ReadLog());
  }
  if (address != nullptr) {
    *address = listening;
  }
  return process;
}

std::string Stack::Token(const std::string& subject, v1::Role role, const std::string& unit,
                         std::chrono::seconds ttl) const {
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  absl::StatusOr<std::string> token =
      auth::IssueToken({subject, role, unit, now, now + ttl.count()}, jwt_secret_);
  // The stack's own secret and a test's own claims: a failure is a broken test.
  if (!token.ok()) {
    ADD_FAILURE() << "Stack::Token: " << token.status();
    return "";
  }
  return *token;
}

std::string Stack::Token(const v1::Actor& actor) const {
  return Token(actor.subject(), actor.role(), actor.unit_id());
}

void Stack::Authorize(grpc::ClientContext& context, const v1::Actor& actor) const {
  context.AddMetadata("authorization", "Bearer " + Token(actor));
}

v1::Actor Stack::Admin() {
  v1::Actor actor;
  actor.set_subject("test-admin");
  actor.set_role(v1::ROLE_ADMIN);
  actor.set_unit_id("370212");
  return actor;
}

std::string Stack::Logs() const {
  std::ostringstream out;
  for (const auto& [name, service] : services_) {
    if (service.process != nullptr) {
      out << "===== " << name << " =====\n" << service.process->ReadLog() << "\n";
    }
  }
  return out.str();
}

absl::Status WaitServing(const std::string& address, std::chrono::milliseconds deadline) {
  std::string last = "no answer";
  const bool serving = PollUntil(
      [&] {
        // A fresh channel each time: a service that is still starting refuses the first
        // attempts, and a channel that saw a refusal waits out its reconnect back-off.
        auto stub = grpc::health::v1::Health::NewStub(
            grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
        grpc::health::v1::HealthCheckRequest request;
        grpc::health::v1::HealthCheckResponse response;
        const grpc::Status status = stub->Check(&context, request, &response);
        if (!status.ok()) {
          last = status.error_message();
          return false;
        }
        return response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
      },
      deadline, std::chrono::milliseconds(50));
  return serving ? absl::OkStatus() : absl::UnavailableError(address + ": " + last);
}

}  // namespace grid::testing

namespace grid::testing {

std::string HealthOf(const std::string& address, const std::string& service) {
  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) {
    return (status.error_code() == grpc::StatusCode::NOT_FOUND ? "NOT_FOUND: " : "UNAVAILABLE: ") +
           status.error_message();
  }
  return grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status());
}

std::string HttpGet(int port, const std::string& target) {
  try {
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket socket(io);
    socket.connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
    const std::string request = "GET " + target + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    boost::asio::write(socket, boost::asio::buffer(request));
    std::string response;
    boost::system::error_code error;
    boost::asio::read(socket, boost::asio::dynamic_buffer(response), error);
    const size_t body = response.find("\r\n\r\n");
    return body == std::string::npos ? std::string() : response.substr(body + 4);
  } catch (const std::exception&) {
    return std::string();
  }
}

double MetricSample(const std::string& text, const std::string& name,
                    const std::map<std::string, std::string>& labels) {
  double sum = 0;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#' || line.rfind(name, 0) != 0) {
      continue;
    }
    const char next = line.size() > name.size() ? line[name.size()] : '\0';
    if (next != '{' && next != ' ') {
      continue;
    }
    bool match = true;
    for (const auto& [key, value] : labels) {
      match = match && line.find(key + "=\"" + value + "\"") != std::string::npos;
    }
    if (match) {
      sum += std::stod(line.substr(line.rfind(' ') + 1));
    }
  }
  return sum;
}

absl::Status WaitHttpHealthy(int port, std::chrono::milliseconds deadline) {
  std::string last = "no answer";
  const bool healthy = PollUntil(
      [&] {
        const HttpResult result =
            HttpFetch(port, "GET", "/healthz", {}, "", std::chrono::milliseconds(500));
        last = result.status != 0 ? "HTTP " + std::to_string(result.status) : result.error;
        return result.status == 200;
      },
      deadline, std::chrono::milliseconds(50));
  return healthy ? absl::OkStatus()
                 : absl::UnavailableError("127.0.0.1:" + std::to_string(port) + ": " + last);
}

}  // namespace grid::testing
