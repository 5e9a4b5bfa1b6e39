#include "common/redis/script.h"

#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace grid::redis {
namespace {

std::string Sha1Hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  // EVP_Digest rather than SHA1(): the latter is deprecated in OpenSSL 3.
  if (EVP_Digest(data.data(), data.size(), digest, &digest_len, EVP_sha1(), nullptr) != 1) {
    // SHA1 of an in-memory buffer cannot fail short of a broken OpenSSL: crash loudly.
    std::fprintf(stderr, "grid::redis: OpenSSL EVP_Digest(SHA1) failed\n");
    std::abort();
  }
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), digest_len));
}

}  // namespace

Script Script::FromSource(std::string source) {
  std::string sha1 = Sha1Hex(source);
  return Script{.source = std::move(source), .sha1 = std::move(sha1)};
}

absl::StatusOr<Script> Script::FromFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot open Lua script ", path.string()));
  }
  std::ostringstream body;
  body << in.rdbuf();
  if (in.bad()) {
    return absl::UnavailableError(absl::StrCat("cannot read Lua script ", path.string()));
  }
  return FromSource(std::move(body).str());
}

}  // namespace grid::redis
