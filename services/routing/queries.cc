#include "services/routing/queries.h"

#include <google/protobuf/util/time_util.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/policy/deadlines.h"
#include "common/redis/reply.h"
#include "common/store/event_id.h"
#include "common/store/keys.h"
#include "common/topology/jurisdiction.h"
#include "services/routing/queue_order.h"

namespace grid::routing {
namespace {

using google::protobuf::util::TimeUtil;
using redis::Reply;
using Replies = std::vector<Reply>;
using Command = std::vector<std::string>;

// At most this many commands of one CommandAll wait for replies at once: the Redis client takes
// only so many (20,000 by default), and a department's queue can be longer.
constexpr std::size_t kCommandChunk = 2000;

// Issues the commands a chunk at a time (each chunk at once, so that it shares one pipeline),
// and calls `done` once, after the last reply: with all the replies in order, or with the first
// failure (an error reply is a failure too, mapped by redis::StatusOf, so that no list is
// answered short; the chunks after a failure are not sent). With no commands, calls `done`
// inline. The caller must not touch state shared with `done` after the call: when issued from
// outside the client's thread, the replies may all arrive before it returns.
void CommandAll(redis::Client& client, std::vector<Command> commands,
                std::function<void(absl::StatusOr<Replies>)> done) {
  if (commands.empty()) {
    done(Replies());
    return;
  }
  struct Gather : std::enable_shared_from_this<Gather> {
    redis::Client* client = nullptr;
    std::vector<Command> commands;
    Replies replies;
    std::size_t sent = 0;
    std::size_t remaining = 0;
    absl::Status status;
    std::function<void(absl::StatusOr<Replies>)> done;

    void SendChunk() {
      const std::size_t first = sent;
      const std::size_t last = std::min(commands.size(), first + kCommandChunk);
      sent = last;
      remaining = last - first;
      // The client runs its callbacks one at a time: Gather needs no lock.
      for (std::size_t i = first; i < last; ++i) {
        client->Command(std::move(commands[i]),
                        [self = shared_from_this(), i](absl::StatusOr<Reply> result) {
                          self->Answered(i, std::move(result));
                        });
      }
    }

    void Answered(std::size_t i, absl::StatusOr<Reply> result) {
      absl::StatusOr<Reply> reply = redis::Checked(std::move(result));
      if (!reply.ok()) {
        if (status.ok()) {
          status = reply.status();
        }
      } else {
        replies[i] = std::move(*reply);
      }
      if (--remaining > 0) {
        return;
      }
      if (status.ok() && sent < commands.size()) {
        SendChunk();
        return;
      }
      auto finish = std::move(done);
      if (status.ok()) {
        finish(std::move(replies));
      } else {
        finish(status);
      }
    }
  };
  auto gather = std::make_shared<Gather>();
  gather->client = &client;
  gather->commands = std::move(commands);
  gather->replies.resize(gather->commands.size());
  gather->done = std::move(done);
  gather->SendChunk();
}

// The event in the reply to HGET <event key> pb; nullopt when the record is gone.
absl::StatusOr<std::optional<v1::Event>> ParseEvent(const Reply& reply, const std::string& id) {
  if (reply.IsNil()) {
    return std::optional<v1::Event>();
  }
  if (absl::Status status = reply.Expect(Reply::Type::kString); !status.ok()) {
    return status;
  }
  v1::Event event;
  if (!event.ParseFromString(reply.str)) {
    return absl::DataLossError(absl::StrCat("event \"", id, "\": stored record is corrupt"));
  }
  return std::optional<v1::Event>(std::move(event));
}

absl::StatusOr<std::size_t> PageSize(std::int32_t requested) {
  if (requested < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size: must not be negative, got ", requested));
  }
  if (requested == 0) {
    return static_cast<std::size_t>(kDefaultPageSize);
  }
  return std::min<std::size_t>(requested, kMaxPageSize);
}

// The subdistricts whose shards hold the queue or the events of `unit_id`.
std::vector<std::string> ShardsOf(const topology::Topology& topology, std::string_view unit_id) {
  return topology.ShardsOf(unit_id);
}

// Page tokens are "<tag>|<field>|...", URL-safe base64: opaque to callers, and a tag per list so
// that a token of one list is malformed for the other.
constexpr char kQueueTokenTag[] = "q1";
constexpr char kEventsTokenTag[] = "e1";

std::string EncodeToken(const std::string& text) { return absl::WebSafeBase64Escape(text); }

// The `fields` fields of a token with `tag`; nullopt when it is not one. The last field may
// contain '|'.
std::optional<std::vector<std::string>> DecodeToken(const std::string& token, const char* tag,
                                                    int fields) {
  std::string text;
  if (!absl::WebSafeBase64Unescape(token, &text)) {
    return std::nullopt;
  }
  std::vector<std::string> parts = absl::StrSplit(text, absl::MaxSplits('|', fields));
  if (static_cast<int>(parts.size()) != fields + 1 || parts[0] != tag) {
    return std::nullopt;
  }
  parts.erase(parts.begin());
  return parts;
}

absl::Status MalformedToken() {
  return absl::InvalidArgumentError("page_token: malformed; pass a next_page_token unchanged");
}

// ---- ListEvents ----

// A place in the event list: by creation time, newest first, then by id, greatest first (the
// order of ZREVRANGEBYSCORE within one shard).
struct Position {
  Millis ms = 0;
  std::string id;
};

// True when `a` comes before `b` in the list.
bool Before(const Position& a, const Position& b) {
  return a.ms != b.ms ? a.ms > b.ms : a.id > b.id;
}

// FNV-1a of the request's filters, so that a token is only honoured by the filters it was issued
// for. Stable across processes (unlike absl::Hash), so any replica can continue a walk.
std::uint64_t FiltersFingerprint(const v1::ListEventsRequest& request) {
  v1::ListEventsRequest filters = request;
  filters.clear_page_size();
  filters.clear_page_token();
  std::uint64_t hash = 14695981039346656037ull;
  for (const char c : filters.SerializeAsString()) {
    hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  }
  return hash;
}

std::string EventsToken(const Position& position, std::uint64_t fingerprint) {
  return EncodeToken(absl::StrCat(kEventsTokenTag, "|", position.ms, "|", position.id, "|",
                                  absl::Hex(fingerprint, absl::kZeroPad16)));
}

absl::StatusOr<Position> ParseEventsToken(const std::string& token, std::uint64_t fingerprint) {
  auto parts = DecodeToken(token, kEventsTokenTag, 3);
  Position position;
  if (!parts || !absl::SimpleAtoi((*parts)[0], &position.ms) ||
      !store::SubdistrictOfEventId((*parts)[1])) {
    return MalformedToken();
  }
  position.id = std::move((*parts)[1]);
  if ((*parts)[2] != absl::StrCat(absl::Hex(fingerprint, absl::kZeroPad16))) {
    return absl::InvalidArgumentError(
        "page_token: issued for other filters; a token continues only the list it came from");
  }
  return position;
}

struct Filters {
  std::string unit_id;
  std::string subdistrict_id;
  std::string category_prefix;
  std::vector<int> states;
  std::vector<int> levels;
  std::optional<Millis> reported_after;
  std::optional<Millis> reported_before;
  std::optional<bool> supervised;
  int min_severity = v1::SEVERITY_UNSPECIFIED;
};

bool Matches(const Filters& filters, const topology::Topology& topology, const v1::Event& event) {
  if (!filters.subdistrict_id.empty() && event.subdistrict_id() != filters.subdistrict_id) {
    return false;
  }
  if (!filters.states.empty() && std::find(filters.states.begin(), filters.states.end(),
                                           event.state()) == filters.states.end()) {
    return false;
  }
  if (!filters.levels.empty() && std::find(filters.levels.begin(), filters.levels.end(),
                                           event.level()) == filters.levels.end()) {
    return false;
  }
  if (!absl::StartsWith(event.category(), filters.category_prefix)) {
    return false;
  }
  if (filters.supervised && event.supervised() != *filters.supervised) {
    return false;
  }
  if (event.severity() < filters.min_severity) {
    return false;
  }
  const Millis reported = FromTimestamp(event.reported_at());
  if (filters.reported_after && reported < *filters.reported_after) {
    return false;
  }
  if (filters.reported_before && reported >= *filters.reported_before) {
    return false;
  }
  // Jurisdiction's one rule: the event's grid or the unit that has it now.
  if (!filters.unit_id.empty() && !topology::EventInSubtree(topology, event, filters.unit_id)) {
    return false;
  }
  return true;
}

// One ListEvents call: walks the shards' time indexes down from the start position, merging
// them, until the page is full, every shard is read to the end of the range, or a shard reached
// its bound of candidates.
//
// Each round either fetches a chunk of ids for every shard whose buffer ran dry, or takes the
// next candidates in merged order and reads their records (one pipeline per round). The batch of
// candidates grows with what was examined, so a selective filter needs few rounds.
//
// Runs on the Redis client's thread after Run(), which is called once from the caller's thread.
class ListEventsCall final : public std::enable_shared_from_this<ListEventsCall> {
 public:
  ListEventsCall(redis::Client& client, const topology::Topology& topology, const Clock& clock,
                 Filters filters, const std::vector<std::string>& subdistricts,
                 std::optional<Position> start, std::size_t page_size, int bound,
                 std::uint64_t fingerprint, const policy::WorkingCalendar* calendar,
                 EventQueries::Callback<v1::ListEventsResponse> done)
      : calendar_(calendar),
        client_(client),
        topology_(topology),
        clock_(clock),
        filters_(std::move(filters)),
        page_size_(page_size),
        bound_(bound),
        fingerprint_(fingerprint),
        done_(std::move(done)),
        last_examined_(std::move(start)) {
    // The index scores are created_at, and created_at >= reported_at (intake clamps reported_at
    // to the filing time), so reported_after bounds the walk from below.
    min_score_ =
        filters_.reported_after ? absl::StrCat(*filters_.reported_after) : std::string("-inf");
    for (const std::string& subdistrict : subdistricts) {
      Shard& shard = shards_.emplace_back();
      shard.subdistrict = subdistrict;
      shard.key = store::EventsIndexKey(subdistrict);
      shard.fetched_to = last_examined_;
    }
  }

