// Where a webhook goes: the receiver's URL, and which addresses it may resolve to. Pure
// functions; safe from any thread.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace grid::webhooks {

struct Url {
  bool tls = false;
  // Without brackets for an IPv6 literal.
  std::string host;
  int port = 0;
  // The path and query, at least "/".
  std::string target;
};

// Parses an absolute http:// or https:// URL (no user info, no fragment); INVALID_ARGUMENT
// saying what is wrong otherwise.
absl::StatusOr<Url> ParseUrl(std::string_view url);

// Whether `address` is one a receiver may not resolve to unless it allows private addresses:
// unspecified (0.0.0.0/8, ::), loopback (127/8, ::1), private (10/8, 172.16/12, 192.168/16,
// 100.64/10 shared, fc00::/7), link-local (169.254/16, fe80::/10), multicast and broadcast, and
// an IPv6 address that embeds such an IPv4 address (IPv4-mapped ::ffff:a.b.c.d, IPv4-compatible
// ::a.b.c.d, NAT64 64:ff9b::a.b.c.d).
bool IsNonPublic(const boost::asio::ip::address& address);

}  // namespace grid::webhooks
