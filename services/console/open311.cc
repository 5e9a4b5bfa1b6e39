#include "services/console/open311.h"

#include <algorithm>
#include <iostream>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grid/v1/gateway.pb.h"
#include "services/console/api_error.h"

namespace grid::console {

using georeport::Document;
using georeport::Format;
using georeport::Resource;

struct Open311::Answer {
  Format format = Format::kJson;
  unsigned version = 11;
  bool keep_alive = true;
  Reply reply;

  Response Make(int status, std::string body) const {
    Response response(static_cast<http::status>(status), version);
    response.set(http::field::content_type, georeport::ContentType(format));
    response.set(http::field::cache_control, "no-store");
    response.body() = std::move(body);
    response.keep_alive(keep_alive);
    response.prepare_payload();
    return response;
  }
  void Ok(const std::string& root, const Document& document) const {
    reply(Make(200, georeport::Render(format, root, document)));
  }
  void Fail(const Failure& failure) const {
    Response response =
        Make(failure.http, georeport::ErrorText(format, failure.http, failure.description));
    if (failure.http == 429 && failure.retry_after_ms.has_value()) {
      response.set(http::field::retry_after,
                   std::to_string(RetryAfterSeconds(*failure.retry_after_ms)));
    }
    reply(std::move(response));
  }
  void Fail(int http, std::string description) const {
    Fail(Failure{http, std::move(description), std::nullopt});
  }
  void Fail(const CallResult& result) const {
    Fail(Open311FailureOf(result.status, result.retry_after_ms));
  }
};

// One search's pages of ListEvents.
struct Open311::Listing {
  std::string api_key;
  v1::ListEventsRequest request;
  std::vector<georeport::Service> services;
  Document items = Document::array();
};

namespace {

constexpr char kNoApiKey[] =
    "api_key: required (a query parameter of a GET, a form field of a POST): ask the command "
    "centre for a key";

std::string HeaderValue(const Request& request, http::field field) {
  const auto it = request.find(field);
  return it == request.end() ? std::string() : std::string(it->value());
}

// The api_key parameter, the last one given (a duplicate is judged by the form's own parsing).
std::string ApiKeyOf(const QueryParams& params) {
  std::string key;
  for (const auto& [name, value] : params) {
    if (name == "api_key") {
      key = value;
    }
  }
  return key;
}

std::string ServiceName(const std::vector<georeport::Service>& services, const std::string& code) {
  const georeport::Service* service = georeport::FindService(services, code);
  return service == nullptr ? code : service->name;
}

// The service a code names, or the 400 of a code that names none (the spec's "service_code was
// not found"), saying when it is a group.
std::optional<std::string> UnknownService(const std::vector<georeport::Service>& services,
                                          const std::string& code) {
  if (georeport::FindService(services, code) != nullptr) {
    return std::nullopt;
  }
  for (const georeport::Service& service : services) {
    if (code.size() == 2 && service.code.rfind(code, 0) == 0) {
      return absl::StrCat("service_code \"", code, "\": a group (", service.group,
                          "), not a service; GET services lists its services");
    }
  }
  return absl::StrCat("service_code \"", code, "\": no such service; GET services lists them");
}

}  // namespace

Open311::Failure Open311FailureOf(const grpc::Status& status,
                                  std::optional<std::int64_t> retry_after_ms) {
  Open311::Failure failure;
  const grpc::StatusCode code = status.error_code();
  failure.http = code == grpc::StatusCode::UNAUTHENTICATED ? 403 : HttpStatusOf(code);
  failure.description = status.error_message();
  if (code == grpc::StatusCode::UNAUTHENTICATED) {
    // Named as the form names it; the gateway's "api key: ..." says the same once.
    const std::string gateway_name = "api key";
    const std::string& message = status.error_message();
    failure.description = absl::StartsWith(message, gateway_name)
                              ? absl::StrCat("api_key", message.substr(gateway_name.size()))
                              : absl::StrCat("api_key: ", message);
  }
  if (code == grpc::StatusCode::RESOURCE_EXHAUSTED) {
    failure.retry_after_ms = retry_after_ms;
  }
  if (failure.http == 400) {
    // The report's fields as the form named them.
    static const std::vector<std::pair<std::string, std::string>> kParameters = {
        {"report.category", "service_code"},   {"report.location", "lat/long"},
        {"report.grid_id", "lat/long"},        {"report.address", "address_string"},
        {"report.description", "description"}, {"report.media", "media_url"},
        {"reported_after", "start_date"},      {"reported_before", "end_date"},
        {"category_prefix", "service_code"},
    };
    for (const auto& [field, parameter] : kParameters) {
      if (absl::StartsWith(failure.description, field)) {
        failure.description = absl::StrCat(parameter, ": ", failure.description);
        break;
      }
    }
  }
  return failure;
}

Open311::Open311(Gateway& gateway, const Clock& clock, std::chrono::milliseconds deadline)
    : gateway_(gateway), clock_(clock), deadline_(deadline) {}

bool Open311::Owns(std::string_view path) {
  return path == "/open311" || path.substr(0, 9) == "/open311/";
}

std::string Open311::RouteName(std::string_view method, std::string_view path) {
  const std::optional<georeport::Target> target = georeport::ParseTarget(path);
  return target.has_value() ? georeport::RouteName(method, target->resource)
                            : std::string("open311 unmatched");
}

void Open311::Handle(const Request& request, const std::string& path, const std::string& query,
                     Reply reply) {
  const std::optional<georeport::Target> target = georeport::ParseTarget(path);
  auto answer = std::make_shared<Answer>();
  answer->version = request.version();
  answer->keep_alive = request.keep_alive();
  answer->reply = std::move(reply);
  if (!target.has_value()) {
    // No format to answer in: the JSON one.
    answer->Fail(404, absl::StrCat(path,
                                   ": no such Open311 resource; /open311/v2/ has services, "
                                   "services/{service_code}, requests, requests/{id}, "
                                   "tokens/{token}, each .json or .xml"));
    return;
  }
  answer->format = target->format;
  const bool get = request.method() == http::verb::get;
  const bool post = request.method() == http::verb::post;
  if (!get && !(post && target->resource == Resource::kRequests)) {
    const std::string allow = georeport::AllowedMethods(target->resource);
    Response response = answer->Make(
        405, georeport::ErrorText(answer->format, 405,
                                  absl::StrCat(std::string(request.method_string()), " ", path,
                                               ": not allowed; allowed: ", allow)));
    response.set(http::field::allow, allow);
    answer->reply(std::move(response));
    return;
  }
  absl::StatusOr<QueryParams> params = ParseQuery(query);
  if (!params.ok()) {
    answer->Fail(400, std::string(params.status().message()));
    return;
  }
  switch (target->resource) {
    case Resource::kServices:
      ListServices(ApiKeyOf(*params), answer);
      return;
    case Resource::kService:
      DefineService(ApiKeyOf(*params), target->id, answer);
      return;
    case Resource::kRequests:
      if (get) {
        Search(*params, answer);
        return;
      }
      {
        const std::string type =
            absl::AsciiStrToLower(HeaderValue(request, http::field::content_type));
        if (!request.body().empty() &&
            !absl::StartsWith(type, "application/x-www-form-urlencoded")) {
          answer->Fail(415,
                       "Content-Type: a new request is an application/x-www-form-urlencoded "
                       "form (media by media_url, not uploaded)");
          return;
        }
        absl::StatusOr<QueryParams> form = ParseQuery(request.body());
        if (!form.ok()) {
          answer->Fail(400, absl::StrCat("form: ", std::string(form.status().message())));
          return;
        }
        // Parameters may come in the query as well as the body (some clients send them so).
        QueryParams all = *params;
        all.insert(all.end(), form->begin(), form->end());
        PostRequest(all, answer);
      }
      return;
    case Resource::kRequest:
    case Resource::kToken: {
      const std::string api_key = ApiKeyOf(*params);
      if (api_key.empty()) {
        answer->Fail(403, kNoApiKey);
      } else if (target->resource == Resource::kRequest) {
        GetRequest(api_key, target->id, answer);
      } else {
        GetToken(api_key, target->id, answer);
      }
      return;
    }
  }
}

void Open311::Ask(const std::string& rpc, const std::string& api_key,
                  std::shared_ptr<google::protobuf::Message> request,
                  std::shared_ptr<google::protobuf::Message> response,
                  std::function<void(const CallResult&)> done) {
  const google::protobuf::MethodDescriptor* method = GatewayMethod(rpc);
  if (method == nullptr) {
    std::cerr << "console: no GatewayService method " << rpc << "\n";
    std::abort();
  }
  gateway_.Call(*method, CallOptions{"", deadline_, api_key}, *request, response.get(),
                [request, response, done = std::move(done)](CallResult result) { done(result); });
}

void Open311::WithServices(const std::string& api_key, AnswerPtr answer,
                           std::function<void(Services)> done) {
  auto response = std::make_shared<v1::ListCategoriesResponse>();
  Ask("ListCategories", api_key, std::make_shared<v1::ListCategoriesRequest>(), response,
      [response, answer, done = std::move(done)](const CallResult& result) {
        if (!result.status.ok()) {
          answer->Fail(result);
          return;
        }
        done(georeport::ServicesOf(*response));
      });
}

void Open311::ListServices(const std::string& api_key, AnswerPtr answer) {
  WithServices(api_key, answer, [answer](Services services) {
    Document items = Document::array();
    for (const georeport::Service& service : services) {
      items.push_back(georeport::ServiceItem(service));
    }
    answer->Ok("services", items);
  });
}

void Open311::DefineService(const std::string& api_key, const std::string& code, AnswerPtr answer) {
  WithServices(api_key, answer, [answer, code](Services services) {
    if (std::optional<std::string> unknown = UnknownService(services, code)) {
      answer->Fail(404, *unknown);
      return;
    }
    Document definition = Document::object();
    definition["service_code"] = code;
    definition["attributes"] = Document::array();
    answer->Ok("service_definition", definition);
  });
}

void Open311::PostRequest(const QueryParams& params, AnswerPtr answer) {
  if (ApiKeyOf(params).empty()) {
    answer->Fail(403, kNoApiKey);
    return;
  }
  absl::StatusOr<georeport::ReportForm> form = georeport::ParseReportForm(params);
  if (!form.ok()) {
    answer->Fail(400, std::string(form.status().message()));
    return;
  }
  const std::string api_key = form->api_key;
  WithServices(api_key, answer, [this, answer, api_key, form = *form](Services services) {
    if (std::optional<std::string> unknown = UnknownService(services, form.service_code)) {
      answer->Fail(400, *unknown);
      return;
    }
    auto request = std::make_shared<v1::ReportEventRequest>();
    *request->mutable_report() =
        georeport::ReportOf(form, ServiceName(services, form.service_code));
    auto response = std::make_shared<v1::ReportEventResponse>();
    Ask("ReportEvent", api_key, request, response, [answer, response](const CallResult& result) {
      if (!result.status.ok()) {
        answer->Fail(result);
        return;
      }
      answer->Ok("service_requests", Document::array({georeport::PostedItem(*response)}));
    });
  });
}

void Open311::Search(const QueryParams& params, AnswerPtr answer) {
  absl::StatusOr<georeport::Search> search = georeport::ParseSearch(params);
  if (!search.ok()) {
    answer->Fail(400, std::string(search.status().message()));
    return;
  }
  if (search->api_key.empty()) {
    answer->Fail(403, kNoApiKey);
    return;
  }
  WithServices(search->api_key, answer, [this, answer, search = *search](Services services) {
    if (!search.ids.empty()) {
      // The spec: a list of ids overrides every other filter.
      SearchIds(search, services, answer);
      return;
    }
    if (!search.service_code.empty()) {
      if (std::optional<std::string> unknown = UnknownService(services, search.service_code)) {
        answer->Fail(400, *unknown);
        return;
      }
    }
    absl::StatusOr<v1::ListEventsRequest> request = georeport::ListRequestOf(search, clock_.Now());
    if (!request.ok()) {
      answer->Fail(400, std::string(request.status().message()));
      return;
    }
    auto listing = std::make_shared<Listing>();
    listing->api_key = search.api_key;
    listing->request = *std::move(request);
    listing->services = std::move(services);
    SearchPage(listing, answer);
  });
}

void Open311::SearchPage(std::shared_ptr<Listing> listing, AnswerPtr answer) {
  const int left = georeport::kMaxRequests - static_cast<int>(listing->items.size());
  listing->request.set_page_size(std::min(500, left));
  auto request = std::make_shared<v1::ListEventsRequest>(listing->request);
  auto response = std::make_shared<v1::ListEventsResponse>();
  Ask("ListEvents", listing->api_key, request, response,
      [this, listing, answer, response](const CallResult& result) {
        if (!result.status.ok()) {
          answer->Fail(result);
          return;
        }
        for (const v1::Event& event : response->events()) {
          if (listing->items.size() >= static_cast<std::size_t>(georeport::kMaxRequests)) {
            break;
          }
          listing->items.push_back(
              georeport::RequestItem(event, ServiceName(listing->services, event.category())));
        }
        if (!response->next_page_token().empty() && response->events_size() > 0 &&
            listing->items.size() < static_cast<std::size_t>(georeport::kMaxRequests)) {
          listing->request.set_page_token(response->next_page_token());
          SearchPage(listing, answer);
          return;
        }
        answer->Ok("service_requests", listing->items);
      });
}

void Open311::SearchIds(const georeport::Search& search, const Services& services,
                        AnswerPtr answer) {
  // One GetEvent per id, at once; the answer keeps the asked order and leaves out ids that name
  // no event. Any other refusal refuses the whole search.
  struct Gathering {
    std::mutex mu;
    std::size_t pending = 0;
    std::vector<std::optional<v1::Event>> events;
    std::optional<Failure> failure;
    Services services;
  };
  auto gathering = std::make_shared<Gathering>();
  gathering->pending = search.ids.size();
  gathering->events.resize(search.ids.size());
  gathering->services = services;
  for (std::size_t i = 0; i < search.ids.size(); ++i) {
    auto request = std::make_shared<v1::GetEventRequest>();
    request->set_event_id(search.ids[i]);
    auto response = std::make_shared<v1::GetEventResponse>();
    Ask("GetEvent", search.api_key, request, response,
        [gathering, answer, response, i](const CallResult& result) {
          bool last = false;
          {
            std::lock_guard lock(gathering->mu);
            if (result.status.ok()) {
              gathering->events[i] = response->event();
            } else if (result.status.error_code() != grpc::StatusCode::NOT_FOUND &&
                       !gathering->failure.has_value()) {
              gathering->failure = Open311FailureOf(result.status, result.retry_after_ms);
            }
            last = --gathering->pending == 0;
          }
          if (!last) {
            return;
          }
          if (gathering->failure.has_value()) {
            answer->Fail(*gathering->failure);
            return;
          }
          Document items = Document::array();
          for (const std::optional<v1::Event>& event : gathering->events) {
            if (event.has_value()) {
              items.push_back(georeport::RequestItem(
                  *event, ServiceName(gathering->services, event->category())));
            }
          }
          answer->Ok("service_requests", items);
        });
  }
}

void Open311::GetRequest(const std::string& api_key, const std::string& id, AnswerPtr answer) {
  auto request = std::make_shared<v1::GetEventRequest>();
  request->set_event_id(id);
  auto response = std::make_shared<v1::GetEventResponse>();
  Ask("GetEvent", api_key, request, response,
      [this, api_key, id, answer, response](const CallResult& result) {
        if (!result.status.ok()) {
          if (result.status.error_code() == grpc::StatusCode::NOT_FOUND) {
            answer->Fail(404, absl::StrCat("service_request_id \"", id, "\": not found"));
          } else {
            answer->Fail(result);
          }
          return;
        }
        WithServices(api_key, answer, [answer, response](Services services) {
          const v1::Event& event = response->event();
          answer->Ok("service_requests", Document::array({georeport::RequestItem(
                                             event, ServiceName(services, event.category()))}));
        });
      });
}

void Open311::GetToken(const std::string& api_key, const std::string& token, AnswerPtr answer) {
  // A request is filed at once: its token is its id, and the token resolves once the id names an
  // event the key may read.
  auto request = std::make_shared<v1::GetEventRequest>();
  request->set_event_id(token);
  auto response = std::make_shared<v1::GetEventResponse>();
  Ask("GetEvent", api_key, request, response, [token, answer, response](const CallResult& result) {
    if (!result.status.ok()) {
      if (result.status.error_code() == grpc::StatusCode::NOT_FOUND) {
        answer->Fail(404, absl::StrCat("token \"", token, "\": not found"));
      } else {
        answer->Fail(result);
      }
      return;
    }
    Document item = Document::object();
    item["service_request_id"] = response->event().id();
    item["token"] = token;
    answer->Ok("service_requests", Document::array({item}));
  });
}

}  // namespace grid::console
