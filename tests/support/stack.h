// The whole system for an integration test: a real redis-server and the five real service
// binaries on free ports of 127.0.0.1, each waited for until its gRPC health check says SERVING.
// The gateway checks bearer tokens signed with a secret of the stack's own (Token, Authorize);
// its rate limit is off unless a test passes --rate-per-second in extra_args.
#pragma once

#include <grpcpp/security/credentials.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "common/redis/asio_client.h"
#include "common/redis/cluster_client.h"
#include "grid/v1/gateway.grpc.pb.h"
#include "grid/v1/types.pb.h"
#include "tests/support/process.h"
#include "tests/support/redis_cluster.h"
#include "tests/support/redis_server.h"

namespace grid::testing {

class Stack final {
 public:
  struct Options {
    std::string topology = "deploy/config/laoshan-topology.json";  // Relative to the source.
    // Empty: none (every district of the topology has its own, given in extra_args as
    // --district-policy).
    std::string policy = "deploy/config/policy.json";
    // Extra command-line arguments per service binary, e.g. {"grid-routing", {"--reclaim-idle-ms",
    // "500"}}.
    std::map<std::string, std::vector<std::string>> extra_args;
    // Extra arguments of redis-server, e.g. {"--appendonly", "yes"} (see RedisServer).
    std::vector<std::string> redis_args;
    // A Redis Cluster of this many masters (RedisCluster) instead of one redis-server: the
    // services get --redis-cluster, redis_client() is a ClusterClient, and redis() is not
    // started. 0: one redis-server.
    int redis_cluster = 0;
    // With redis_cluster: replicas of every master (RedisCluster's replicas_per_master), whose
    // failover takes about cluster-node-timeout (RedisCluster::kReplicaNodeTimeout).
    int redis_cluster_replicas = 0;
    // Transport security, off by default: most tests call the internal services directly with
    // plaintext stubs, and a plaintext stack starts faster on a shared machine; the secured stack
    // has tests of its own (security_test, console_tls_test). `tls`: the gateway serves TLS with a
    // certificate of the stack's own CA (deploy/local/make-certs), and gateway() trusts that CA.
    // `mtls`: the internal services require client certificates, which the gateway presents.
    // Either gives every service a plaintext health port, which the stack waits on.
    bool tls = false;
    bool mtls = false;
    // Also start grid-console (after the gateway, against it), waited for on GET /healthz. Its
    // page is `console_static_dir`, or when empty a one-line index.html of the stack's own.
    bool console = false;
    std::string console_static_dir;
    // The PEM roots the console verifies the gateway with when `tls` (empty: the stack's CA).
    std::string console_gateway_ca;
    // Also start grid-webhooks (after the others) with this receivers file (--config; an
    // absolute path, or relative to the source), and give the gateway its address (--webhooks).
    // Empty: not started.
    std::string webhooks_config;
    // The unit of the stack's api client (api_key()): the top of the topology.
    std::string api_client_unit = "370212";
  };

  // The console's binary name (not among ServiceNames: it is started on request).
  static constexpr char kConsole[] = "grid-console";
  // The webhooks service's binary name (started on request, Options::webhooks_config).
  static constexpr char kWebhooks[] = "grid-webhooks";
  // The services by binary name, in start order (the gateway last).
  static const std::vector<std::string>& ServiceNames();

  explicit Stack(Options options);
  Stack() : Stack(Options()) {}
  ~Stack();

  // Starts Redis and every service; OK once all answer SERVING.
  absl::Status Start();
  // Starts (or restarts) one service on its same ports and waits until it is SERVING.
  absl::Status StartService(const std::string& name);
  // Stops one service with `signal` (SIGTERM for a clean stop, SIGKILL for a crash); after SIGTERM
  // it gets `grace` to exit before SIGKILL. Returns the wait status (see DescribeWaitStatus), -1
  // when it was not running.
  int StopService(const std::string& name, int signal,
                  std::chrono::milliseconds grace = Process::kDefaultGrace);
  // The service's process; null when it is not running.
  Process* process(const std::string& name) { return services_.at(name).process.get(); }
  // Starts another instance of a service (a replica) on ports of its own, against the same Redis
  // and configuration, with `extra_args` besides the service's own; OK once it is SERVING, or at
  // once without `wait_serving` (a standby, which is NOT_SERVING). The caller owns it; `address`,
  // if given, receives its gRPC address (its health address, without `wait_serving`, when the
  // stack is secured).
  absl::StatusOr<std::unique_ptr<Process>> StartReplica(
      const std::string& name, const std::vector<std::string>& extra_args = {},
      std::string* address = nullptr, bool wait_serving = true);

