#include "services/metrics/metrics_service.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <map>
#include <optional>

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
  State(boost::asio::io_context& io, StatsReader& reader, store::BacklogIndex& backlog,
        store::BacklogIndex::YellowAtOf yellow_at, const Clock& clock,
        std::vector<std::string> subdistricts, ResponseMetrics& metrics,
        std::chrono::milliseconds interval)
      : reader(reader),
        backlog(backlog),
        yellow_at(std::move(yellow_at)),
        clock(clock),
        subdistricts(std::move(subdistricts)),
        metrics(metrics),
        interval(interval),
        timer(io) {}

  using Labels = std::map<std::string, std::string>;

  StatsReader& reader;
  store::BacklogIndex& backlog;
  store::BacklogIndex::YellowAtOf yellow_at;
  const Clock& clock;
  std::vector<std::string> subdistricts;
  ResponseMetrics& metrics;
  std::chrono::milliseconds interval;
  boost::asio::steady_timer timer;
  bool stopped = false;
  // A Build of some subdistrict's index is running (one at a time).
  bool building = false;
  // Every series set once, so that one whose events are gone drops back to 0.
  std::set<Labels> open_seen;
  std::set<Labels> overdue_seen;

  void Refresh() {
    if (stopped) {
      return;
    }
    struct Read {
      size_t remaining = 0;
      std::vector<std::optional<store::BacklogFigures>> figures;
    };
    auto read = std::make_shared<Read>();
    read->remaining = subdistricts.size();
    read->figures.resize(subdistricts.size());
    if (subdistricts.empty()) {
      RefreshToday();
      return;
    }
    const Millis now = clock.Now();
    for (size_t i = 0; i < subdistricts.size(); ++i) {
      backlog.Figures(
          subdistricts[i], now,
          [self = shared_from_this(), read, i](absl::StatusOr<store::BacklogFigures> figures) {
            // On the Redis client's executor: back to the gauges' own.
            boost::asio::post(self->timer.get_executor(),
                              [self, read, i, figures = std::move(figures)]() mutable {
                                if (!figures.ok()) {
                                  spdlog::warn("backlog of {}: {}", self->subdistricts[i],
                                               figures.status().ToString());
                                } else {
                                  read->figures[i] = *std::move(figures);
                                }
                                if (--read->remaining == 0) {
                                  self->Set(read->figures);
                                  self->RefreshToday();
                                }
                              });
          });
    }
  }

  // Indexes the first subdistrict whose index is not built, if none is being built; the next
  // refresh after it finishes starts the next.
  void BuildNext(const std::vector<std::optional<store::BacklogFigures>>& figures) {
    if (building || stopped) {
      return;
    }
    for (size_t i = 0; i < figures.size(); ++i) {
      if (figures[i] && !figures[i]->built) {
        building = true;
        const std::string subdistrict = subdistricts[i];
        spdlog::info("backlog index of {}: indexing the events filed before it existed",
                     subdistrict);
        backlog.Build(subdistrict, yellow_at, 500,
                      [self = shared_from_this(), subdistrict](absl::Status status) {
                        boost::asio::post(self->timer.get_executor(), [self, subdistrict, status] {
                          self->building = false;
                          if (status.ok()) {
                            spdlog::info("backlog index of {}: built", subdistrict);
                            // Its figures, and the next subdistrict's build, without waiting
                            // for the timer (the pending wait is replaced).
                            self->Refresh();
                          } else {
                            spdlog::warn("backlog index of {}: {}; retrying", subdistrict,
                                         status.ToString());
                          }
                        });
                      });
        return;
      }
    }
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

  // Sets the series of every subdistrict whose figures were read from a built index; the others
  // (unreadable now, or still being indexed) keep theirs.
  void Set(const std::vector<std::optional<store::BacklogFigures>>& figures) {
    BuildNext(figures);
    std::set<std::string> fresh;
    for (size_t i = 0; i < figures.size(); ++i) {
      if (figures[i] && figures[i]->built) {
        fresh.insert(subdistricts[i]);
      }
    }
    std::map<Labels, double> open;
    std::map<Labels, double> overdue;
    for (const auto& labels : open_seen) {
      if (fresh.count(labels.at("subdistrict")) > 0) {
        open[labels] = 0;
      }
    }
    for (const auto& labels : overdue_seen) {
      if (fresh.count(labels.at("subdistrict")) > 0) {
        overdue[labels] = 0;
      }
    }
    for (size_t i = 0; i < figures.size(); ++i) {
      if (fresh.count(subdistricts[i]) == 0) {
        continue;
      }
      for (const store::BacklogRow& row : figures[i]->rows) {
        const std::string level = LevelLabel(row.level);
        const std::string state = StateLabel(row.state);
        const std::pair<int, int64_t> lights[] = {
            {v1::TRAFFIC_LIGHT_GREEN, row.green},
            {v1::TRAFFIC_LIGHT_YELLOW, row.yellow},
            {v1::TRAFFIC_LIGHT_RED, row.red},
            {v1::TRAFFIC_LIGHT_UNSPECIFIED, row.open - row.green - row.yellow - row.red}};
        for (const auto& [light, count] : lights) {
          if (count > 0) {
            open[{{"subdistrict", subdistricts[i]},
                  {"level", level},
                  {"state", state},
                  {"traffic_light", LightLabel(light)}}] += static_cast<double>(count);
          }
        }
        if (row.open > 0) {
          overdue[{{"subdistrict", subdistricts[i]}, {"level", level}}] +=
              static_cast<double>(row.overdue);
        }
      }
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
                                   store::BacklogIndex& backlog,
                                   store::BacklogIndex::YellowAtOf yellow_at, const Clock& clock,
                                   std::vector<std::string> subdistricts, ResponseMetrics& metrics,
                                   std::chrono::milliseconds interval)
    : state_(std::make_shared<State>(io, reader, backlog, std::move(yellow_at), clock,
                                     std::move(subdistricts), metrics, interval)) {}

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
