// grid-loadgen chaos: see chaos.h.
#include "tools/loadgen/chaos.h"

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/store/keys.h"
#include "grid/v1/gateway.grpc.pb.h"
#include "tests/support/poll.h"
#include "tools/loadgen/bench_stack.h"
#include "tools/loadgen/redis_probe.h"
#include "tools/loadgen/workload.h"

namespace grid::loadgen {
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kCallDeadline{3000};
// How long a report is retried after the load stops before it counts as unacknowledged, and how
// long the stack gets to settle (dispatch everything, drain every consumer group).
constexpr milliseconds kRetryAfterLoad{60000};
constexpr milliseconds kSettleDeadline{90000};
// How long a freeze of Redis lasts.
constexpr int kFreezeMs = 3000;

const std::vector<std::string>& Services() {
  static const auto* const services = new std::vector<std::string>{
      "grid-intake", "grid-routing", "grid-escalation", "grid-metrics", "grid-gateway"};
  return *services;
}

// What a client may see while a process or Redis is down, and retries.
bool Retryable(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED ||
         code == grpc::StatusCode::RESOURCE_EXHAUSTED;
}

// The figures of a run; printed as the summary line.
struct Tally {
  std::atomic<int> acknowledged{0};
  std::atomic<int> retries{0};
  std::atomic<int> internal{0};
  std::atomic<int> unexpected{0};
  std::atomic<int> in_flight{0};
  std::mutex mutex;
  std::string first_internal;    // Guarded by mutex.
  std::string first_unexpected;  // Guarded by mutex.

  void Note(const grpc::Status& status, const std::string& what) {
    const bool internal_error = status.error_code() == grpc::StatusCode::INTERNAL ||
                                status.error_code() == grpc::StatusCode::UNKNOWN;
    (internal_error ? internal : unexpected)++;
    std::lock_guard lock(mutex);
    std::string& first = internal_error ? first_internal : first_unexpected;
    if (first.empty()) {
      first = absl::StrCat(what, ": code ", status.error_code(), ": ", status.error_message());
    }
  }
};

// A channel that finds a restarted gateway quickly (gRPC's default back-off grows to minutes).
std::shared_ptr<grpc::Channel> GatewayChannel(const std::string& address) {
  grpc::ChannelArguments arguments;
  arguments.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  arguments.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), arguments);
}

// Runs one step of the schedule. Must run on the thread that started the stack (a restarted
// child dies with the thread that started it: testing::Process).
absl::Status Execute(testing::Stack& stack, const ChaosAction& action) {
  switch (action.kind) {
    case ChaosAction::Kind::kKillService: {
      stack.StopService(action.service, SIGKILL);
      std::this_thread::sleep_for(milliseconds(action.pause_ms));
      absl::Status status;
      // A service that starts while Redis is still loading may take a while to be SERVING.
      for (int attempt = 0; attempt < 3; ++attempt) {
        status = stack.StartService(action.service);
        if (status.ok()) {
          break;
        }
      }
      return status;
    }
    case ChaosAction::Kind::kKillRedis: {
      if (auto status = stack.redis().Signal(SIGKILL); !status.ok()) {
        return status;
      }
      if (!testing::PollUntil([&] { return !stack.redis().Running(); }, milliseconds(10000))) {
        return absl::DeadlineExceededError("redis-server did not die of SIGKILL");
      }
      std::this_thread::sleep_for(milliseconds(action.pause_ms));
      return stack.redis().Start();
    }
    case ChaosAction::Kind::kRestartRedis:
      if (auto status = stack.redis().Stop(); !status.ok()) {
        return status;
      }
      return stack.redis().Start();
    case ChaosAction::Kind::kFreezeRedis:
      if (auto status = stack.redis().Signal(SIGSTOP); !status.ok()) {
        return status;
      }
      std::this_thread::sleep_for(milliseconds(action.pause_ms));
      return stack.redis().Signal(SIGCONT);
  }
  return absl::InternalError("unknown chaos action");
}

// What the store holds about the run, read straight from Redis.
struct StoreFindings {
  int events = 0;
  int lost = 0;
  int doubled = 0;
  int undispatched = 0;
  int redispatched = 0;
  int foreign = 0;  // Events of no request of the run.
  std::string first_problem;

