// gridctl: the operator and ops command line, talking to the gateway (GRID_GATEWAY).
#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "tools/gridctl/commands.h"
#include "tools/gridctl/enums.h"

namespace {

// A CLI11 validator for an enum given by full or short name.
CLI::Validator EnumValidator(const google::protobuf::EnumDescriptor& type) {
  return CLI::Validator(
      [&type](std::string& value) -> std::string {
        if (!grid::gridctl::ParseEnum(type, value)) {
          return "unknown " + type.name() + " \"" + value + "\" (one of " +
                 grid::gridctl::ShortNames(type) + ")";
        }
        return {};
      },
      grid::gridctl::ShortNames(type));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"gridctl: report, inspect and operate events of the gridline command centre"};
  app.require_subcommand(1);
  const char* env_gateway = std::getenv("GRID_GATEWAY");
  std::string gateway = env_gateway != nullptr ? env_gateway : "127.0.0.1:7070";
  int timeout_ms = 10000;
  app.add_option("--gateway", gateway, "gateway address (env GRID_GATEWAY)")->capture_default_str();
  app.add_option("--timeout-ms", timeout_ms, "deadline of each call")->capture_default_str();

  grid::v1::Report report;
  std::string severity;
  std::string source;
  double lat = 0;
  double lng = 0;
  std::vector<std::string> media;
  std::string reporter;
  std::string request_id;
  std::string address;
  std::string description;
  auto* report_cmd = app.add_subcommand("report", "file a report; prints the event id last");
  report_cmd->add_option("--grid", *report.mutable_grid_id(), "14-digit grid code")->required();
  report_cmd->add_option("--category", *report.mutable_category(), "category code, e.g. 0102")
      ->required();
  report_cmd->add_option("--severity", severity, "severity")
      ->required()
      ->check(EnumValidator(*grid::v1::Severity_descriptor()));
  report_cmd->add_option("--description", description, "what was found")->required();
  auto* lat_opt = report_cmd->add_option("--lat", lat, "latitude, WGS84");
  auto* lng_opt = report_cmd->add_option("--lng", lng, "longitude, WGS84");
  lat_opt->needs(lng_opt);
  lng_opt->needs(lat_opt);
  report_cmd->add_option("--address", address, "address text");
  report_cmd->add_option("--media", media, "media reference (URL or object key), repeatable");
  report_cmd->add_option("--reporter", reporter, "reporter id (a worker id)");
  report_cmd->add_option("--request-id", request_id, "client request id (idempotency key)");
  report_cmd->add_option("--source", source, "source")
      ->check(EnumValidator(*grid::v1::Source_descriptor()));

  std::string event_id;
  bool json = false;
  auto* get_cmd = app.add_subcommand("get", "show one event");
  get_cmd->add_option("id", event_id, "event id")->required();
  get_cmd->add_flag("--json", json, "the Event as protobuf JSON");

  auto* history_cmd = app.add_subcommand("history", "show an event's changes");
  history_cmd->add_option("id", event_id, "event id")->required();
  history_cmd->add_flag("--json", json, "as protobuf JSON");

  std::string unit;
  bool summary = false;
  auto* topology_cmd = app.add_subcommand("topology", "show the hierarchy");
  topology_cmd->add_flag("--summary", summary, "unit counts per level and the worker count");
  topology_cmd->add_option("--unit", unit, "subtree root (default: the district)");
  topology_cmd->add_flag("--json", json, "as protobuf JSON");

  std::vector<std::string> targets;
  auto* health_cmd = app.add_subcommand("health", "check the gRPC health of services");
  health_cmd->add_option("address", targets, "host:port, repeatable (default: the gateway)");

  CLI11_PARSE(app, argc, argv);

  grid::gridctl::CallOptions options;
  options.timeout = std::chrono::milliseconds(timeout_ms);
  if (*health_cmd) {
    if (targets.empty()) {
      targets.push_back(gateway);
    }
    return grid::gridctl::Health(targets, options, std::cout, std::cerr);
  }
  auto stub = grid::v1::GatewayService::NewStub(
      grpc::CreateChannel(gateway, grpc::InsecureChannelCredentials()));
  if (*report_cmd) {
    report.set_severity(static_cast<grid::v1::Severity>(
        *grid::gridctl::ParseEnum(*grid::v1::Severity_descriptor(), severity)));
    if (!source.empty()) {
      report.set_source(static_cast<grid::v1::Source>(
          *grid::gridctl::ParseEnum(*grid::v1::Source_descriptor(), source)));
    }
    if (*lat_opt) {
      report.mutable_location()->set_lat(lat);
      report.mutable_location()->set_lng(lng);
    }
    report.set_description(description);
    report.set_address(address);
    report.set_reporter_id(reporter);
    report.set_client_request_id(request_id);
    for (const auto& m : media) {
      report.add_media(m);
    }
    return grid::gridctl::Report(*stub, report, options, std::cout, std::cerr);
  }
  if (*get_cmd) {
    return grid::gridctl::Get(*stub, event_id, json, options, std::cout, std::cerr);
  }
  if (*history_cmd) {
    return grid::gridctl::History(*stub, event_id, json, options, std::cout, std::cerr);
  }
  if (*topology_cmd) {
    return grid::gridctl::TopologySummary(*stub, unit, json, options, std::cout, std::cerr);
  }
  return 0;
}
