#include "services/console/grpc_gateway.h"

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <unordered_map>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log/throttle.h"

namespace grid::console {

// The calls running, so that Shutdown can cancel the watches and wait for every call.
struct GrpcGateway::Calls {
  std::mutex mu;
  std::condition_variable idle;
  std::size_t running = 0;
  std::unordered_map<const void*, std::weak_ptr<WatchCall>> watches;
  // The connection failures: the first at once, then one line a minute while they last.
  log::Throttle connection_log{std::chrono::seconds(60)};

  // The status the console answers with; a connection failure is logged with gRPC's detail.
  grpc::Status Public(const grpc::Status& status) {
    if (!IsConnectionFailure(status)) {
      return status;
    }
    connection_log.Error(absl::StrCat("gateway unreachable: ", status.error_message()));
    return PublicGatewayStatus(status);
  }

  void Started(const void* key, std::weak_ptr<WatchCall> watch) {
    std::lock_guard lock(mu);
    ++running;
    if (key != nullptr) {
      watches.emplace(key, std::move(watch));
    }
  }
  void Ended(const void* key) {
    std::lock_guard lock(mu);
    --running;
    if (key != nullptr) {
      watches.erase(key);
    }
    if (running == 0) {
      idle.notify_all();
    }
  }
};

namespace {

using google::protobuf::Message;

std::string MetadataValue(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
                          const std::string& key) {
  const auto it = metadata.find(key);
  return it == metadata.end() ? std::string() : std::string(it->second.data(), it->second.size());
}

WatchEnd Trailers(const grpc::ClientContext& context) {
  WatchEnd end;
  end.cursor = MetadataValue(context.GetServerTrailingMetadata(), "grid-cursor");
  std::int64_t ms = 0;
  if (absl::SimpleAtoi(MetadataValue(context.GetServerTrailingMetadata(), "retry-after-ms"), &ms)) {
    end.retry_after_ms = ms;
  }
  return end;
}

void Prepare(grpc::ClientContext& context, const CallOptions& options) {
  if (!options.token.empty()) {
    context.AddMetadata("authorization", "Bearer " + options.token);
  }
  if (!options.api_key.empty()) {
    context.AddMetadata("x-api-key", options.api_key);
  }
  if (options.deadline.count() > 0) {
    context.set_deadline(std::chrono::system_clock::now() + options.deadline);
  }
}

// One WatchEvents call. Owns itself from Start until OnDone (gRPC's reactor lifetime), and is
// shared with the caller so that Cancel is safe at any time.
class GrpcWatch final : public WatchCall, public grpc::ClientReadReactor<v1::WatchEventsResponse> {
 public:
  GrpcWatch(const CallOptions& options, v1::WatchEventsRequest request,
            std::shared_ptr<WatchObserver> observer, std::shared_ptr<GrpcGateway::Calls> calls)
      : request_(std::move(request)), observer_(std::move(observer)), calls_(std::move(calls)) {
    Prepare(context_, options);
  }

  void Start(v1::GatewayService::Stub& stub, std::shared_ptr<GrpcWatch> self) {
    calls_->Started(this, self);
    self_ = std::move(self);
    stub.async()->WatchEvents(&context_, &request_, this);
    StartRead(&response_);
    StartCall();
  }

  void Cancel() override { context_.TryCancel(); }

  // Each Next lets one more message be read. It may come before or after OnReadDone is through
  // with the message it answers: a read is started by whichever of the two finds none running.
  void Next() override {
    {
      std::lock_guard lock(mu_);
      if (done_) {
        return;
      }
      if (reading_) {
        ++credit_;
        return;
      }
      reading_ = true;
    }
    StartRead(&response_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      return;  // OnDone brings the status.
    }
    observer_->OnMessage(response_);
    {
      std::lock_guard lock(mu_);
      if (credit_ == 0) {
        reading_ = false;
        return;
      }
      --credit_;
    }
    StartRead(&response_);
  }

  void OnDone(const grpc::Status& status) override {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    // Released when this returns: nothing of this object is used after.
    const std::shared_ptr<GrpcWatch> self = std::move(self_);
    const std::shared_ptr<WatchObserver> observer = std::move(observer_);
    observer->OnEnd(calls_->Public(status), Trailers(context_));
    calls_->Ended(this);
  }

