// The live stream's metrics (STYLE.md item 9), declared in one place.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

namespace grid::gateway {

// grid_watch_watchers, grid_watch_changes_read_total, grid_watch_messages_queued_total,
// grid_watch_cutoffs_total, grid_watch_entries_skipped_total. Thread-safe (prometheus-cpp's metrics
// are).
struct WatchMetrics {
  explicit WatchMetrics(prometheus::Registry& registry)
      : watchers(prometheus::BuildGauge()
                     .Name("grid_watch_watchers")
                     .Help("WatchEvents calls registered with this gateway's live-stream reader")
                     .Register(registry)
                     .Add({})),
        changes_read(prometheus::BuildCounter()
                         .Name("grid_watch_changes_read_total")
                         .Help("Changes the gateway read from the live streams (once for all "
                               "watchers)")
                         .Register(registry)
                         .Add({})),
        messages_queued(prometheus::BuildCounter()
                            .Name("grid_watch_messages_queued_total")
                            .Help("Live changes queued to watchers that matched them")
                            .Register(registry)
                            .Add({})),
        cutoffs(prometheus::BuildCounter()
                    .Name("grid_watch_cutoffs_total")
                    .Help("Watchers ended with RESOURCE_EXHAUSTED for falling behind")
                    .Register(registry)
                    .Add({})),
        entries_skipped(prometheus::BuildCounter()
                            .Name("grid_watch_entries_skipped_total")
                            .Help("Live-stream entries that are not changes, skipped (the "
                                  "metrics service dead-letters them)")
                            .Register(registry)
                            .Add({})) {}

  prometheus::Gauge& watchers;
  prometheus::Counter& changes_read;
  prometheus::Counter& messages_queued;
  prometheus::Counter& cutoffs;
  prometheus::Counter& entries_skipped;
};

}  // namespace grid::gateway
