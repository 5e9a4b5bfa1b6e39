#include "common/server/tls.h"

#include <grpcpp/security/server_credentials.h>

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace grid::server {

absl::StatusOr<std::string> ReadPemFile(const std::string& flag, const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": cannot read ", path));
  }
  std::ostringstream bytes;
  bytes << file.rdbuf();
  std::string pem = bytes.str();
  if (!absl::StrContains(pem, "-----BEGIN ")) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": ", path, " holds no PEM block"));
  }
  return pem;
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerTls& tls, const std::string& flag_prefix) {
  if (tls.cert_file.empty() && tls.key_file.empty() && tls.client_ca_file.empty()) {
    return grpc::InsecureServerCredentials();
  }
  if (tls.cert_file.empty() || tls.key_file.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(flag_prefix, "cert and ", flag_prefix,
                                                   "key go together (", flag_prefix,
                                                   "client-ca needs both)"));
  }
  auto cert = ReadPemFile(flag_prefix + "cert", tls.cert_file);
  if (!cert.ok()) {
    return cert.status();
  }
  auto key = ReadPemFile(flag_prefix + "key", tls.key_file);
  if (!key.ok()) {
    return key.status();
  }
  grpc::SslServerCredentialsOptions options(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  options.pem_key_cert_pairs.push_back({*std::move(key), *std::move(cert)});
  if (!tls.client_ca_file.empty()) {
    auto roots = ReadPemFile(flag_prefix + "client-ca", tls.client_ca_file);
    if (!roots.ok()) {
      return roots.status();
    }
    options.pem_root_certs = *std::move(roots);
    // A caller on the private network without a certificate of ours never reaches a handler.
    options.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const ClientTls& tls, const std::string& flag_prefix) {
  if (!tls.tls && tls.ca_file.empty() && tls.cert_file.empty() && tls.key_file.empty()) {
    return grpc::InsecureChannelCredentials();
  }
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag_prefix, "cert and ", flag_prefix, "key go together"));
  }
  grpc::SslCredentialsOptions options;
  if (!tls.ca_file.empty()) {
    auto roots = ReadPemFile(flag_prefix + "ca", tls.ca_file);
    if (!roots.ok()) {
      return roots.status();
    }
    options.pem_root_certs = *std::move(roots);
  }
  if (!tls.cert_file.empty()) {
    auto cert = ReadPemFile(flag_prefix + "cert", tls.cert_file);
    if (!cert.ok()) {
      return cert.status();
    }
    auto key = ReadPemFile(flag_prefix + "key", tls.key_file);
    if (!key.ok()) {
      return key.status();
    }
    options.pem_cert_chain = *std::move(cert);
    options.pem_private_key = *std::move(key);
  }
  return grpc::SslCredentials(options);
}

}  // namespace grid::server