  void Run() { Step(); }

 private:
  const policy::WorkingCalendar* calendar_;

 public:
 private:
  // The smallest fetch of ids, so that a small page over several shards still reads in chunks.
  static constexpr std::size_t kMinFetch = 32;

  struct Shard {
    std::string subdistrict;
    std::string key;
    // Every entry at or before this position is in the buffer, was taken, or precedes the start.
    std::optional<Position> fetched_to;
    // How many entries the last fetch saw at fetched_to's millisecond: the next fetch starts at
    // that millisecond again (scores are inclusive) and skips them.
    std::size_t ties = 0;
    // Fetched, not yet taken; in list order.
    std::deque<Position> buffer;
    // No more entries after fetched_to within the range.
    bool exhausted = false;
    // Candidates taken for examination in this call; at most bound_.
    std::size_t taken = 0;
  };

  struct Candidate {
    Position position;
    std::size_t shard;
  };

  // How many candidates the next round should look at: what the page still lacks, or, once a
  // filter has turned candidates away, as many as were examined so far (doubling each round).
  std::size_t Target() const { return std::max(page_size_ - results_.size(), examined_); }

  bool AllRead() const {
    return std::all_of(shards_.begin(), shards_.end(),
                       [](const Shard& s) { return s.exhausted && s.buffer.empty(); });
  }

