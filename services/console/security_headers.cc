#include "services/console/security_headers.h"

namespace grid::console {

void ApplySecurityHeaders(Response& response, bool secure) {
  response.set("Content-Security-Policy", kContentSecurityPolicy);
  response.set("X-Content-Type-Options", "nosniff");
  response.set("Referrer-Policy", "no-referrer");
  response.set("X-Frame-Options", "DENY");
  response.set("Cross-Origin-Opener-Policy", "same-origin");
  response.set("Cross-Origin-Resource-Policy", "same-origin");
  if (secure) {
    response.set("Strict-Transport-Security", "max-age=31536000");
  }
}

}  // namespace grid::console
