// The signature of a webhook delivery, as Stripe signs its webhooks: HMAC-SHA256 with the
// receiver's secret over "<t>.<body>", where t is the Unix time of the attempt in seconds, sent as
//   X-Grid-Signature: t=<t>,v1=<lower-case hex HMAC>
// A receiver recomputes the HMAC over the raw body it got, compares in constant time, and drops
// a t too far from its own clock (replays). Pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace grid::webhooks {

// Lower-case hex of HMAC-SHA256(secret, "<t>.<body>").
std::string SignatureHex(std::string_view secret, std::int64_t t, std::string_view body);

// The X-Grid-Signature header's value.
std::string SignatureHeader(std::string_view secret, std::int64_t t, std::string_view body);

}  // namespace grid::webhooks
