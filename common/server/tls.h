// Transport security of the gRPC ports: server credentials from PEM files (TLS, optionally
// requiring client certificates: mutual TLS) and the matching channel credentials of clients.
// The files are read once at start-up; a missing or malformed one is an error that names the
// flag and the file, so that a service refuses to start rather than serve in plaintext.
#pragma once

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace grid::server {

// How a server port is secured. All empty: plaintext.
struct ServerTls {
  // PEM certificate chain and private key of the server: TLS when both are set.
  std::string cert_file{};
  std::string key_file{};
  // PEM roots that client certificates must chain to: when set, a client without a valid
  // certificate is refused at the handshake (mutual TLS). Requires cert_file and key_file.
  std::string client_ca_file{};
};

// How a client reaches a server. All empty: plaintext.
struct ClientTls {
  // PEM roots that verify the server's certificate (empty with `tls`: the system's roots).
  std::string ca_file{};
  // The client's own certificate and key, for a server that requires mutual TLS.
  std::string cert_file{};
  std::string key_file{};
  // Speak TLS even without ca_file.
  bool tls = false;
};

// Reads a PEM file; INVALID_ARGUMENT naming `flag` and the file when it cannot be read or holds
// no PEM block.
absl::StatusOr<std::string> ReadPemFile(const std::string& flag, const std::string& path);

// Plaintext for an empty ServerTls; else SSL credentials, INVALID_ARGUMENT for a half-given pair
// or an unreadable file.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerTls& tls, const std::string& flag_prefix = "--tls-");

// Plaintext for an empty ClientTls; else SSL credentials that verify the server and present the
// client certificate when given.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const ClientTls& tls, const std::string& flag_prefix);

}  // namespace grid::server
