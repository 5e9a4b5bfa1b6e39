// Sanitizer reports in the logs of child processes. A sanitized service (build-san/) that meets a
// memory error, undefined behaviour or a leak prints a report to its log and stops or exits
// non-zero; the test that started it may not notice (a killed backend looks like an outage), so
// the stack reads its services' logs when it is torn down and fails the test with the report.
#pragma once

#include <filesystem>
#include <string>

namespace grid::testing {

// The sanitizer reports (AddressSanitizer, LeakSanitizer, UndefinedBehaviorSanitizer) in the
// files "*.log" directly in `dir`, each headed by its file's name and cut to a few kilobytes;
// empty when there are none.
std::string SanitizerReports(const std::filesystem::path& dir);

}  // namespace grid::testing
