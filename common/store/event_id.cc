#include "common/store/event_id.h"

#include <random>

namespace grid::store {
namespace {

constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr size_t kSuffixLength = 16;

bool IsCrockford(char c) {
  for (const char* p = kCrockford; *p != '\0'; ++p) {
    if (*p == c) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string NewEventId(std::string_view subdistrict, Millis now) {
  thread_local std::mt19937_64 random{std::random_device{}()};
  std::string id(subdistrict);
  id.push_back('-');
  char time_part[10];
  auto ms = static_cast<std::uint64_t>(now);
  for (int i = 9; i >= 0; --i) {
    time_part[i] = kCrockford[ms & 31];
    ms >>= 5;
  }
  id.append(time_part, 10);
  std::uint64_t bits = random();
  for (int i = 0; i < 6; ++i) {
    id.push_back(kCrockford[bits & 31]);
    bits >>= 5;
  }
  return id;
}

std::optional<std::string_view> SubdistrictOfEventId(std::string_view event_id) {
  const auto dash = event_id.find('-');
  if (dash == std::string_view::npos || dash == 0 || event_id.size() - dash - 1 != kSuffixLength) {
    return std::nullopt;
  }
  const std::string_view subdistrict = event_id.substr(0, dash);
  for (char c : subdistrict) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
  }
  for (char c : event_id.substr(dash + 1)) {
    if (!IsCrockford(c)) {
      return std::nullopt;
    }
  }
  return subdistrict;
}

}  // namespace grid::store
