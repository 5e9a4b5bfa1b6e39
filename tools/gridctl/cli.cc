#include "tools/gridctl/cli.h"

#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "tools/gridctl/commands.h"
#include "tools/gridctl/deadletters.h"
#include "tools/gridctl/enums.h"
#include "tools/gridctl/stats.h"
#include "tools/gridctl/watch.h"
#include "tools/gridctl/webhooks.h"

namespace grid::gridctl {
namespace {

using Gateway = v1::GatewayService::StubInterface;
using google::protobuf::util::TimeUtil;

// A CLI11 validator for an enum given by full or short name.
CLI::Validator EnumValidator(const google::protobuf::EnumDescriptor& type) {
  return CLI::Validator(
      [&type](std::string& value) -> std::string {
        if (!ParseEnum(type, value)) {
          return "unknown " + type.name() + " \"" + value + "\" (one of " + ShortNames(type) + ")";
        }
        return {};
      },
      ShortNames(type));
}

// A token's role: a Role other than SYSTEM, which no token carries (client systems call with an
// api key).
CLI::Validator TokenRoleValidator() {
  static constexpr char kRoles[] = "worker, handler, operator, admin";
  return CLI::Validator(
      [](std::string& value) -> std::string {
        const std::optional<int> role = ParseEnum(*v1::Role_descriptor(), value);
        if (!role) {
          return "unknown Role \"" + value + "\" (one of " + kRoles + ")";
        }
        if (*role == v1::ROLE_SYSTEM) {
          return "no token carries the role SYSTEM: a client system calls with an api key (the "
                 "gateway's --api-keys)";
        }
        return {};
      },
      kRoles);
}

template <class Enum>
Enum EnumValue(const google::protobuf::EnumDescriptor& type, const std::string& text) {
  // CLI11 has checked the text with EnumValidator.
  return static_cast<Enum>(*ParseEnum(type, text));
}

CLI::Validator DurationValidator() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        return ParseDuration(value)
                   ? ""
                   : "not a positive duration like 90s, 30m, 2h or 1h30m: \"" + value + "\"";
      },
      "DURATION");
}

CLI::Validator TimeValidator() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        google::protobuf::Timestamp ts;
        return TimeUtil::FromString(value, &ts)
                   ? ""
                   : "not an RFC 3339 time like 2024-05-01T08:00:00Z: \"" + value + "\"";
      },
      "RFC3339");
}

// The fields the moves share, and those only some have.
struct MoveArgs {
  std::string event_id;
  int64_t expected_version = 0;
  std::string reason;
  std::string note;
  std::string approver;
  std::string to_unit;
  std::string limit;
  std::vector<std::string> media;
  bool pass = false;
  bool fail = false;
};

// One run of gridctl: what the command line said and the command it picked.
struct Invocation {
  Invocation(std::ostream& out_stream, std::ostream& err_stream)
      : out(out_stream), err(err_stream) {}

  std::ostream& out;
  std::ostream& err;
  CallOptions options;
  // The channels' credentials (TLS unless --insecure).
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  bool json = false;
  MoveArgs move;
  // Set by the chosen subcommand's callback; runs against the gateway.
  std::function<int(Gateway&)> action;
};

void AddJsonFlag(CLI::App* cmd, Invocation& run) {
  cmd->add_flag("--json", run.json, "print protobuf JSON (proto field names)");
}

// A move's subcommand: the event id, --expected-version when the move has one, and --json.
CLI::App* AddMove(CLI::App& app, const std::string& name, const std::string& description,
                  Invocation& run, bool versioned = true) {
  CLI::App* cmd = app.add_subcommand(name, description);
  cmd->add_option("id", run.move.event_id, "event id")->required();
  if (versioned) {
    cmd->add_option("--expected-version", run.move.expected_version,
                    "fail with ABORTED unless the event is at this version")
        ->check(CLI::PositiveNumber);
  }
  AddJsonFlag(cmd, run);
  return cmd;
}

