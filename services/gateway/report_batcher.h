// Forwards reports to intake: one ReportEvent call per report while intake keeps up, and under
// load, the reports that would wait for a call together in one FileReports call.
//
// The rule: at most `calls_before_batching` calls to intake are in flight. A report that finds
// a call free goes at once, alone, as ReportEvent (so at normal load nothing changes and
// nothing waits). A report that finds them all busy waits, and as soon as one of them ends, every
// report waiting by then (up to `max_batch`) goes in one FileReports call on the freed slot. The
// wait is bounded by one call to intake: there is no timer and no linger. Under a backlog the
// gRPC cost of a call (HTTP/2 framing, the completion on each side, the context) is shared by
// the batch, and intake's Redis work of the batch's reports comes together too (BatchedScript).
//
// Each report still gets exactly ReportEvent's answer: intake files the items independently and
// answers per item with the status ReportEvent would have given. When the batch call itself
// fails (intake down, the deadline), each report gets that failure, as its own call would have.
// A batch's deadline is the latest of its reports' (each the earlier of its caller's and the
// gateway's default), so that no report is cut short by another's; a caller whose deadline
// passes first has its own call end with DEADLINE_EXCEEDED at the gateway as before. A caller
// that cancels while its report is in a batch does not cancel the batch: the report may be filed
// (as when a cancellation reaches intake after the filing), and a retry with the same client
// request id answers it as replayed.
//
// An intake that does not know FileReports (UNIMPLEMENTED, an older version during a rolling
// upgrade) gets every report of the batch again as ReportEvent, and no more batches.
//
// Thread-safe; `done` runs on a gRPC callback thread.
#pragma once

#include <grpcpp/grpcpp.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "grid/v1/intake.grpc.pb.h"

namespace grid::gateway {

class ReportBatcher final {
 public:
  struct Options {
    // Calls to intake in flight before reports wait to go together; 0: every report alone.
    int calls_before_batching = 2;
    // The most reports in one FileReports call.
    int max_batch = 64;
    // The deadline of a call whose caller set none (or a later one).
    std::chrono::milliseconds default_deadline{10000};
    // Where grid_gateway_reports_forwarded_total{how="alone"|"batched"} and
    // grid_gateway_report_batches_total are exposed; none when null.
    prometheus::Registry* registry = nullptr;
  };

  using Done = std::function<void(grpc::Status)>;

  // `intake` must outlive the batcher and every call it makes.
  ReportBatcher(v1::IntakeService::StubInterface& intake, Options options);

  // Files `request` (its actor set) for the caller of `caller`, whose deadline and, for a report
  // sent alone, cancellation apply. Fills `response` when the status is OK. `response` must stay
  // valid until `done`.
  void File(grpc::CallbackServerContext& caller, std::shared_ptr<v1::ReportEventRequest> request,
            v1::ReportEventResponse* response, Done done);

  // Reports sent alone and in batches so far, and batches (for tests and the metrics).
  struct Counts {
    long long alone = 0;
    long long batched = 0;
    long long batches = 0;
  };
  Counts counts() const;

 private:
  struct Waiting {
    std::shared_ptr<v1::ReportEventRequest> request;
    v1::ReportEventResponse* response;
    Done done;
    std::chrono::system_clock::time_point deadline;
  };
  struct Batch;

  void SendAlone(std::unique_ptr<grpc::ClientContext> context,
                 std::shared_ptr<v1::ReportEventRequest> request, v1::ReportEventResponse* response,
                 Done done, bool holds_slot);
  void SendBatch(std::vector<Waiting> members);
  void Answer(Batch& batch, const grpc::Status& status);
  // A call that held a slot ended: the reports waiting by now go together on it, or it is freed.
  void SlotFreed();

  v1::IntakeService::StubInterface& intake_;
  const Options options_;
  mutable std::mutex mu_;
  int in_flight_ = 0;
  std::deque<Waiting> waiting_;
  Counts counts_;
  std::atomic<bool> batches_unsupported_{false};
  prometheus::Counter* forwarded_alone_ = nullptr;
  prometheus::Counter* forwarded_batched_ = nullptr;
  prometheus::Counter* batches_ = nullptr;
};

}  // namespace grid::gateway
