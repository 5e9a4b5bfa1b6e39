// The page's files (API.md, "The page"): Vite's build output served from one directory, with
// content types, caching by Vite's hashed asset names, and index.html for the page's own routes.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "services/console/exchange.h"

namespace grid::console {

// Immutable; safe to share between threads. Reads files on each request (the OS caches them).
class StaticFiles final {
 public:
  explicit StaticFiles(std::filesystem::path root);

  // The answer to GET (or HEAD, without a body) `path`: the percent-encoded path of the target,
  // without its query.
  Response Serve(std::string_view path, unsigned version, bool keep_alive, bool head) const;

  // "text/html; charset=utf-8" for ".html", ...; application/octet-stream when unknown.
  static std::string_view ContentType(std::string_view extension);

  const std::filesystem::path& root() const { return root_; }

 private:
  std::filesystem::path root_;
};

}  // namespace grid::console