  void Step() {
    std::vector<std::size_t> dry;
    for (std::size_t i = 0; i < shards_.size(); ++i) {
      const Shard& shard = shards_[i];
      if (shard.buffer.empty() && !shard.exhausted && shard.taken < bound_) {
        dry.push_back(i);
      }
    }
    if (!dry.empty()) {
      Fetch(std::move(dry));
      return;
    }
    // Take candidates in merged order while every shard's next entry is known: a shard with an
    // empty buffer that is not exhausted needs a fetch first, or has reached its bound.
    std::vector<Candidate> batch;
    const std::size_t target = Target();
    while (batch.size() < target) {
      std::optional<std::size_t> next;
      bool unknown = false;
      for (std::size_t i = 0; i < shards_.size() && !unknown; ++i) {
        const Shard& shard = shards_[i];
        if (shard.buffer.empty()) {
          unknown = !shard.exhausted;
        } else if (!next || Before(shard.buffer.front(), shards_[*next].buffer.front())) {
          next = i;
        }
      }
      if (unknown || !next) {
        break;
      }
      Shard& shard = shards_[*next];
      batch.push_back({std::move(shard.buffer.front()), *next});
      shard.buffer.pop_front();
      ++shard.taken;
    }
    if (!batch.empty()) {
      Examine(std::move(batch));
      return;
    }
    // Nothing can be taken: either every shard is read to the end, or a shard reached its bound
    // (and has taken, so examined, candidates: the walk has a position to continue from).
    const bool more = !AllRead();
    if (more && !last_examined_) {
      spdlog::critical("ListEvents: a shard reached its bound with nothing examined");
      std::abort();
    }
    Finish(more);
  }

