#include "services/routing/dead_letters.h"

#include <spdlog/spdlog.h>

#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/clock/clock.h"
#include "common/server/host.h"
#include "common/store/keys.h"
#include "common/store/stream_consumer.h"

namespace grid::store {
extern const std::string_view kReplayDeadLetterLua;
}  // namespace grid::store

namespace grid::routing {
namespace {

constexpr int kDefaultPage = 100;
constexpr int kMaxPage = 1000;

absl::Status Unavailable(const absl::StatusOr<redis::Reply>& reply, const std::string& what) {
  if (!reply.ok()) {
    return absl::UnavailableError(absl::StrCat(what, ": ", reply.status().message()));
  }
  return absl::UnavailableError(absl::StrCat(what, ": ", reply->DebugString()));
}

std::string Who(const v1::Actor& actor) {
  return actor.subject().empty() ? std::string("an unauthenticated caller")
                                 : absl::StrCat("\"", actor.subject(), "\"");
}

// Lists one subdistrict after another, a page in all.
struct ListRun : std::enable_shared_from_this<ListRun> {
  redis::Client& redis;
  std::vector<std::string> subdistricts;
  size_t index = 0;
  std::string after;
  int page = kDefaultPage;
  v1::ListDeadLettersResponse response;
  DeadLetterStore::Callback<v1::ListDeadLettersResponse> done;
  size_t counting = 0;
  bool failed = false;

  ListRun(redis::Client& redis, std::vector<std::string> subdistricts,
          DeadLetterStore::Callback<v1::ListDeadLettersResponse> done)
      : redis(redis), subdistricts(std::move(subdistricts)), done(std::move(done)) {}

  void Start() {
    counting = subdistricts.size();
    for (const std::string& sd : subdistricts) {
      redis.Command({"XLEN", store::DeadLetterStream(sd)},
                    [self = shared_from_this()](absl::StatusOr<redis::Reply> reply) {
                      if (self->failed) {
                        return;
                      }
                      if (!reply.ok() || !reply->IsInteger()) {
                        self->Fail(Unavailable(reply, "counting dead letters"));
                        return;
                      }
                      self->response.set_total(self->response.total() + reply->integer);
                      if (--self->counting == 0) {
                        self->Next();
                      }
                    });
    }
  }

  void Next() {
    const int want = page - response.dead_letters_size();
    if (index >= subdistricts.size() || want <= 0) {
      if (want <= 0 && response.dead_letters_size() > 0) {
        const v1::DeadLetter& last = response.dead_letters(response.dead_letters_size() - 1);
        response.set_next_page_token(absl::StrCat(last.subdistrict_id(), "|", last.id()));
      }
      done(std::move(response));
      return;
    }
    const std::string sd = subdistricts[index];
    redis.Command(
        {"XRANGE", store::DeadLetterStream(sd), after.empty() ? "-" : "(" + after, "+", "COUNT",
         std::to_string(want)},
        [self = shared_from_this(), sd, want](absl::StatusOr<redis::Reply> reply) {
          if (!reply.ok() || !reply->IsArray()) {
            self->Fail(Unavailable(reply, "reading dead letters"));
            return;
          }
          redis::Reply wrapped =
              redis::Reply::Array({redis::Reply::Array({redis::Reply::String(sd), *reply})});
          for (const store::StreamEntry& entry : store::ParseStreamReply(wrapped)) {
            *self->response.add_dead_letters() = ParseDeadLetter(sd, entry.id, entry.fields);
          }
          if (static_cast<int>(reply->elements.size()) < want) {
            ++self->index;
            self->after.clear();
          }
          self->Next();
        });
  }

  void Fail(absl::Status status) {
    failed = true;
    done(std::move(status));
  }
};

// Replays one dead letter after another.
struct ReplayRun : std::enable_shared_from_this<ReplayRun> {
  redis::Client& redis;
  const redis::Script& script;
  std::vector<std::pair<std::string, std::string>> letters;  // {subdistrict, id}
  size_t index = 0;
  v1::Actor actor;
  v1::ReplayDeadLettersResponse response;
  DeadLetterStore::Callback<v1::ReplayDeadLettersResponse> done;

  ReplayRun(redis::Client& redis, const redis::Script& script, v1::Actor actor,
            DeadLetterStore::Callback<v1::ReplayDeadLettersResponse> done)
      : redis(redis), script(script), actor(std::move(actor)), done(std::move(done)) {}

