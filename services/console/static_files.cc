#include "services/console/static_files.h"

#include <fstream>
#include <optional>
#include <sstream>
#include <system_error>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/console/router.h"

namespace grid::console {
namespace {

namespace fs = std::filesystem;

Response TextResponse(http::status status, std::string body, unsigned version, bool keep_alive) {
  Response response(status, version);
  response.set(http::field::content_type, "text/plain; charset=utf-8");
  response.set(http::field::cache_control, "no-store");
  response.body() = std::move(body);
  response.keep_alive(keep_alive);
  response.prepare_payload();
  return response;
}

bool ReadFile(const fs::path& path, std::string& out) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return false;
  }
  std::ostringstream content;
  content << file.rdbuf();
  out = content.str();
  return static_cast<bool>(file) || file.eof();
}

// The file `relative` names under `root`, when it is a regular file that stays inside root (no
// "..", no symlink out of it).
std::optional<fs::path> Resolve(const fs::path& root, const std::string& relative) {
  std::error_code error;
  const fs::path base = fs::canonical(root, error);
  if (error) {
    return std::nullopt;
  }
  const fs::path full = fs::canonical(base / relative, error);
  if (error || !fs::is_regular_file(full, error)) {
    return std::nullopt;
  }
  const std::string prefix = base.string() + "/";
  if (!absl::StartsWith(full.string(), prefix)) {
    return std::nullopt;
  }
  return full;
}

}  // namespace

StaticFiles::StaticFiles(fs::path root) : root_(std::move(root)) {}

std::string_view StaticFiles::ContentType(std::string_view extension) {
  static const std::vector<std::pair<std::string_view, std::string_view>> kTypes = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json; charset=utf-8"},
      {".map", "application/json; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".webp", "image/webp"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".woff", "font/woff"},
      {".ttf", "font/ttf"},
      {".txt", "text/plain; charset=utf-8"},
      {".wasm", "application/wasm"},
  };
  const std::string lower = absl::AsciiStrToLower(std::string(extension));
  for (const auto& [known, type] : kTypes) {
    if (lower == known) {
      return type;
    }
  }
  return "application/octet-stream";
}

Response StaticFiles::Serve(std::string_view path, unsigned version, bool keep_alive,
                            bool head) const {
  std::string decoded;
  if (!PercentDecode(path, decoded) || decoded.empty() || decoded.front() != '/') {
    return TextResponse(http::status::not_found, "not found\n", version, keep_alive);
  }
  std::string relative = decoded.substr(1);
  for (absl::string_view segment : absl::StrSplit(relative, '/')) {
    if (segment == ".." || segment == "." || absl::StrContains(segment, '\\')) {
      return TextResponse(http::status::not_found, "not found\n", version, keep_alive);
    }
  }
  std::optional<fs::path> file = relative.empty() ? std::nullopt : Resolve(root_, relative);
  if (!file.has_value() && fs::path(relative).extension().empty()) {
    // A route of the page itself ("/", "/signin", "/events/370212001-..."): the page decides.
    file = Resolve(root_, "index.html");
    if (!file.has_value()) {
      return TextResponse(
          http::status::not_found,
          absl::StrCat("the console's page is not built: no index.html in ", root_.string(),
                       " (cd services/console/web && npm ci && npm run build)\n"),
          version, keep_alive);
    }
  }
  std::string body;
  if (!file.has_value() || !ReadFile(*file, body)) {
    return TextResponse(http::status::not_found, "not found\n", version, keep_alive);
  }
  Response response(http::status::ok, version);
  response.set(http::field::content_type, std::string(ContentType(file->extension().string())));
  // Vite names its assets by content hash: they never change under the same name.
  response.set(http::field::cache_control, absl::StartsWith(decoded, "/assets/")
                                               ? "public, max-age=31536000, immutable"
                                               : "no-cache");
  response.keep_alive(keep_alive);
  const std::size_t size = body.size();
  response.body() = std::move(body);
  response.prepare_payload();
  if (head) {
    response.body().clear();
    response.content_length(size);
  }
  return response;
}

}  // namespace grid::console