  void Fetch(std::vector<std::size_t> dry) {
    std::vector<Command> commands;
    std::vector<std::size_t> counts;
    const std::size_t chunk = std::max(Target(), kMinFetch);
    for (const std::size_t i : dry) {
      const Shard& shard = shards_[i];
      const std::size_t count = std::min(bound_ - shard.taken, chunk) + shard.ties;
      counts.push_back(count);
      commands.push_back({"ZREVRANGEBYSCORE", shard.key,
                          shard.fetched_to ? absl::StrCat(shard.fetched_to->ms) : "+inf",
                          min_score_, "WITHSCORES", "LIMIT", "0", absl::StrCat(count)});
    }
    CommandAll(client_, std::move(commands),
               [self = shared_from_this(), dry = std::move(dry),
                counts = std::move(counts)](absl::StatusOr<Replies> replies) {
                 if (!replies.ok()) {
                   self->done_(replies.status());
                   return;
                 }
                 for (std::size_t k = 0; k < dry.size(); ++k) {
                   absl::Status status =
                       self->Buffer(self->shards_[dry[k]], (*replies)[k], counts[k]);
                   if (!status.ok()) {
                     self->done_(status);
                     return;
                   }
                 }
                 self->Step();
               });
  }

  // Adds the entries of a ZREVRANGEBYSCORE ... WITHSCORES LIMIT 0 `count` reply that come after
  // fetched_to to the shard's (empty) buffer.
  static absl::Status Buffer(Shard& shard, const Reply& reply, std::size_t count) {
    if (absl::Status status = reply.Expect(Reply::Type::kArray); !status.ok()) {
      return status;
    }
    if (reply.elements.size() % 2 != 0) {
      return absl::InternalError("redis: ZREVRANGEBYSCORE WITHSCORES: odd number of elements");
    }
    std::vector<Position> entries(reply.elements.size() / 2);
    for (std::size_t j = 0; j < entries.size(); ++j) {
      double score = 0;
      if (!absl::SimpleAtod(reply.elements[2 * j + 1].str, &score)) {
        return absl::InternalError("redis: ZREVRANGEBYSCORE WITHSCORES: a score is not a number");
      }
      entries[j].id = reply.elements[2 * j].str;
      entries[j].ms = static_cast<Millis>(score);
    }
    shard.exhausted = entries.size() < count;
    // The fetch starts at fetched_to's millisecond, inclusive: what it saw already comes first.
    std::size_t first = 0;
    while (first < entries.size() && shard.fetched_to &&
           !Before(*shard.fetched_to, entries[first])) {
      ++first;
    }
    if (first < entries.size()) {
      shard.fetched_to = entries.back();
    }
    shard.ties = 0;
    if (shard.fetched_to) {
      shard.ties = static_cast<std::size_t>(
          std::count_if(entries.begin(), entries.end(),
                        [&](const Position& entry) { return entry.ms == shard.fetched_to->ms; }));
    }
    std::move(entries.begin() + first, entries.end(), std::back_inserter(shard.buffer));
    return absl::OkStatus();
  }

