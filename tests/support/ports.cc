#include "tests/support/ports.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>
#include <random>
#include <set>
#include <string>

namespace grid::testing {
namespace {

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "FreePort: %s: %s\n", what, std::strerror(errno));
  std::abort();
}

// Ports are taken from below Linux's default ephemeral range (32768-60999), where the kernel
// never puts the local end of an outgoing connection: a port picked there cannot be taken by a
// client's connection before the service binds it, as a port from bind(0) can.
constexpr int kFirstPort = 20000;
constexpr int kLastPort = 32767;

// Whether 127.0.0.1:port can be bound now.
bool Bindable(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    Die("socket");
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return bound;
}

// Claims `port` for this process among all the test processes of the machine (ctest runs many
// at once): an exclusive flock on a file named after it, held until the process ends (the kernel
// lets go of it then, however the process ends, so nothing stale is left behind).
bool Claim(const std::string& dir, int port) {
  const std::string path = dir + "/" + std::to_string(port);
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) {
    Die("open a port's lock file");
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return false;
  }
  return true;  // The descriptor stays open: the claim lasts as long as the process.
}

}  // namespace

int FreePort() {
  static std::mutex mutex;
  static std::set<int> given;
  static std::mt19937 random(static_cast<std::uint32_t>(::getpid()) ^
                             static_cast<std::uint32_t>(std::time(nullptr)));
  std::lock_guard<std::mutex> lock(mutex);
  const std::string dir =
      std::string(std::getenv("TMPDIR") != nullptr ? std::getenv("TMPDIR") : "/tmp") +
      "/grid-test-ports";
  ::mkdir(dir.c_str(), 01777);
  const int span = kLastPort - kFirstPort + 1;
  const int first = static_cast<int>(random() % span);
  for (int i = 0; i < span; ++i) {
    const int port = kFirstPort + (first + i) % span;
    if (given.count(port) != 0 || !Claim(dir, port)) {
      continue;
    }
    given.insert(port);
    if (Bindable(port)) {
      return port;
    }
    // In use by something that is not one of our tests: keep the claim, look further.
  }
  errno = EADDRINUSE;
  Die("no free port from 20000 to 32767");
}

}  // namespace grid::testing
