#include "tests/support/sanitizer_reports.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

namespace grid::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

class SanitizerReportsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/grid-sanitizer-reports-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }

  std::filesystem::path dir_;
};

TEST_F(SanitizerReportsTest, CleanLogsGiveNothing) {
  Write("grid-intake.log", "[info] listening on 127.0.0.1:4000\n[info] runtime: stopped\n");
  Write("redis.log", "Ready to accept connections\n");
  EXPECT_THAT(SanitizerReports(dir_), IsEmpty());
}

TEST_F(SanitizerReportsTest, FindsAddressSanitizerReportWithItsFile) {
  Write("grid-intake.log", "[info] listening\n");
  Write("grid-routing.log",
        "[info] listening\n"
        "=================================================================\n"
        "==4242==ERROR: AddressSanitizer: heap-use-after-free on address 0x602000000010\n"
        "    #0 0x4f2b1c in grid::routing::Dispatcher::Handle dispatcher.cc:80\n"
        "SUMMARY: AddressSanitizer: heap-use-after-free dispatcher.cc:80\n");
  const std::string reports = SanitizerReports(dir_);
  EXPECT_THAT(reports, AllOf(HasSubstr("grid-routing.log"), HasSubstr("heap-use-after-free"),
                             HasSubstr("Dispatcher::Handle"), Not(HasSubstr("grid-intake.log")),
                             Not(HasSubstr("[info] listening"))));
}

TEST_F(SanitizerReportsTest, FindsUndefinedBehaviourAndLeaks) {
  Write("grid-gateway.log",
        "common/auth/token.cc:153:35: runtime error: signed integer overflow\n"
        "SUMMARY: UndefinedBehaviorSanitizer: undefined-behavior common/auth/token.cc:153:35\n");
  Write("grid-metrics.log",
        "==77==ERROR: LeakSanitizer: detected memory leaks\n"
        "SUMMARY: AddressSanitizer: 64 byte(s) leaked in 1 allocation(s).\n");
  const std::string reports = SanitizerReports(dir_);
  EXPECT_THAT(reports, AllOf(HasSubstr("grid-gateway.log"), HasSubstr("signed integer overflow"),
                             HasSubstr("grid-metrics.log"), HasSubstr("detected memory leaks")));
}

TEST_F(SanitizerReportsTest, OnlyLogFilesAreRead) {
  Write("appendonly.aof", "==1==ERROR: AddressSanitizer: not a log\n");
  EXPECT_THAT(SanitizerReports(dir_), IsEmpty());
}

}  // namespace
}  // namespace grid::testing
