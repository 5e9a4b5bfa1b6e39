#include "services/console/static_files.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace grid::console {
namespace {

namespace fs = std::filesystem;

class StaticFilesTest : public ::testing::Test {
 protected:
  StaticFilesTest()
      : root_(fs::temp_directory_path() / ("static-test-" + std::to_string(::getpid()))),
        files_(root_ / "dist") {
    fs::create_directories(root_ / "dist" / "assets");
    std::ofstream(root_ / "dist" / "index.html") << "<!doctype html><script src=/assets/a.js>";
    std::ofstream(root_ / "dist" / "assets" / "index-3f2a.js") << "console.log(1)";
    std::ofstream(root_ / "dist" / "assets" / "index-3f2a.css") << "body{}";
    std::ofstream(root_ / "dist" / "favicon.svg") << "<svg/>";
    std::ofstream(root_ / "secret.txt") << "outside";
    fs::create_symlink(root_ / "secret.txt", root_ / "dist" / "link.txt");
  }
  ~StaticFilesTest() override { fs::remove_all(root_); }

  Response Get(const std::string& path) { return files_.Serve(path, 11, true, false); }

  fs::path root_;
  StaticFiles files_;
};

TEST_F(StaticFilesTest, FilesComeWithTheirTypeAndCaching) {
  const Response script = Get("/assets/index-3f2a.js");
  EXPECT_EQ(script.result_int(), 200);
  EXPECT_EQ(script.body(), "console.log(1)");
  EXPECT_EQ(script[http::field::content_type], "text/javascript; charset=utf-8");
  EXPECT_EQ(script[http::field::cache_control], "public, max-age=31536000, immutable");
  EXPECT_EQ(Get("/assets/index-3f2a.css")[http::field::content_type], "text/css; charset=utf-8");
  const Response icon = Get("/favicon.svg");
  EXPECT_EQ(icon[http::field::content_type], "image/svg+xml");
  EXPECT_EQ(icon[http::field::cache_control], "no-cache");
}

TEST_F(StaticFilesTest, ThePagesOwnRoutesGetIndexHtml) {
  for (const char* path : {"/", "/signin", "/events/370212001-01ABC", "/units/370212001"}) {
    const Response page = Get(path);
    EXPECT_EQ(page.result_int(), 200) << path;
    EXPECT_EQ(page[http::field::content_type], "text/html; charset=utf-8") << path;
    EXPECT_EQ(page[http::field::cache_control], "no-cache") << path;
  }
}

TEST_F(StaticFilesTest, MissingFilesAndEscapesAreNotFound) {
  EXPECT_EQ(Get("/assets/gone.js").result_int(), 404);
  EXPECT_EQ(Get("/../secret.txt").result_int(), 404);
  EXPECT_EQ(Get("/assets/%2e%2e/%2e%2e/secret.txt").result_int(), 404);
  EXPECT_EQ(Get("/link.txt").result_int(), 404);
  EXPECT_EQ(Get("/a%00b").result_int(), 404);
  EXPECT_EQ(Get("/assets\\..\\x.js").result_int(), 404);
}

TEST_F(StaticFilesTest, HeadHasTheLengthButNoBody) {
  const Response head = files_.Serve("/favicon.svg", 11, true, true);
  EXPECT_EQ(head.result_int(), 200);
  EXPECT_TRUE(head.body().empty());
  EXPECT_EQ(head[http::field::content_length], "6");
}

TEST(StaticFilesUnbuiltTest, SaysHowToBuildThePage) {
  StaticFiles files("/nonexistent/dist");
  const Response response = files.Serve("/", 11, true, false);
  EXPECT_EQ(response.result_int(), 404);
  EXPECT_NE(response.body().find("npm run build"), std::string::npos);
}

TEST(ContentTypeTest, KnowsTheTypesAPageUses) {
  EXPECT_EQ(StaticFiles::ContentType(".woff2"), "font/woff2");
  EXPECT_EQ(StaticFiles::ContentType(".JSON"), "application/json; charset=utf-8");
  EXPECT_EQ(StaticFiles::ContentType(".exe"), "application/octet-stream");
}

}  // namespace
}  // namespace grid::console
