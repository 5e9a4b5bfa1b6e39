// Intake's validation of a report. The input is a serialized ReportEventRequest, what intake
// receives over gRPC: the report and the actor the gateway puts in. A report is either valid, and
// then what intake derives from it next (the reporter, the reporter's time in milliseconds) is
// computed without undefined behaviour, or refused with INVALID_ARGUMENT naming the field.
#include <google/protobuf/stubs/logging.h>

#include <cstdint>
#include <cstdlib>

#include "absl/strings/match.h"
#include "common/clock/clock.h"
#include "grid/v1/intake.pb.h"
#include "services/intake/report_validator.h"
#include "tests/support/shipped_config.h"

// Protobuf logs every string field it refuses for invalid UTF-8; at thousands of inputs a second
// that logging would be most of the fuzzer's work (its fatal messages still abort).
extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  grid::v1::ReportEventRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) {
    return -1;  // Not a message: gRPC refuses it before intake sees it.
  }
  const grid::v1::Report& report = request.report();
  // A fixed receipt time (the unit tests' 2026-11-30T08:00Z), so that an input is refused or
  // accepted the same way in every run; the seeds' reported_at lies within its offline window.
  constexpr grid::Millis kNow = 1'796'025'600'000;
  const absl::Status status =
      grid::intake::ValidateReport(report, request.actor(), grid::testing::ShippedTopology(),
                                   grid::testing::ShippedPolicy(), kNow);
  if (status.ok()) {
    (void)grid::intake::ReporterOf(report, request.actor());
    if (report.has_reported_at()) {
      (void)grid::FromTimestamp(report.reported_at());
    }
    return 0;
  }
  if (status.code() != absl::StatusCode::kInvalidArgument ||
      !absl::StartsWith(status.message(), "report.")) {
    std::abort();  // A refusal must be INVALID_ARGUMENT naming the field.
  }
  return 0;
}
