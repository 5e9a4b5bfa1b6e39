#include "services/webhooks/admin.h"

#include <google/protobuf/util/time_util.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/server/host.h"
#include "common/server/stream_groups.h"
#include "services/webhooks/signature.h"
#include "services/webhooks/webhook_keys.h"

namespace grid::store {
extern const std::string_view kWebhookRedeliverLua;
}  // namespace grid::store

namespace grid::webhooks {
namespace {

absl::Status Unavailable(const absl::StatusOr<redis::Reply>& reply, const std::string& what) {
  return absl::UnavailableError(absl::StrCat(
      what, ": ", reply.ok() ? reply->DebugString() : std::string(reply.status().message())));
}

std::string JsonString(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
    }
    if (static_cast<unsigned char>(c) >= 0x20) {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

std::string Who(const v1::Actor& actor) {
  return actor.subject().empty() ? std::string("an unauthenticated caller")
                                 : absl::StrCat("\"", actor.subject(), "\"");
}

google::protobuf::Duration DurationOfMillis(Millis ms) {
  return google::protobuf::util::TimeUtil::MillisecondsToDuration(ms);
}

// The receivers a status call is about, in name order: enabled and disabled ones together.
std::vector<const Receiver*> Configured(const Receivers& receivers) {
  std::vector<const Receiver*> all;
  for (const auto& [name, receiver] : receivers.all()) {
    all.push_back(&receiver);
  }
  for (const auto& [name, receiver] : receivers.disabled()) {
    all.push_back(&receiver);
  }
  std::sort(all.begin(), all.end(), [](const Receiver* a, const Receiver* b) {
    return a->config.name() < b->config.name();
  });
  return all;
}

absl::Status UnknownReceiver(const std::string& name) {
  return absl::NotFoundError(
      absl::StrCat("receiver: no receiver \"", name, "\" in the webhooks configuration"));
}

// One status call: three reads per receiver and subdistrict, answered when the last is in.
struct StatusRun {
  v1::GetWebhookStatusResponse response;
  // Per receiver in `response`: the oldest queued change's time (UTC ms), 0 when none.
  std::vector<Millis> oldest;
  int pending = 0;
  bool failed = false;
  Millis now = 0;
  WebhookAdmin::Callback<v1::GetWebhookStatusResponse> done;

  void Finish() {
    for (int i = 0; i < response.receivers_size(); ++i) {
      if (oldest[i] > 0) {
        *response.mutable_receivers(i)->mutable_oldest_undelivered_age() =
            DurationOfMillis(std::max<Millis>(0, now - oldest[i]));
      }
    }
    done(std::move(response));
  }
  void Fail(absl::Status status) {
    if (!failed) {
      failed = true;
      done(std::move(status));
    }
  }
  // One read came back; the answer goes when every one has.
  void Landed() {
    if (--pending == 0 && !failed) {
      Finish();
    }
  }
};

// One redelivery: subdistrict after subdistrict, batch after batch.
struct RedeliverRun : std::enable_shared_from_this<RedeliverRun> {
  RedeliverRun(redis::Client& redis, const redis::Script& script, Webhooks& webhooks)
      : redis(redis), script(script), webhooks(webhooks) {}

  redis::Client& redis;
  const redis::Script& script;
  Webhooks& webhooks;
  std::string receiver;
  std::vector<std::string> subdistricts;
  size_t index = 0;
  std::string after = "-";
  // 0: no limit.
  std::int64_t limit = 0;
  int max_queue = 0;
  v1::Actor actor;
  v1::RedeliverWebhooksResponse response;
  WebhookAdmin::Callback<v1::RedeliverWebhooksResponse> done;

  void Next() {
    if (index == subdistricts.size()) {
      if (response.redelivered() > 0) {
        spdlog::info("{} redelivered {} dead letter(s) of webhook receiver {} ({} left)",
                     Who(actor), response.redelivered(), receiver, response.remaining());
      }
      return done(std::move(response));
    }
    std::int64_t want = kRedeliverBatch;
    if (limit > 0) {
      want = std::min<std::int64_t>(want, limit - response.redelivered());
    }
    const std::string sd = subdistricts[index];
    if (want <= 0) {
      // The limit is reached: what is left here is counted, nothing more moved.
      return redis.Command(
          {"XLEN", DeadLetterKey(sd, receiver)},
          [self = shared_from_this()](absl::StatusOr<redis::Reply> reply) {
            if (!reply.ok() || !reply->IsInteger()) {
              return self->done(Unavailable(reply, "counting dead letters"));
            }
            self->response.set_remaining(self->response.remaining() + reply->integer);
            ++self->index;
            self->Next();
          });
    }
    redis.Eval(script, {DeadLetterKey(sd, receiver), QueueKey(sd, receiver)},
               {std::to_string(want), after, std::to_string(max_queue)},
               [self = shared_from_this(), sd, want](absl::StatusOr<redis::Reply> reply) {
                 self->OnBatch(sd, want, std::move(reply));
               });
  }

  void OnBatch(const std::string& sd, std::int64_t want, absl::StatusOr<redis::Reply> reply) {
    if (!reply.ok() || !reply->IsArray() || reply->elements.size() != 5) {
      // What earlier batches moved stays moved (each batch is whole); the caller retries the rest.
      if (response.redelivered() > 0) {
        spdlog::warn("{}: redelivery of webhook receiver {} stopped after {} dead letter(s)",
                     Who(actor), receiver, response.redelivered());
        webhooks.Notify(receiver, sd);
      }
      return done(Unavailable(reply, "redelivering dead letters"));
    }
    const std::int64_t moved = reply->elements[0].integer;
    const std::int64_t looked = reply->elements[1].integer;
    const std::string last = reply->elements[2].str;
    const std::int64_t left = reply->elements[3].integer;
    const bool full = reply->elements[4].integer == 1;
    response.set_redelivered(response.redelivered() + moved);
    if (moved > 0) {
      webhooks.Notify(receiver, sd);
    }
    if (!last.empty()) {
      after = last;
    }
    const bool more_here = !full && looked == want && left > 0;
    if (more_here && (limit == 0 || response.redelivered() < limit)) {
      return Next();
    }
    response.set_remaining(response.remaining() + left);
    ++index;
    after = "-";
    Next();
  }
};

}  // namespace

std::string RedactedUrl(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) {
    return std::string(url);
  }
  const size_t start = scheme + 3;
  const size_t end = std::min(url.find_first_of("/?#", start), url.size());
  const size_t at = url.substr(start, end - start).rfind('@');
  if (at == std::string_view::npos) {
    return std::string(url);
  }
  return absl::StrCat(std::string(url.substr(0, start)), std::string(url.substr(start + at + 1)));
}

std::string PingBody(const v1::WebhookReceiver& receiver, Millis at) {
  return absl::StrCat("{\"ping\":{\"receiver\":", JsonString(receiver.name()),
                      ",\"unit_id\":", JsonString(receiver.unit_id()), ",\"at\":\"",
                      google::protobuf::util::TimeUtil::ToString(ToTimestamp(at)), "\"}}");
}

absl::Status CheckRedeliver(const v1::RedeliverWebhooksRequest& request,
                            const topology::Topology& topology) {
  if (request.receiver().empty()) {
    return absl::InvalidArgumentError("receiver: required");
  }
  if (request.limit() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("limit: ", request.limit(), " is negative (0 for every dead letter)"));
  }
  if (!request.subdistrict_id().empty()) {
    const auto& ids = topology.subdistrict_ids();
    if (std::find(ids.begin(), ids.end(), request.subdistrict_id()) == ids.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("subdistrict_id: \"", request.subdistrict_id(), "\" is not a subdistrict"));
    }
  }
  return absl::OkStatus();
}

