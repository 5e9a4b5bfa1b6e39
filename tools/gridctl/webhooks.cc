#include "tools/gridctl/webhooks.h"

#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/config/json_file.h"

namespace grid::gridctl {
namespace {

using google::protobuf::util::TimeUtil;

void Authorize(grpc::ClientContext& context, const CallOptions& options) {
  context.set_deadline(std::chrono::system_clock::now() + options.timeout);
  if (!options.token.empty()) {
    context.AddMetadata("authorization", "Bearer " + options.token);
  }
}

// To the second, UTC: "2026-12-02T10:15:04Z"; "-" when unset.
std::string TimeOrDash(bool has, const google::protobuf::Timestamp& at) {
  return has ? TimeUtil::ToString(at).substr(0, 19) + "Z" : "-";
}

int64_t Millis(const google::protobuf::Duration& duration) {
  return TimeUtil::DurationToMilliseconds(duration);
}

}  // namespace

std::string FormatAge(const google::protobuf::Duration& age) {
  const int64_t seconds = std::abs(age.seconds());
  const int64_t days = seconds / 86400;
  const int64_t hours = seconds % 86400 / 3600;
  const int64_t minutes = seconds % 3600 / 60;
  const int64_t secs = seconds % 60;
  const auto unit = [](int64_t n, const char* suffix) {
    return n == 0 ? std::string() : absl::StrCat(n, suffix);
  };
  if (days > 0) {
    return absl::StrCat(days, "d", unit(hours, "h"));
  }
  if (hours > 0) {
    return absl::StrCat(hours, "h", unit(minutes, "m"));
  }
  if (minutes > 0) {
    return absl::StrCat(minutes, "m", unit(secs, "s"));
  }
  return absl::StrCat(secs, "s");
}

std::string FormatWebhookStatus(const v1::GetWebhookStatusResponse& response) {
  std::vector<std::vector<std::string>> table = {{"receiver", "unit", "state", "queued", "retrying",
                                                  "dead", "oldest", "delivered", "failed",
                                                  "last_success", "last_error", "url"}};
  // Columns of counts are aligned to the right.
  const std::vector<bool> numeric = {false, false, false, true,  true,  true,
                                     true,  true,  true,  false, false, false};
  for (const v1::WebhookStatus& r : response.receivers()) {
    std::string error = r.last_error().empty() ? "-" : r.last_error();
    if (r.has_last_error_at()) {
      error = absl::StrCat(TimeOrDash(true, r.last_error_at()), " ", error);
    }
    table.push_back({r.name(), r.unit_id(), r.disabled() ? "disabled" : "enabled",
                     std::to_string(r.queued()), std::to_string(r.retrying()),
                     std::to_string(r.dead_letters()),
                     r.has_oldest_undelivered_age() ? FormatAge(r.oldest_undelivered_age()) : "-",
                     std::to_string(r.delivered()), std::to_string(r.failed()),
                     TimeOrDash(r.has_last_success_at(), r.last_success_at()), error, r.url()});
  }
  std::vector<size_t> widths(table[0].size(), 0);
  for (const auto& line : table) {
    for (size_t i = 0; i < line.size(); ++i) {
      widths[i] = std::max(widths[i], line[i].size());
    }
  }
  std::ostringstream out;
  for (const auto& line : table) {
    for (size_t i = 0; i < line.size(); ++i) {
      const bool last = i + 1 == line.size();
      const std::string pad(last ? 0 : widths[i] - line[i].size(), ' ');
      out << (numeric[i] ? pad + line[i] : line[i] + pad) << (last ? "\n" : "  ");
    }
  }
  out << (response.active()
              ? "answered by the replica that holds the lease (its delivery figures since it "
                "started)\n"
              : "answered by a standby replica: queues and dead letters are current, its "
                "delivery figures empty\n");
  return out.str();
}

int WebhookStatus(v1::GatewayService::StubInterface& gateway,
                  const v1::GetWebhookStatusRequest& request, bool json, const CallOptions& options,
                  std::ostream& out, std::ostream& err) {
  grpc::ClientContext context;
  Authorize(context, options);
  v1::GetWebhookStatusResponse response;
  const grpc::Status status = gateway.GetWebhookStatus(&context, request, &response);
  if (!status.ok()) {
    PrintStatus(status, err);
    return 1;
  }
  if (json) {
    out << config::ToJson(response, true) << "\n";
    return 0;
  }
  out << FormatWebhookStatus(response);
  return 0;
}

int TestWebhook(v1::GatewayService::StubInterface& gateway, const v1::TestWebhookRequest& request,
                bool json, const CallOptions& options, std::ostream& out, std::ostream& err) {
  grpc::ClientContext context;
  Authorize(context, options);
  v1::TestWebhookResponse response;
  const grpc::Status status = gateway.TestWebhook(&context, request, &response);
  if (!status.ok()) {
    PrintStatus(status, err);
    return 1;
  }
  const bool ok = response.http_status() >= 200 && response.http_status() < 300;
  if (json) {
    out << config::ToJson(response, true) << "\n";
    return ok ? 0 : 1;
  }
  const int64_t ms = Millis(response.latency());
  if (ok) {
    out << request.receiver() << ": HTTP " << response.http_status() << " in " << ms << " ms ("
        << response.url() << ")\n";
  } else {
    out << request.receiver() << ": failed after " << ms << " ms: " << response.error() << " ("
        << response.url() << ")\n";
  }
  return ok ? 0 : 1;
}

int RedeliverWebhooks(v1::GatewayService::StubInterface& gateway,
                      const v1::RedeliverWebhooksRequest& request, bool json,
                      const CallOptions& options, std::ostream& out, std::ostream& err) {
  grpc::ClientContext context;
  Authorize(context, options);
  v1::RedeliverWebhooksResponse response;
  const grpc::Status status = gateway.RedeliverWebhooks(&context, request, &response);
  if (!status.ok()) {
    PrintStatus(status, err);
    return 1;
  }
  if (json) {
    out << config::ToJson(response, true) << "\n";
    return 0;
  }
  out << "redelivered " << response.redelivered() << " dead letter(s) of " << request.receiver()
      << "; " << response.remaining() << " left\n";
  return 0;
}

}  // namespace grid::gridctl
