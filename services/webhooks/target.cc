#include "services/webhooks/target.h"

#include <array>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace grid::webhooks {

absl::StatusOr<Url> ParseUrl(std::string_view url) {
  Url parsed;
  std::string_view rest = url;
  const std::string lower = absl::AsciiStrToLower(std::string(url.substr(0, 8)));
  if (lower.rfind("https://", 0) == 0) {
    parsed.tls = true;
    rest.remove_prefix(8);
  } else if (lower.rfind("http://", 0) == 0) {
    rest.remove_prefix(7);
  } else {
    return absl::InvalidArgumentError("must start with http:// or https://");
  }
  const size_t slash = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, slash);
  std::string_view target = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (target.find('#') != std::string_view::npos) {
    return absl::InvalidArgumentError("must not have a fragment");
  }
  for (const char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      return absl::InvalidArgumentError("must not contain spaces or control characters");
    }
  }
  if (authority.find('@') != std::string_view::npos) {
    return absl::InvalidArgumentError("must not carry user information");
  }
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return absl::InvalidArgumentError("unclosed [ in the host");
    }
    parsed.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return absl::InvalidArgumentError("unexpected text after the host");
      }
      port = after.substr(1);
    }
  } else {
    const size_t colon = authority.rfind(':');
    parsed.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
    }
  }
  if (parsed.host.empty()) {
    return absl::InvalidArgumentError("has no host");
  }
  parsed.port = parsed.tls ? 443 : 80;
  if (!port.empty() && (!absl::SimpleAtoi(std::string(port), &parsed.port) || parsed.port <= 0 ||
                        parsed.port > 65535)) {
    return absl::InvalidArgumentError(absl::StrCat("bad port \"", std::string(port), "\""));
  }
  if (target.empty() || target.front() != '/') {
    parsed.target.push_back('/');
  }
  parsed.target.append(target);
  return parsed;
}

namespace {

bool IsNonPublicV4(std::uint32_t a) {
  const auto in = [a](std::uint32_t net, int bits) {
    const std::uint32_t mask = bits == 0 ? 0 : ~std::uint32_t{0} << (32 - bits);
    return (a & mask) == net;
  };
  return in(0x00000000, 8) ||   // 0.0.0.0/8, "this network", the unspecified address
         in(0x0a000000, 8) ||   // 10/8
         in(0x64400000, 10) ||  // 100.64/10, shared (carrier-grade NAT)
         in(0x7f000000, 8) ||   // 127/8
         in(0xa9fe0000, 16) ||  // 169.254/16, link-local (cloud metadata)
         in(0xac100000, 12) ||  // 172.16/12
         in(0xc0a80000, 16) ||  // 192.168/16
         in(0xe0000000, 4) ||   // multicast
         in(0xf0000000, 4);     // reserved, broadcast
}

}  // namespace

bool IsNonPublic(const boost::asio::ip::address& address) {
  if (address.is_v4()) {
    return IsNonPublicV4(address.to_v4().to_uint());
  }
  const boost::asio::ip::address_v6 v6 = address.to_v6();
  const std::array<unsigned char, 16> b = v6.to_bytes();
  if (v6.is_unspecified() || v6.is_loopback() || v6.is_multicast()) {
    return true;
  }
  if ((b[0] & 0xfe) == 0xfc) {  // fc00::/7, unique local
    return true;
  }
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) {  // fe80::/10, link-local
    return true;
  }
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) {  // fec0::/10, the old site-local
    return true;
  }
  const auto embedded = [&b] {
    return (std::uint32_t{b[12]} << 24) | (std::uint32_t{b[13]} << 16) |
           (std::uint32_t{b[14]} << 8) | std::uint32_t{b[15]};
  };
  bool zeros_to_10 = true;
  for (int i = 0; i < 10; ++i) {
    zeros_to_10 = zeros_to_10 && b[i] == 0;
  }
  if (zeros_to_10 && ((b[10] == 0xff && b[11] == 0xff) || (b[10] == 0 && b[11] == 0))) {
    // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, deprecated): the IPv4 address decides.
    return IsNonPublicV4(embedded());
  }
  static constexpr std::array<unsigned char, 12> kNat64 = {0x00, 0x64, 0xff, 0x9b, 0, 0,
                                                           0,    0,    0,    0,    0, 0};
  if (std::equal(kNat64.begin(), kNat64.end(), b.begin())) {
    return IsNonPublicV4(embedded());
  }
  return false;
}

}  // namespace grid::webhooks
