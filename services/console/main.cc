// grid-console: the command centre's web door. A thin main: flags, then the objects of
// console_lib (API.md says what it serves).
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <thread>
#include <vector>

#include "common/log/log.h"
#include "common/server/host.h"
#include "common/telemetry/telemetry.h"
#include "services/console/console.h"
#include "services/console/grpc_gateway.h"
#include "services/console/http_server.h"

int main(int argc, char** argv) {
  grid::server::StartProcess();
  CLI::App app{"gridline console: the command centre's HTTP/JSON API, live feed and page"};
  grid::console::HttpServerOptions server;
  grid::console::GatewayChannelOptions gateway_options;
  grid::console::ConsoleOptions console_options;
  std::string metrics_listen = "127.0.0.1:9106";
  std::string static_dir = "services/console/web/dist";
  std::string log_level = "info";
  int threads = 2;
  int channels = 4;
  int call_deadline_ms = 10000;
  int request_timeout_seconds = 10;
  int sse_write_timeout_seconds = 10;
  int sse_retry_ms = 1000;
  int sse_keepalive_seconds = 15;
  int sse_admit_ms = 250;
  int signin_code_ttl_seconds = 300;
  app.add_option("--listen", server.listen, "HTTP listen address (port 0 picks one)")
      ->envname("GRID_CONSOLE_LISTEN")
      ->capture_default_str();
  app.add_option("--metrics-listen", metrics_listen, "Prometheus /metrics listen address")
      ->envname("GRID_CONSOLE_METRICS_LISTEN")
      ->capture_default_str();
  app.add_option("--gateway", gateway_options.address, "the gateway's address")
      ->envname("GRID_GATEWAY")
      ->capture_default_str();
  app.add_flag("--gateway-tls", gateway_options.tls,
               "speak TLS to the gateway, verifying it against the system's roots");
  app.add_option("--gateway-ca", gateway_options.ca_file,
                 "PEM roots that verify the gateway's certificate (implies --gateway-tls)")
      ->envname("GRID_GATEWAY_CA");
  app.add_option("--gateway-server-name", gateway_options.server_name,
                 "the name the gateway's certificate carries, when not the address's host");
  app.add_option("--gateway-channels", channels, "connections to the gateway the live feeds share")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--static-dir", static_dir, "the page's files (Vite's build output)")
      ->envname("GRID_CONSOLE_STATIC_DIR")
      ->capture_default_str();
  app.add_option("--tls-cert", server.tls_cert_file, "serve HTTPS: PEM certificate chain");
  app.add_option("--tls-key", server.tls_key_file, "serve HTTPS: PEM private key");
  app.add_option("--threads", threads, "threads serving HTTP")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--call-deadline-ms", call_deadline_ms, "deadline of each gateway call")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-connections", server.max_connections, "open connections at most")
      ->capture_default_str();
  app.add_option("--max-header-bytes", server.max_header_bytes,
                 "request line and headers at most (431 beyond)")
      ->capture_default_str();
  app.add_option("--max-body-bytes", server.max_body_bytes, "request body at most (413 beyond)")
      ->capture_default_str();
  app.add_option("--request-timeout-seconds", request_timeout_seconds,
                 "a request (or a kept-alive connection's next one) must arrive within this")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--sse-buffer-bytes", server.stream_buffer_bytes,
                 "a live feed's unsent bytes at most before the browser is cut off (it resumes)")
      ->capture_default_str();
  app.add_option("--sse-write-timeout-seconds", sse_write_timeout_seconds,
                 "a live feed whose write makes no progress this long is cut off")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--sse-retry-ms", sse_retry_ms, "the retry: hint: the browser's reconnect delay")
      ->capture_default_str();
  app.add_option("--sse-keepalive-seconds", sse_keepalive_seconds,
                 "a keep-alive comment after this long without writing")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--sse-admit-ms", sse_admit_ms,
                 "how long a live feed's answer waits for the gateway's refusal before 200")
      ->capture_default_str();
  app.add_option("--signin-code-ttl-seconds", signin_code_ttl_seconds,
                 "how long a one-time sign-in code is valid")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-signin-codes", console_options.max_signin_codes,
                 "one-time sign-in codes held at most (the oldest go first)")
      ->capture_default_str();
  app.add_option("--log-level", log_level, "debug, info, warn, error")
      ->envname("GRID_LOG_LEVEL")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  grid::log::Init("console", log_level);

  server.request_timeout = std::chrono::seconds(request_timeout_seconds);
  server.stream_write_timeout = std::chrono::seconds(sse_write_timeout_seconds);
  console_options.call_deadline = std::chrono::milliseconds(call_deadline_ms);
  console_options.sse.retry = std::chrono::milliseconds(sse_retry_ms);
  console_options.sse.keepalive = std::chrono::seconds(sse_keepalive_seconds);
  console_options.sse.admit = std::chrono::milliseconds(sse_admit_ms);
  console_options.signin_code_ttl = std::chrono::seconds(signin_code_ttl_seconds);

  auto telemetry = grid::telemetry::Telemetry::Start(metrics_listen, "console");
  if (!telemetry.ok()) {
    spdlog::error("{}", telemetry.status().ToString());
    return 2;
  }
  grid::console::ConsoleMetrics metrics((*telemetry)->registry());
  std::vector<std::shared_ptr<grpc::Channel>> gateway_channels;
  for (int i = 0; i < channels; ++i) {
    auto channel = grid::console::MakeGatewayChannel(gateway_options, i);
    if (!channel.ok()) {
      spdlog::error("{}", channel.status().ToString());
      return 2;
    }
    gateway_channels.push_back(*std::move(channel));
  }
  grid::console::GrpcGateway gateway(std::move(gateway_channels));
  const grid::console::StaticFiles files(static_dir);
  if (!std::filesystem::exists(std::filesystem::path(static_dir) / "index.html")) {
    spdlog::warn("no index.html in {}: the API serves, the page does not until it is built",
                 static_dir);
  }

  boost::asio::io_context io(threads);
  auto work = boost::asio::make_work_guard(io);
  static const grid::SystemClock clock;
  grid::console::Console console(gateway, files, clock, console_options, metrics);
  auto http = grid::console::HttpServer::Start(
      io, server,
      [&console](grid::console::Request request, grid::console::ExchangePtr exchange) {
        console.Handle(std::move(request), std::move(exchange));
      },
      metrics);
  if (!http.ok()) {
    spdlog::error("{}", http.status().ToString());
    return 2;
  }
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) {
    pool.emplace_back([&io] { io.run(); });
  }
  spdlog::info("console serving {} on {} (port {}), gateway {}{}, page from {}, metrics on {}",
               (*http)->secure() ? "HTTPS" : "HTTP", server.listen, (*http)->port(),
               gateway_options.address,
               gateway_options.tls || !gateway_options.ca_file.empty() ? " (TLS)" : "", static_dir,
               metrics_listen);

  grid::server::WaitForTermination();
  (*http)->Stop();
  // Live feeds end with their gateway calls; then the threads stop.
  if (!gateway.Shutdown(std::chrono::seconds(3))) {
    spdlog::warn("some gateway calls did not end within 3 s");
  }
  work.reset();
  io.stop();
  for (std::thread& thread : pool) {
    thread.join();
  }
  spdlog::info("stopped");
  return 0;
}
