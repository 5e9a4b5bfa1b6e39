// Which route a request's method and path name: the console's table of paths, and nothing else.
// Pure: no I/O, no gateway, so that the paths are tested on their own.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace grid::console {

// What a route does.
enum class RouteKind {
  kRpc,          // A unary GatewayService call (reads and moves): `rpc` names it.
  kWatch,        // The live feed (SSE over WatchEvents).
  kSession,      // GET (who), POST (sign in with a token), DELETE (sign out).
  kSigninCodes,  // POST: a one-time sign-in code for a bearer token.
};

struct Route {
  std::string method;   // "GET", "POST", "DELETE".
  std::string pattern;  // "/api/v1/events/{event_id}:accept".
  RouteKind kind;
  // The GatewayService method for kRpc ("AcceptEvent"); empty otherwise.
  std::string rpc;
  // The route's name for metrics and logs: the method and the pattern, a bounded set.
  std::string name() const { return method + " " + pattern; }
};

// The outcome of matching one request.
struct RouteMatch {
  enum class Outcome { kFound, kNotFound, kMethodNotAllowed };
  Outcome outcome = Outcome::kNotFound;
  const Route* route = nullptr;
  // Path parameters by name ("event_id"), percent-decoded.
  std::map<std::string, std::string> params;
  // For kMethodNotAllowed: the methods the path has, for the Allow header ("GET, POST").
  std::string allow;
};

// The table of /api/v1 routes (API.md). Immutable; safe to share between threads.
class Router final {
 public:
  Router();
  // Matches `path` (the target without its query, still percent-encoded) and `method`.
  RouteMatch Match(std::string_view method, std::string_view path) const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

// Percent-decodes `text` ('+' stays '+', as in a path); false when an escape is malformed or
// decodes to a NUL byte.
bool PercentDecode(std::string_view text, std::string& out);

}  // namespace grid::console
