// grid-browser-stack: the whole system for the console's browser tests and page benchmark
// (services/console/web/e2e/), so that Node need not re-implement it. Starts a real redis-server
// and the five services on free ports (tests/support's Stack), then grid-console in front of the
// gateway, prints one JSON line with the addresses and the stack's JWT secret file, and runs until
// its standard input closes; then it stops everything.
//
//   grid-browser-stack --static-dir services/console/web/dist [--console-arg=--sse-retry-ms=500]...
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "spdlog/sinks/stdout_color_sinks.h"
#include "spdlog/spdlog.h"
#include "tests/support/paths.h"
#include "tests/support/poll.h"
#include "tests/support/ports.h"
#include "tests/support/process.h"
#include "tests/support/stack.h"

namespace {

// True when GET /healthz on 127.0.0.1:port answers 200.
bool Healthy(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    return false;
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = false;
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0) {
    const std::string request =
        "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      char buffer[64] = {};
      const ssize_t got = read(fd, buffer, sizeof(buffer) - 1);
      ok = got > 12 && std::string(buffer, static_cast<size_t>(got)).rfind("HTTP/1.1 200", 0) == 0;
    }
  }
  close(fd);
  return ok;
}

int Fail(const std::string& message, const grid::testing::Stack* stack) {
  std::cerr << "grid-browser-stack: " << message << "\n";
  if (stack != nullptr) {
    std::cerr << stack->Logs();
  }
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  // Standard output carries the one JSON line the caller reads; logs go to standard error.
  spdlog::set_default_logger(spdlog::stderr_color_mt("grid-browser-stack"));
  std::string static_dir;
  std::vector<std::string> console_args;
  grid::testing::Stack::Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--static-dir" && i + 1 < argc) {
      static_dir = argv[++i];
    } else if (arg.rfind("--console-arg=", 0) == 0) {
      console_args.push_back(arg.substr(std::string("--console-arg=").size()));
    } else if (arg == "--policy" && i + 1 < argc) {
      options.policy = argv[++i];
    } else {
      std::cerr << "usage: grid-browser-stack --static-dir DIR [--policy FILE] "
                   "[--console-arg=ARG]...\n";
      return 2;
    }
  }
  if (static_dir.empty() ||
      !std::filesystem::exists(std::filesystem::path(static_dir) / "index.html")) {
    return Fail("--static-dir must hold the built page (services/console/web/build.sh)", nullptr);
  }

  // As deploy/local/up runs it: the gateway speaks TLS, and the console and gridctl verify it
  // against the stack's CA.
  options.tls = true;
  grid::testing::Stack stack(options);
  if (auto status = stack.Start(); !status.ok()) {
    return Fail(std::string(status.message()), &stack);
  }
  // The secret the gateway checks tokens with, where `gridctl token issue --secret-file` reads it.
  char dir_template[] = "/tmp/grid-browser-XXXXXX";
  const char* dir = mkdtemp(dir_template);
  if (dir == nullptr) {
    return Fail("mkdtemp failed", &stack);
  }
  const std::filesystem::path secret_file = std::filesystem::path(dir) / "jwt-secret";
  std::ofstream(secret_file) << stack.jwt_secret() << "\n";

  const std::string gateway_ca = (stack.tls_dir() / "ca.pem").string();
  const int port = grid::testing::FreePort();
  const int metrics_port = grid::testing::FreePort();
  std::vector<std::string> args = {
      "--listen",         "127.0.0.1:" + std::to_string(port),
      "--metrics-listen", "127.0.0.1:" + std::to_string(metrics_port),
      "--gateway",        stack.address("grid-gateway"),
      "--gateway-ca",     gateway_ca,
      "--static-dir",     std::filesystem::absolute(static_dir).string()};
  args.insert(args.end(), console_args.begin(), console_args.end());
  const std::filesystem::path console_log = std::filesystem::path(dir) / "grid-console.log";
  auto console =
      grid::testing::Process::Start(grid::testing::BinPath("grid-console"), args, {}, console_log);
  if (!console.ok()) {
    return Fail(std::string(console.status().message()), &stack);
  }
  if (!grid::testing::PollUntil([&] { return Healthy(port); }, std::chrono::seconds(20))) {
    return Fail("grid-console did not answer /healthz:\n" + (*console)->ReadLog(), &stack);
  }

  std::cout << "{\"console\":\"http://127.0.0.1:" << port
            << "\",\"console_metrics_port\":" << metrics_port << ",\"gateway\":\""
            << stack.address("grid-gateway") << "\",\"gateway_ca\":\"" << gateway_ca
            << "\",\"secret_file\":\"" << secret_file.string() << "\",\"console_log\":\""
            << console_log.string() << "\"}" << std::endl;

  // Until the caller closes our standard input (or dies: then the read fails too).
  std::string line;
  while (std::getline(std::cin, line)) {
  }
  (*console)->Terminate();
  std::filesystem::remove_all(dir);
  return 0;
}
