#include "common/telemetry/process_metrics.h"

#include <prometheus/metric_family.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace grid::telemetry {
namespace {

prometheus::MetricFamily Single(std::string name, std::string help, prometheus::MetricType type,
                                double value) {
  prometheus::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  prometheus::ClientMetric metric;
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(std::move(metric));
  return family;
}

class ProcessCollector final : public prometheus::Collectable {
 public:
  ProcessCollector()
      : start_seconds_(
            std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
                .count()) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> families;
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
    std::ifstream stat("/proc/self/stat");
    std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    // Fields after the command name, which is in parentheses and may hold spaces.
    const auto close = content.rfind(')');
    if (close != std::string::npos) {
      std::istringstream in(content.substr(close + 2));
      std::string field;
      double utime = 0;
      double stime = 0;
      double vsize = 0;
      double rss = 0;
      // Field 3 (state) is index 0 here; utime is field 14, stime 15, vsize 23, rss 24.
      for (int i = 3; i <= 24 && in >> field; ++i) {
        if (i == 14) {
          utime = std::stod(field);
        } else if (i == 15) {
          stime = std::stod(field);
        } else if (i == 23) {
          vsize = std::stod(field);
        } else if (i == 24) {
          rss = std::stod(field);
        }
      }
      families.push_back(Single("process_cpu_seconds_total",
                                "Total user and system CPU time spent in seconds.",
                                prometheus::MetricType::Counter, (utime + stime) / ticks));
      families.push_back(Single("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                                prometheus::MetricType::Gauge, vsize));
      families.push_back(Single("process_resident_memory_bytes", "Resident memory size in bytes.",
                                prometheus::MetricType::Gauge, rss * page));
    }
    std::error_code error;
    double fds = 0;
    for (auto it = std::filesystem::directory_iterator("/proc/self/fd", error);
         !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
      ++fds;
    }
    families.push_back(Single("process_open_fds", "Number of open file descriptors.",
                              prometheus::MetricType::Gauge, fds));
    families.push_back(Single("process_start_time_seconds",
                              "Start time of the process since unix epoch in seconds.",
                              prometheus::MetricType::Gauge, start_seconds_));
    return families;
  }

 private:
  double start_seconds_;
};

}  // namespace

std::shared_ptr<prometheus::Collectable> MakeProcessCollector() {
  return std::make_shared<ProcessCollector>();
}

}  // namespace grid::telemetry
