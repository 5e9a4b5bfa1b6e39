// The gRPC face of the metrics service, and the gauges of open events it refreshes.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <set>
#include <string>

#include "common/store/backlog.h"
#include "grid/v1/metrics.grpc.pb.h"
#include "services/metrics/change_recorder.h"
#include "services/metrics/stats_reader.h"

namespace grid::metrics {

class MetricsServiceImpl final : public v1::MetricsService::CallbackService {
 public:
  explicit MetricsServiceImpl(StatsReader& reader) : reader_(reader) {}

  grpc::ServerUnaryReactor* GetStats(grpc::CallbackServerContext* context,
                                     const v1::GetStatsRequest* request,
                                     v1::GetStatsResponse* response) override;

 private:
  StatsReader& reader_;
};

// Sets grid_events_open and grid_events_overdue from the backlog index (common/store/backlog.h:
// one script call per subdistrict, whatever the size of the backlog), and grid_events_today from
// today's rollups, every `interval`. A subdistrict whose index is not built yet (events filed
// before it existed) is indexed first, and keeps its last figures meanwhile. Threading: runs on
// the io_context's thread; Stop before destroying.
class OpenEventsGauges final {
 public:
  OpenEventsGauges(boost::asio::io_context& io, StatsReader& reader, store::BacklogIndex& backlog,
                   store::BacklogIndex::YellowAtOf yellow_at, const Clock& clock,
                   std::vector<std::string> subdistricts, ResponseMetrics& metrics,
                   std::chrono::milliseconds interval);
  ~OpenEventsGauges();
  void Start();
  void Stop();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace grid::metrics
