// What every service process shares: a gRPC server with health checking, reflection and RPC
// metrics; an Asio thread for Redis work; the shutdown signal.
#pragma once

#include <grpcpp/grpcpp.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/server/tls.h"
#include "common/telemetry/rpc_metrics.h"
#include "common/telemetry/telemetry.h"

namespace grid::server {

// The health service name that answers SERVING while the process runs, whatever its
// dependencies do: for liveness probes, so that a Redis blip restarts nothing.
inline constexpr char kLivenessService[] = "liveness";

// A service to host, with the name the health service knows it by (e.g.
// v1::RoutingService::service_full_name()).
struct Hosted {
  grpc::Service* service;
  std::string name;
};

// A running gRPC server with reflection and gRPC health checking under these names:
//   ""                    readiness: SERVING while the process can do its work (SetReady);
//   each hosted service   the same;
//   "liveness"            SERVING while the process runs (until Shutdown).
// Every name is NOT_SERVING until the first SetReady(true), and after Shutdown begins.
// The plaintext health port, when there is one, answers the same names with the same statuses:
// each status is written once, through SetStatus, to both ports' health services.
class Host final {
 public:
  // Binds `listen` ("127.0.0.1:7071"; port 0 picks one) and starts serving `services`, which
  // must outlive the host. RPC metrics go to `telemetry`'s registry. `tls` secures the port
  // (empty: plaintext). A non-empty `health_listen` binds a second, plaintext port that serves
  // health checking only: probes reach it without a client certificate, and it exposes no RPC
  // of the service.
  static absl::StatusOr<std::unique_ptr<Host>> Start(const std::string& listen,
                                                     const std::vector<Hosted>& services,
                                                     telemetry::Telemetry& telemetry,
                                                     const ServerTls& tls = {},
                                                     const std::string& health_listen = "");
  ~Host();

  int port() const { return port_; }
  // The health port's number; 0 without one.
  int health_port() const { return health_port_; }
  // Readiness: "" and every hosted service SERVING or NOT_SERVING, on the main port and the
  // health port alike; load balancers, Kubernetes' gRPC readiness probes and `deploy/local/up`
  // read it.
  void SetReady(bool ready);
  // Stops taking calls and waits up to `grace` for running calls to finish.
  void Shutdown(std::chrono::milliseconds grace);

 private:
  Host() = default;
  // The one writer of health statuses, so that the two ports cannot disagree.
  void SetStatus(const std::string& name, bool serving);

  std::unique_ptr<telemetry::RpcMetrics> metrics_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<grpc::Server> health_server_;
  std::vector<std::string> names_;
  int port_ = 0;
  int health_port_ = 0;
};

// An io_context with one thread running it: the strand on which a process's Redis clients and
// their callbacks run (STYLE.md item 7).
class IoThread final {
 public:
  IoThread();
  ~IoThread();
  boost::asio::io_context& context() { return context_; }
  // Stops the context and joins the thread. Stop the clients running on it first, so that
  // their callbacks have all been called.
  void Stop();

 private:
  boost::asio::io_context context_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread thread_;
};

// What every service's main does first, before any thread starts: blocks SIGINT and SIGTERM (so
// that only WaitForTermination sees them), ignores SIGPIPE, and turns off absl::Mutex's deadlock
// detection, which Debian's abseil leaves on: it keeps a lock graph for every lock taken, gRPC's
// included, and makes an uncontended nested lock about 3.5 times as dear (100 ns against 28 for
// a pair here). A release build does without it, as abseil's own NDEBUG builds do.
void StartProcess();
// Blocks the calling thread until SIGINT or SIGTERM arrives (after StartProcess).
int WaitForTermination();

// Maps an absl::Status to a grpc::Status with the same code and message.
grpc::Status ToGrpc(const absl::Status& status);

}  // namespace grid::server
