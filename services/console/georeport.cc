#include "services/console/georeport.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "services/console/router.h"

namespace grid::console::georeport {
namespace {

using google::protobuf::Timestamp;
using google::protobuf::util::TimeUtil;

// Beijing time: the district's clocks, and every datetime this door writes.
const absl::TimeZone& Beijing() {
  static const absl::TimeZone zone = absl::FixedTimeZone(8 * 3600);
  return zone;
}

// The range of google.protobuf.Timestamp: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
constexpr std::int64_t kMinSeconds = -62135596800;
constexpr std::int64_t kMaxSeconds = 253402300799;

absl::Status Invalid(const std::string& parameter, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(parameter, ": ", what));
}

std::string Quote(std::string_view text) {
  constexpr std::size_t kMax = 64;
  std::string out(text.substr(0, kMax));
  if (text.size() > kMax) {
    out += "...";
  }
  return absl::StrCat("\"", out, "\"");
}

// Collects single-valued parameters, refusing one given twice.
class Singles {
 public:
  explicit Singles(std::initializer_list<std::string_view> names) : names_(names) {}

  // True when `name` is one of ours (then taken, or the error set).
  bool Take(const std::string& name, const std::string& value, absl::Status& error) {
    if (std::find(names_.begin(), names_.end(), name) == names_.end()) {
      return false;
    }
    if (!values_.emplace(name, value).second && error.ok()) {
      error = Invalid(name, "given more than once");
    }
    return true;
  }
  const std::string* Find(const std::string& name) const {
    const auto it = values_.find(name);
    return it == values_.end() ? nullptr : &it->second;
  }
  std::string Get(const std::string& name) const {
    const std::string* value = Find(name);
    return value == nullptr ? std::string() : *value;
  }

 private:
  std::vector<std::string_view> names_;
  std::map<std::string, std::string> values_;
};

absl::StatusOr<double> Coordinate(std::string_view name, const std::string& text, double limit) {
  double value = 0;
  const std::string trimmed(absl::StripAsciiWhitespace(text));
  if (!absl::SimpleAtod(trimmed, &value) || !std::isfinite(value) || value < -limit ||
      value > limit) {
    return Invalid(std::string(name),
                   absl::StrCat("not a number within -", limit, "..", limit, ": ", Quote(text)));
  }
  return value;
}

// Comma lists, given once or repeated: "a,b" and "a&b" alike. Empty items are dropped.
void AddList(const std::string& value, std::vector<std::string>& out) {
  for (absl::string_view piece : absl::StrSplit(value, ',')) {
    const absl::string_view item = absl::StripAsciiWhitespace(piece);
    if (!item.empty()) {
      out.emplace_back(item);
    }
  }
}

// The item name of an array by its element's name.
std::string ItemName(const std::string& array) {
  if (array == "services") {
    return "service";
  }
  if (array == "service_requests") {
    return "request";
  }
  if (array == "errors") {
    return "error";
  }
  if (array == "attributes") {
    return "attribute";
  }
  if (array == "values") {
    return "value";
  }
  return "item";
}

void WriteXml(const std::string& name, const Document& value, std::string& out) {
  if (value.is_null() || (value.is_array() && value.empty()) ||
      (value.is_object() && value.empty())) {
    absl::StrAppend(&out, "<", name, "/>");
    return;
  }
  absl::StrAppend(&out, "<", name, ">");
  if (value.is_object()) {
    for (const auto& [key, child] : value.items()) {
      WriteXml(key, child, out);
    }
  } else if (value.is_array()) {
    const std::string item = ItemName(name);
    for (const Document& child : value) {
      WriteXml(item, child, out);
    }
  } else if (value.is_string()) {
    out += XmlEscape(value.get_ref<const std::string&>());
  } else {
    // Numbers and booleans: their JSON text is their XML text.
    out += value.dump();
  }
  absl::StrAppend(&out, "</", name, ">");
}

// The length of the UTF-8 sequence at `text[i]` and its code point; 0 when it is not well-formed.
std::size_t DecodeUtf8(std::string_view text, std::size_t i, char32_t& code) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  std::size_t length = 0;
  char32_t min = 0;
  if (lead < 0x80) {
    code = lead;
    return 1;
  } else if ((lead & 0xE0) == 0xC0) {
    length = 2;
    code = lead & 0x1F;
    min = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3;
    code = lead & 0x0F;
    min = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4;
    code = lead & 0x07;
    min = 0x10000;
  } else {
    return 0;
  }
  if (i + length > text.size()) {
    return 0;
  }
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) {
      return 0;
    }
    code = (code << 6) | (byte(i + k) & 0x3F);
  }
  if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
    return 0;
  }
  return length;
}

