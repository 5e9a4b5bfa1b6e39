#include "common/server/host.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include "absl/synchronization/mutex.h"

namespace grid::server {

absl::StatusOr<std::unique_ptr<Host>> Host::Start(const std::string& listen,
                                                  const std::vector<Hosted>& services,
                                                  telemetry::Telemetry& telemetry,
                                                  const ServerTls& tls,
                                                  const std::string& health_listen) {
  auto credentials = MakeServerCredentials(tls);
  if (!credentials.ok()) {
    return credentials.status();
  }
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  std::unique_ptr<Host> host(new Host());
  host->metrics_ = std::make_unique<telemetry::RpcMetrics>(telemetry.registry());

  grpc::ServerBuilder builder;
  builder.AddListeningPort(listen, *credentials, &host->port_);
  host->names_.push_back("");
  for (const Hosted& hosted : services) {
    builder.RegisterService(hosted.service);
    host->names_.push_back(hosted.name);
  }
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
  creators.push_back(telemetry::MakeRpcMetricsInterceptor(*host->metrics_));
  builder.experimental().SetInterceptorCreators(std::move(creators));
  host->server_ = builder.BuildAndStart();
  if (host->server_ == nullptr || host->port_ == 0) {
    return absl::UnavailableError("cannot listen on " + listen);
  }
  if (!health_listen.empty()) {
    // A server of its own with no service registered: the default health service (enabled
    // above) is all it answers, besides reflection, which then lists health only.
    grpc::ServerBuilder health;
    health.AddListeningPort(health_listen, grpc::InsecureServerCredentials(), &host->health_port_);
    host->health_server_ = health.BuildAndStart();
    if (host->health_server_ == nullptr || host->health_port_ == 0) {
      return absl::UnavailableError("--health-listen: cannot listen on " + health_listen);
    }
  }
  host->SetStatus(kLivenessService, true);
  host->SetReady(false);
  return host;
}

Host::~Host() { Shutdown(std::chrono::milliseconds(0)); }

void Host::SetStatus(const std::string& name, bool serving) {
  for (grpc::Server* server : {server_.get(), health_server_.get()}) {
    if (server != nullptr && server->GetHealthCheckService() != nullptr) {
      server->GetHealthCheckService()->SetServingStatus(name, serving);
    }
  }
}

void Host::SetReady(bool ready) {
  // Name by name: the all-names form would flip "liveness" too.
  for (const std::string& name : names_) {
    SetStatus(name, ready);
  }
}

void Host::Shutdown(std::chrono::milliseconds grace) {
  if (server_ == nullptr) {
    return;
  }
  // Every name, liveness too: the process is going.
  for (grpc::Server* server : {server_.get(), health_server_.get()}) {
    if (server != nullptr && server->GetHealthCheckService() != nullptr) {
      server->GetHealthCheckService()->SetServingStatus(false);
    }
  }
  server_->Shutdown(std::chrono::system_clock::now() + grace);
  server_->Wait();
  server_.reset();
  if (health_server_ != nullptr) {
    health_server_->Shutdown(std::chrono::system_clock::now());
    health_server_->Wait();
    health_server_.reset();
  }
}

IoThread::IoThread() : guard_(context_.get_executor()), thread_([this] { context_.run(); }) {}

IoThread::~IoThread() { Stop(); }

void IoThread::Stop() {
  if (thread_.joinable()) {
    guard_.reset();
    context_.stop();
    thread_.join();
  }
}

void StartProcess() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // A client that goes away mid-write must not kill the process.
  signal(SIGPIPE, SIG_IGN);
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

int WaitForTermination() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int signal_number = 0;
  sigwait(&set, &signal_number);
  spdlog::info("signal {} received, shutting down", signal_number);
  return signal_number;
}

grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) {
    return grpc::Status::OK;
  }
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

}  // namespace grid::server
