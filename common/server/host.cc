#include "common/server/host.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>
#include <spdlog/spdlog.h>

namespace grid::server {

absl::StatusOr<std::unique_ptr<Host>> Host::Start(const std::string& listen,
                                                  const std::vector<Hosted>& services,
                                                  telemetry::Telemetry& telemetry) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  std::unique_ptr<Host> host(new Host());
  host->metrics_ = std::make_unique<telemetry::RpcMetrics>(telemetry.registry());

  grpc::ServerBuilder builder;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &host->port_);
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
  if (grpc::HealthCheckServiceInterface* health = host->server_->GetHealthCheckService()) {
    health->SetServingStatus(kLivenessService, true);
  }
  host->SetReady(false);
  return host;
}

Host::~Host() { Shutdown(std::chrono::milliseconds(0)); }

void Host::SetReady(bool ready) {
  if (server_ == nullptr) {
    return;
  }
  if (grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService()) {
    // Name by name: the all-names form would flip "liveness" too.
    for (const std::string& name : names_) {
      health->SetServingStatus(name, ready);
    }
  }
}

void Host::Shutdown(std::chrono::milliseconds grace) {
  if (server_ == nullptr) {
    return;
  }
  // Every name, liveness too: the process is going.
  if (grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService()) {
    health->SetServingStatus(false);
  }
  server_->Shutdown(std::chrono::system_clock::now() + grace);
  server_->Wait();
  server_.reset();
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

void BlockTerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // A client that goes away mid-write must not kill the process.
  signal(SIGPIPE, SIG_IGN);
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