// The characters XML 1.0 allows (its Char production).
bool XmlChar(char32_t code) {
  return code == 0x9 || code == 0xA || code == 0xD || (code >= 0x20 && code <= 0xD7FF) ||
         (code >= 0xE000 && code <= 0xFFFD) || (code >= 0x10000 && code <= 0x10FFFF);
}

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

std::string StateName(v1::EventState state) {
  std::string name = v1::EventState_Name(state);
  constexpr std::string_view kPrefix = "EVENT_STATE_";
  if (name.rfind(kPrefix, 0) == 0) {
    name = name.substr(kPrefix.size());
  }
  return name.empty() ? std::to_string(static_cast<int>(state)) : name;
}

// The state's name on the command centre's page (web/src/lib/i18n.ts).
std::string StateNameZh(v1::EventState state) {
  switch (state) {
    case v1::EVENT_STATE_REPORTED:
      return "已上报";
    case v1::EVENT_STATE_DISPATCHED:
      return "已派遣";
    case v1::EVENT_STATE_ACCEPTED:
      return "处置中";
    case v1::EVENT_STATE_RESOLVED:
      return "待核查";
    case v1::EVENT_STATE_CLOSED:
      return "已结案";
    case v1::EVENT_STATE_VOIDED:
      return "已作废";
    case v1::EVENT_STATE_SUSPENDED:
      return "已挂账";
    case v1::EVENT_STATE_CANCELLED:
      return "已撤销";
    default:
      return "未知";
  }
}

Document TimeOrNull(const Timestamp& time, bool present) {
  return present ? Document(W3cTime(time)) : Document(nullptr);
}

}  // namespace

std::optional<Target> ParseTarget(std::string_view path) {
  if (path.substr(0, kPathPrefix.size()) != kPathPrefix) {
    return std::nullopt;
  }
  const std::string_view rest = path.substr(kPathPrefix.size());
  std::vector<std::string_view> segments;
  for (absl::string_view piece : absl::StrSplit(absl::string_view(rest.data(), rest.size()), '/')) {
    segments.emplace_back(piece.data(), piece.size());
  }
  if (segments.empty() || segments.size() > 2) {
    return std::nullopt;
  }
  std::string_view last = segments.back();
  const std::size_t dot = last.rfind('.');
  if (dot == std::string_view::npos) {
    return std::nullopt;
  }
  Target target;
  const std::string_view extension = last.substr(dot + 1);
  if (extension == "json") {
    target.format = Format::kJson;
  } else if (extension == "xml") {
    target.format = Format::kXml;
  } else {
    return std::nullopt;
  }
  segments.back() = last.substr(0, dot);
  if (segments.size() == 1) {
    if (segments[0] == "services") {
      target.resource = Resource::kServices;
    } else if (segments[0] == "requests") {
      target.resource = Resource::kRequests;
    } else {
      return std::nullopt;
    }
    return target;
  }
  if (segments[0] == "services") {
    target.resource = Resource::kService;
  } else if (segments[0] == "requests") {
    target.resource = Resource::kRequest;
  } else if (segments[0] == "tokens") {
    target.resource = Resource::kToken;
  } else {
    return std::nullopt;
  }
  if (!PercentDecode(segments[1], target.id) || target.id.empty()) {
    return std::nullopt;
  }
  return target;
}

