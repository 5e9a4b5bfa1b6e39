#include "tools/gridctl/watch.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <ctime>
#include <iomanip>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/config/json_file.h"
#include "tools/gridctl/enums.h"

namespace grid::gridctl {
namespace {

// The trailing metadata key of the cursor an ended watch resumes from.
constexpr char kCursorMetadata[] = "grid-cursor";

std::string Time(const google::protobuf::Timestamp& ts) {
  const std::time_t seconds = ts.seconds();
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%S", &utc);
  return absl::StrCat(buffer, ".", absl::Dec(ts.nanos() / 1000000, absl::kZeroPad3), "Z");
}

std::string Light(v1::TrafficLight light, bool color) {
  if (light == v1::TRAFFIC_LIGHT_UNSPECIFIED) {
    return "-";
  }
  const std::string name = ShortName(*v1::TrafficLight_descriptor(), light);
  if (!color) {
    return name;
  }
  const char* code = light == v1::TRAFFIC_LIGHT_GREEN    ? "\033[32m"
                     : light == v1::TRAFFIC_LIGHT_YELLOW ? "\033[33m"
                                                         : "\033[31m";
  return absl::StrCat(code, name, "\033[0m");
}

}  // namespace

std::string FormatChange(const v1::EventChange& c, bool color) {
  std::ostringstream line;
  const std::string unit = c.to_unit_id().empty() ? c.grid_id() : c.to_unit_id();
  line << Time(c.at()) << "  " << std::left << std::setw(12)
       << ShortName(*v1::Level_descriptor(), c.to_level()) << std::setw(16)
       << (unit.empty() ? "-" : unit) << std::setw(6) << c.category() << std::setw(11)
       << ShortName(*v1::EventState_descriptor(), c.to_state()) << std::setw(7)
       << Light(c.traffic_light(), color) << " " << std::setw(12)
       << ShortName(*v1::ChangeKind_descriptor(), c.kind()) << c.event_id();
  return line.str();
}

int Watch(v1::GatewayService::StubInterface& gateway, const WatchOptions& options,
          const CallOptions& call, std::ostream& out, std::ostream& err) {
  using Clock = std::chrono::system_clock;
  const bool bounded = options.duration > std::chrono::milliseconds::zero();
  const Clock::time_point end = Clock::now() + options.duration;
  v1::WatchEventsRequest request = options.request;
  int changes = 0;
  std::chrono::milliseconds backoff = options.backoff;
  while (true) {
    grpc::ClientContext context;
    if (bounded) {
      context.set_deadline(end);
    }
    if (!call.token.empty()) {
      context.AddMetadata("authorization", "Bearer " + call.token);
    }
    std::unique_ptr<grpc::ClientReaderInterface<v1::WatchEventsResponse>> reader =
        gateway.WatchEvents(&context, request);
    v1::WatchEventsResponse response;
    while (reader->Read(&response)) {
      backoff = options.backoff;
      if (!response.cursor().empty()) {
        request.set_cursor(response.cursor());
      }
      if (!response.has_change()) {
        continue;
      }
      out << (options.json ? config::ToJson(response.change(), false)
                           : FormatChange(response.change(), options.color))
          << std::endl;
      if (options.max_changes > 0 && ++changes >= options.max_changes) {
        context.TryCancel();
        (void)reader->Finish();
        return 0;
      }
    }
    const grpc::Status status = reader->Finish();
    if (bounded && Clock::now() >= end) {
      return 0;
    }
    const auto& trailers = context.GetServerTrailingMetadata();
    if (auto it = trailers.find(kCursorMetadata); it != trailers.end()) {
      request.set_cursor(std::string(it->second.data(), it->second.size()));
    }
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE &&
        status.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED) {
      PrintStatus(status.ok()
                      ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "the gateway ended the watch")
                      : status,
                  err);
      return 1;
    }
    err << "watch: " << status.error_message() << "; reconnecting in " << backoff.count() << " ms"
        << (request.cursor().empty() ? "" : " from the last cursor") << std::endl;
    std::this_thread::sleep_for(bounded ? std::min<Clock::duration>(backoff, end - Clock::now())
                                        : Clock::duration(backoff));
    backoff = std::min(backoff * 2, options.max_backoff);
  }
}

}  // namespace grid::gridctl