  void Examine(std::vector<Candidate> batch) {
    std::vector<Command> reads;
    reads.reserve(batch.size());
    for (const Candidate& candidate : batch) {
      reads.push_back({"HGET",
                       store::EventKey(shards_[candidate.shard].subdistrict, candidate.position.id),
                       "pb"});
    }
    CommandAll(client_, std::move(reads),
               [self = shared_from_this(), batch = std::move(batch)](
                   absl::StatusOr<Replies> replies) { self->Judge(batch, replies); });
  }

  void Judge(const std::vector<Candidate>& batch, const absl::StatusOr<Replies>& replies) {
    if (!replies.ok()) {
      done_(replies.status());
      return;
    }
    const Millis now = clock_.Now();
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (results_.size() == page_size_) {
        // Candidates of this batch are left unexamined.
        Finish(true);
        return;
      }
      last_examined_ = batch[i].position;
      ++examined_;
      auto event = ParseEvent((*replies)[i], batch[i].position.id);
      if (!event.ok()) {
        done_(event.status());
        return;
      }
      if (!event->has_value() || !Matches(filters_, topology_, **event)) {
        continue;
      }
      (*event)->set_traffic_light(
          policy::TrafficLightAt((*event)->deadlines(), (*event)->state(), now, calendar_));
      results_.push_back(std::move(**event));
    }
    if (results_.size() == page_size_) {
      Finish(!AllRead());
      return;
    }
    Step();
  }

  void Finish(bool more) {
    v1::ListEventsResponse response;
    response.mutable_events()->Reserve(static_cast<int>(results_.size()));
    for (v1::Event& event : results_) {
      *response.add_events() = std::move(event);
    }
    if (more) {
      response.set_next_page_token(EventsToken(*last_examined_, fingerprint_));
    }
    done_(std::move(response));
  }

  redis::Client& client_;
  const topology::Topology& topology_;
  const Clock& clock_;
  const Filters filters_;
  const std::size_t page_size_;
  const std::size_t bound_;
  const std::uint64_t fingerprint_;
  EventQueries::Callback<v1::ListEventsResponse> done_;
  std::string min_score_;
  std::vector<Shard> shards_;
  // The walk's position: the last candidate examined, or the token's position.
  std::optional<Position> last_examined_;
  std::size_t examined_ = 0;
  std::vector<v1::Event> results_;
};

absl::StatusOr<std::optional<Millis>> TimeFilter(bool has, const google::protobuf::Timestamp& ts,
                                                 const char* field) {
  if (!has) {
    return std::optional<Millis>();
  }
  if (ts.seconds() < TimeUtil::kTimestampMinSeconds ||
      ts.seconds() > TimeUtil::kTimestampMaxSeconds || ts.nanos() < 0 || ts.nanos() > 999'999'999) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": not a valid timestamp"));
  }
  return std::optional<Millis>(FromTimestamp(ts));
}

}  // namespace

EventQueries::EventQueries(redis::Client& client, const topology::Topology& topology,
                           const Clock& clock)
    : EventQueries(client, topology, clock, Options()) {}

EventQueries::EventQueries(redis::Client& client, const topology::Topology& topology,
                           const Clock& clock, Options options)
    : client_(client), topology_(topology), clock_(clock), options_(options) {
  options_.max_candidates_per_shard = std::max(options_.max_candidates_per_shard, 1);
}

