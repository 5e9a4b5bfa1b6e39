#include "common/redis/slot.h"

#include <array>
#include <cstddef>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace grid::redis {
namespace {

constexpr std::array<std::uint16_t, 256> MakeCrc16Table() {
  std::array<std::uint16_t, 256> table{};
  for (unsigned i = 0; i < 256; ++i) {
    unsigned crc = i << 8;
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1;
    }
    table[i] = static_cast<std::uint16_t>(crc);
  }
  return table;
}

constexpr std::array<std::uint16_t, 256> kCrc16Table = MakeCrc16Table();

// Where a command's keys are.
enum class Keys {
  kNone,        // No key: any master serves it.
  kFirst,       // argv[1].
  kAll,         // argv[1..]: DEL a b c.
  kAlternate,   // argv[1], argv[3]...: MSET k1 v1 k2 v2.
  kSubcommand,  // argv[2], after a subcommand, if there is one: XINFO STREAM key; XINFO HELP.
  kEval,        // EVAL body numkeys key... arg...
  kStreams,     // The first half of what follows STREAMS: XREAD COUNT 10 STREAMS a b 0 0.
};

// The commands this codebase sends (grep common/, services/ and tools/ for Command({"), and their
// close relatives. A command outside the table is refused rather than guessed at: a wrong guess
// would send it to a master that answers MOVED at best, and runs it on the wrong data at worst.
//
// Left out on purpose: commands that answer for one node's share of the data (DBSIZE, KEYS,
// SCAN, FLUSHALL, RANDOMKEY), and WAIT, which waits for the writes of one connection. In a
// cluster they mean "on every master" or "on the master I wrote to": ClusterClient::ForEachMaster.
const absl::flat_hash_map<std::string_view, Keys>& CommandTable() {
  static const auto* table = new absl::flat_hash_map<std::string_view, Keys>{
      // Keyless.
      {"PING", Keys::kNone},
      {"ECHO", Keys::kNone},
      {"INFO", Keys::kNone},
      {"TIME", Keys::kNone},
      {"SCRIPT", Keys::kNone},
      {"CLUSTER", Keys::kNone},
      {"CONFIG", Keys::kNone},
      {"CLIENT", Keys::kNone},
      {"COMMAND", Keys::kNone},
      // Strings and keys.
      {"GET", Keys::kFirst},
      {"SET", Keys::kFirst},
      {"SETNX", Keys::kFirst},
      {"SETEX", Keys::kFirst},
      {"PSETEX", Keys::kFirst},
      {"GETSET", Keys::kFirst},
      {"GETDEL", Keys::kFirst},
      {"GETEX", Keys::kFirst},
      {"INCR", Keys::kFirst},
      {"INCRBY", Keys::kFirst},
      {"DECR", Keys::kFirst},
      {"DECRBY", Keys::kFirst},
      {"APPEND", Keys::kFirst},
      {"STRLEN", Keys::kFirst},
      {"EXPIRE", Keys::kFirst},
      {"PEXPIRE", Keys::kFirst},
      {"EXPIREAT", Keys::kFirst},
      {"PEXPIREAT", Keys::kFirst},
      {"PERSIST", Keys::kFirst},
      {"TTL", Keys::kFirst},
      {"PTTL", Keys::kFirst},
      {"TYPE", Keys::kFirst},
      {"DEL", Keys::kAll},
      {"UNLINK", Keys::kAll},
      {"EXISTS", Keys::kAll},
      {"TOUCH", Keys::kAll},
      {"MGET", Keys::kAll},
      {"MSET", Keys::kAlternate},
      {"MSETNX", Keys::kAlternate},
      {"MEMORY", Keys::kSubcommand},  // MEMORY USAGE key; MEMORY STATS.
      {"OBJECT", Keys::kSubcommand},  // OBJECT ENCODING key.
      // Hashes.
      {"HGET", Keys::kFirst},
      {"HSET", Keys::kFirst},
      {"HSETNX", Keys::kFirst},
      {"HMGET", Keys::kFirst},
      {"HMSET", Keys::kFirst},
      {"HDEL", Keys::kFirst},
      {"HGETALL", Keys::kFirst},
      {"HKEYS", Keys::kFirst},
      {"HVALS", Keys::kFirst},
      {"HLEN", Keys::kFirst},
      {"HEXISTS", Keys::kFirst},
      {"HINCRBY", Keys::kFirst},
      {"HSCAN", Keys::kFirst},
      // Sorted sets.
      {"ZADD", Keys::kFirst},
      {"ZREM", Keys::kFirst},
      {"ZINCRBY", Keys::kFirst},
      {"ZSCORE", Keys::kFirst},
      {"ZRANK", Keys::kFirst},
      {"ZCARD", Keys::kFirst},
      {"ZCOUNT", Keys::kFirst},
      {"ZRANGE", Keys::kFirst},
      {"ZRANGEBYSCORE", Keys::kFirst},
      {"ZREVRANGE", Keys::kFirst},
      {"ZREVRANGEBYSCORE", Keys::kFirst},
      {"ZREMRANGEBYSCORE", Keys::kFirst},
      {"ZPOPMIN", Keys::kFirst},
      {"ZSCAN", Keys::kFirst},
      // Lists and sets.
      {"LPUSH", Keys::kFirst},
      {"RPUSH", Keys::kFirst},
      {"LPOP", Keys::kFirst},
      {"RPOP", Keys::kFirst},
      {"LLEN", Keys::kFirst},
      {"LRANGE", Keys::kFirst},
      {"LTRIM", Keys::kFirst},
      {"LREM", Keys::kFirst},
      {"LINDEX", Keys::kFirst},
      {"SADD", Keys::kFirst},
      {"SREM", Keys::kFirst},
      {"SMEMBERS", Keys::kFirst},
      {"SISMEMBER", Keys::kFirst},
      {"SCARD", Keys::kFirst},
      {"SSCAN", Keys::kFirst},
      // Geo.
      {"GEOADD", Keys::kFirst},
      {"GEOSEARCH", Keys::kFirst},
      {"GEOPOS", Keys::kFirst},
      {"GEODIST", Keys::kFirst},
      // Streams.
      {"XADD", Keys::kFirst},
      {"XACK", Keys::kFirst},
      {"XDEL", Keys::kFirst},
      {"XLEN", Keys::kFirst},
      {"XRANGE", Keys::kFirst},
      {"XREVRANGE", Keys::kFirst},
      {"XTRIM", Keys::kFirst},
      {"XCLAIM", Keys::kFirst},
      {"XAUTOCLAIM", Keys::kFirst},
      {"XPENDING", Keys::kFirst},
      {"XSETID", Keys::kFirst},
      {"XINFO", Keys::kSubcommand},
      {"XGROUP", Keys::kSubcommand},
      {"XREAD", Keys::kStreams},
      {"XREADGROUP", Keys::kStreams},
      // Scripts.
      {"EVAL", Keys::kEval},
      {"EVALSHA", Keys::kEval},
      {"EVAL_RO", Keys::kEval},
      {"EVALSHA_RO", Keys::kEval},
  };
  return *table;
}

