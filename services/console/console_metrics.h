// The console's metrics (STYLE.md item 9), declared in one place. Labels are bounded: the route
// is a pattern of the Router's table ("GET /api/v1/events/{event_id}"), never a path.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <string>

namespace grid::console {

// Thread-safe (prometheus-cpp's metrics are).
struct ConsoleMetrics {
  explicit ConsoleMetrics(prometheus::Registry& registry);

  // grid_console_http_requests_total{route, code}: answered requests, by route and HTTP status.
  void CountRequest(const std::string& route, int status);
  // grid_console_http_request_seconds{route}: from the request read to the answer handed over.
  void ObserveLatency(const std::string& route, double seconds);

  prometheus::Family<prometheus::Counter>& requests;
  prometheus::Family<prometheus::Histogram>& request_seconds;
  // grid_console_connections: open HTTP connections.
  prometheus::Gauge& connections;
  // grid_console_connections_refused_total: connections over --max-connections.
  prometheus::Counter& connections_refused;
  // grid_console_sse_streams: live feeds being served.
  prometheus::Gauge& sse_streams;
  // grid_console_sse_messages_total: changes and heartbeats sent on live feeds.
  prometheus::Counter& sse_messages;
  // grid_console_sse_cutoffs_total{reason}: feeds closed for a slow browser ("buffer", "write
  // timeout"), and gateway calls resumed by the console ("gateway cut-off", "gateway unavailable").
  prometheus::Family<prometheus::Counter>& sse_cutoffs;
};

}  // namespace grid::console
