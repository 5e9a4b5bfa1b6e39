// The headers every response carries (API.md, "Headers on every response").
#pragma once

#include "services/console/exchange.h"

namespace grid::console {

// The page's Content-Security-Policy: everything from the console's own origin, no inline script.
// Inline styles are allowed: ECharts writes style attributes into its tooltips.
inline constexpr char kContentSecurityPolicy[] =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

// Sets Content-Security-Policy, X-Content-Type-Options, Referrer-Policy, X-Frame-Options,
// Cross-Origin-Opener-Policy, Cross-Origin-Resource-Policy, and Strict-Transport-Security when
// `secure`.
void ApplySecurityHeaders(Response& response, bool secure);

}  // namespace grid::console