// absl here is built with a string_view of its own.
absl::string_view View(std::string_view s) { return absl::string_view(s.data(), s.size()); }

absl::Status TooShort(std::string_view command) {
  return absl::InvalidArgumentError(
      absl::StrCat(View(command), ": too few arguments to find its keys for the cluster"));
}

// The keys of XREAD/XREADGROUP: options until STREAMS, then as many keys as ids.
absl::StatusOr<std::vector<std::string_view>> StreamKeys(const std::vector<std::string>& argv) {
  const std::string_view command = argv[0];
  size_t i = 1;
  while (i < argv.size() && !absl::EqualsIgnoreCase(argv[i], "STREAMS")) {
    if (absl::EqualsIgnoreCase(argv[i], "GROUP")) {
      i += 3;  // GROUP group consumer: the names may be any word, "streams" too.
    } else if (absl::EqualsIgnoreCase(argv[i], "COUNT") ||
               absl::EqualsIgnoreCase(argv[i], "BLOCK")) {
      i += 2;
    } else if (absl::EqualsIgnoreCase(argv[i], "NOACK")) {
      i += 1;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat(View(command), ": unknown option before STREAMS: ", argv[i]));
    }
  }
  const size_t rest = i < argv.size() ? argv.size() - i - 1 : 0;
  if (rest == 0 || rest % 2 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(View(command), ": STREAMS must be followed by keys and as many ids"));
  }
  return std::vector<std::string_view>(
      argv.begin() + static_cast<std::ptrdiff_t>(i + 1),
      argv.begin() + static_cast<std::ptrdiff_t>(i + 1 + rest / 2));
}