std::string AllowedMethods(Resource resource) {
  return resource == Resource::kRequests ? "GET, POST" : "GET";
}

std::string RouteName(std::string_view method, Resource resource) {
  std::string_view pattern;
  switch (resource) {
    case Resource::kServices:
      pattern = "services";
      break;
    case Resource::kService:
      pattern = "services/{service_code}";
      break;
    case Resource::kRequests:
      pattern = "requests";
      break;
    case Resource::kRequest:
      pattern = "requests/{service_request_id}";
      break;
    case Resource::kToken:
      pattern = "tokens/{token}";
      break;
  }
  return absl::StrCat(std::string(method), " ", std::string(kPathPrefix), std::string(pattern));
}

std::vector<Service> ServicesOf(const v1::ListCategoriesResponse& categories) {
  std::map<std::string, std::string> groups;
  for (const v1::Category& category : categories.categories()) {
    if (category.code().size() == 2) {
      groups[category.code()] = category.name();
    }
  }
  std::vector<Service> services;
  for (const v1::Category& category : categories.categories()) {
    if (category.code().size() <= 2) {
      continue;
    }
    const auto group = groups.find(category.code().substr(0, 2));
    services.push_back(Service{category.code(), category.name(),
                               group == groups.end() ? std::string() : group->second});
  }
  return services;
}

const Service* FindService(const std::vector<Service>& services, std::string_view code) {
  for (const Service& service : services) {
    if (service.code == code) {
      return &service;
    }
  }
  return nullptr;
}

absl::StatusOr<ReportForm> ParseReportForm(const QueryParams& params) {
  Singles singles({"api_key", "jurisdiction_id", "service_code", "lat", "long", "address_string",
                   "address_id", "description", "media_url", "email", "device_id", "account_id",
                   "first_name", "last_name", "phone"});
  absl::Status error;
  for (const auto& [name, value] : params) {
    singles.Take(name, value, error);
  }
  if (!error.ok()) {
    return error;
  }
  ReportForm form;
  form.api_key = singles.Get("api_key");
  form.service_code = std::string(absl::StripAsciiWhitespace(singles.Get("service_code")));
  if (form.service_code.empty()) {
    return Invalid("service_code", "required: one of GET services' service_code");
  }
  const std::string* lat = singles.Find("lat");
  const std::string* lng = singles.Find("long");
  if (lat == nullptr && lng == nullptr) {
    if (singles.Find("address_string") != nullptr || singles.Find("address_id") != nullptr) {
      return Invalid("lat/long",
                     "required: this server has no geocoder, so an address_string or address_id "
                     "alone cannot place a request; send lat and long (WGS84) with it");
    }
    return Invalid("lat/long", "required: where the matter is, WGS84 latitude and longitude");
  }
  if (lat == nullptr) {
    return Invalid("lat", "required with long");
  }
  if (lng == nullptr) {
    return Invalid("long", "required with lat");
  }
  absl::StatusOr<double> lat_value = Coordinate("lat", *lat, 90);
  if (!lat_value.ok()) {
    return lat_value.status();
  }
  absl::StatusOr<double> lng_value = Coordinate("long", *lng, 180);
  if (!lng_value.ok()) {
    return lng_value.status();
  }
  form.lat = *lat_value;
  form.lng = *lng_value;
  form.address_string = singles.Get("address_string");
  form.description = singles.Get("description");
  form.media_url = std::string(absl::StripAsciiWhitespace(singles.Get("media_url")));
  // email, device_id, account_id, first_name, last_name, phone: read above, dropped here.
  return form;
}

