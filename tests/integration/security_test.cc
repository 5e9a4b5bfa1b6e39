// Transport security and the limits of a watch, on real processes: the gateway speaks TLS with a
// certificate of the stack's own CA (made by deploy/local/make-certs, as deploy/local/up makes
// .local/tls), the internal services require client certificates (mutual TLS), probes reach
// every service's health on a plaintext port of its own; a watch ends when its token expires,
// and one subject may hold only so many watches at once.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "grid/v1/routing.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "services/gateway/watcher.h"
#include "tests/support/poll.h"
#include "tests/support/stack.h"
#include "tests/support/stack_test.h"
#include "tools/gridctl/cli.h"

namespace grid {
namespace {

using ::testing::HasSubstr;
using testing::PollUntil;
using testing::Stack;

constexpr char kGrid[] = "37021200100101";
constexpr char kSubdistrict[] = "370212001";
constexpr int kWatchesPerSubject = 2;

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream file(path);
  std::ostringstream bytes;
  bytes << file.rdbuf();
  return bytes.str();
}

grpc::health::v1::HealthCheckResponse::ServingStatus Health(
    const std::string& address, const std::shared_ptr<grpc::ChannelCredentials>& credentials,
    grpc::Status* status_out = nullptr) {
  auto stub = grpc::health::v1::Health::NewStub(grpc::CreateChannel(address, credentials));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = stub->Check(&context, {}, &response);
  if (status_out != nullptr) {
    *status_out = status;
  }
  return status.ok() ? response.status() : grpc::health::v1::HealthCheckResponse::UNKNOWN;
}

class SecurityTest : public testing::StackTest {
 protected:
  void SetUp() override {
    Stack::Options options;
    options.tls = true;
    options.mtls = true;
    // Heartbeats every second, so that a test knows a watch is established when it reads one.
    options.extra_args["grid-gateway"] = {"--watch-max-per-subject",
                                          std::to_string(kWatchesPerSubject),
                                          "--watch-heartbeat-seconds", "1"};
    StartStack(std::move(options));
  }

  std::shared_ptr<grpc::ChannelCredentials> Trusting(bool with_client_certificate) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ReadFile(stack_->tls_dir() / "ca.pem");
    if (with_client_certificate) {
      ssl.pem_cert_chain = ReadFile(stack_->tls_dir() / "client.pem");
      ssl.pem_private_key = ReadFile(stack_->tls_dir() / "client.key");
    }
    return grpc::SslCredentials(ssl);
  }

  // gridctl in-process against the gateway, with `args` after the gateway's address.
  int Gridctl(std::vector<std::string> args, std::string& output) {
    args.insert(args.begin(),
                {"gridctl", "--timeout-ms", "3000", "--gateway", stack_->address("grid-gateway")});
    std::vector<const char*> argv;
    for (const std::string& arg : args) {
      argv.push_back(arg.c_str());
    }
    std::istringstream in;
    std::ostringstream out;
    std::ostringstream err;
    const int code = gridctl::Run(static_cast<int>(argv.size()), argv.data(), in, out, err);
    output = out.str() + err.str();
    return code;
  }
};

// One watch call of the test's own.
struct Watch {
  Watch(Stack& stack, const std::string& token) {
    context.AddMetadata("authorization", "Bearer " + token);
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    reader = stack.gateway().WatchEvents(&context, v1::WatchEventsRequest());
  }
  // True once a message (a heartbeat at least) came: the gateway admitted the watch.
  bool Established() {
    v1::WatchEventsResponse response;
    return reader->Read(&response);
  }
  // Reads until the call ends; its status.
  grpc::Status End() {
    v1::WatchEventsResponse response;
    while (reader->Read(&response)) {
    }
    return reader->Finish();
  }
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<v1::WatchEventsResponse>> reader;
};

