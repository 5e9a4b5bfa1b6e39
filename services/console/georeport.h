// Open311 GeoReport v2 (wiki.open311.org/GeoReport_v2) as plain data: the paths, the form of a
// new request, the filters of a search, the mapping of an event to a service request, and the
// documents in JSON and XML. Pure: no I/O, no gateway (the Open311 class in open311.h calls the
// gateway), so that every rule here is tested on its own. API.md, "Open311 GeoReport v2".
#pragma once

#include <google/protobuf/timestamp.pb.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "grid/v1/event.pb.h"
#include "grid/v1/policy.pb.h"
#include "grid/v1/routing.pb.h"
#include "grid/v1/types.pb.h"
#include "services/console/json_api.h"

namespace grid::console::georeport {

// A document: the JSON value the spec shows, which the XML form is written from.
using Document = nlohmann::ordered_json;

// The format a path asks for by its extension.
enum class Format { kJson, kXml };

// The resources under /open311/v2/.
enum class Resource {
  kServices,  // services.{fmt}
  kService,   // services/{service_code}.{fmt}
  kRequests,  // requests.{fmt}: GET a search, POST a new request
  kRequest,   // requests/{service_request_id}.{fmt}
  kToken,     // tokens/{token}.{fmt}
};

inline constexpr std::string_view kPathPrefix = "/open311/v2/";

struct Target {
  Resource resource = Resource::kServices;
  // The path's id (service code, request id or token), percent-decoded; empty for lists.
  std::string id;
  Format format = Format::kJson;
};

// The target of `path` (still percent-encoded, without the query); nullopt when it names no
// resource or its extension is not .json or .xml.
std::optional<Target> ParseTarget(std::string_view path);

// The methods a resource takes ("GET", or "GET, POST" for requests).
std::string AllowedMethods(Resource resource);

// The route's name for metrics: the method and the pattern ("GET /open311/v2/requests/{id}").
std::string RouteName(std::string_view method, Resource resource);

// The services of the policy's categories: each small class ("0102") is a service, in the
// policy's order, its group the name of its large class ("01"). Large classes are groups only.
struct Service {
  std::string code;
  std::string name;
  std::string group;
};
std::vector<Service> ServicesOf(const v1::ListCategoriesResponse& categories);
// The service with `code`; null when there is none.
const Service* FindService(const std::vector<Service>& services, std::string_view code);

// The fields of POST requests that the console uses. The personal fields (email, first_name,
// last_name, phone, device_id, account_id) are read and dropped: nothing personal is stored.
struct ReportForm {
  std::string api_key;
  std::string service_code;
  double lat = 0;
  double lng = 0;
  std::string address_string;
  std::string description;
  std::string media_url;
};

// The form of a new request (the urlencoded body's parameters, and the query's). INVALID_ARGUMENT
// whose message starts with the parameter at fault: service_code missing, lat/long missing (an
// address_string alone cannot be placed: there is no geocoder), not numbers or out of range, a
// parameter given twice. A missing api_key is not checked here (it is a 403, see Open311).
// Unknown parameters (jurisdiction_id, address_id, attribute[...]) are ignored.
absl::StatusOr<ReportForm> ParseReportForm(const QueryParams& params);

// The report a form files: category = service_code, location, no grid (the gateway picks the grid
// whose centre is nearest), address = address_string, the description (the service's name when
// empty), media = [media_url] when given, severity NORMAL, no reporter and no source (the gateway
// sets both from the api key's client).
v1::Report ReportOf(const ReportForm& form, const std::string& service_name);

// The filters of GET requests.
struct Search {
  std::string api_key;
  // service_request_id: a comma list; when given the other filters are ignored.
  std::vector<std::string> ids;
  std::string service_code;
  std::optional<google::protobuf::Timestamp> start_date;
  std::optional<google::protobuf::Timestamp> end_date;
  // From status (open, closed; a comma list or repeated); empty: every state.
  std::vector<v1::EventState> states;
};

// At most this many ids in one service_request_id list, and requests in one answer.
inline constexpr int kMaxIds = 100;
inline constexpr int kMaxRequests = 1000;
// The default span, and the longest one, of a search by dates.
inline constexpr std::int64_t kSpanSeconds = 90 * 24 * 3600;

// INVALID_ARGUMENT starting with the parameter at fault.
absl::StatusOr<Search> ParseSearch(const QueryParams& params);

// The ListEvents request of a search without ids, at `now_ms`: reported from start_date (default:
// 90 days before end_date, or before now) up to end_date inclusive; INVALID_ARGUMENT when
// start_date is after end_date or the two span more than 90 days.
absl::StatusOr<v1::ListEventsRequest> ListRequestOf(const Search& search, std::int64_t now_ms);

// A W3C datetime in Beijing time: "2026-11-30T16:15:00+08:00".
std::string W3cTime(const google::protobuf::Timestamp& time);
// Reads a W3C datetime: "2026-11-30T16:15:00+08:00", "...Z", fractions of a second, minutes only
// ("2026-11-30T16:15+08:00"), or a date ("2026-11-30", midnight); without an offset Beijing time.
absl::StatusOr<google::protobuf::Timestamp> ParseW3cTime(std::string_view text);

// "open" for the states where the matter is still being handled (REPORTED, DISPATCHED, ACCEPTED,
// RESOLVED, SUSPENDED), "closed" for the final ones (CLOSED, VOIDED, CANCELLED).
std::string StatusOf(v1::EventState state);
// The detailed state, Chinese first: "已派遣 DISPATCHED · 370212001001".
std::string StatusNotes(const v1::Event& event);
// When the matter is due: the current clock's resolve deadline while one runs (DISPATCHED,
// ACCEPTED); nullopt otherwise.
std::optional<google::protobuf::Timestamp> ExpectedTime(const v1::Event& event);

// One service request of GET requests: every field of the spec's example, in its order.
Document RequestItem(const v1::Event& event, const std::string& service_name);
// One service of GET services.
Document ServiceItem(const Service& service);
// The answer of POST requests.
Document PostedItem(const v1::ReportEventResponse& response);

// The text of a document. JSON as it is; XML with the declaration, `root` as the root element and
// the items of an array named by their parent (services/service, service_requests/request,
// errors/error, attributes/attribute); null is an empty element. Text is escaped, and what XML
// 1.0 cannot carry (control characters, bytes that are not UTF-8) becomes U+FFFD.
std::string Render(Format format, const std::string& root, const Document& document);
// The spec's error document: [{"code":400,"description":"..."}] or <errors><error>...
std::string ErrorText(Format format, int http, const std::string& description);
// The Content-Type of a format.
std::string ContentType(Format format);

// XML text with & < > " ' escaped and what XML 1.0 cannot carry replaced by U+FFFD.
std::string XmlEscape(std::string_view text);

}  // namespace grid::console::georeport
