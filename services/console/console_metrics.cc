#include "services/console/console_metrics.h"

namespace grid::console {
namespace {

const prometheus::Histogram::BucketBoundaries kSecondsBuckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

}  // namespace

ConsoleMetrics::ConsoleMetrics(prometheus::Registry& registry)
    : requests(prometheus::BuildCounter()
                   .Name("grid_console_http_requests_total")
                   .Help("HTTP requests answered, by route and status")
                   .Register(registry)),
      request_seconds(prometheus::BuildHistogram()
                          .Name("grid_console_http_request_seconds")
                          .Help("Time from a request read to its answer, by route")
                          .Register(registry)),
      connections(prometheus::BuildGauge()
                      .Name("grid_console_connections")
                      .Help("Open HTTP connections")
                      .Register(registry)
                      .Add({})),
      connections_refused(prometheus::BuildCounter()
                              .Name("grid_console_connections_refused_total")
                              .Help("Connections refused for passing --max-connections")
                              .Register(registry)
                              .Add({})),
      sse_streams(prometheus::BuildGauge()
                      .Name("grid_console_sse_streams")
                      .Help("Live feeds (Server-Sent Events) being served")
                      .Register(registry)
                      .Add({})),
      sse_messages(prometheus::BuildCounter()
                       .Name("grid_console_sse_messages_total")
                       .Help("Changes and heartbeats sent on live feeds")
                       .Register(registry)
                       .Add({})),
      sse_cutoffs(prometheus::BuildCounter()
                      .Name("grid_console_sse_cutoffs_total")
                      .Help("Live feeds cut off for a slow browser, and gateway calls the "
                            "console resumed, by reason")
                      .Register(registry)) {}

void ConsoleMetrics::CountRequest(const std::string& route, int status) {
  requests.Add({{"route", route}, {"code", std::to_string(status)}}).Increment();
}

void ConsoleMetrics::ObserveLatency(const std::string& route, double seconds) {
  request_seconds.Add({{"route", route}}, kSecondsBuckets).Observe(seconds);
}

}  // namespace grid::console