TEST_F(SecurityTest, TheGatewaySpeaksTlsThatTheLocalCaVerifies) {
  // The stack's stub trusts the stack's CA: calls work, and a report goes all the way through
  // intake and routing, which require the gateway's client certificate.
  v1::ReportEventRequest request;
  request.mutable_report()->set_grid_id(kGrid);
  request.mutable_report()->set_category("0102");
  request.mutable_report()->set_severity(v1::SEVERITY_NORMAL);
  request.mutable_report()->set_description("暴露垃圾 behind the market");
  v1::ReportEventResponse response;
  const grpc::Status reported = gateway().ReportEvent(Context().get(), request, &response);
  ASSERT_TRUE(reported.ok()) << reported.error_message();
  AwaitWhere(response.event_id(),
             [](const v1::Event& e) { return e.state() == v1::EVENT_STATE_DISPATCHED; });

  // Plaintext to the TLS port: UNAVAILABLE, the handshake never completes.
  grpc::Status status;
  Health(stack_->address("grid-gateway"), grpc::InsecureChannelCredentials(), &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  auto plain = v1::GatewayService::NewStub(
      grpc::CreateChannel(stack_->address("grid-gateway"), grpc::InsecureChannelCredentials()));
  v1::GetTopologyResponse topology;
  status = plain->GetTopology(Context().get(), v1::GetTopologyRequest(), &topology);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();

  // A client that trusts only the system's roots does not accept the local certificate.
  Health(stack_->address("grid-gateway"), grpc::SslCredentials({}), &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();

  // gridctl: --ca verifies; without it, the state directory's tls/ca.pem (deploy/local/up's
  // .local/tls) is trusted by default; --insecure speaks plaintext, which the port refuses.
  std::string output;
  EXPECT_EQ(Gridctl({"--ca", (stack_->tls_dir() / "ca.pem").string(), "health"}, output), 0)
      << output;
  EXPECT_THAT(output, HasSubstr("SERVING"));
  setenv("GRID_STATE_DIR", stack_->tls_dir().parent_path().c_str(), 1);
  EXPECT_EQ(Gridctl({"health"}, output), 0) << output;
  EXPECT_EQ(Gridctl({"--insecure", "health"}, output), 1) << output;
  EXPECT_THAT(output, HasSubstr("UNAVAILABLE"));
  EXPECT_EQ(Gridctl({"--ca", "/nonexistent/ca.pem", "health"}, output), 2) << output;
  EXPECT_THAT(output, HasSubstr("--ca: cannot read /nonexistent/ca.pem"));
  unsetenv("GRID_STATE_DIR");
}

TEST_F(SecurityTest, InternalServicesRefuseAClientWithoutACertificate) {
  const std::string routing = stack_->address("grid-routing");
  // A host on the private network that trusts the CA but has no certificate of ours: refused at
  // the handshake, before any handler could read a forged actor.
  v1::GetEventRequest request;
  request.set_event_id("370212001-NOSUCHEVENT");
  v1::GetEventResponse response;
  for (const auto& credentials : {Trusting(false), grpc::InsecureChannelCredentials()}) {
    auto stub = v1::RoutingService::NewStub(grpc::CreateChannel(routing, credentials));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
    const grpc::Status status = stub->GetEvent(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  }
  // With the gateway's client certificate the call reaches routing, which judges the request
  // itself (the id is not one it could have made).
  auto stub = v1::RoutingService::NewStub(grpc::CreateChannel(routing, Trusting(true)));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  const grpc::Status status = stub->GetEvent(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();

  // Probes: every service's health answers SERVING on its plaintext health port, which serves
  // nothing else.
  for (const std::string& name : Stack::ServiceNames()) {
    EXPECT_EQ(Health(stack_->health_address(name), grpc::InsecureChannelCredentials()),
              grpc::health::v1::HealthCheckResponse::SERVING)
        << name;
  }
  auto on_health_port = v1::RoutingService::NewStub(grpc::CreateChannel(
      stack_->health_address("grid-routing"), grpc::InsecureChannelCredentials()));
  grpc::ClientContext health_context;
  const grpc::Status unimplemented = on_health_port->GetEvent(&health_context, request, &response);
  EXPECT_EQ(unimplemented.error_code(), grpc::StatusCode::UNIMPLEMENTED);
}

TEST_F(SecurityTest, AWatchEndsWhenItsTokenExpires) {
  const auto started = std::chrono::steady_clock::now();
  // exp is in whole seconds: this token expires between 2 and 3 s from now.
  Watch watch(*stack_, stack_->Token("op-expiring", v1::ROLE_OPERATOR, kSubdistrict,
                                     std::chrono::seconds(3)));
  ASSERT_TRUE(watch.Established());
  const grpc::Status status = watch.End();
  const auto lasted = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("expired during the watch"));
  EXPECT_GE(lasted, std::chrono::seconds(1));
  // Within about a second of the expiry (heartbeat rounds run every second), not at the
  // call's 30 s deadline.
  EXPECT_LT(lasted, std::chrono::seconds(10));
  const auto& trailers = watch.context.GetServerTrailingMetadata();
  EXPECT_NE(trailers.find(gateway::kCursorMetadata), trailers.end())
      << "the cursor to resume from with a fresh token";
}

TEST_F(SecurityTest, OneSubjectMayHoldOnlySoManyWatches) {
  const std::string token = stack_->Token("op-busy", v1::ROLE_OPERATOR, kSubdistrict);
  std::vector<std::unique_ptr<Watch>> open;
  for (int i = 0; i < kWatchesPerSubject; ++i) {
    open.push_back(std::make_unique<Watch>(*stack_, token));
    ASSERT_TRUE(open.back()->Established()) << i;
  }
  Watch refused(*stack_, token);
  const grpc::Status status = refused.End();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("\"op-busy\" already has 2 watches open"));

  // Another subject is not affected.
  Watch other(*stack_, stack_->Token("op-other", v1::ROLE_OPERATOR, kSubdistrict));
  EXPECT_TRUE(other.Established());

  // Ending one gives its slot back.
  open.front()->context.TryCancel();
  (void)open.front()->End();
  open.erase(open.begin());
  EXPECT_TRUE(PollUntil(
      [&] {
        Watch again(*stack_, token);
        const bool admitted = again.Established();
        again.context.TryCancel();
        (void)again.End();
        return admitted;
      },
      std::chrono::seconds(10)));
  for (auto& watch : open) {
    watch->context.TryCancel();
    (void)watch->End();
  }
  other.context.TryCancel();
  (void)other.End();
}

}  // namespace
}  // namespace grid