absl::StatusOr<std::vector<std::string_view>> CommandKeys(const std::vector<std::string>& argv) {
  const std::string command = absl::AsciiStrToUpper(argv[0]);
  const auto& table = CommandTable();
  const auto it = table.find(command);
  if (it == table.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat(argv[0], ": not a command the cluster client knows the keys of"));
  }
  switch (it->second) {
    case Keys::kNone:
      return std::vector<std::string_view>{};
    case Keys::kFirst:
      if (argv.size() < 2) {
        return TooShort(argv[0]);
      }
      return std::vector<std::string_view>{argv[1]};
    case Keys::kAll:
      if (argv.size() < 2) {
        return TooShort(argv[0]);
      }
      return std::vector<std::string_view>(argv.begin() + 1, argv.end());
    case Keys::kAlternate: {
      if (argv.size() < 3 || argv.size() % 2 != 1) {
        return TooShort(argv[0]);
      }
      std::vector<std::string_view> keys;
      for (size_t i = 1; i < argv.size(); i += 2) {
        keys.push_back(argv[i]);
      }
      return keys;
    }
    case Keys::kSubcommand:
      if (argv.size() < 3) {
        return std::vector<std::string_view>{};  // XINFO HELP, MEMORY STATS.
      }
      return std::vector<std::string_view>{argv[2]};
    case Keys::kEval: {
      long long count = 0;
      if (argv.size() < 3 || !absl::SimpleAtoi(argv[2], &count) || count < 0 ||
          static_cast<unsigned long long>(count) > argv.size() - 3) {
        return absl::InvalidArgumentError(
            absl::StrCat(argv[0], ": the number of keys is not a count of the arguments"));
      }
      return std::vector<std::string_view>(argv.begin() + 3,
                                           argv.begin() + 3 + static_cast<std::ptrdiff_t>(count));
    }
    case Keys::kStreams:
      return StreamKeys(argv);
  }
  return TooShort(argv[0]);
}

}  // namespace

std::uint16_t Crc16(std::string_view data) {
  std::uint16_t crc = 0;
  for (const char c : data) {
    crc = static_cast<std::uint16_t>(
        (crc << 8) ^ kCrc16Table[((crc >> 8) ^ static_cast<unsigned char>(c)) & 0xff]);
  }
  return crc;
}

std::string_view HashTag(std::string_view key) {
  const size_t open = key.find('{');
  if (open == std::string_view::npos) {
    return key;
  }
  const size_t close = key.find('}', open + 1);
  if (close == std::string_view::npos || close == open + 1) {
    return key;
  }
  return key.substr(open + 1, close - open - 1);
}

int KeySlot(std::string_view key) { return Crc16(HashTag(key)) & (kSlotCount - 1); }

absl::StatusOr<int> KeysSlot(std::string_view command, const std::vector<std::string_view>& keys) {
  if (keys.empty()) {
    return kNoSlot;
  }
  const int slot = KeySlot(keys.front());
  for (size_t i = 1; i < keys.size(); ++i) {
    const int other = KeySlot(keys[i]);
    if (other != slot) {
      return absl::InvalidArgumentError(
          absl::StrCat(View(command), ": keys in different slots (CROSSSLOT): '",
                       View(keys.front()), "' in slot ", slot, ", '", View(keys[i]), "' in slot ",
                       other, "; a hash tag ({...}) puts keys in one slot"));
    }
  }
  return slot;
}

absl::StatusOr<int> CommandSlot(const std::vector<std::string>& argv) {
  if (argv.empty()) {
    return absl::InvalidArgumentError("empty redis command");
  }
  absl::StatusOr<std::vector<std::string_view>> keys = CommandKeys(argv);
  if (!keys.ok()) {
    return keys.status();
  }
  return KeysSlot(argv[0], *keys);
}

}  // namespace grid::redis