  void Problem(std::string what) {
    if (first_problem.empty()) {
      first_problem = std::move(what);
    }
  }
};

absl::StatusOr<StoreFindings> ReadStore(testing::Stack& stack,
                                        const std::vector<std::string>& subdistricts,
                                        const std::string& run_id,
                                        const std::vector<std::string>& acknowledged_ids) {
  StoreFindings findings;
  std::map<std::string, std::vector<std::string>> by_request;  // request id -> event ids.
  std::set<std::string> stored;
  for (const std::string& subdistrict : subdistricts) {
    auto ids = RedisCommand(stack, {"ZRANGE", store::EventsIndexKey(subdistrict), "0", "-1"});
    if (!ids.ok()) {
      return ids.status();
    }
    for (const redis::Reply& id_reply : ids->elements) {
      const std::string& id = id_reply.str;
      auto pb = RedisCommand(stack, {"HGET", store::EventKey(subdistrict, id), "pb"});
      if (!pb.ok()) {
        return pb.status();
      }
      v1::Event event;
      if (!pb->IsString() || !event.ParseFromString(pb->str)) {
        findings.Problem(absl::StrCat("event ", id, " is indexed but has no readable record"));
        ++findings.lost;
        continue;
      }
      ++findings.events;
      stored.insert(id);
      if (!event.client_request_id().starts_with(run_id + "-")) {
        ++findings.foreign;
        findings.Problem(absl::StrCat("event ", id, " stands for no request of the run"));
        continue;
      }
      by_request[event.client_request_id()].push_back(id);
      if (event.state() == v1::EVENT_STATE_REPORTED ||
          event.state() == v1::EVENT_STATE_UNSPECIFIED) {
        ++findings.undispatched;
        findings.Problem(
            absl::StrCat("event ", id, " is still ", v1::EventState_Name(event.state())));
      }
      auto history = RedisCommand(stack, {"LRANGE", store::HistoryKey(subdistrict, id), "0", "-1"});
      if (!history.ok()) {
        return history.status();
      }
      int dispatches = 0;
      for (const redis::Reply& change_reply : history->elements) {
        v1::EventChange change;
        if (change.ParseFromString(change_reply.str) &&
            change.kind() == v1::CHANGE_KIND_DISPATCHED) {
          ++dispatches;
        }
      }
      if (dispatches > 1) {
        ++findings.redispatched;
        findings.Problem(absl::StrCat("event ", id, " was dispatched ", dispatches, " times"));
      }
    }
  }
  for (const auto& [request, ids] : by_request) {
    if (ids.size() > 1) {
      findings.doubled += static_cast<int>(ids.size()) - 1;
      findings.Problem(absl::StrCat("request ", request, " has ", ids.size(), " events"));
    }
  }
  for (std::size_t i = 0; i < acknowledged_ids.size(); ++i) {
    if (!acknowledged_ids[i].empty() && !stored.contains(acknowledged_ids[i])) {
      ++findings.lost;
      findings.Problem(absl::StrCat("acknowledged event ", acknowledged_ids[i], " (request ",
                                    run_id, "-", i, ") is not in the store"));
    }
  }
  return findings;
}

// Entries moved to the dead letters (a transient failure must never put one there).
absl::StatusOr<long long> DeadLetters(testing::Stack& stack,
                                      const std::vector<std::string>& subdistricts) {
  long long dead = 0;
  for (const std::string& subdistrict : subdistricts) {
    auto length = RedisCommand(stack, {"XLEN", store::DeadLetterStream(subdistrict)});
    if (!length.ok()) {
      return length.status();
    }
    dead += length->IsInteger() ? length->integer : 0;
  }
  return dead;
}

}  // namespace