WebhookAdmin::WebhookAdmin(boost::asio::io_context& io, redis::Client& redis,
                           const topology::Topology& topology, const Clock& clock,
                           Webhooks& webhooks)
    : io_(io),
      redis_(redis),
      topology_(topology),
      clock_(clock),
      webhooks_(webhooks),
      redeliver_(redis::Script::FromSource(std::string(store::kWebhookRedeliverLua))) {}

void WebhookAdmin::Status(const v1::GetWebhookStatusRequest& request,
                          Callback<v1::GetWebhookStatusResponse> done) {
  boost::asio::post(io_, [this, name = request.receiver(), done = std::move(done)]() mutable {
    const ReceiversPtr receivers = webhooks_.receivers();
    std::vector<const Receiver*> chosen;
    if (name.empty()) {
      chosen = Configured(*receivers);
    } else if (const Receiver* one = receivers->FindConfigured(name); one != nullptr) {
      chosen.push_back(one);
    } else {
      return done(UnknownReceiver(name));
    }
    auto run = std::make_shared<StatusRun>();
    run->done = std::move(done);
    run->now = clock_.Now();
    run->response.set_active(webhooks_.active());
    run->oldest.assign(chosen.size(), 0);
    const auto& subdistricts = topology_.subdistrict_ids();
    run->pending = static_cast<int>(chosen.size() * subdistricts.size() * 3);
    for (size_t i = 0; i < chosen.size(); ++i) {
      const v1::WebhookReceiver& config = chosen[i]->config;
      v1::WebhookStatus& status = *run->response.add_receivers();
      status.set_name(config.name());
      status.set_unit_id(config.unit_id());
      status.set_url(RedactedUrl(config.url()));
      status.set_disabled(config.disabled());
      status.set_retrying(webhooks_.retrying(config.name()));
      if (const ReceiverActivity* activity = webhooks_.activity(config.name());
          activity != nullptr) {
        status.set_delivered(activity->delivered);
        status.set_failed(activity->failed);
        status.set_last_error(activity->last_error);
        if (activity->last_error_at > 0) {
          *status.mutable_last_error_at() = ToTimestamp(activity->last_error_at);
        }
        if (activity->last_success_at > 0) {
          *status.mutable_last_success_at() = ToTimestamp(activity->last_success_at);
        }
      }
      for (const std::string& sd : subdistricts) {
        redis_.Command({"XLEN", QueueKey(sd, config.name())},
                       [run, i](absl::StatusOr<redis::Reply> reply) {
                         if (!reply.ok() || !reply->IsInteger()) {
                           return run->Fail(Unavailable(reply, "counting a webhook queue"));
                         }
                         auto& status = *run->response.mutable_receivers(static_cast<int>(i));
                         status.set_queued(status.queued() + reply->integer);
                         run->Landed();
                       });
        redis_.Command({"XLEN", DeadLetterKey(sd, config.name())},
                       [run, i](absl::StatusOr<redis::Reply> reply) {
                         if (!reply.ok() || !reply->IsInteger()) {
                           return run->Fail(Unavailable(reply, "counting webhook dead letters"));
                         }
                         auto& status = *run->response.mutable_receivers(static_cast<int>(i));
                         status.set_dead_letters(status.dead_letters() + reply->integer);
                         run->Landed();
                       });
        // The queue's head: its change's time, or when it was queued (its id).
        redis_.Command({"XRANGE", QueueKey(sd, config.name()), "-", "+", "COUNT", "1"},
                       [run, i](absl::StatusOr<redis::Reply> reply) {
                         if (!reply.ok() || !reply->IsArray()) {
                           return run->Fail(Unavailable(reply, "reading a webhook queue"));
                         }
                         if (!reply->elements.empty() && reply->elements[0].IsArray() &&
                             reply->elements[0].elements.size() == 2) {
                           const redis::Reply& entry = reply->elements[0];
                           Millis at = server::StreamIdMillis(entry.elements[0].str).value_or(0);
                           const auto& fields = entry.elements[1].elements;
                           for (size_t f = 0; f + 1 < fields.size(); f += 2) {
                             v1::EventChange change;
                             if (fields[f].str == "c" &&
                                 change.ParseFromString(fields[f + 1].str) && change.has_at()) {
                               at = FromTimestamp(change.at());
                             }
                           }
                           Millis& oldest = run->oldest[i];
                           if (at > 0 && (oldest == 0 || at < oldest)) {
                             oldest = at;
                           }
                         }
                         run->Landed();
                       });
      }
    }
    if (run->pending == 0) {
      run->Finish();
    }
  });
}