  void Next() {
    if (index == letters.size()) {
      done(std::move(response));
      return;
    }
    const auto [sd, id] = letters[index];
    const std::string dead = store::DeadLetterStream(sd);
    // The dead letter names its stream; the script checks it again inside its atomic step.
    redis.Command({"XRANGE", dead, id, id}, [self = shared_from_this(), sd = sd, id = id,
                                             dead](absl::StatusOr<redis::Reply> reply) {
      if (!reply.ok() || !reply->IsArray()) {
        self->done(Unavailable(reply, "reading a dead letter"));
        return;
      }
      if (reply->elements.empty()) {
        self->done(absl::NotFoundError(
            absl::StrCat("ids: no dead letter \"", id, "\" in subdistrict ", sd)));
        return;
      }
      redis::Reply wrapped =
          redis::Reply::Array({redis::Reply::Array({redis::Reply::String(dead), *reply})});
      const auto entries = store::ParseStreamReply(wrapped);
      const std::string stream = entries.empty() ? std::string() : entries[0].Field("stream");
      if (store::SubdistrictOfKey(stream) != sd) {
        self->done(
            absl::FailedPreconditionError(absl::StrCat("dead letter \"", id, "\" names stream \"",
                                                       stream, "\", not one of subdistrict ", sd)));
        return;
      }
      self->redis.Eval(self->script, {dead, stream}, {id},
                       [self, sd, id, stream](absl::StatusOr<redis::Reply> replayed) {
                         if (!replayed.ok() || replayed->IsError() || !replayed->IsString()) {
                           self->done(Unavailable(replayed, "replaying a dead letter"));
                           return;
                         }
                         spdlog::info("{} replayed dead letter {} of {} onto {} as entry {}",
                                      Who(self->actor), id, sd, stream, replayed->str);
                         v1::ReplayDeadLettersResponse::Replayed& out =
                             *self->response.add_replayed();
                         out.set_id(id);
                         out.set_subdistrict_id(sd);
                         out.set_stream(stream);
                         out.set_new_entry_id(replayed->str);
                         ++self->index;
                         self->Next();
                       });
    });
  }
};

// `text` with every byte that is not part of well-formed UTF-8 written as \xNN: string fields
// of a response must be UTF-8, and a reason may quote an entry's garbage.
std::string Utf8(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const auto byte = static_cast<unsigned char>(text[i]);
    size_t length = byte < 0x80           ? 1
                    : (byte >> 5) == 0x6  ? 2
                    : (byte >> 4) == 0xe  ? 3
                    : (byte >> 3) == 0x1e ? 4
                                          : 0;
    bool valid = length > 0 && i + length <= text.size();
    for (size_t k = 1; valid && k < length; ++k) {
      valid = (static_cast<unsigned char>(text[i + k]) >> 6) == 0x2;
    }
    if (valid) {
      out.append(text, i, length);
      i += length;
    } else {
      absl::StrAppend(&out, "\\x", absl::Hex(byte, absl::kZeroPad2));
      ++i;
    }
  }
  return out;
}

}  // namespace

v1::DeadLetter ParseDeadLetter(const std::string& subdistrict, const std::string& id,
                               const std::vector<std::pair<std::string, std::string>>& fields) {
  v1::DeadLetter letter;
  letter.set_id(id);
  letter.set_subdistrict_id(subdistrict);
  for (const auto& [name, value] : fields) {
    if (name.rfind("f:", 0) == 0) {
      v1::DeadLetterField& field = *letter.add_fields();
      field.set_name(name.substr(2));
      field.set_value(value);
    } else if (name == "stream") {
      letter.set_stream(Utf8(value));
    } else if (name == "group") {
      letter.set_group(Utf8(value));
    } else if (name == "entry") {
      letter.set_entry_id(Utf8(value));
    } else if (name == "class") {
      letter.set_reason_class(Utf8(value));
    } else if (name == "reason") {
      letter.set_reason(Utf8(value));
    } else if (name == "consumer") {
      letter.set_consumer(Utf8(value));
    } else if (name == "deliveries") {
      int64_t deliveries = 0;
      if (absl::SimpleAtoi(value, &deliveries)) {
        letter.set_deliveries(deliveries);
      }
    } else if (name == "at") {
      int64_t at = 0;
      if (absl::SimpleAtoi(value, &at)) {
        *letter.mutable_dead_at() = ToTimestamp(at);
      }
    }
  }
  return letter;
}

DeadLetterStore::DeadLetterStore(redis::Client& redis, const topology::Topology& topology)
    : redis_(redis),
      topology_(topology),
      replay_(redis::Script::FromSource(std::string(store::kReplayDeadLetterLua))) {}

