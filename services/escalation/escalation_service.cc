#include "services/escalation/escalation_service.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/lifecycle/escalation.h"
#include "common/lifecycle/state_machine.h"
#include "common/policy/deadlines.h"
#include "common/redis/reply.h"
#include "common/server/host.h"
#include "common/store/keys.h"
#include "common/store/timers.h"
#include "common/topology/jurisdiction.h"

namespace grid::escalation {
namespace {

constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 500;
// Overdue lists read at most this many candidates per subdistrict.
constexpr int kMaxCandidates = 5000;

}  // namespace

EscalationServiceImpl::EscalationServiceImpl(redis::Client& redis, store::EventStore& store,
                                             const topology::Topology& topology,
                                             const policy::Policy& policy, const Clock& clock)
    : redis_(redis),
      store_(store),
      topology_(topology),
      policy_(policy),
      clock_(clock),
      runner_(store, clock, policy.calendar()) {}

grpc::ServerUnaryReactor* EscalationServiceImpl::EscalateEvent(
    grpc::CallbackServerContext* context, const v1::EscalateEventRequest* request,
    v1::EscalateEventResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  runner_.Run(
      request->event_id(), request->expected_version(),
      [this, request](const v1::Event& event, Millis now) -> absl::StatusOr<store::Move> {
        if (auto held = lifecycle::CheckHandlerHoldsEvent(request->actor(), event); !held.ok()) {
          return held;
        }
        return lifecycle::Escalate(
            event, {topology_, policy_.ForUnit(topology_, event.grid_id()), now, request->actor()},
            request->reason());
      },
      [reactor, response](absl::StatusOr<v1::Event> event) {
        if (event.ok()) {
          *response->mutable_event() = *std::move(event);
        }
        reactor->Finish(server::ToGrpc(event.status()));
      });
  return reactor;
}

grpc::ServerUnaryReactor* EscalationServiceImpl::SuperviseEvent(
    grpc::CallbackServerContext* context, const v1::SuperviseEventRequest* request,
    v1::SuperviseEventResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const Millis limit = google::protobuf::util::TimeUtil::DurationToMilliseconds(request->limit());
  runner_.Run(
      request->event_id(), 0,
      [this, request, limit](const v1::Event& event, Millis now) {
        return lifecycle::Supervise(
            event, {topology_, policy_.ForUnit(topology_, event.grid_id()), now, request->actor()},
            request->note(), limit);
      },
      [reactor, response](absl::StatusOr<v1::Event> event) {
        if (event.ok()) {
          *response->mutable_event() = *std::move(event);
        }
        reactor->Finish(server::ToGrpc(event.status()));
      });
  return reactor;
}

grpc::ServerUnaryReactor* EscalationServiceImpl::ListOverdueEvents(
    grpc::CallbackServerContext* context, const v1::ListOverdueEventsRequest* request,
    v1::ListOverdueEventsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const std::string root = request->unit_id().empty() ? topology_.root_id() : request->unit_id();
  if (topology_.Find(root) == nullptr) {
    reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND,
                                 absl::StrCat("unit_id: unknown unit \"", root, "\"")));
    return reactor;
  }
  if (request->page_size() < 0) {
    reactor->Finish(
        grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "page_size: must not be negative"));
    return reactor;
  }
  int offset = 0;
  if (!request->page_token().empty() &&
      (!absl::SimpleAtoi(request->page_token(), &offset) || offset < 0)) {
    reactor->Finish(
        grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "page_token: not a token of this list"));
    return reactor;
  }
  const int page_size =
      std::min(request->page_size() == 0 ? kDefaultPageSize : request->page_size(), kMaxPageSize);
  std::vector<std::string> shards = topology_.ShardsOf(root);

  // Candidates: overdue at DISTRICT level, and timers already due (limits just passed).
  struct Gather {
    std::vector<std::string> ids;
    size_t left = 0;
    std::vector<v1::Event> events;
    size_t fetching = 0;
    // The first failure: the list is not answered short because a read failed.
    absl::Status status;
  };
  auto gather = std::make_shared<Gather>();
  gather->left = shards.size() * 2;
  const Millis now = clock_.Now();
  auto finish = [this, reactor, response, root, offset, page_size, gather, now]() {
    if (!gather->status.ok()) {
      reactor->Finish(server::ToGrpc(gather->status));
      return;
    }
    std::vector<v1::Event> overdue;
    for (v1::Event& event : gather->events) {
      const Millis deadline = store::RunningDeadline(event);
      if (deadline > 0 && deadline <= now && topology::EventInSubtree(topology_, event, root)) {
        event.set_traffic_light(v1::TRAFFIC_LIGHT_RED);
        overdue.push_back(std::move(event));
      }
    }
    std::sort(overdue.begin(), overdue.end(), [](const v1::Event& a, const v1::Event& b) {
      const Millis da = store::RunningDeadline(a);
      const Millis db = store::RunningDeadline(b);
      return da != db ? da < db : a.id() < b.id();
    });
    const size_t end = std::min(overdue.size(), static_cast<size_t>(offset + page_size));
    for (size_t i = offset; i < end; ++i) {
      *response->add_events() = std::move(overdue[i]);
    }
    if (end < overdue.size()) {
      response->set_next_page_token(std::to_string(end));
    }
    reactor->Finish(grpc::Status::OK);
  };
  auto fetch_all = [this, gather, finish]() {
    if (!gather->status.ok()) {
      finish();
      return;
    }
    std::sort(gather->ids.begin(), gather->ids.end());
    gather->ids.erase(std::unique(gather->ids.begin(), gather->ids.end()), gather->ids.end());
    if (gather->ids.empty()) {
      finish();
      return;
    }
    gather->fetching = gather->ids.size();
    for (const std::string& id : gather->ids) {
      store_.Get(id, [gather, finish](absl::StatusOr<std::optional<v1::Event>> event) {
        if (!event.ok()) {
          gather->status.Update(event.status());
        } else if (event->has_value()) {
          gather->events.push_back(**event);
        }
        if (--gather->fetching == 0) {
          finish();
        }
      });
    }
  };
  auto collect = [gather, fetch_all](absl::StatusOr<redis::Reply> result) {
    absl::StatusOr<redis::Reply> reply = redis::Checked(std::move(result));
    if (reply.ok()) {
      gather->status.Update(reply->Expect(redis::Reply::Type::kArray));
    } else {
      gather->status.Update(reply.status());
    }
    if (gather->status.ok()) {
      for (const redis::Reply& id : reply->elements) {
        gather->ids.push_back(id.str);
      }
    }
    if (--gather->left == 0) {
      fetch_all();
    }
  };
  for (const std::string& sd : shards) {
    redis_.Command({"ZRANGE", store::OverdueKey(sd), "0", std::to_string(kMaxCandidates - 1)},
                   collect);
    redis_.Command({"ZRANGEBYSCORE", store::TimersKey(sd), "-inf", std::to_string(now), "LIMIT",
                    "0", std::to_string(kMaxCandidates)},
                   collect);
  }
  return reactor;
}

}  // namespace grid::escalation