void WebhookAdmin::Test(const v1::TestWebhookRequest& request,
                        Callback<v1::TestWebhookResponse> done) {
  if (request.receiver().empty()) {
    return done(absl::InvalidArgumentError("receiver: required"));
  }
  boost::asio::post(io_, [this, name = request.receiver(), actor = request.actor(),
                          done = std::move(done)]() mutable {
    const ReceiversPtr receivers = webhooks_.receivers();
    const Receiver* receiver = receivers->FindConfigured(name);
    if (receiver == nullptr) {
      return done(UnknownReceiver(name));
    }
    const Millis now = clock_.Now();
    std::string body = PingBody(receiver->config, now);
    HttpPoster::Headers headers = {
        {"X-Grid-Event", "ping"},
        {"X-Grid-Signature", SignatureHeader(receiver->config.secret(), now / 1000, body)},
        {"X-Grid-Idempotency-Key", absl::StrCat("ping:", now)},
        {"X-Grid-Receiver", name},
    };
    spdlog::info("{} pings webhook receiver {}", Who(actor), name);
    const auto started = std::chrono::steady_clock::now();
    webhooks_.poster().Post(
        receiver->url, receiver->config.allow_private(), headers, std::move(body),
        [url = RedactedUrl(receiver->config.url()), started,
         done = std::move(done)](PostResult result) {
          v1::TestWebhookResponse response;
          response.set_http_status(result.status);
          response.set_error(result.error);
          response.set_url(url);
          *response.mutable_latency() =
              DurationOfMillis(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now() - started)
                                   .count());
          done(std::move(response));
        });
  });
}

