#include "services/console/console.h"

#include <google/protobuf/util/time_util.h>

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grid/v1/types.pb.h"

namespace grid::console {
namespace {

std::string Rfc3339(std::int64_t seconds) {
  return google::protobuf::util::TimeUtil::ToString(ToTimestamp(seconds * 1000));
}

std::string HeaderValue(const Request& request, http::field field) {
  const auto it = request.find(field);
  return it == request.end() ? std::string() : std::string(it->value());
}

std::string HeaderValue(const Request& request, const char* name) {
  const auto it = request.find(name);
  return it == request.end() ? std::string() : std::string(it->value());
}

std::string MethodName(const Request& request) { return std::string(request.method_string()); }

bool IsJson(const Request& request) {
  const std::string type = absl::AsciiStrToLower(HeaderValue(request, http::field::content_type));
  return absl::StartsWith(type, "application/json");
}

Response TextResponse(http::status status, std::string body, const Request& request) {
  Response response(status, request.version());
  response.set(http::field::content_type, "text/plain; charset=utf-8");
  response.set(http::field::cache_control, "no-store");
  response.keep_alive(request.keep_alive());
  response.body() = std::move(body);
  response.prepare_payload();
  if (request.method() == http::verb::head) {
    const std::size_t size = response.body().size();
    response.body().clear();
    response.content_length(size);
  }
  return response;
}

Response Redirect(const std::string& location, const Request& request) {
  Response response(http::status::see_other, request.version());
  response.set(http::field::location, location);
  response.set(http::field::cache_control, "no-store");
  response.keep_alive(request.keep_alive());
  response.prepare_payload();
  return response;
}

std::chrono::seconds MaxAge(const DisplayClaims& claims, const Clock& clock) {
  return std::chrono::seconds(std::max<std::int64_t>(0, claims.expires_at - clock.Now() / 1000));
}

void SetSessionCookies(Response& response, const std::string& token, const std::string& csrf,
                       std::chrono::seconds max_age, bool secure) {
  response.insert(http::field::set_cookie, SessionCookie(token, max_age, secure));
  response.insert(http::field::set_cookie, CsrfCookie(csrf, max_age, secure));
}

void ClearSessionCookies(Response& response, bool secure) {
  SetSessionCookies(response, "", "", std::chrono::seconds(0), secure);
}

std::string SessionJson(const DisplayClaims& claims, const std::string& csrf,
                        const std::string& via) {
  return nlohmann::json{{"subject", claims.subject},
                        {"role", v1::Role_Name(claims.role)},
                        {"unit_id", claims.unit_id},
                        {"issued_at", Rfc3339(claims.issued_at)},
                        {"expires_at", Rfc3339(claims.expires_at)},
                        {"csrf_token", csrf},
                        {"via", via}}
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

Console::Console(Gateway& gateway, const StaticFiles& files, const Clock& clock,
                 const ConsoleOptions& options, ConsoleMetrics& metrics)
    : gateway_(gateway),
      files_(files),
      clock_(clock),
      options_(options),
      metrics_(metrics),
      api_(gateway, options.call_deadline),
      open311_(gateway, clock, options.call_deadline),
      codes_(clock, options.signin_code_ttl, options.max_signin_codes) {}

void Console::Handle(Request request, ExchangePtr exchange) {
  const std::string target(request.target());
  const std::size_t question = target.find('?');
  const std::string path = target.substr(0, question);
  const std::string query = question == std::string::npos ? "" : target.substr(question + 1);

  // The route's name labels the metrics: a bounded set, never the path itself.
  auto route_name = std::make_shared<std::string>("page");
  const auto started = std::chrono::steady_clock::now();
  const Reply reply = [this, exchange, route_name, started](Response response) {
    metrics_.CountRequest(*route_name, response.result_int());
    metrics_.ObserveLatency(
        *route_name,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    exchange->Respond(std::move(response));
  };
  const bool read_only =
      request.method() == http::verb::get || request.method() == http::verb::head;

  if (path == "/healthz") {
    *route_name = "healthz";
    reply(read_only ? TextResponse(http::status::ok, "ok\n", request)
                    : ErrorResponse(
                          MakeError(grpc::StatusCode::UNIMPLEMENTED, "/healthz: only GET and HEAD"),
                          request.version(), request.keep_alive()));
    return;
  }
  if (path == "/api" || absl::StartsWith(path, "/api/")) {
    const RouteMatch match = router_.Match(MethodName(request), path);
    if (match.outcome == RouteMatch::Outcome::kFound) {
      *route_name = match.route->name();
    } else {
      *route_name = "unmatched";
    }
    HandleApi(request, path, query, exchange, reply);
    return;
  }
  if (Open311::Owns(path)) {
    // Authenticated by the client's api key, never by the session cookie: no CSRF to defend.
    *route_name = Open311::RouteName(MethodName(request), path);
    open311_.Handle(request, path, query, reply);
    return;
  }
  if (path == "/signin" && request.method() == http::verb::get) {
    auto params = ParseQuery(query);
    if (params.ok()) {
      for (const auto& [name, value] : *params) {
        if (name == "code") {
          *route_name = "GET /signin?code";
          RedeemCode(request, value, exchange->secure(), reply);
          return;
        }
      }
    }
  }
  if (!read_only) {
    ApiError error = MakeError(grpc::StatusCode::UNIMPLEMENTED,
                               absl::StrCat(path, ": the page's files take GET and HEAD only"));
    error.http = 405;
    Response response = ErrorResponse(error, request.version(), request.keep_alive());
    response.set(http::field::allow, "GET, HEAD");
    reply(std::move(response));
    return;
  }
  reply(files_.Serve(path, request.version(), request.keep_alive(),
                     request.method() == http::verb::head));
}

void Console::HandleApi(const Request& request, const std::string& path, const std::string& query,
                        const ExchangePtr& exchange, const Reply& reply) {
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  const auto fail = [&](ApiError error) { reply(ErrorResponse(error, version, keep_alive)); };
  const RouteMatch match = router_.Match(MethodName(request), path);
  if (match.outcome == RouteMatch::Outcome::kNotFound) {
    fail(MakeError(grpc::StatusCode::NOT_FOUND, absl::StrCat(path, ": no such API path")));
    return;
  }
  if (match.outcome == RouteMatch::Outcome::kMethodNotAllowed) {
    ApiError error = MakeError(
        grpc::StatusCode::UNIMPLEMENTED,
        absl::StrCat(MethodName(request), " ", path, ": not allowed; allowed: ", match.allow));
    error.http = 405;
    Response response = ErrorResponse(error, version, keep_alive);
    response.set(http::field::allow, match.allow);
    reply(std::move(response));
    return;
  }
  absl::StatusOr<QueryParams> params = ParseQuery(query);
  if (!params.ok()) {
    fail(MakeError(grpc::StatusCode::INVALID_ARGUMENT, std::string(params.status().message())));
    return;
  }
  const bool secure = exchange->secure();
  const Credentials credentials = CredentialsOf(request);
  if (absl::Status csrf = CheckCsrf(request, credentials, secure); !csrf.ok()) {
    fail(MakeError(grpc::StatusCode::PERMISSION_DENIED, std::string(csrf.message())));
    return;
  }
  const bool post = request.method() == http::verb::post;
  if (post && !request.body().empty() && !IsJson(request)) {
    ApiError error = MakeError(grpc::StatusCode::INVALID_ARGUMENT,
                               "Content-Type: a body must be application/json");
    error.http = 415;
    fail(error);
    return;
  }
  const Route& route = *match.route;
  switch (route.kind) {
    case RouteKind::kRpc:
      api_.Call(route.rpc, match.params, *params, request.body(), post, credentials.token,
                [reply, version, keep_alive](ApiAnswer answer) {
                  reply(ToResponse(answer, version, keep_alive));
                });
      return;
    case RouteKind::kWatch:
      HandleWatch(request, *params, credentials, exchange, reply);
      return;
    case RouteKind::kSession:
      if (!params->empty()) {
        fail(MakeError(grpc::StatusCode::INVALID_ARGUMENT,
                       absl::StrCat("query parameter \"", params->front().first,
                                    "\": /api/v1/session takes none")));
      } else if (request.method() == http::verb::get) {
        SessionInfo(request, credentials, secure, reply);
      } else if (post) {
        SignIn(request, secure, reply);
      } else {
        SignOut(request, secure, reply);
      }
      return;
    case RouteKind::kSigninCodes:
      IssueCode(request, credentials, reply);
      return;
  }
}

void Console::HandleWatch(const Request& request, const QueryParams& query,
                          const Credentials& credentials, const ExchangePtr& exchange,
                          const Reply& reply) {
  const google::protobuf::MethodDescriptor* method = GatewayMethod("WatchEvents");
  auto built = BuildRequest(*method, {}, query, "", /*from_body=*/false);
  if (!built.ok()) {
    reply(ErrorResponse(
        MakeError(grpc::StatusCode::INVALID_ARGUMENT, std::string(built.status().message())),
        request.version(), request.keep_alive()));
    return;
  }
  v1::WatchEventsRequest watch;
  watch.CopyFrom(**built);
  // A browser resuming after a drop names the last id it got; it wins over the URL's cursor.
  const std::string last_event_id = HeaderValue(request, "Last-Event-ID");
  if (!last_event_id.empty()) {
    watch.set_cursor(last_event_id);
  }
  // The stream answers for itself (its admission decides between an error and 200).
  SseStream::Start(gateway_, options_.sse, change_texts_, credentials.token, std::move(watch),
                   exchange, request.version(), metrics_);
}

void Console::CheckToken(const std::string& token,
                         std::function<void(std::optional<ApiError>, DisplayClaims)> done) {
  if (token.empty()) {
    done(MakeError(grpc::StatusCode::UNAUTHENTICATED,
                   "no token: sign in, or send Authorization: Bearer <token>"),
         {});
    return;
  }
  absl::StatusOr<DisplayClaims> claims = DecodeClaims(token);
  if (!claims.ok()) {
    done(MakeError(grpc::StatusCode::UNAUTHENTICATED, std::string(claims.status().message())), {});
    return;
  }
  auto request = std::make_shared<v1::GetTopologyRequest>();
  request->set_unit_id(claims->unit_id);
  request->set_include_units(false);
  api_.CallMessage(
      "GetTopology", token, request,
      [claims = *claims, done = std::move(done)](const CallResult& result,
                                                 const google::protobuf::Message&) {
        const grpc::StatusCode code = result.status.error_code();
        // The gateway checks the role only after the token: a refusal by role
        // still says the token is good.
        if (code == grpc::StatusCode::OK || code == grpc::StatusCode::PERMISSION_DENIED) {
          done(std::nullopt, claims);
        } else {
          done(FromGrpc(result.status, result.retry_after_ms), claims);
        }
      });
}

void Console::SessionInfo(const Request& request, const Credentials& credentials, bool secure,
                          const Reply& reply) {
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  CheckToken(credentials.token, [this, credentials, secure, version, keep_alive, reply](
                                    std::optional<ApiError> error, DisplayClaims claims) {
    const bool cookie = credentials.via == Credentials::Via::kCookie;
    if (error.has_value()) {
      Response response = ErrorResponse(*error, version, keep_alive);
      if (cookie && error->code == grpc::StatusCode::UNAUTHENTICATED) {
        // A session the gateway no longer takes (expired, another secret) is over.
        ClearSessionCookies(response, secure);
      }
      reply(std::move(response));
      return;
    }
    std::string csrf = cookie ? credentials.csrf_cookie : "";
    const bool new_csrf = cookie && csrf.empty();
    if (new_csrf) {
      csrf = RandomToken();
    }
    Response response = JsonResponse(200, SessionJson(claims, csrf, cookie ? "cookie" : "bearer"),
                                     version, keep_alive);
    if (new_csrf) {
      response.insert(http::field::set_cookie, CsrfCookie(csrf, MaxAge(claims, clock_), secure));
    }
    reply(std::move(response));
  });
}

void Console::SignIn(const Request& request, bool secure, const Reply& reply) {
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  if (absl::Status origin = CheckOrigin(request, secure); !origin.ok()) {
    reply(
        ErrorResponse(MakeError(grpc::StatusCode::PERMISSION_DENIED, std::string(origin.message())),
                      version, keep_alive));
    return;
  }
  if (!IsJson(request)) {
    // A cross-site form cannot send JSON without a preflight: only the page signs in here.
    ApiError error = MakeError(grpc::StatusCode::INVALID_ARGUMENT,
                               "Content-Type: sign-in takes application/json {\"token\": ...}");
    error.http = 415;
    reply(ErrorResponse(error, version, keep_alive));
    return;
  }
  const nlohmann::json body = nlohmann::json::parse(request.body(), nullptr, false);
  std::string bad;
  if (!body.is_object()) {
    bad = "body: not a JSON object";
  } else {
    for (const auto& [key, value] : body.items()) {
      if (key != "token") {
        bad = absl::StrCat("body: ", key, ": unknown field (sign-in takes \"token\" only)");
      }
    }
    if (bad.empty() && (!body.contains("token") || !body["token"].is_string() ||
                        body["token"].get<std::string>().empty())) {
      bad = "body: token: required, a string";
    }
  }
  if (!bad.empty()) {
    reply(ErrorResponse(MakeError(grpc::StatusCode::INVALID_ARGUMENT, bad), version, keep_alive));
    return;
  }
  const std::string raw_token = body["token"].get<std::string>();
  const std::string token(absl::StripAsciiWhitespace(raw_token));
  CheckToken(token, [this, token, secure, version, keep_alive, reply](std::optional<ApiError> error,
                                                                      DisplayClaims claims) {
    if (error.has_value()) {
      reply(ErrorResponse(*error, version, keep_alive));
      return;
    }
    const std::string csrf = RandomToken();
    Response response = JsonResponse(200, SessionJson(claims, csrf, "cookie"), version, keep_alive);
    SetSessionCookies(response, token, csrf, MaxAge(claims, clock_), secure);
    reply(std::move(response));
  });
}

void Console::SignOut(const Request& request, bool secure, const Reply& reply) {
  Response response(http::status::no_content, request.version());
  response.set(http::field::cache_control, "no-store");
  response.keep_alive(request.keep_alive());
  ClearSessionCookies(response, secure);
  response.prepare_payload();
  reply(std::move(response));
}

void Console::IssueCode(const Request& request, const Credentials& credentials,
                        const Reply& reply) {
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  if (credentials.via != Credentials::Via::kBearer) {
    reply(ErrorResponse(MakeError(grpc::StatusCode::UNAUTHENTICATED,
                                  "sign-in codes are issued for Authorization: Bearer <token> "
                                  "only"),
                        version, keep_alive));
    return;
  }
  const std::string token = credentials.token;
  CheckToken(token, [this, token, version, keep_alive, reply](std::optional<ApiError> error,
                                                              DisplayClaims) {
    if (error.has_value()) {
      reply(ErrorResponse(*error, version, keep_alive));
      return;
    }
    const SigninCodes::Issued issued = codes_.Issue(token);
    reply(JsonResponse(200,
                       nlohmann::json{{"code", issued.code},
                                      {"expires_at", google::protobuf::util::TimeUtil::ToString(
                                                         ToTimestamp(issued.expires_at_ms))},
                                      {"signin_path", absl::StrCat("/signin?code=", issued.code)}}
                           .dump(),
                       version, keep_alive));
  });
}

void Console::RedeemCode(const Request& request, const std::string& code, bool secure,
                         const Reply& reply) {
  std::optional<std::string> token = codes_.Redeem(code);
  absl::StatusOr<DisplayClaims> claims =
      token.has_value() ? DecodeClaims(*token)
                        : absl::StatusOr<DisplayClaims>(absl::NotFoundError("code"));
  if (!claims.ok()) {
    reply(Redirect("/signin?error=code", request));
    return;
  }
  Response response = Redirect("/", request);
  SetSessionCookies(response, *token, RandomToken(), MaxAge(*claims, clock_), secure);
  reply(std::move(response));
}

}  // namespace grid::console