absl::StatusOr<std::vector<std::string>> DeadLetterStore::Subdistricts(
    const std::string& unit_id) const {
  if (unit_id.empty() || unit_id == topology_.root_id()) {
    return topology_.subdistrict_ids();
  }
  const v1::Unit* unit = topology_.Find(unit_id);
  if (unit == nullptr || unit->kind() == v1::UNIT_KIND_DEPARTMENT ||
      unit->level() < v1::LEVEL_SUBDISTRICT) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unit_id: \"", unit_id, "\" is not a subdistrict (nor a district, city or province)"));
  }
  // A subdistrict itself, or every subdistrict of a district, city or province.
  std::vector<std::string> subdistricts;
  for (const std::string& sd : topology_.subdistrict_ids()) {
    if (topology_.InSubtree(sd, unit_id)) {
      subdistricts.push_back(sd);
    }
  }
  return subdistricts;
}

void DeadLetterStore::List(const v1::ListDeadLettersRequest& request,
                           Callback<v1::ListDeadLettersResponse> done) {
  if (request.page_size() < 0 || request.page_size() > kMaxPage) {
    done(absl::InvalidArgumentError(
        absl::StrCat("page_size: ", request.page_size(), " is not within 0..", kMaxPage)));
    return;
  }
  auto subdistricts = Subdistricts(request.unit_id());
  if (!subdistricts.ok()) {
    done(subdistricts.status());
    return;
  }
  auto run = std::make_shared<ListRun>(redis_, *std::move(subdistricts), std::move(done));
  run->page = request.page_size() == 0 ? kDefaultPage : request.page_size();
  if (!request.page_token().empty()) {
    const std::string& token = request.page_token();
    const auto bar = token.find('|');
    const std::string sd = token.substr(0, bar);
    size_t index = 0;
    while (index < run->subdistricts.size() && run->subdistricts[index] != sd) {
      ++index;
    }
    if (bar == std::string::npos || index == run->subdistricts.size() || bar + 1 == token.size()) {
      run->done(absl::InvalidArgumentError(
          absl::StrCat("page_token: \"", token, "\" is not from this listing")));
      return;
    }
    run->index = index;
    run->after = token.substr(bar + 1);
  }
  run->Start();
}

void DeadLetterStore::Replay(const v1::ReplayDeadLettersRequest& request,
                             Callback<v1::ReplayDeadLettersResponse> done) {
  if (request.all() == (request.ids_size() > 0)) {
    done(absl::InvalidArgumentError("ids: give the dead letters to replay, or all (not both)"));
    return;
  }
  auto subdistricts = Subdistricts(request.unit_id());
  if (!subdistricts.ok()) {
    done(subdistricts.status());
    return;
  }
  auto run = std::make_shared<ReplayRun>(redis_, replay_, request.actor(), std::move(done));
  if (!request.all()) {
    if (subdistricts->size() != 1) {
      run->done(absl::InvalidArgumentError("unit_id: the subdistrict of the ids is required"));
      return;
    }
    for (const std::string& id : request.ids()) {
      if (id.empty() || id.find_first_not_of("0123456789-") != std::string::npos) {
        run->done(absl::InvalidArgumentError(
            absl::StrCat("ids: \"", id, "\" is not a dead letter id (e.g. 1700000000000-0)")));
        return;
      }
      run->letters.emplace_back(subdistricts->front(), id);
    }
    run->Next();
    return;
  }
  // Every dead letter of the subdistricts, up to kMaxPage: listed first, then replayed.
  v1::ListDeadLettersRequest list;
  list.set_unit_id(request.unit_id());
  list.set_page_size(kMaxPage);
  List(list, [run](absl::StatusOr<v1::ListDeadLettersResponse> listed) {
    if (!listed.ok()) {
      run->done(listed.status());
      return;
    }
    for (const v1::DeadLetter& letter : listed->dead_letters()) {
      run->letters.emplace_back(letter.subdistrict_id(), letter.id());
    }
    run->Next();
  });
}

grpc::ServerUnaryReactor* DeadLetterServiceImpl::ListDeadLetters(
    grpc::CallbackServerContext* context, const v1::ListDeadLettersRequest* request,
    v1::ListDeadLettersResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  store_.List(*request, [reactor, response](absl::StatusOr<v1::ListDeadLettersResponse> listed) {
    if (listed.ok()) {
      *response = *std::move(listed);
    }
    reactor->Finish(server::ToGrpc(listed.status()));
  });
  return reactor;
}

grpc::ServerUnaryReactor* DeadLetterServiceImpl::ReplayDeadLetters(
    grpc::CallbackServerContext* context, const v1::ReplayDeadLettersRequest* request,
    v1::ReplayDeadLettersResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  store_.Replay(*request,
                [reactor, response](absl::StatusOr<v1::ReplayDeadLettersResponse> replayed) {
                  if (replayed.ok()) {
                    *response = *std::move(replayed);
                  }
                  reactor->Finish(server::ToGrpc(replayed.status()));
                });
  return reactor;
}

}  // namespace grid::routing