std::vector<ChaosAction> ChaosSchedule(std::uint64_t seed, int seconds, int kills) {
  std::mt19937_64 random(seed);
  const int span_ms = seconds * 1000;
  const int first_ms = span_ms / 10;
  const int last_ms = span_ms * 8 / 10;
  std::vector<ChaosAction> actions;
  kills = std::max(kills, 10);
  std::vector<std::string> order;
  for (int i = 0; i < kills; ++i) {
    if (i % 5 == 0) {
      order = Services();
      std::shuffle(order.begin(), order.end(), random);
    }
    ChaosAction action;
    action.kind = ChaosAction::Kind::kKillService;
    action.service = order[static_cast<std::size_t>(i % 5)];
    action.at_ms = std::uniform_int_distribution<int>(first_ms, last_ms)(random);
    action.pause_ms = std::uniform_int_distribution<int>(100, 1500)(random);
    actions.push_back(action);
  }
  // The Redis steps in a drawn order, each in its own third of the middle, at least 8 s apart.
  std::vector<ChaosAction::Kind> redis_steps = {ChaosAction::Kind::kKillRedis,
                                                ChaosAction::Kind::kRestartRedis,
                                                ChaosAction::Kind::kFreezeRedis};
  std::shuffle(redis_steps.begin(), redis_steps.end(), random);
  const int third = (last_ms - first_ms) / 3;
  for (int i = 0; i < 3; ++i) {
    ChaosAction action;
    action.kind = redis_steps[static_cast<std::size_t>(i)];
    const int slack = std::max(0, third - 8000);
    action.at_ms = first_ms + i * third + std::uniform_int_distribution<int>(0, slack)(random);
    action.pause_ms = action.kind == ChaosAction::Kind::kFreezeRedis ? kFreezeMs
                      : action.kind == ChaosAction::Kind::kKillRedis
                          ? std::uniform_int_distribution<int>(200, 2000)(random)
                          : 0;
    actions.push_back(action);
  }
  std::stable_sort(actions.begin(), actions.end(),
                   [](const ChaosAction& a, const ChaosAction& b) { return a.at_ms < b.at_ms; });
  return actions;
}

std::string Describe(const ChaosAction& action) {
  switch (action.kind) {
    case ChaosAction::Kind::kKillService:
      return absl::StrFormat("kill -9 %s, back after %d ms", action.service, action.pause_ms);
    case ChaosAction::Kind::kKillRedis:
      return absl::StrFormat("kill -9 redis-server, back after %d ms", action.pause_ms);
    case ChaosAction::Kind::kRestartRedis:
      return "graceful restart of redis-server";
    case ChaosAction::Kind::kFreezeRedis:
      return absl::StrFormat("SIGSTOP redis-server for %d ms", action.pause_ms);
  }
  return "?";
}

