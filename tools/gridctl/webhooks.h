// gridctl webhooks status|test|redeliver: the department systems' webhook receivers (ADMIN only,
// through the gateway to grid-webhooks).
#pragma once

#include <google/protobuf/duration.pb.h>

#include <ostream>
#include <string>

#include "grid/v1/gateway.grpc.pb.h"
#include "tools/gridctl/commands.h"

namespace grid::gridctl {

// An age, coarsely: "0s", "45s", "12m3s", "2h5m", "3d4h" (the two largest units).
std::string FormatAge(const google::protobuf::Duration& age);

// A table, a receiver a line: name, unit, state (enabled, disabled), queued, retrying, dead
// letters, the oldest undelivered change's age, delivered, failed, the last success, the last
// error, the URL; then a line saying whether the answering replica is the one delivering.
std::string FormatWebhookStatus(const v1::GetWebhookStatusResponse& response);

// Prints the table (or the response as JSON).
int WebhookStatus(v1::GatewayService::StubInterface& gateway,
                  const v1::GetWebhookStatusRequest& request, bool json, const CallOptions& options,
                  std::ostream& out, std::ostream& err);

// Pings a receiver: "<name>: HTTP <status> in <ms> ms (<url>)", or "<name>: failed after <ms>
// ms: <error> (<url>)"; exit code 1 unless it answered a 2xx.
int TestWebhook(v1::GatewayService::StubInterface& gateway, const v1::TestWebhookRequest& request,
                bool json, const CallOptions& options, std::ostream& out, std::ostream& err);

// "redelivered <n> dead letter(s) of <name>; <m> left".
int RedeliverWebhooks(v1::GatewayService::StubInterface& gateway,
                      const v1::RedeliverWebhooksRequest& request, bool json,
                      const CallOptions& options, std::ostream& out, std::ostream& err);

}  // namespace grid::gridctl