// Makes `cmd` send a `Request` with the shared fields and those `fill` sets.
template <class Request, class Fill>
void BindMove(CLI::App* cmd, Invocation& run, Fill fill) {
  cmd->callback([&run, fill] {
    run.action = [&run, fill](Gateway& gateway) {
      Request request;
      request.set_event_id(run.move.event_id);
      if constexpr (requires { request.set_expected_version(int64_t{0}); }) {
        request.set_expected_version(run.move.expected_version);
      }
      fill(request);
      return Move(gateway, std::move(request), run.json, run.options, run.out, run.err);
    };
  });
}

void AddMoves(CLI::App& app, Invocation& run) {
  MoveArgs& m = run.move;
  BindMove<v1::AcceptEventRequest>(
      AddMove(app, "accept", "接单: take the event for your unit", run), run, [](auto&) {});

  CLI::App* resolve = AddMove(app, "resolve", "report the event handled, with evidence", run);
  resolve->add_option("--note", m.note, "what was done")->required();
  resolve->add_option("--media", m.media, "evidence: a URL or object key, repeatable")
      ->allow_extra_args(false);
  BindMove<v1::ResolveEventRequest>(resolve, run, [&m](v1::ResolveEventRequest& r) {
    r.set_note(m.note);
    for (const std::string& media : m.media) {
      r.add_media(media);
    }
  });

  CLI::App* verify =
      AddMove(app, "verify", "on-site verification: --pass closes, --fail reworks", run);
  CLI::Option_group* outcome =
      verify->add_option_group("Outcome", "what the verifier found on site");
  outcome->add_flag("--pass", m.pass, "the fix holds: close the event");
  outcome->add_flag("--fail", m.fail, "it does not: send it back for rework");
  outcome->require_option(1);
  verify->add_option("--note", m.note, "what the verifier saw");
  BindMove<v1::VerifyEventRequest>(verify, run, [&m](v1::VerifyEventRequest& r) {
    r.set_passed(m.pass);
    r.set_note(m.note);
  });

  CLI::App* ret =
      AddMove(app, "return", "退回: the event is not your unit's; routing sends it on", run);
  ret->add_option("--reason", m.reason, "why it is not yours")->required();
  BindMove<v1::ReturnEventRequest>(ret, run,
                                   [&m](v1::ReturnEventRequest& r) { r.set_reason(m.reason); });

  CLI::App* suspend = AddMove(app, "suspend", "挂账: park the event; its clock pauses", run);
  suspend->add_option("--reason", m.reason, "why")->required();
  suspend->add_option("--approver", m.approver, "approving unit, above the event's level")
      ->required();
  BindMove<v1::SuspendEventRequest>(suspend, run, [&m](v1::SuspendEventRequest& r) {
    r.set_reason(m.reason);
    r.set_approver_unit_id(m.approver);
  });

  BindMove<v1::ResumeEventRequest>(
      AddMove(app, "resume", "take a suspended event back up; its clock runs again", run), run,
      [](auto&) {});

  CLI::App* cancel = AddMove(app, "cancel", "withdraw your report before it is accepted", run);
  cancel->add_option("--reason", m.reason, "why");
  BindMove<v1::CancelEventRequest>(cancel, run,
                                   [&m](v1::CancelEventRequest& r) { r.set_reason(m.reason); });

  CLI::App* void_cmd = AddMove(app, "void", "作废: declare the event invalid", run);
  void_cmd->add_option("--reason", m.reason, "why it is invalid")->required();
  BindMove<v1::VoidEventRequest>(void_cmd, run,
                                 [&m](v1::VoidEventRequest& r) { r.set_reason(m.reason); });

  CLI::App* reassign = AddMove(app, "reassign", "move the event to another unit", run);
  reassign->add_option("--to", m.to_unit, "the unit that gets it")->required();
  reassign->add_option("--reason", m.reason, "why")->required();
  BindMove<v1::ReassignEventRequest>(reassign, run, [&m](v1::ReassignEventRequest& r) {
    r.set_unit_id(m.to_unit);
    r.set_reason(m.reason);
  });

  CLI::App* escalate = AddMove(app, "escalate", "上报: hand the event to the level above", run);
  escalate->add_option("--reason", m.reason, "why")->required();
  BindMove<v1::EscalateEventRequest>(escalate, run,
                                     [&m](v1::EscalateEventRequest& r) { r.set_reason(m.reason); });

  // SuperviseEventRequest has no expected_version in the contract.
  CLI::App* supervise =
      AddMove(app, "supervise", "督办: press the unit that has the event", run, false);
  supervise->add_option("--note", m.note, "the supervision note")->required();
  supervise->add_option("--limit", m.limit, "a shorter time to resolve from now: 30m, 2h, 1h30m")
      ->check(DurationValidator());
  BindMove<v1::SuperviseEventRequest>(supervise, run, [&m](v1::SuperviseEventRequest& r) {
    r.set_note(m.note);
    if (!m.limit.empty()) {
      *r.mutable_limit() = *ParseDuration(m.limit);
    }
  });
}

}  // namespace

