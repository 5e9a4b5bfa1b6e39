// The Gateway over a real gRPC channel: the callback API (generic unary calls by method name, a
// ClientReadReactor for WatchEvents), plain or verified TLS.
#pragma once

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grid/v1/gateway.grpc.pb.h"
#include "services/console/gateway.h"

namespace grid::console {

// How the console reaches the gateway.
struct GatewayChannelOptions {
  // host:port.
  std::string address = "127.0.0.1:7070";
  // TLS: off unless `tls` or `ca_file` is set. `ca_file` (PEM) holds the roots that verify the
  // gateway's certificate; empty with `tls`: the system's roots.
  bool tls = false;
  std::string ca_file;
  // The name the certificate must carry when it is not the address's host (tests, IPs).
  std::string server_name;
};

// The channel credentials for `options`: insecure, or TLS verifying the gateway's certificate
// against `ca_file` (or the system's roots). INVALID_ARGUMENT naming --gateway-ca when the file
// cannot be read or holds no certificate.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeGatewayCredentials(
    const GatewayChannelOptions& options);

// A channel to the gateway with those credentials (and the server name override); channels of
// different `index` use connections of their own.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeGatewayChannel(
    const GatewayChannelOptions& options, int index = 0);

// What the browser is told when gRPC's client itself failed a call because the connection to
// the gateway could not be made (refused, or a TLS handshake that failed, typically a gateway
// certificate that --gateway-ca does not verify): UNAVAILABLE in words of the console's own,
// without the gateway's address. Any other status (the gateway's own answers) is returned as is.
grpc::Status PublicGatewayStatus(const grpc::Status& status);

// True when `status` is such a connection failure rather than an answer of the gateway.
bool IsConnectionFailure(const grpc::Status& status);

// Calls over `channels` (at least one): each live feed takes the next in turn, so that many feeds
// spread over several HTTP/2 connections. Thread-safe.
class GrpcGateway final : public Gateway {
 public:
  explicit GrpcGateway(std::vector<std::shared_ptr<grpc::Channel>> channels);
  ~GrpcGateway() override;

  void Call(const google::protobuf::MethodDescriptor& method, const CallOptions& options,
            const google::protobuf::Message& request, google::protobuf::Message* response,
            std::function<void(CallResult)> done) override;
  WatchCallPtr Watch(const CallOptions& options, const v1::WatchEventsRequest& request,
                     std::shared_ptr<WatchObserver> observer) override;

  // Cancels every running watch and waits up to `grace` for every call to end (before the
  // process exits, so that no gRPC callback runs into destroyed objects). True when all ended.
  bool Shutdown(std::chrono::milliseconds grace);

  struct Calls;

 private:
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<v1::GatewayService::Stub>> stubs_;
  std::unique_ptr<grpc::TemplatedGenericStub<google::protobuf::Message, google::protobuf::Message>>
      generic_;
  std::atomic<std::size_t> next_{0};
  std::shared_ptr<Calls> calls_;
};

}  // namespace grid::console