v1::Report ReportOf(const ReportForm& form, const std::string& service_name) {
  v1::Report report;
  report.set_category(form.service_code);
  report.mutable_location()->set_lat(form.lat);
  report.mutable_location()->set_lng(form.lng);
  report.set_address(form.address_string);
  const bool blank = absl::StripAsciiWhitespace(form.description).empty();
  report.set_description(blank ? service_name : form.description);
  if (!form.media_url.empty()) {
    report.add_media(form.media_url);
  }
  report.set_severity(v1::SEVERITY_NORMAL);
  return report;
}

absl::StatusOr<Search> ParseSearch(const QueryParams& params) {
  Singles singles({"api_key", "jurisdiction_id", "service_code", "start_date", "end_date"});
  absl::Status error;
  Search search;
  std::vector<std::string> ids;
  std::vector<std::string> statuses;
  for (const auto& [name, value] : params) {
    if (name == "service_request_id") {
      AddList(value, ids);
    } else if (name == "status") {
      AddList(value, statuses);
    } else {
      singles.Take(name, value, error);
    }
  }
  if (!error.ok()) {
    return error;
  }
  search.api_key = singles.Get("api_key");
  std::set<std::string> seen;
  for (std::string& id : ids) {
    if (seen.insert(id).second) {
      search.ids.push_back(std::move(id));
    }
  }
  if (search.ids.size() > static_cast<std::size_t>(kMaxIds)) {
    return Invalid("service_request_id",
                   absl::StrCat("at most ", kMaxIds, " ids, not ", search.ids.size()));
  }
  search.service_code = std::string(absl::StripAsciiWhitespace(singles.Get("service_code")));
  for (const char* name : {"start_date", "end_date"}) {
    const std::string* text = singles.Find(name);
    if (text == nullptr) {
      continue;
    }
    absl::StatusOr<Timestamp> time = ParseW3cTime(*text);
    if (!time.ok()) {
      return Invalid(name, std::string(time.status().message()));
    }
    (std::string_view(name) == "start_date" ? search.start_date : search.end_date) = *time;
  }
  bool open = false;
  bool closed = false;
  for (const std::string& status : statuses) {
    const std::string lower = absl::AsciiStrToLower(status);
    if (lower == "open") {
      open = true;
    } else if (lower == "closed") {
      closed = true;
    } else {
      return Invalid("status", absl::StrCat("open or closed, not ", Quote(status)));
    }
  }
  // Both, or neither: every state, no filter.
  if (open != closed) {
    if (open) {
      search.states = {v1::EVENT_STATE_REPORTED, v1::EVENT_STATE_DISPATCHED,
                       v1::EVENT_STATE_ACCEPTED, v1::EVENT_STATE_RESOLVED,
                       v1::EVENT_STATE_SUSPENDED};
    } else {
      search.states = {v1::EVENT_STATE_CLOSED, v1::EVENT_STATE_VOIDED, v1::EVENT_STATE_CANCELLED};
    }
  }
  return search;
}

absl::StatusOr<v1::ListEventsRequest> ListRequestOf(const Search& search, std::int64_t now_ms) {
  std::int64_t start = 0;
  std::optional<std::int64_t> end;
  if (search.end_date.has_value()) {
    end = search.end_date->seconds();
  }
  if (search.start_date.has_value()) {
    start = search.start_date->seconds();
    if (!end.has_value() && now_ms / 1000 - start > kSpanSeconds) {
      // The default limit: 90 days from the start.
      end = start + kSpanSeconds;
    }
  } else {
    start = end.value_or(now_ms / 1000) - kSpanSeconds;
  }
  if (search.start_date.has_value() && search.end_date.has_value()) {
    if (TimeUtil::TimestampToNanoseconds(*search.start_date) >
        TimeUtil::TimestampToNanoseconds(*search.end_date)) {
      return Invalid("start_date", "after end_date");
    }
    if (*end - start > kSpanSeconds) {
      return Invalid("start_date", "start_date to end_date spans more than 90 days");
    }
  }
  v1::ListEventsRequest request;
  if (search.start_date.has_value()) {
    *request.mutable_reported_after() = *search.start_date;
  } else {
    request.mutable_reported_after()->set_seconds(start);
  }
  if (search.end_date.has_value()) {
    // end_date is the latest time to include; reported_before excludes its own time.
    *request.mutable_reported_before() =
        *search.end_date + google::protobuf::util::TimeUtil::NanosecondsToDuration(1);
  } else if (end.has_value()) {
    request.mutable_reported_before()->set_seconds(*end);
  }
  for (v1::EventState state : search.states) {
    request.add_states(state);
  }
  request.set_category_prefix(search.service_code);
  request.set_page_size(500);
  return request;
}

