#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace grid::redis {

// Redis Cluster's key space: every key belongs to one of kSlotCount hash slots, and every slot to
// one master. Pure functions over plain data, as the cluster defines them
// (https://redis.io/docs/reference/cluster-spec/#key-distribution-model).
inline constexpr int kSlotCount = 16384;
// CommandSlot's answer for a command without keys (PING, INFO, SCRIPT LOAD...): any master serves
// it.
inline constexpr int kNoSlot = -1;

// CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0), the checksum the cluster hashes keys
// with. Crc16("123456789") == 0x31C3.
std::uint16_t Crc16(std::string_view data);

// What the cluster hashes of `key`: its hash tag, what lies between the first '{' and the first
// '}' after it, if that is not empty; otherwise the whole key.
std::string_view HashTag(std::string_view key);

// The slot of `key`: CRC16 of its hash tag modulo kSlotCount. The hash tag is what lies between
// the first '{' and the first '}' after it, if that is not empty; otherwise the whole key. So
// "{user1000}.following" and "{user1000}.followers" share a slot, "foo{}{bar}" hashes whole and
// "foo{{bar}}zap" hashes "{bar".
int KeySlot(std::string_view key);

// The one slot every key of `keys` hashes to, kNoSlot for no keys; INVALID_ARGUMENT naming
// `command` and "CROSSSLOT" if they span slots (a cluster refuses such a command).
absl::StatusOr<int> KeysSlot(std::string_view command, const std::vector<std::string_view>& keys);

// Where the keys of `argv` (argv[0] is the command name, any case) are, and so which slot serves
// it: the slot, kNoSlot for a keyless command, or INVALID_ARGUMENT naming the command for a
// command outside the table (see slot.cc: the commands this codebase sends), one whose keys span
// slots (CROSSSLOT), or one too short to hold its keys.
//
// Keys are found by a small table, not by asking the server (COMMAND GETKEYS would cost a round
// trip per command): EVAL/EVALSHA count their keys; XREAD and XREADGROUP name theirs after
// STREAMS; XINFO, XGROUP and MEMORY USAGE after a subcommand; DEL, EXISTS, UNLINK and MGET take
// only keys; MSET alternates keys and values; the rest of the table has one key, argv[1].
absl::StatusOr<int> CommandSlot(const std::vector<std::string>& argv);

}  // namespace grid::redis
