// Process-wide logging set-up. Components log through spdlog's default logger.
#pragma once

#include <string_view>

namespace grid::log {

// Sets the default logger's pattern (UTC time, level, service) and level ("debug", "info",
// "warn", "error"), and routes protobuf's own log messages to it. Call once at the top of main.
void Init(std::string_view service, std::string_view level);

}  // namespace grid::log
