#include "services/console/router.h"

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace grid::console {
namespace {

std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  for (absl::string_view piece : absl::StrSplit(absl::string_view(path.data(), path.size()), '/')) {
    out.emplace_back(piece.data(), piece.size());
  }
  // "/a/b" splits into "", "a", "b": the leading slash is not a segment.
  if (!out.empty() && out.front().empty()) {
    out.erase(out.begin());
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// Matches one pattern segment ("events", "{event_id}", "{event_id}:accept") against one path
// segment; adds a parameter when it captures one.
bool MatchSegment(std::string_view pattern, std::string_view segment,
                  std::map<std::string, std::string>& params) {
  if (pattern.empty() || pattern.front() != '{') {
    return pattern == segment;
  }
  const std::size_t close = pattern.find('}');
  const std::string_view name = pattern.substr(1, close - 1);
  const std::string_view verb = pattern.substr(close + 1);  // ":accept" or "".
  std::string_view value = segment;
  if (verb.empty()) {
    // A plain parameter never swallows a custom verb: "/events/X:accept" is the accept route.
    if (value.find(':') != std::string_view::npos) {
      return false;
    }
  } else {
    if (value.size() <= verb.size() || value.substr(value.size() - verb.size()) != verb) {
      return false;
    }
    value.remove_suffix(verb.size());
  }
  std::string decoded;
  if (value.empty() || !PercentDecode(value, decoded) || decoded.empty()) {
    return false;
  }
  params[std::string(name)] = std::move(decoded);
  return true;
}

}  // namespace

bool PercentDecode(std::string_view text, std::string& out) {
  out.clear();
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) {
      return false;
    }
    const int high = HexValue(text[i + 1]);
    const int low = HexValue(text[i + 2]);
    if (high < 0 || low < 0) {
      return false;
    }
    const char c = static_cast<char>(high * 16 + low);
    if (c == '\0') {
      return false;
    }
    out.push_back(c);
    i += 2;
  }
  return true;
}

Router::Router() {
  const auto rpc = [this](std::string method, std::string pattern, std::string name) {
    routes_.push_back(
        Route{std::move(method), std::move(pattern), RouteKind::kRpc, std::move(name)});
  };
  rpc("GET", "/api/v1/events/{event_id}", "GetEvent");
  rpc("GET", "/api/v1/events", "ListEvents");
  rpc("GET", "/api/v1/events/{event_id}/history", "GetEventHistory");
  rpc("GET", "/api/v1/units/{unit_id}/queue", "ListUnitQueue");
  rpc("GET", "/api/v1/overdue", "ListOverdueEvents");
  rpc("GET", "/api/v1/stats", "GetStats");
  rpc("GET", "/api/v1/topology", "GetTopology");
  rpc("POST", "/api/v1/events", "ReportEvent");
  for (const auto& [verb, name] :
       std::vector<std::pair<std::string, std::string>>{{"accept", "AcceptEvent"},
                                                        {"resolve", "ResolveEvent"},
                                                        {"verify", "VerifyEvent"},
                                                        {"return", "ReturnEvent"},
                                                        {"suspend", "SuspendEvent"},
                                                        {"resume", "ResumeEvent"},
                                                        {"cancel", "CancelEvent"},
                                                        {"void", "VoidEvent"},
                                                        {"reassign", "ReassignEvent"},
                                                        {"escalate", "EscalateEvent"},
                                                        {"supervise", "SuperviseEvent"}}) {
    rpc("POST", "/api/v1/events/{event_id}:" + verb, name);
  }
  routes_.push_back(Route{"GET", "/api/v1/watch", RouteKind::kWatch, ""});
  for (const char* method : {"GET", "POST", "DELETE"}) {
    routes_.push_back(Route{method, "/api/v1/session", RouteKind::kSession, ""});
  }
  routes_.push_back(Route{"POST", "/api/v1/session/codes", RouteKind::kSigninCodes, ""});
}

RouteMatch Router::Match(std::string_view method, std::string_view path) const {
  const std::vector<std::string_view> segments = Segments(path);
  RouteMatch result;
  std::vector<std::string> allowed;
  for (const Route& route : routes_) {
    const std::vector<std::string_view> pattern = Segments(route.pattern);
    if (pattern.size() != segments.size()) {
      continue;
    }
    std::map<std::string, std::string> params;
    bool matched = true;
    for (std::size_t i = 0; i < pattern.size() && matched; ++i) {
      matched = MatchSegment(pattern[i], segments[i], params);
    }
    if (!matched) {
      continue;
    }
    if (route.method == method) {
      result.outcome = RouteMatch::Outcome::kFound;
      result.route = &route;
      result.params = std::move(params);
      return result;
    }
    allowed.push_back(route.method);
  }
  if (!allowed.empty()) {
    result.outcome = RouteMatch::Outcome::kMethodNotAllowed;
    result.allow = absl::StrJoin(allowed, ", ");
  }
  return result;
}

}  // namespace grid::console