int Run(int argc, const char* const* argv, std::istream& in, std::ostream& out, std::ostream& err) {
  Invocation run(out, err);
  CLI::App app{"gridctl: report, inspect and operate events of the gridline command centre"};
  app.require_subcommand(1);

  std::string gateway = "127.0.0.1:7070";
  int timeout_ms = 10000;
  app.add_option("--gateway", gateway, "gateway address (env GRID_GATEWAY)")
      ->envname("GRID_GATEWAY")
      ->capture_default_str();
  app.add_option("--timeout-ms", timeout_ms, "deadline of each call")->capture_default_str();
  std::string ca_file;
  bool insecure = false;
  app.add_option("--ca", ca_file,
                 "PEM roots that verify the gateway (default: .local/tls/ca.pem of the local "
                 "stack when there is one, else the system's roots)")
      ->envname("GRID_CA");
  app.add_flag("--insecure", insecure,
               "plaintext, no TLS: only for a test stack whose gateway serves without TLS")
      ->envname("GRID_INSECURE");

  // token issue: mints a bearer token offline, from the secret the gateway checks with.
  std::string subject;
  std::string role;
  std::string home_unit;
  std::string ttl = "8h";
  std::string secret_file;
  auto* token_cmd = app.add_subcommand("token", "bearer tokens");
  token_cmd->require_subcommand(1);
  auto* issue_cmd = token_cmd->add_subcommand(
      "issue", "print a signed token (JWT HS256) for a subject, role and home unit");
  issue_cmd->add_option("--subject", subject, "a worker id or an account")->required();
  issue_cmd->add_option("--role", role, "worker, handler, operator or admin (or ROLE_* in full)")
      ->required()
      ->check(TokenRoleValidator());
  issue_cmd->add_option("--unit", home_unit, "home unit (a worker's: their grid)")->required();
  issue_cmd->add_option("--ttl", ttl, "lifetime: 30m, 8h, 720h...")
      ->check(DurationValidator())
      ->capture_default_str();
  issue_cmd->add_option(
      "--secret-file", secret_file,
      "the HS256 secret (default: $GRID_JWT_SECRET_FILE, else .local/jwt-secret)");
  bool offline = false;
  issue_cmd->callback([&] {
    offline = true;
    run.action = [&](Gateway&) {
      return IssueToken(subject, EnumValue<v1::Role>(*v1::Role_descriptor(), role), home_unit,
                        std::chrono::seconds(ParseDuration(ttl)->seconds()), secret_file, out, err);
    };
  });

  // report
  v1::Report report;
  std::string severity;
  std::string source;
  double lat = 0;
  double lng = 0;
  std::vector<std::string> report_media;
  auto* report_cmd = app.add_subcommand("report", "file a report; prints the event id last");
  report_cmd->add_option("--grid", *report.mutable_grid_id(), "14-digit grid code")->required();
  report_cmd->add_option("--category", *report.mutable_category(), "category code, e.g. 0102")
      ->required();
  report_cmd->add_option("--severity", severity, "severity")
      ->required()
      ->check(EnumValidator(*v1::Severity_descriptor()));
  report_cmd->add_option("--description", *report.mutable_description(), "what was found")
      ->required();
  auto* lat_opt = report_cmd->add_option("--lat", lat, "latitude, WGS84");
  auto* lng_opt = report_cmd->add_option("--lng", lng, "longitude, WGS84");
  lat_opt->needs(lng_opt);
  lng_opt->needs(lat_opt);
  report_cmd->add_option("--address", *report.mutable_address(), "address text");
  report_cmd->add_option("--media", report_media, "media reference (URL or object key), repeatable")
      ->allow_extra_args(false);
  report_cmd->add_option("--reporter", *report.mutable_reporter_id(), "reporter id (a worker id)");
  report_cmd->add_option("--request-id", *report.mutable_client_request_id(),
                         "client request id (idempotency key)");
  report_cmd->add_option("--source", source, "source")
      ->check(EnumValidator(*v1::Source_descriptor()));
  report_cmd->callback([&] {
    report.set_severity(EnumValue<v1::Severity>(*v1::Severity_descriptor(), severity));
    if (!source.empty()) {
      report.set_source(EnumValue<v1::Source>(*v1::Source_descriptor(), source));
    }
    if (*lat_opt) {
      report.mutable_location()->set_lat(lat);
      report.mutable_location()->set_lng(lng);
    }
    for (const std::string& media : report_media) {
      report.add_media(media);
    }
    run.action = [&](Gateway& stub) { return Report(stub, report, run.options, out, err); };
  });

  // upload
  std::string upload_file;
  auto* upload_cmd =
      app.add_subcommand("upload", "upload reports queued offline, from a JSON-lines file");
  upload_cmd->footer(
      "FILE holds one grid.v1.Report a line in protobuf JSON, e.g. {\"client_request_id\": "
      "\"r1\", \"grid_id\": \"37021200100101\", \"category\": \"0102\", \"severity\": "
      "\"SEVERITY_NORMAL\", \"description\": \"...\"}. A malformed line stops the upload before "
      "anything is sent. Prints \"<index> <client_request_id> <event id | error CODE: message>\" "
      "per report and fails if any report failed.");
  upload_cmd->add_option("file", upload_file, "the file, or - for stdin")->required();
  AddJsonFlag(upload_cmd, run);
  upload_cmd->callback([&] {
    run.action = [&](Gateway& stub) {
      if (upload_file == "-") {
        return Upload(stub, in, "stdin", run.json, run.options, out, err);
      }
      std::ifstream file(upload_file);
      if (!file) {
        PrintStatus(grpc::Status(grpc::StatusCode::NOT_FOUND, upload_file + ": cannot open"), err);
        return 1;
      }
      return Upload(stub, file, upload_file, run.json, run.options, out, err);
    };
  });

  // get, history
  std::string event_id;
  auto* get_cmd = app.add_subcommand("get", "show one event");
  get_cmd->add_option("id", event_id, "event id")->required();
  AddJsonFlag(get_cmd, run);
  get_cmd->callback([&] {
    run.action = [&](Gateway& stub) {
      return Get(stub, event_id, run.json, run.options, out, err);
    };
  });
  auto* history_cmd = app.add_subcommand("history", "show an event's changes");
  history_cmd->add_option("id", event_id, "event id")->required();
  AddJsonFlag(history_cmd, run);
  history_cmd->callback([&] {
    run.action = [&](Gateway& stub) {
      return History(stub, event_id, run.json, run.options, out, err);
    };
  });

  // queue
  v1::ListUnitQueueRequest queue_request;
  int page_size = 0;
  auto* queue_cmd = app.add_subcommand(
      "queue",
      "a unit's work queue, most urgent first: traffic light, time left, state, category, "
      "severity, event id");
  queue_cmd->add_option("unit", *queue_request.mutable_unit_id(), "unit id")->required();
  queue_cmd->add_option("--page-size", page_size, "at most this many (server default 50)")
      ->check(CLI::PositiveNumber);
  queue_cmd->add_option("--page-token", *queue_request.mutable_page_token(),
                        "the next page token of the previous page");
  AddJsonFlag(queue_cmd, run);
  queue_cmd->callback([&] {
    queue_request.set_page_size(page_size);
    run.action = [&](Gateway& stub) {
      return Queue(stub, queue_request, run.json, run.options, out, err);
    };
  });

  // list
  v1::ListEventsRequest list_request;
  std::vector<std::string> states;
  std::vector<std::string> levels;
  std::string since;
  std::string until;
  std::string list_severity;
  std::string supervised;
  auto* list_cmd = app.add_subcommand("list", "list events by filters, newest first");
  list_cmd->add_option("--unit", *list_request.mutable_unit_id(), "in this unit's subtree");
  list_cmd->add_option("--state", states, "in any of these states, repeatable")
      ->allow_extra_args(false)
      ->check(EnumValidator(*v1::EventState_descriptor()));
  list_cmd->add_option("--level", levels, "at any of these levels, repeatable")
      ->allow_extra_args(false)
      ->check(EnumValidator(*v1::Level_descriptor()));
  list_cmd->add_option("--subdistrict", *list_request.mutable_subdistrict_id(),
                       "in this subdistrict");
  list_cmd->add_option("--category", *list_request.mutable_category_prefix(),
                       "category code prefix, e.g. 01");
  list_cmd->add_option("--min-severity", list_severity, "at least this severe")
      ->check(EnumValidator(*v1::Severity_descriptor()));
  list_cmd
      ->add_option("--supervised", supervised,
                   "yes: only events pressed by the command centre (督办); no: only the others")
      ->check(CLI::IsMember({"yes", "no"}));
  list_cmd->add_option("--since", since, "reported at or after this time (RFC 3339)")
      ->check(TimeValidator());
  list_cmd->add_option("--until", until, "reported before this time (RFC 3339)")
      ->check(TimeValidator());
  list_cmd->add_option("--page-size", page_size, "at most this many (server default 50)")
      ->check(CLI::PositiveNumber);
  list_cmd->add_option("--page-token", *list_request.mutable_page_token(),
                       "the next page token of the previous page");
  AddJsonFlag(list_cmd, run);
  list_cmd->callback([&] {
    for (const std::string& state : states) {
      list_request.add_states(EnumValue<v1::EventState>(*v1::EventState_descriptor(), state));
    }
    for (const std::string& level : levels) {
      list_request.add_levels(EnumValue<v1::Level>(*v1::Level_descriptor(), level));
    }
    if (!list_severity.empty()) {
      list_request.set_min_severity(
          EnumValue<v1::Severity>(*v1::Severity_descriptor(), list_severity));
    }
    if (!supervised.empty()) {
      list_request.set_supervised(supervised == "yes");
    }
    // CLI11 has checked both with TimeValidator.
    if (!since.empty()) {
      (void)TimeUtil::FromString(since, list_request.mutable_reported_after());
    }
    if (!until.empty()) {
      (void)TimeUtil::FromString(until, list_request.mutable_reported_before());
    }
    list_request.set_page_size(page_size);
    run.action = [&](Gateway& stub) {
      return List(stub, list_request, run.json, run.options, out, err);
    };
  });

  // stats
  StatsArgs stats_args;
  auto* stats_cmd = app.add_subcommand(
      "stats", "scores (on-time, closure, rework, first-dispatch rates) and backlog of a subtree");
  AddStatsOptions(stats_cmd, stats_args);
  AddJsonFlag(stats_cmd, run);
  stats_cmd->callback([&] {
    run.action = [&](Gateway& stub) {
      return Stats(stub, stats_args, run.json, run.options, out, err);
    };
  });

  AddMoves(app, run);

  // watch
  WatchOptions watch;
  std::vector<std::string> watch_levels;
  std::string watch_severity;
  std::string watch_for;
  std::vector<std::string> watch_categories;
  auto* watch_cmd = app.add_subcommand(
      "watch",
      "the live stream of changes, one a line: time, level, unit, category, state, traffic "
      "light, kind, event id; reconnects from its last cursor if the gateway goes away or cuts "
      "it off");
  AddJsonFlag(watch_cmd, run);
  watch_cmd->add_option("--cursor", *watch.request.mutable_cursor(),
                        "resume after this cursor (from a change or an earlier watch)");
  watch_cmd->add_option("--unit", *watch.request.mutable_unit_id(), "in this unit's subtree");
  watch_cmd
      ->add_option("--level", watch_levels,
                   "at any of these levels after the change, "
                   "repeatable")
      ->allow_extra_args(false)
      ->check(EnumValidator(*v1::Level_descriptor()));
  watch_cmd->add_option("--category", watch_categories, "category code prefix, repeatable")
      ->allow_extra_args(false);
  watch_cmd->add_option("--min-severity", watch_severity, "at least this severe")
      ->check(EnumValidator(*v1::Severity_descriptor()));
  watch_cmd->add_option("--max", watch.max_changes, "stop after this many changes")
      ->check(CLI::PositiveNumber);
  watch_cmd->add_option("--for", watch_for, "stop after this long: 30s, 5m, 1h")
      ->check(DurationValidator());
  watch_cmd->callback([&] {
    for (const std::string& level : watch_levels) {
      watch.request.add_levels(EnumValue<v1::Level>(*v1::Level_descriptor(), level));
    }
    for (const std::string& prefix : watch_categories) {
      watch.request.add_category_prefixes(prefix);
    }
    if (!watch_severity.empty()) {
      watch.request.set_min_severity(
          EnumValue<v1::Severity>(*v1::Severity_descriptor(), watch_severity));
    }
    if (!watch_for.empty()) {
      const google::protobuf::Duration d = *ParseDuration(watch_for);
      watch.duration = std::chrono::milliseconds(d.seconds() * 1000 + d.nanos() / 1000000);
    }
    watch.color = &out == &std::cout && isatty(STDOUT_FILENO) != 0;
    run.action = [&](Gateway& stub) {
      watch.json = run.json;
      return Watch(stub, watch, run.options, out, err);
    };
  });

  // deadletters list | replay (ADMIN only)
  auto* dead_cmd = app.add_subcommand("deadletters",
                                      "stream entries the services could not handle (ADMIN only)");
  dead_cmd->require_subcommand(1);
  v1::ListDeadLettersRequest dead_list;
  int dead_list_page_size = 100;
  auto* dead_list_cmd = dead_cmd->add_subcommand("list", "list dead letters, oldest first");
  dead_list_cmd->add_option("--unit", *dead_list.mutable_unit_id(),
                            "a subdistrict (default: all of them)");
  dead_list_cmd->add_option("--page-size", dead_list_page_size, "at most this many (1..1000)")
      ->check(CLI::Range(1, 1000));
  dead_list_cmd->add_option("--page-token", *dead_list.mutable_page_token(),
                            "from the previous page's last line");
  AddJsonFlag(dead_list_cmd, run);
  dead_list_cmd->callback([&] {
    dead_list.set_page_size(dead_list_page_size);
    run.action = [&](Gateway& stub) {
      return ListDeadLetters(stub, dead_list, run.json, run.options, out, err);
    };
  });
  v1::ReplayDeadLettersRequest dead_replay;
  std::vector<std::string> dead_ids;
  bool dead_all = false;
  auto* dead_replay_cmd = dead_cmd->add_subcommand(
      "replay", "put dead letters back on their streams, to be handled again");
  dead_replay_cmd->add_option("ids", dead_ids, "dead letter ids (as listed)");
  dead_replay_cmd->add_option("--unit", *dead_replay.mutable_unit_id(),
                              "the subdistrict of the ids; with --all, default all of them");
  dead_replay_cmd->add_flag("--all", dead_all, "every dead letter (at most 1000 a call)");
  AddJsonFlag(dead_replay_cmd, run);
  dead_replay_cmd->callback([&] {
    for (const std::string& id : dead_ids) {
      dead_replay.add_ids(id);
    }
    dead_replay.set_all(dead_all);
    run.action = [&](Gateway& stub) {
      return ReplayDeadLetters(stub, dead_replay, run.json, run.options, out, err);
    };
  });

  // webhooks status | test | redeliver (ADMIN only)
  auto* webhooks_cmd = app.add_subcommand(
      "webhooks", "the department systems' webhook receivers (ADMIN only; grid-webhooks)");
  webhooks_cmd->require_subcommand(1);
  v1::GetWebhookStatusRequest webhook_status;
  auto* webhook_status_cmd = webhooks_cmd->add_subcommand(
      "status", "each receiver's queues, dead letters and deliveries, as a table");
  webhook_status_cmd->add_option("--receiver", *webhook_status.mutable_receiver(),
                                 "one receiver by name (default: all of them)");
  AddJsonFlag(webhook_status_cmd, run);
  webhook_status_cmd->callback([&] {
    run.action = [&](Gateway& stub) {
      return WebhookStatus(stub, webhook_status, run.json, run.options, out, err);
    };
  });
  v1::TestWebhookRequest webhook_test;
  auto* webhook_test_cmd = webhooks_cmd->add_subcommand(
      "test", "send a receiver a signed ping now (X-Grid-Event: ping); fails unless it says 2xx");
  webhook_test_cmd->add_option("name", *webhook_test.mutable_receiver(), "the receiver")
      ->required();
  AddJsonFlag(webhook_test_cmd, run);
  webhook_test_cmd->callback([&] {
    run.action = [&](Gateway& stub) {
      return TestWebhook(stub, webhook_test, run.json, run.options, out, err);
    };
  });
  v1::RedeliverWebhooksRequest webhook_redeliver;
  int webhook_limit = 0;
  auto* webhook_redeliver_cmd = webhooks_cmd->add_subcommand(
      "redeliver",
      "move a receiver's dead letters back onto its queues, oldest first (they arrive after "
      "newer changes of their events)");
  webhook_redeliver_cmd->add_option("name", *webhook_redeliver.mutable_receiver(), "the receiver")
      ->required();
  webhook_redeliver_cmd->add_option("--subdistrict", *webhook_redeliver.mutable_subdistrict_id(),
                                    "only this subdistrict's (default: every subdistrict)");
  webhook_redeliver_cmd
      ->add_option("--limit", webhook_limit, "at most this many (default: all of them)")
      ->check(CLI::PositiveNumber);
  AddJsonFlag(webhook_redeliver_cmd, run);
  webhook_redeliver_cmd->callback([&] {
    webhook_redeliver.set_limit(webhook_limit);
    run.action = [&](Gateway& stub) {
      return RedeliverWebhooks(stub, webhook_redeliver, run.json, run.options, out, err);
    };
  });

  // topology, health
  std::string topology_unit;
  bool summary = false;
  auto* topology_cmd = app.add_subcommand("topology", "show the hierarchy");
  topology_cmd->add_flag("--summary", summary, "unit counts per level and the worker count");
  topology_cmd->add_option("--unit", topology_unit, "subtree root (default: the district)");
  AddJsonFlag(topology_cmd, run);
  topology_cmd->callback([&] {
    run.action = [&](Gateway& stub) {
      return TopologySummary(stub, topology_unit, run.json, run.options, out, err);
    };
  });
  std::vector<std::string> targets;
  auto* health_cmd = app.add_subcommand("health", "check the gRPC health of services");
  health_cmd->add_option("address", targets, "host:port, repeatable (default: the gateway)");
  health_cmd->callback([&] {
    run.action = [&](Gateway&) {
      if (targets.empty()) {
        targets.push_back(gateway);
      }
      return Health(targets, run.credentials, run.options, out, err);
    };
  });

  // Set last, so that the subcommands do not inherit it.
  app.footer(
      "Every call carries a bearer token (who you are: subject, role, home unit): $GRID_TOKEN when "
      "set, else the file .local/token of the repository ($GRID_STATE_DIR/token when "
      "GRID_STATE_DIR is set), which deploy/local/up writes for the local admin. Mint others with "
      "`gridctl token issue`.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e, out, err);
  }

  run.options.timeout = std::chrono::milliseconds(timeout_ms);
  if (!offline) {
    run.options.token = FindToken();
  }
  if (!offline) {
    auto credentials = GatewayCredentials(insecure, ca_file);
    if (!credentials.ok()) {
      PrintStatus(grpc::Status(static_cast<grpc::StatusCode>(credentials.status().code()),
                               std::string(credentials.status().message())),
                  err);
      return 2;
    }
    run.credentials = *std::move(credentials);
  } else {
    run.credentials = grpc::InsecureChannelCredentials();
  }
  auto stub = v1::GatewayService::NewStub(grpc::CreateChannel(gateway, run.credentials));
  return run.action(*stub);
}

}  // namespace grid::gridctl
