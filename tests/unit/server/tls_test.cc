// The credentials of the gRPC ports: a service refuses to start on a half-given or unreadable
// TLS configuration, naming the flag and the file, rather than serve in plaintext.
#include "common/server/tls.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace grid::server {
namespace {

using ::testing::HasSubstr;

class TlsTest : public ::testing::Test {
 protected:
  TlsTest() {
    char pattern[] = "/tmp/grid-tls-test-XXXXXX";
    dir_ = mkdtemp(pattern);
    std::ofstream(dir_ / "not-pem.txt") << "hello\n";
  }
  ~TlsTest() override { std::filesystem::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  std::filesystem::path dir_;
};

TEST_F(TlsTest, NothingGivenIsPlaintext) {
  EXPECT_TRUE(MakeServerCredentials({}).ok());
  EXPECT_TRUE(MakeChannelCredentials({}, "--backend-").ok());
}

TEST_F(TlsTest, AHalfGivenPairIsRefusedNamingTheFlags) {
  auto server = MakeServerCredentials({.cert_file = Path("server.pem")});
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(server.status().message(), HasSubstr("--tls-cert and --tls-key go together"));
  // Mutual TLS without a server certificate of its own.
  server = MakeServerCredentials({.client_ca_file = Path("ca.pem")});
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  auto client = MakeChannelCredentials({.key_file = Path("client.key")}, "--backend-");
  EXPECT_EQ(client.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(client.status().message(), HasSubstr("--backend-cert and --backend-key"));
}

TEST_F(TlsTest, AnUnreadableOrNonPemFileIsRefusedNamingTheFlagAndTheFile) {
  auto server =
      MakeServerCredentials({.cert_file = Path("missing.pem"), .key_file = Path("missing.key")});
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(server.status().message(),
              HasSubstr("--tls-cert: cannot read " + Path("missing.pem")));
  auto client = MakeChannelCredentials({.ca_file = Path("not-pem.txt")}, "--backend-");
  EXPECT_EQ(client.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(client.status().message(),
              HasSubstr("--backend-ca: " + Path("not-pem.txt") + " holds no PEM block"));
}

}  // namespace
}  // namespace grid::server