std::string W3cTime(const Timestamp& time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%S%Ez", absl::FromUnixSeconds(time.seconds()), Beijing());
}

absl::StatusOr<Timestamp> ParseW3cTime(std::string_view raw) {
  std::string text(absl::StripAsciiWhitespace(absl::string_view(raw.data(), raw.size())));
  if (!text.empty() && (text.back() == 'Z' || text.back() == 'z')) {
    text.pop_back();
    text += "+00:00";
  }
  absl::Time time;
  bool parsed = false;
  for (const char* format : {"%Y-%m-%dT%H:%M:%E*S%Ez", "%Y-%m-%dT%H:%M%Ez", "%Y-%m-%dT%H:%M:%E*S",
                             "%Y-%m-%dT%H:%M", "%Y-%m-%d"}) {
    std::string error;
    if (absl::ParseTime(format, text, Beijing(), &time, &error)) {
      parsed = true;
      break;
    }
  }
  if (!parsed) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a W3C datetime (2026-11-30T16:15:00+08:00, or ...Z): ", Quote(raw)));
  }
  const std::int64_t seconds = absl::ToUnixSeconds(time);
  if (seconds < kMinSeconds || seconds > kMaxSeconds) {
    return absl::InvalidArgumentError(absl::StrCat("out of range: ", Quote(raw)));
  }
  Timestamp out;
  out.set_seconds(seconds);
  out.set_nanos(
      static_cast<std::int32_t>(absl::ToInt64Nanoseconds(time - absl::FromUnixSeconds(seconds))));
  return out;
}

std::string StatusOf(v1::EventState state) {
  switch (state) {
    case v1::EVENT_STATE_CLOSED:
    case v1::EVENT_STATE_VOIDED:
    case v1::EVENT_STATE_CANCELLED:
      return "closed";
    default:
      return "open";
  }
}

std::string StatusNotes(const v1::Event& event) {
  std::string notes = absl::StrCat(StateNameZh(event.state()), " ", StateName(event.state()));
  if (!event.unit_id().empty()) {
    absl::StrAppend(&notes, " · ", event.unit_id());
  }
  std::string note;
  switch (event.state()) {
    case v1::EVENT_STATE_SUSPENDED:
      note = event.suspend_reason();
      break;
    case v1::EVENT_STATE_RESOLVED:
    case v1::EVENT_STATE_CLOSED:
      note = event.resolution_note();
      break;
    case v1::EVENT_STATE_VOIDED:
      if (!event.duplicate_of().empty()) {
        note = absl::StrCat("并入 ", event.duplicate_of(), " merged into ", event.duplicate_of());
      }
      break;
    default:
      break;
  }
  if (!note.empty()) {
    absl::StrAppend(&notes, " · ", note);
  }
  return notes;
}

std::optional<Timestamp> ExpectedTime(const v1::Event& event) {
  if (event.state() != v1::EVENT_STATE_DISPATCHED && event.state() != v1::EVENT_STATE_ACCEPTED) {
    return std::nullopt;
  }
  if (!event.has_deadlines()) {
    return std::nullopt;
  }
  const v1::Deadlines& deadlines = event.deadlines();
  // resolve_by is the start plus the resolve limit as the policy counts it (working time, a
  // resumed pause, a supervision's shorter limit): prefer it to adding the two here.
  if (deadlines.has_resolve_by()) {
    return deadlines.resolve_by();
  }
  if (deadlines.has_started_at() && deadlines.has_resolve_limit()) {
    return deadlines.started_at() + deadlines.resolve_limit();
  }
  return std::nullopt;
}