void EventQueries::ListUnitQueue(const v1::ListUnitQueueRequest& request,
                                 Callback<v1::ListUnitQueueResponse> done) {
  const std::string& unit_id = request.unit_id();
  if (unit_id.empty()) {
    done(absl::InvalidArgumentError("unit_id: required"));
    return;
  }
  if (topology_.Find(unit_id) == nullptr) {
    done(absl::NotFoundError(absl::StrCat("unit_id: unknown unit \"", unit_id, "\"")));
    return;
  }
  absl::StatusOr<std::size_t> page_size = PageSize(request.page_size());
  if (!page_size.ok()) {
    done(page_size.status());
    return;
  }
  std::uint64_t offset = 0;
  if (!request.page_token().empty()) {
    auto parts = DecodeToken(request.page_token(), kQueueTokenTag, 2);
    if (!parts || !absl::SimpleAtoi((*parts)[0], &offset)) {
      done(MalformedToken());
      return;
    }
    if ((*parts)[1] != unit_id) {
      done(absl::InvalidArgumentError(
          "page_token: issued for another unit_id; a token continues only the list it came from"));
      return;
    }
  }

  std::vector<std::string> shards = ShardsOf(topology_, unit_id);
  std::vector<Command> ranges;
  for (const std::string& subdistrict : shards) {
    ranges.push_back({"ZRANGE", store::QueueKey(subdistrict, unit_id), "0", "-1"});
  }
  auto read_events = [&client = client_, &clock = clock_, calendar = options_.calendar,
                      shards = std::move(shards), unit = std::string(unit_id),
                      page_size = *page_size, offset,
                      done = std::move(done)](absl::StatusOr<Replies> queues) mutable {
    if (!queues.ok()) {
      done(queues.status());
      return;
    }
    std::vector<std::string> ids;
    std::vector<Command> reads;
    for (std::size_t i = 0; i < queues->size(); ++i) {
      Reply& queue = (*queues)[i];
      if (absl::Status status = queue.Expect(Reply::Type::kArray); !status.ok()) {
        done(status);
        return;
      }
      for (Reply& member : queue.elements) {
        reads.push_back({"HGET", store::EventKey(shards[i], member.str), "pb"});
        ids.push_back(std::move(member.str));
      }
    }
    auto order = [&clock, calendar, ids = std::move(ids), unit = std::move(unit), page_size, offset,
                  done = std::move(done)](absl::StatusOr<Replies> records) {
      if (!records.ok()) {
        done(records.status());
        return;
      }
      std::vector<v1::Event> events;
      events.reserve(records->size());
      for (std::size_t i = 0; i < records->size(); ++i) {
        auto event = ParseEvent((*records)[i], ids[i]);
        if (!event.ok()) {
          done(event.status());
          return;
        }
        if (event->has_value()) {
          events.push_back(std::move(**event));
        }
      }
      std::vector<v1::QueueItem> items = OrderQueue(std::move(events), clock.Now(), calendar);
      const std::size_t begin = std::min<std::uint64_t>(offset, items.size());
      const std::size_t end = begin + std::min(page_size, items.size() - begin);
      v1::ListUnitQueueResponse response;
      response.mutable_items()->Reserve(static_cast<int>(end - begin));
      for (std::size_t i = begin; i < end; ++i) {
        *response.add_items() = std::move(items[i]);
      }
      if (end < items.size()) {
        response.set_next_page_token(
            EncodeToken(absl::StrCat(kQueueTokenTag, "|", end, "|", unit)));
      }
      done(std::move(response));
    };
    CommandAll(client, std::move(reads), std::move(order));
  };
  CommandAll(client_, std::move(ranges), std::move(read_events));
}

