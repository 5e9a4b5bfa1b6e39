#include "services/metrics/metrics_service.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <map>

#include "common/server/host.h"

namespace grid::metrics {

grpc::ServerUnaryReactor* MetricsServiceImpl::GetStats(grpc::CallbackServerContext* context,
                                                       const v1::GetStatsRequest* request,
                                                       v1::GetStatsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reader_.GetStats(*request, [reactor, response](absl::StatusOr<v1::GetStatsResponse> result) {
    if (!result.ok()) {
      reactor->Finish(server::ToGrpc(result.status()));
      return;
    }
    *response = *std::move(result);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

struct OpenEventsGauges::State : std::enable_shared_from_this<State> {
  State(boost::asio::io_context& io, StatsReader& reader, std::vector<std::string> subdistricts,
        ResponseMetrics& metrics, std::chrono::milliseconds interval)
      : reader(reader),
        subdistricts(std::move(subdistricts)),
        metrics(metrics),
        interval(interval),
        timer(io) {}

  StatsReader& reader;
  std::vector<std::string> subdistricts;
  ResponseMetrics& metrics;
  std::chrono::milliseconds interval;
  boost::asio::steady_timer timer;
  bool stopped = false;
  // Every series set once, so that one whose events are gone drops back to 0.
  std::set<std::map<std::string, std::string>> open_seen;
  std::set<std::map<std::string, std::string>> overdue_seen;

  void Refresh() {
    if (stopped) {
      return;
    }
    reader.OpenEvents(subdistricts,
                      [self = shared_from_this()](absl::StatusOr<std::vector<OpenEvent>> events) {
                        if (!events.ok()) {
                          spdlog::warn("open events: {}", events.status().ToString());
                        } else {
                          self->Set(*events);
                        }
                        self->RefreshToday();
                      });
  }

  void RefreshToday() {
    reader.TodayTotals(subdistricts,
                       [self = shared_from_this()](absl::StatusOr<std::vector<DayTotals>> totals) {
                         if (!totals.ok()) {
                           spdlog::warn("today's counts: {}", totals.status().ToString());
                         } else {
                           self->SetToday(*totals);
                         }
                         self->Schedule();
                       });
  }

  // A subdistrict still being re-derived keeps its last figures (none before the first).
  void SetToday(const std::vector<DayTotals>& totals) {
    for (const DayTotals& one : totals) {
      for (const auto& [figure, value] : RollupFigures(one.counts)) {
        metrics.today.Add({{"subdistrict", one.subdistrict}, {"figure", std::string(figure)}})
            .Set(static_cast<double>(value));
      }
      metrics.today_start.Add({}).Set(static_cast<double>(reader.days().StartOf(one.day) / 1000));
    }
  }

  void Set(const std::vector<OpenEvent>& events) {
    std::map<std::map<std::string, std::string>, double> open;
    std::map<std::map<std::string, std::string>, double> overdue;
    for (const auto& labels : open_seen) {
      open[labels] = 0;
    }
    for (const auto& labels : overdue_seen) {
      overdue[labels] = 0;
    }
    for (const OpenEvent& event : events) {
      open[{{"subdistrict", event.subdistrict},
            {"level", LevelLabel(event.level)},
            {"state", StateLabel(event.state)},
            {"traffic_light", LightLabel(event.light)}}] += 1;
      auto& late =
          overdue[{{"subdistrict", event.subdistrict}, {"level", LevelLabel(event.level)}}];
      late += event.overdue ? 1 : 0;
    }
    for (const auto& [labels, value] : open) {
      metrics.open.Add(labels).Set(value);
      open_seen.insert(labels);
    }
    for (const auto& [labels, value] : overdue) {
      metrics.overdue.Add(labels).Set(value);
      overdue_seen.insert(labels);
    }
  }

  void Schedule() {
    if (stopped) {
      return;
    }
    timer.expires_after(interval);
    timer.async_wait([self = shared_from_this()](boost::system::error_code error) {
      if (!error) {
        self->Refresh();
      }
    });
  }
};

OpenEventsGauges::OpenEventsGauges(boost::asio::io_context& io, StatsReader& reader,
                                   std::vector<std::string> subdistricts, ResponseMetrics& metrics,
                                   std::chrono::milliseconds interval)
    : state_(std::make_shared<State>(io, reader, std::move(subdistricts), metrics, interval)) {}

OpenEventsGauges::~OpenEventsGauges() { Stop(); }

void OpenEventsGauges::Start() {
  boost::asio::post(state_->timer.get_executor(), [state = state_] { state->Refresh(); });
}

void OpenEventsGauges::Stop() {
  boost::asio::post(state_->timer.get_executor(), [state = state_] {
    state->stopped = true;
    state->timer.cancel();
  });
}

}  // namespace grid::metrics
