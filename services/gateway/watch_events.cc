#include "services/gateway/watch_events.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grid/v1/gateway.pb.h"
#include "services/gateway/parsed_requests.h"
#include "services/gateway/watch_cursor.h"
#include "services/gateway/watch_filter.h"
#include "services/gateway/watcher.h"

namespace grid::gateway {
namespace {

grpc::Status ToGrpc(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

class Refusal final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  explicit Refusal(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

// One watch call. The Watcher decides what to write and when to end; this only carries it out.
// Never blocks: writes are started from the hub's fan-out or from OnWriteDone.
class WatchReactor final : public grpc::ServerWriteReactor<grpc::ByteBuffer>, public WatchWriter {
 public:
  WatchReactor(grpc::CallbackServerContext* context, WatchHub& hub, WatchFilter filter,
               Millis expires_at, WatchQuota::Lease lease)
      : context_(context),
        hub_(hub),
        watcher_(std::make_shared<Watcher>(std::move(filter), hub.options().queue_capacity,
                                           hub.subdistricts(), *this)),
        lease_(std::move(lease)) {
    watcher_->SetExpiry(expires_at);
  }

  // Attaches to the hub; on failure finishes the call.
  void Attach(const std::optional<StreamPositions>& from) {
    const absl::Status attached = hub_.Attach(watcher_, from);
    if (!attached.ok()) {
      // Not registered; ended through the watcher, so that a later OnCancel finishes nothing.
      watcher_->Fail(ToGrpc(attached));
      return;
    }
    attached_ = true;
  }

  // One message at a time, unhinted: a write with GRPC_WRITE_BUFFER_HINT to a stalled stream
  // need not complete until an unhinted one follows, and the next write waits for it.
  void Write(const grpc::ByteBuffer& bytes) override { StartWrite(&bytes); }

  void End(const grpc::Status& status, const std::string& cursor) override {
    if (!cursor.empty()) {
      context_->AddTrailingMetadata(kCursorMetadata, cursor);
    }
    Finish(status);
  }

  void OnWriteDone(bool ok) override { watcher_->OnWriteDone(ok); }
  void OnCancel() override { watcher_->OnCancel(); }

  void OnDone() override {
    if (attached_) {
      hub_.Detach(watcher_.get());
    }
    delete this;
  }

 private:
  grpc::CallbackServerContext* context_;
  WatchHub& hub_;
  WatcherPtr watcher_;
  bool attached_ = false;
  // Given back to the subject's quota when the reactor is deleted, in OnDone.
  WatchQuota::Lease lease_;
};

}  // namespace

grpc::ServerWriteReactor<grpc::ByteBuffer>* RefuseWatch(const grpc::Status& status) {
  return new Refusal(status);
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* StartWatch(grpc::CallbackServerContext* context,
                                                       const grpc::ByteBuffer& request_bytes,
                                                       WatchHub& hub,
                                                       const topology::Topology& topology,
                                                       WatchGrant grant) {
  v1::WatchEventsRequest request;
  if (grpc::Status parsed = ParseRequest(request_bytes, request); !parsed.ok()) {
    return RefuseWatch(parsed);
  }
  absl::StatusOr<auth::WatchScope> reach = grant.scope(request.unit_id());
  if (!reach.ok()) {
    return RefuseWatch(ToGrpc(reach.status()));
  }
  absl::StatusOr<WatchFilter> filter = WatchFilter::FromRequest(request, topology, *reach);
  if (!filter.ok()) {
    return RefuseWatch(ToGrpc(filter.status()));
  }
  std::optional<StreamPositions> from;
  if (!request.cursor().empty()) {
    absl::StatusOr<StreamPositions> decoded = DecodeCursor(request.cursor(), hub.subdistricts());
    if (!decoded.ok()) {
      return RefuseWatch(ToGrpc(decoded.status()));
    }
    from = *std::move(decoded);
  }
  auto* reactor =
      new WatchReactor(context, hub, *std::move(filter), grant.expires_at, std::move(grant.lease));
  reactor->Attach(from);
  return reactor;
}

}  // namespace grid::gateway
