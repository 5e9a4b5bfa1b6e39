#include "tests/support/ports.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>

namespace grid::testing {
namespace {

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "FreePort: %s: %s\n", what, std::strerror(errno));
  std::abort();
}

int UnusedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    Die("socket");
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    Die("bind 127.0.0.1:0");
  }
  socklen_t len = sizeof(addr);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    Die("getsockname");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace

int FreePort() {
  // The kernel may hand the same free port out twice, and a test takes several before it binds
  // any (Redis and every service of a stack): never give one out twice in this process.
  static std::mutex mutex;
  static std::set<int> given;
  std::lock_guard<std::mutex> lock(mutex);
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int port = UnusedPort();
    if (given.insert(port).second) {
      return port;
    }
  }
  errno = EADDRINUSE;
  Die("no port that was not given out already");
}

}  // namespace grid::testing
