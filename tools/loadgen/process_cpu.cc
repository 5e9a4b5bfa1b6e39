#include "tools/loadgen/process_cpu.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace grid::loadgen {

absl::StatusOr<double> CpuSecondsFromStat(std::string_view stat, long ticks_per_second) {
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so the fields are counted
  // from the last ')'. utime and stime are fields 14 and 15 of the line, 12 and 13 after comm.
  const auto close = stat.rfind(')');
  if (close == std::string_view::npos || ticks_per_second <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a /proc/<pid>/stat line: ", std::string(stat)));
  }
  const std::vector<absl::string_view> fields = absl::StrSplit(
      absl::string_view(stat.data() + close + 1, stat.size() - close - 1), ' ', absl::SkipEmpty());
  constexpr std::size_t kUtime = 11;  // 0-based after comm: state is 0.
  long long utime = 0;
  long long stime = 0;
  if (fields.size() <= kUtime + 1 || !absl::SimpleAtoi(fields[kUtime], &utime) ||
      !absl::SimpleAtoi(fields[kUtime + 1], &stime)) {
    return absl::InvalidArgumentError(absl::StrCat("no utime and stime in: ", std::string(stat)));
  }
  return static_cast<double>(utime + stime) / static_cast<double>(ticks_per_second);
}

absl::StatusOr<double> ProcessCpuSeconds(pid_t pid) {
  std::ifstream file(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!file || !std::getline(file, line)) {
    return absl::NotFoundError(absl::StrCat("no process ", pid));
  }
  return CpuSecondsFromStat(line, sysconf(_SC_CLK_TCK));
}

CpuSnapshot TakeCpuSnapshot(const std::map<std::string, pid_t>& processes) {
  CpuSnapshot snapshot;
  for (const auto& [name, pid] : processes) {
    if (auto seconds = ProcessCpuSeconds(pid); seconds.ok()) {
      snapshot[name] = *seconds;
    }
  }
  return snapshot;
}

CpuSnapshot CpuBetween(const CpuSnapshot& before, const CpuSnapshot& after) {
  CpuSnapshot used;
  for (const auto& [name, seconds] : after) {
    if (auto it = before.find(name); it != before.end()) {
      used[name] = seconds - it->second;
    }
  }
  return used;
}

}  // namespace grid::loadgen
