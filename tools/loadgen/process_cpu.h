// CPU time used by processes, read from /proc: what each process of a benchmark's stack spent on
// the load.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace grid::loadgen {

// User plus system CPU seconds of a /proc/<pid>/stat line (all of the process's threads), with
// `ticks_per_second` clock ticks a second. INVALID_ARGUMENT when the line does not parse.
absl::StatusOr<double> CpuSecondsFromStat(std::string_view stat, long ticks_per_second);

// The same for a live process; NOT_FOUND when it has gone.
absl::StatusOr<double> ProcessCpuSeconds(pid_t pid);

// The CPU seconds of named processes at one moment; a process that could not be read is left out.
using CpuSnapshot = std::map<std::string, double>;
CpuSnapshot TakeCpuSnapshot(const std::map<std::string, pid_t>& processes);

// CPU seconds per name between two snapshots (names in both only).
CpuSnapshot CpuBetween(const CpuSnapshot& before, const CpuSnapshot& after);

}  // namespace grid::loadgen