  RedisServer& redis() { return redis_; }
  // The cluster, with Options::redis_cluster; null otherwise.
  RedisCluster* cluster() { return cluster_.get(); }
  // A client of the test's own to inspect Redis; synchronous use via redis::CommandSync.
  redis::Client& redis_client() { return *redis_client_; }
  std::string address(const std::string& name) const;
  // The console's HTTP port (Options::console).
  int console_port() const { return port_of(kConsole); }
  int port_of(const std::string& name) const;
  int metrics_port(const std::string& name) const;
  // The process id of a running service; 0 when it is not running.
  pid_t pid(const std::string& name) const;
  // A stub of the gateway, the public API (over TLS when options.tls).
  v1::GatewayService::Stub& gateway() { return *gateway_; }
  // The credentials gateway() uses: TLS trusting the stack's CA, or plaintext.
  std::shared_ptr<grpc::ChannelCredentials> gateway_credentials() const;
  // The stack's CA and certificates (ca.pem, server.pem/key, client.pem/key; see
  // deploy/local/make-certs) when options.tls or options.mtls, else empty.
  std::filesystem::path tls_dir() const;
  // gridctl's flags to reach gateway(): --gateway, and --ca with the stack's CA when the gateway
  // serves TLS, else --insecure (gridctl speaks TLS unless told otherwise).
  std::vector<std::string> GridctlArgs() const;
  // The plaintext health-checking address of a service when the stack is secured.
  std::string health_address(const std::string& name) const;

  // The client system the gateway knows by api key (unless a test passes its own --api-keys in
  // extra_args): kApiClient, of the whole district (370212), filing as SOURCE_OPEN311; its
  // caller is {"system:" + kApiClient, ROLE_SYSTEM, "370212"}.
  static constexpr char kApiClient[] = "open311-test";
  const std::string& api_key() const { return api_key_; }
  // The HS256 secret the gateway checks tokens with (written to a file of the stack's).
  const std::string& jwt_secret() const { return jwt_secret_; }
  // A token for the caller, valid for `ttl` from now (negative: already expired).
  std::string Token(const std::string& subject, v1::Role role, const std::string& unit,
                    std::chrono::seconds ttl = std::chrono::hours(1)) const;
  std::string Token(const v1::Actor& actor) const;
  // Adds "authorization: Bearer <token of actor>" to `context`.
  void Authorize(grpc::ClientContext& context, const v1::Actor& actor) const;
  // An ADMIN of the district: the caller of tests that are not about who calls.
  static v1::Actor Admin();
  // Every service's log, for failure messages.
  std::string Logs() const;

 private:
  struct Service {
    int port = 0;
    int metrics_port = 0;
    int health_port = 0;
    std::unique_ptr<Process> process;
  };
  bool secured() const { return options_.tls || options_.mtls; }
  std::vector<std::string> Args(const std::string& name) const;
  std::vector<std::string> Args(const std::string& name, int port, int metrics_port,
                                int health_port) const;

  Options options_;
  std::filesystem::path dir_;
  std::string jwt_secret_;
  std::string api_key_;
  RedisServer redis_;
  std::map<std::string, Service> services_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread io_thread_;
  std::unique_ptr<RedisCluster> cluster_;
  std::unique_ptr<redis::Connection> redis_client_;
  std::unique_ptr<v1::GatewayService::Stub> gateway_;
};

// OK once the gRPC health check of `address` answers SERVING, or the last error at `deadline`.
absl::Status WaitServing(const std::string& address, std::chrono::milliseconds deadline);
// OK once GET http://127.0.0.1:`port`/healthz answers 200, or the last error at `deadline`.
absl::Status WaitHttpHealthy(int port, std::chrono::milliseconds deadline);

// One gRPC health check of `service` ("" for the server as a whole) at `address`: "SERVING",
// "NOT_SERVING", or the error ("UNAVAILABLE: ...", "NOT_FOUND: ...").
std::string HealthOf(const std::string& address, const std::string& service = "");

// The body of GET http://127.0.0.1:<port><target>; empty when it fails.
std::string HttpGet(int port, const std::string& target);

// The sum of the samples of `name` (exactly that series name) in Prometheus text that carry every
// label of `labels`.
double MetricSample(const std::string& text, const std::string& name,
                    const std::map<std::string, std::string>& labels = {});

}  // namespace grid::testing