void WebhookAdmin::Redeliver(const v1::RedeliverWebhooksRequest& request,
                             Callback<v1::RedeliverWebhooksResponse> done) {
  if (absl::Status checked = CheckRedeliver(request, topology_); !checked.ok()) {
    return done(std::move(checked));
  }
  boost::asio::post(io_, [this, request, done = std::move(done)]() mutable {
    if (webhooks_.receivers()->FindConfigured(request.receiver()) == nullptr) {
      return done(UnknownReceiver(request.receiver()));
    }
    auto run = std::make_shared<RedeliverRun>(redis_, redeliver_, webhooks_);
    run->receiver = request.receiver();
    if (request.subdistrict_id().empty()) {
      run->subdistricts = topology_.subdistrict_ids();
    } else {
      run->subdistricts = {request.subdistrict_id()};
    }
    run->limit = request.limit();
    run->max_queue = webhooks_.options().handoff.max_queue;
    run->actor = request.actor();
    run->done = std::move(done);
    run->Next();
  });
}

namespace {

template <class Response>
WebhookAdmin::Callback<Response> Finishing(grpc::ServerUnaryReactor* reactor, Response* response) {
  return [reactor, response](absl::StatusOr<Response> answer) {
    if (answer.ok()) {
      *response = *std::move(answer);
    }
    reactor->Finish(server::ToGrpc(answer.status()));
  };
}

}  // namespace

grpc::ServerUnaryReactor* WebhooksServiceImpl::GetWebhookStatus(
    grpc::CallbackServerContext* context, const v1::GetWebhookStatusRequest* request,
    v1::GetWebhookStatusResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  admin_.Status(*request, Finishing(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* WebhooksServiceImpl::TestWebhook(grpc::CallbackServerContext* context,
                                                           const v1::TestWebhookRequest* request,
                                                           v1::TestWebhookResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  admin_.Test(*request, Finishing(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* WebhooksServiceImpl::RedeliverWebhooks(
    grpc::CallbackServerContext* context, const v1::RedeliverWebhooksRequest* request,
    v1::RedeliverWebhooksResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  admin_.Redeliver(*request, Finishing(reactor, response));
  return reactor;
}

}  // namespace grid::webhooks