absl::Status RunChaos(const ChaosOptions& options, std::ostream& out) {
  if (options.seconds < 30 || options.rate <= 0 || options.concurrency <= 0) {
    return absl::InvalidArgumentError(
        "chaos: --seconds must be at least 30 (the Redis steps are 8 s apart), --rate and "
        "--concurrency positive");
  }
  const std::uint64_t seed =
      options.seed != 0 ? options.seed : std::random_device()() | 1;  // Never 0.
  const std::vector<ChaosAction> schedule = ChaosSchedule(seed, options.seconds, options.kills);
  auto config = LoadStackConfig();
  if (!config.ok()) {
    return config.status();
  }
  const std::vector<std::string> grids = GridIds(*config->topology);
  const std::vector<std::string> categories = SpreadCategories(*config->policy);
  const std::vector<std::string>& subdistricts = config->topology->subdistrict_ids();
  const std::string& district = config->topology->root_id();
  out << absl::StrFormat(
      "grid-loadgen chaos: seed %d (repeat with --seed %d), %d s of reports at %g/s from %d "
      "callers; machine: %u cores\nschedule:\n",
      seed, seed, options.seconds, options.rate, options.concurrency, Cores());
  for (const ChaosAction& action : schedule) {
    out << absl::StrFormat("  %6.1f s  %s\n", action.at_ms / 1000.0, Describe(action));
  }

  testing::Stack::Options stack_options;
  stack_options.redis_args = {"--appendonly", "yes", "--appendfsync", "always"};
  stack_options.extra_args["grid-routing"] = {"--reclaim-idle-ms", "1000"};
  stack_options.extra_args["grid-metrics"] = {"--reclaim-idle-ms", "1000"};
  testing::Stack stack(stack_options);
  if (auto status = StartStack(stack, out); !status.ok()) {
    return status;
  }
  auto channel = GatewayChannel(stack.address("grid-gateway"));
  auto gateway = v1::GatewayService::NewStub(channel);
  const std::string run_id = absl::StrCat("chaos-", seed);
  const std::string token = stack.Token("grid-loadgen", v1::ROLE_OPERATOR, district);

  // The load: report i is due at start + i / rate while the loaded part lasts; each is retried
  // until acknowledged or until kRetryAfterLoad after the loaded part.
  Tally tally;
  const auto start = SteadyClock::now();
  const auto load_end = start + std::chrono::seconds(options.seconds);
  const auto retry_end = load_end + kRetryAfterLoad;
  const int planned = static_cast<int>(options.rate * options.seconds);
  std::vector<std::string> ids(static_cast<std::size_t>(planned));
  std::atomic<int> next{0};
  std::atomic<int> unacknowledged{0};
  const auto report = [&](int index, bool again) -> bool {
    const v1::ReportEventRequest request =
        DispatchReport(index, grids, categories, run_id, district);
    milliseconds backoff(50);
    while (SteadyClock::now() < retry_end) {
      v1::ReportEventResponse response;
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + kCallDeadline);
      context.AddMetadata("authorization", "Bearer " + token);
      tally.in_flight++;
      const grpc::Status status = gateway->ReportEvent(&context, request, &response);
      tally.in_flight--;
      if (status.ok()) {
        std::string& id = ids[static_cast<std::size_t>(index)];
        if (again && (!response.replayed() || response.event_id() != id)) {
          tally.Note(grpc::Status(
                         grpc::StatusCode::ALREADY_EXISTS,
                         absl::StrCat("request ", index, " again gave event ", response.event_id(),
                                      " (replayed ", response.replayed(), "), not ", id)),
                     "ReportEvent replay");
        }
        if (!again) {
          id = response.event_id();
        }
        return true;
      }
      if (!Retryable(status.error_code())) {
        tally.Note(status, absl::StrCat("ReportEvent ", index));
        if (status.error_code() != grpc::StatusCode::INTERNAL &&
            status.error_code() != grpc::StatusCode::UNKNOWN) {
          return false;  // A refusal: retrying would not change it.
        }
      }
      tally.retries++;
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, milliseconds(1000));
    }
    return false;
  };
  std::vector<std::thread> callers;
  for (int c = 0; c < options.concurrency; ++c) {
    callers.emplace_back([&] {
      for (int index = next++; index < planned; index = next++) {
        const auto due =
            start + std::chrono::microseconds(static_cast<long long>(1e6 * index / options.rate));
        if (due >= load_end) {
          break;
        }
        std::this_thread::sleep_until(due);
        (report(index, false) ? tally.acknowledged : unacknowledged)++;
      }
    });
  }

  // The schedule, on this thread (it started the stack's processes).
  int kills = 0;
  int kills_in_flight = 0;
  int redis_restarts = 0;
  int freezes = 0;
  absl::Status schedule_status;
  for (const ChaosAction& action : schedule) {
    std::this_thread::sleep_until(start + milliseconds(action.at_ms));
    if (action.kind == ChaosAction::Kind::kKillService) {
      // Land while reports are in flight: wait (briefly) for one.
      testing::PollUntil([&] { return tally.in_flight.load() > 0; }, milliseconds(2000),
                         milliseconds(1));
      kills_in_flight += tally.in_flight.load() > 0 ? 1 : 0;
    }
    const auto began = SteadyClock::now();
    const absl::Status status = Execute(stack, action);
    out << absl::StrFormat("  %6.1f s  %s: %s in %.1f s\n",
                           std::chrono::duration<double>(began - start).count(), Describe(action),
                           status.ok() ? "done" : std::string(status.message()).substr(0, 200),
                           std::chrono::duration<double>(SteadyClock::now() - began).count());
    if (!status.ok()) {
      schedule_status = status;
      break;
    }
    switch (action.kind) {
      case ChaosAction::Kind::kKillService:
        ++kills;
        break;
      case ChaosAction::Kind::kKillRedis:
      case ChaosAction::Kind::kRestartRedis:
        ++redis_restarts;
        break;
      case ChaosAction::Kind::kFreezeRedis:
        ++freezes;
        break;
    }
  }
  for (std::thread& caller : callers) {
    caller.join();
  }
  out << std::flush;

  // Every acknowledged report again: the same event, replayed.
  std::vector<std::string> acknowledged_ids;
  for (int index = 0; index < planned; ++index) {
    if (!ids[static_cast<std::size_t>(index)].empty()) {
      report(index, true);
    }
  }
  acknowledged_ids = ids;

  // Settle: every consumer group drained, every acknowledged event past REPORTED.
  std::string pending_where;
  long long pending = -1;
  StoreFindings findings;
  testing::PollUntil(
      [&] {
        auto backlog = ConsumerBacklog(stack.redis_client(), subdistricts);
        pending = backlog.ok() ? backlog->pending : -1;
        pending_where = backlog.ok() ? backlog->where : std::string(backlog.status().message());
        auto read = ReadStore(stack, subdistricts, run_id, acknowledged_ids);
        if (read.ok()) {
          findings = *read;
        }
        return pending == 0 && read.ok() && findings.undispatched == 0;
      },
      kSettleDeadline, milliseconds(500));

  // The metrics service counts what the store holds (it may lag a moment behind).
  long long metrics_reported = -1;
  long long metrics_open = -1;
  testing::PollUntil(
      [&] {
        v1::GetStatsRequest request;
        request.set_unit_id(district);
        request.set_last_days(2);  // The run may cross a local midnight.
        v1::GetStatsResponse response;
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + kCallDeadline);
        stack.Authorize(context, testing::Stack::Admin());
        const grpc::Status status = gateway->GetStats(&context, request, &response);
        if (!status.ok() || response.rows_size() != 1) {
          return false;
        }
        metrics_reported = response.rows(0).reported();
        metrics_open = response.rows(0).open();
        return metrics_reported == findings.events && metrics_open == findings.events;
      },
      milliseconds(30000), milliseconds(500));
  const int metrics_mismatch =
      metrics_reported == findings.events && metrics_open == findings.events ? 0 : 1;

  const int stuck = pending == 0 ? 0 : 1;
  auto dead_letters = DeadLetters(stack, subdistricts);
  const long long dead = dead_letters.ok() ? *dead_letters : -1;
  out << absl::StrFormat(
      "chaos summary: seed %d, kills %d (%d with reports in flight), redis restarts %d, "
      "freezes %d, acknowledged %d, unacknowledged %d, lost %d, doubled %d, undispatched %d, "
      "redispatched %d, stuck %s, dead letters %d, metrics %s, internal errors %d, other errors "
      "%d, "
      "retries %d\n",
      seed, kills, kills_in_flight, redis_restarts, freezes, tally.acknowledged.load(),
      unacknowledged.load(), findings.lost, findings.doubled, findings.undispatched,
      findings.redispatched, pending == 0 ? "0" : absl::StrCat(pending, " (", pending_where, ")"),
      dead,
      metrics_mismatch == 0 ? "= store"
                            : absl::StrFormat("reported %d open %d, store %d", metrics_reported,
                                              metrics_open, findings.events),
      tally.internal.load(), tally.unexpected.load(), tally.retries.load());
  if (!tally.first_internal.empty()) {
    out << "first internal error: " << tally.first_internal << "\n";
  }
  if (!tally.first_unexpected.empty()) {
    out << "first other error: " << tally.first_unexpected << "\n";
  }
  if (!findings.first_problem.empty()) {
    out << "first problem in the store: " << findings.first_problem << "\n";
  }
  out << std::flush;

  if (!schedule_status.ok()) {
    return absl::Status(schedule_status.code(),
                        absl::StrCat("chaos: the schedule stopped: ", schedule_status.message(),
                                     "\n", stack.Logs()));
  }
  const bool clean = unacknowledged == 0 && findings.lost == 0 && findings.doubled == 0 &&
                     findings.undispatched == 0 && findings.redispatched == 0 &&
                     findings.foreign == 0 && stuck == 0 && dead == 0 && metrics_mismatch == 0 &&
                     tally.internal == 0 && tally.unexpected == 0 && kills >= 10 &&
                     redis_restarts == 2 && freezes == 1 && tally.acknowledged > 0;
  if (!clean) {
    return absl::InternalError(
        absl::StrCat("chaos: the run was not clean (see the summary line); seed ", seed));
  }
  return absl::OkStatus();
}

}  // namespace grid::loadgen
