#include "tests/support/sanitizer_reports.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string_view>

namespace grid::testing {
namespace {

// Enough of a report for its error, its stack and its summary.
constexpr std::size_t kMaxReportBytes = 8192;

// Where a report begins: ASan and LSan write "==<pid>==ERROR: ...Sanitizer", UBSan
// "<file>:<line>:<col>: runtime error: ...". Each ends with "SUMMARY: <Sanitizer>: ...".
std::size_t ReportStart(std::string_view log) {
  std::size_t start = std::string_view::npos;
  for (std::string_view marker : {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                                  ": runtime error: ", "SUMMARY: UndefinedBehaviorSanitizer"}) {
    std::size_t at = log.find(marker);
    if (at == std::string_view::npos) {
      continue;
    }
    at = log.rfind('\n', at);
    at = at == std::string_view::npos ? 0 : at + 1;
    start = std::min(start, at);
  }
  return start;
}

}  // namespace

std::string SanitizerReports(const std::filesystem::path& dir) {
  std::string reports;
  std::error_code error;
  for (const auto& file : std::filesystem::directory_iterator(dir, error)) {
    if (!file.is_regular_file() || file.path().extension() != ".log") {
      continue;
    }
    std::ifstream in(file.path(), std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    const std::string log = std::move(text).str();
    const std::size_t start = ReportStart(log);
    if (start == std::string::npos) {
      continue;
    }
    reports += "===== sanitizer report in " + file.path().filename().string() + " =====\n";
    reports += log.substr(start, kMaxReportBytes);
    if (reports.back() != '\n') {
      reports += '\n';
    }
  }
  return reports;
}

}  // namespace grid::testing
