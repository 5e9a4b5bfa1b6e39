#include "common/log/log.h"

#include <google/protobuf/stubs/logging.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <string>

namespace grid::log {
namespace {

// protobuf writes its complaints to stderr in a format of its own; they go through spdlog
// instead. A parse that meets a string that is not UTF-8 is a client's bad request, answered as
// such (INVALID_ARGUMENT naming the field): it is logged at debug level only, or any client could
// fill the log.
void ProtobufLog(google::protobuf::LogLevel level, const char* filename, int line,
                 const std::string& message) {
  if (message.find("contains invalid UTF-8 data when parsing") != std::string::npos) {
    spdlog::debug("protobuf: {}", message);
    return;
  }
  switch (level) {
    case google::protobuf::LOGLEVEL_INFO:
      spdlog::info("protobuf {}:{}: {}", filename, line, message);
      return;
    case google::protobuf::LOGLEVEL_WARNING:
      spdlog::warn("protobuf {}:{}: {}", filename, line, message);
      return;
    default:
      spdlog::error("protobuf {}:{}: {}", filename, line, message);
      return;
  }
}

}  // namespace

void Init(std::string_view service, std::string_view level) {
  auto logger = spdlog::stderr_color_mt(std::string(service));
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ [%n] %v", spdlog::pattern_time_type::utc);
  spdlog::set_level(spdlog::level::from_str(std::string(level)));
  spdlog::flush_on(spdlog::level::info);
  google::protobuf::SetLogHandler(&ProtobufLog);
}

}  // namespace grid::log