Document RequestItem(const v1::Event& event, const std::string& service_name) {
  Document item = Document::object();
  item["service_request_id"] = event.id();
  item["status"] = StatusOf(event.state());
  item["status_notes"] = StatusNotes(event);
  item["service_name"] = service_name;
  item["service_code"] = event.category();
  item["description"] = event.description();
  item["agency_responsible"] = event.unit_id();
  item["service_notice"] =
      event.duplicate_of().empty()
          ? std::string()
          : absl::StrCat("与 ", event.duplicate_of(), " 重复，已并入 · duplicate of ",
                         event.duplicate_of());
  item["requested_datetime"] = TimeOrNull(event.reported_at(), event.has_reported_at());
  item["updated_datetime"] = TimeOrNull(event.updated_at(), event.has_updated_at());
  const std::optional<Timestamp> expected = ExpectedTime(event);
  item["expected_datetime"] = TimeOrNull(expected.value_or(Timestamp()), expected.has_value());
  item["address"] = event.address();
  if (event.has_location()) {
    item["lat"] = event.location().lat();
    item["long"] = event.location().lng();
  } else {
    item["lat"] = nullptr;
    item["long"] = nullptr;
  }
  item["media_url"] = event.media().empty() ? std::string() : event.media(0);
  return item;
}

Document ServiceItem(const Service& service) {
  Document item = Document::object();
  item["service_code"] = service.code;
  item["service_name"] = service.name;
  item["description"] =
      service.group.empty() ? service.name : absl::StrCat(service.group, " · ", service.name);
  item["metadata"] = false;
  item["type"] = "realtime";
  item["keywords"] = "";
  item["group"] = service.group;
  return item;
}

Document PostedItem(const v1::ReportEventResponse& response) {
  Document item = Document::object();
  item["service_request_id"] = response.event_id();
  item["service_notice"] =
      response.duplicate_of().empty()
          ? std::string(
                "已受理，按位置派往所在网格的责任单位 · Received: routed by its location "
                "to the unit responsible for its grid")
          : absl::StrCat("已受理，与 ", response.duplicate_of(),
                         " 为同一事项，已并入 · Received: the same matter as ",
                         response.duplicate_of(), ", merged into it");
  item["account_id"] = nullptr;
  return item;
}

std::string Render(Format format, const std::string& root, const Document& document) {
  if (format == Format::kJson) {
    return document.dump(-1, ' ', false, Document::error_handler_t::replace);
  }
  std::string out = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n";
  WriteXml(root, document, out);
  out += "\n";
  return out;
}

std::string ErrorText(Format format, int http, const std::string& description) {
  Document error = Document::object();
  error["code"] = http;
  error["description"] = description;
  return Render(format, "errors", Document::array({error}));
}

std::string ContentType(Format format) {
  return format == Format::kJson ? "application/json; charset=utf-8" : "text/xml; charset=utf-8";
}

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    char32_t code = 0;
    const std::size_t length = DecodeUtf8(text, i, code);
    if (length == 0) {
      out += kReplacement;
      ++i;
      continue;
    }
    if (!XmlChar(code)) {
      out += kReplacement;
    } else if (code == '&') {
      out += "&amp;";
    } else if (code == '<') {
      out += "&lt;";
    } else if (code == '>') {
      out += "&gt;";
    } else if (code == '"') {
      out += "&quot;";
    } else if (code == '\'') {
      out += "&apos;";
    } else if (code == '\r') {
      // A literal CR in text reads back as a line end: keep it as itself.
      out += "&#13;";
    } else {
      out.append(text.substr(i, length));
    }
    i += length;
  }
  return out;
}

}  // namespace grid::console::georeport