void EventQueries::ListEvents(const v1::ListEventsRequest& request,
                              Callback<v1::ListEventsResponse> done) {
  absl::StatusOr<std::size_t> page_size = PageSize(request.page_size());
  if (!page_size.ok()) {
    done(page_size.status());
    return;
  }
  Filters filters;
  std::vector<std::string> shards = topology_.subdistrict_ids();
  if (!request.subdistrict_id().empty()) {
    const v1::Unit* subdistrict = topology_.Find(request.subdistrict_id());
    if (subdistrict == nullptr || subdistrict->level() != v1::LEVEL_SUBDISTRICT) {
      done(absl::NotFoundError(
          absl::StrCat("subdistrict_id: unknown subdistrict \"", request.subdistrict_id(), "\"")));
      return;
    }
    filters.subdistrict_id = request.subdistrict_id();
    shards = {request.subdistrict_id()};
  }
  if (!request.unit_id().empty()) {
    if (topology_.Find(request.unit_id()) == nullptr) {
      done(absl::NotFoundError(absl::StrCat("unit_id: unknown unit \"", request.unit_id(), "\"")));
      return;
    }
    filters.unit_id = request.unit_id();
    // Within the subdistrict filter, if any: a unit of another subdistrict (or district) leaves
    // no shard.
    const std::vector<std::string> own = topology_.ShardsOf(request.unit_id());
    std::erase_if(shards, [&own](const std::string& s) {
      return std::find(own.begin(), own.end(), s) == own.end();
    });
  }
  auto after = TimeFilter(request.has_reported_after(), request.reported_after(), "reported_after");
  auto before =
      TimeFilter(request.has_reported_before(), request.reported_before(), "reported_before");
  if (!after.ok() || !before.ok()) {
    done(!after.ok() ? after.status() : before.status());
    return;
  }
  if (*after && *before && **after > **before) {
    done(absl::InvalidArgumentError("reported_after: must not be later than reported_before"));
    return;
  }
  filters.reported_after = *after;
  filters.reported_before = *before;
  // An unknown enum number (a client built from a newer contract, or a typo) would match
  // nothing: say so rather than answer an empty list.
  for (int i = 0; i < request.states_size(); ++i) {
    const int state = request.states(i);
    if (state == v1::EVENT_STATE_UNSPECIFIED || !v1::EventState_IsValid(state)) {
      done(absl::InvalidArgumentError(
          absl::StrCat("states[", i, "]: ", state, " is not an event state")));
      return;
    }
  }
  for (int i = 0; i < request.levels_size(); ++i) {
    const int level = request.levels(i);
    // Events never sit above the district (LEVEL_CITY and LEVEL_PROVINCE only watch).
    if (level <= v1::LEVEL_UNSPECIFIED || level > v1::LEVEL_DISTRICT) {
      done(absl::InvalidArgumentError(absl::StrCat(
          "levels[", i, "]: ", level, " is not a level of events (LEVEL_GRID to LEVEL_DISTRICT)")));
      return;
    }
  }
  // The same rule as WatchEvents' (SEVERITY_UNSPECIFIED: any severity).
  if (!v1::Severity_IsValid(request.min_severity())) {
    done(absl::InvalidArgumentError(
        absl::StrCat("min_severity: ", request.min_severity(), " is not a severity")));
    return;
  }
  filters.min_severity = request.min_severity();
  if (request.has_supervised()) {
    filters.supervised = request.supervised();
  }
  filters.states.assign(request.states().begin(), request.states().end());
  filters.levels.assign(request.levels().begin(), request.levels().end());
  filters.category_prefix = request.category_prefix();

  const std::uint64_t fingerprint = FiltersFingerprint(request);
  std::optional<Position> start;
  if (!request.page_token().empty()) {
    absl::StatusOr<Position> position = ParseEventsToken(request.page_token(), fingerprint);
    if (!position.ok()) {
      done(position.status());
      return;
    }
    start = std::move(*position);
  }
  if (shards.empty()) {
    done(v1::ListEventsResponse());
    return;
  }
  auto call = std::make_shared<ListEventsCall>(
      client_, topology_, clock_, std::move(filters), shards, std::move(start), *page_size,
      options_.max_candidates_per_shard, fingerprint, options_.calendar, std::move(done));
  call->Run();
}

}  // namespace grid::routing