 private:
  grpc::ClientContext context_;
  v1::WatchEventsRequest request_;
  v1::WatchEventsResponse response_;
  std::shared_ptr<WatchObserver> observer_;
  std::shared_ptr<GrpcGateway::Calls> calls_;
  std::shared_ptr<GrpcWatch> self_;
  std::mutex mu_;
  // A read is pending, or OnReadDone is running.
  bool reading_ = true;
  // Messages that may be read without the observer asking: a few ahead, so that the gateway's
  // stream flows while the observer's strand is busy, and at most this many are read beyond what
  // the observer asked for.
  int credit_ = kWatchReadAhead;
  bool done_ = false;
};

}  // namespace

GrpcGateway::GrpcGateway(std::vector<std::shared_ptr<grpc::Channel>> channels)
    : channels_(std::move(channels)), calls_(std::make_shared<Calls>()) {
  for (const auto& channel : channels_) {
    stubs_.push_back(v1::GatewayService::NewStub(channel));
  }
  generic_ = std::make_unique<grpc::TemplatedGenericStub<Message, Message>>(channels_.front());
}

GrpcGateway::~GrpcGateway() { Shutdown(std::chrono::seconds(2)); }

void GrpcGateway::Call(const google::protobuf::MethodDescriptor& method, const CallOptions& options,
                       const Message& request, Message* response,
                       std::function<void(CallResult)> done) {
  auto context = std::make_shared<grpc::ClientContext>();
  Prepare(*context, options);
  calls_->Started(nullptr, {});
  generic_->UnaryCall(context.get(),
                      absl::StrCat("/", method.service()->full_name(), "/", method.name()),
                      grpc::StubOptions(), &request, response,
                      [context, calls = calls_, done = std::move(done)](grpc::Status status) {
                        done(CallResult{calls->Public(status), Trailers(*context).retry_after_ms});
                        calls->Ended(nullptr);
                      });
}

WatchCallPtr GrpcGateway::Watch(const CallOptions& options, const v1::WatchEventsRequest& request,
                                std::shared_ptr<WatchObserver> observer) {
  auto call = std::make_shared<GrpcWatch>(options, request, std::move(observer), calls_);
  call->Start(*stubs_[next_.fetch_add(1) % stubs_.size()], call);
  return call;
}

bool GrpcGateway::Shutdown(std::chrono::milliseconds grace) {
  std::vector<std::weak_ptr<WatchCall>> watches;
  {
    std::lock_guard lock(calls_->mu);
    for (const auto& [key, watch] : calls_->watches) {
      watches.push_back(watch);
    }
  }
  // Outside the lock: a cancellation may end a call on this very thread.
  for (const auto& weak : watches) {
    if (auto watch = weak.lock()) {
      watch->Cancel();
    }
  }
  std::unique_lock lock(calls_->mu);
  return calls_->idle.wait_for(lock, grace, [this] { return calls_->running == 0; });
}

namespace {

// gRPC's words (and OpenSSL's, in either case) for a TLS handshake that failed.
bool IsHandshakeFailure(const std::string& message) {
  const std::string lower = absl::AsciiStrToLower(message);
  return absl::StrContains(lower, "handshake") ||
         absl::StrContains(lower, "certificate verify failed") ||
         absl::StrContains(lower, "certificate_verify_failed");
}

}  // namespace

bool IsConnectionFailure(const grpc::Status& status) {
  // gRPC's client words these itself (the gateway never sends them): no connection could be
  // made, or its TLS handshake failed.
  return status.error_code() == grpc::StatusCode::UNAVAILABLE &&
         (absl::StrContains(status.error_message(), "failed to connect to all addresses") ||
          IsHandshakeFailure(status.error_message()));
}

grpc::Status PublicGatewayStatus(const grpc::Status& status) {
  if (!IsConnectionFailure(status)) {
    return status;
  }
  if (IsHandshakeFailure(status.error_message())) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "the console cannot reach the gateway: the TLS handshake failed (is the "
                        "gateway's certificate signed by the CA of --gateway-ca?); see the "
                        "console's log");
  }
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      "the console cannot reach the gateway; try again shortly");
}

const google::protobuf::MethodDescriptor* GatewayMethod(const std::string& name) {
  return google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(
      "grid.v1.GatewayService." + name);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeGatewayCredentials(
    const GatewayChannelOptions& options) {
  if (!options.tls && options.ca_file.empty()) {
    return grpc::InsecureChannelCredentials();
  }
  grpc::SslCredentialsOptions ssl;
  if (!options.ca_file.empty()) {
    std::ifstream file(options.ca_file, std::ios::binary);
    std::ostringstream pem;
    pem << file.rdbuf();
    if (!file || pem.str().find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--gateway-ca: ", options.ca_file, " cannot be read or holds no PEM certificate"));
    }
    ssl.pem_root_certs = pem.str();
  }
  return grpc::SslCredentials(ssl);
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeGatewayChannel(
    const GatewayChannelOptions& options, int index) {
  auto credentials = MakeGatewayCredentials(options);
  if (!credentials.ok()) {
    return credentials.status();
  }
  grpc::ChannelArguments args;
  if (!options.server_name.empty()) {
    args.SetSslTargetNameOverride(options.server_name);
  }
  // Channels with different arguments do not share a connection.
  args.SetInt("grid.console.channel", index);
  return grpc::CreateCustomChannel(options.address, *credentials, args);
}

}  // namespace grid::console
