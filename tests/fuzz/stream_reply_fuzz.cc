// Replies from Redis as the services take them apart: bytes of the RESP protocol through
// hiredis's reader (as the client's connection reads them), redis::ReplyFromHiredis, and then the
// stream parsers: store::ParseStreamReply (every consumer group's XREADGROUP) and the watch hub's
// live_stream::ParseEntries, of an XREAD reply ([[stream, entries], ...]) and of an XRANGE reply
// (entries), with each entry's payload parsed as the EventChange the hub expects. Whatever the
// shape, nothing reads out of bounds.
#include <google/protobuf/stubs/logging.h>
#include <hiredis/hiredis.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "common/redis/reply.h"
#include "common/store/stream_consumer.h"
#include "grid/v1/event.pb.h"
#include "services/gateway/live_stream.h"

namespace {

void TakeApart(const grid::redis::Reply& reply) {
  (void)reply.DebugString();
  (void)reply.ErrorStatus();
  (void)reply.AsString();
  (void)reply.AsInteger();
  for (const grid::store::StreamEntry& entry : grid::store::ParseStreamReply(reply)) {
    (void)entry.Field("c");
    (void)entry.Field("event_id");
  }
  std::vector<grid::gateway::live_stream::Entry> entries;
  for (std::size_t i = 0; i < reply.elements.size(); ++i) {
    const grid::redis::Reply& stream = reply.elements[i];
    if (stream.elements.size() == 2) {
      grid::gateway::live_stream::ParseEntries(i, stream.elements[1], entries);
    }
  }
  grid::gateway::live_stream::ParseEntries(0, reply, entries);
  for (const grid::gateway::live_stream::Entry& entry : entries) {
    grid::v1::EventChange change;
    (void)change.ParseFromString(entry.payload);
  }
}

}  // namespace

// Protobuf logs every string field it refuses for invalid UTF-8; at thousands of inputs a second
// that logging would be most of the fuzzer's work (its fatal messages still abort).
extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

// Debian's hiredis 0.14 allocates whatever element count an array header claims ("*154775808")
// before reading a single element; hiredis 1.x bounds it (maxelements). Redis is trusted, so the
// target leaves such claims out rather than time out inside hiredis: a run of a few seconds in CI
// must not fail on a known limit of the library.
static bool ClaimsAHugeArray(const std::uint8_t* data, std::size_t size) {
  constexpr long long kMaxElements = 1 << 16;
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] != '*') {
      continue;
    }
    long long count = 0;
    for (std::size_t j = i + 1; j < size && data[j] >= '0' && data[j] <= '9'; ++j) {
      count = count * 10 + (data[j] - '0');
      if (count > kMaxElements) {
        return true;
      }
    }
  }
  return false;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (ClaimsAHugeArray(data, size)) {
    return 0;
  }
  std::unique_ptr<redisReader, void (*)(redisReader*)> reader(redisReaderCreate(), redisReaderFree);
  if (redisReaderFeed(reader.get(), reinterpret_cast<const char*>(data), size) != REDIS_OK) {
    return 0;
  }
  void* raw = nullptr;
  while (redisReaderGetReply(reader.get(), &raw) == REDIS_OK && raw != nullptr) {
    std::unique_ptr<redisReply, void (*)(void*)> reply(static_cast<redisReply*>(raw),
                                                       freeReplyObject);
    raw = nullptr;
    TakeApart(grid::redis::ReplyFromHiredis(*reply));
  }
  return 0;
}
