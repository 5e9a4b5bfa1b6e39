// The console's Open311 door over what a client sends: the input is a query string or a form
// body (the same urlencoded text). Whatever it is, parsing it as a new request's form and as a
// search either succeeds or is refused with INVALID_ARGUMENT naming a parameter (never a crash:
// the door answers 400, never 500), and the XML and JSON the door writes from its text are
// well-formed: XmlEscape leaves only characters XML 1.0 allows, as valid UTF-8, and no markup.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "services/console/georeport.h"
#include "services/console/json_api.h"

namespace {

using grid::console::georeport::Document;

void Fail(const char* what, std::string_view text) {
  std::fprintf(stderr, "georeport_fuzz: %s: %.*s\n", what, static_cast<int>(text.size()),
               text.data());
  std::abort();
}

// The length of the well-formed UTF-8 sequence at text[i] (0 when there is none) and its code.
std::size_t Utf8At(std::string_view text, std::size_t i, char32_t& code) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  std::size_t length = lead < 0x80           ? 1
                       : (lead >> 5) == 0x6  ? 2
                       : (lead >> 4) == 0xE  ? 3
                       : (lead >> 3) == 0x1E ? 4
                                             : 0;
  if (length == 0 || i + length > text.size()) {
    return 0;
  }
  code = length == 1 ? lead : lead & (0xFF >> (length + 1));
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) {
      return 0;
    }
    code = (code << 6) | (byte(i + k) & 0x3F);
  }
  static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (code < kMin[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
    return 0;
  }
  return length;
}

// XML 1.0 character data: valid UTF-8, only its Char production, no '<' and '&' but in the
// entities the writer uses.
void CheckXmlText(std::string_view text, std::string_view input) {
  for (std::size_t i = 0; i < text.size();) {
    char32_t code = 0;
    const std::size_t length = Utf8At(text, i, code);
    if (length == 0) {
      Fail("XmlEscape left bytes that are not UTF-8 for", input);
    }
    const bool xml_char = code == 0x9 || code == 0xA || code == 0xD ||
                          (code >= 0x20 && code <= 0xD7FF) || (code >= 0xE000 && code <= 0xFFFD) ||
                          code >= 0x10000;
    if (!xml_char || code == '<' || code == '>' || code == '"' || code == '\'') {
      Fail("XmlEscape left a character XML text may not hold for", input);
    }
    if (code == '&') {
      bool entity = false;
      for (std::string_view known : {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#13;"}) {
        entity = entity || text.substr(i, known.size()) == known;
      }
      if (!entity) {
        Fail("XmlEscape left a bare & for", input);
      }
    }
    i += length;
  }
}

void CheckStatus(const absl::Status& status, std::string_view input) {
  if (!status.ok() && status.code() != absl::StatusCode::kInvalidArgument) {
    Fail("a refusal that is not INVALID_ARGUMENT for", input);
  }
  if (!status.ok() && status.message().find(':') == absl::string_view::npos) {
    Fail("a refusal that names no parameter for", input);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  namespace georeport = grid::console::georeport;

  const absl::StatusOr<grid::console::QueryParams> params = grid::console::ParseQuery(input);
  CheckStatus(params.status(), input);
  if (params.ok()) {
    const absl::StatusOr<georeport::ReportForm> form = georeport::ParseReportForm(*params);
    CheckStatus(form.status(), input);
    if (form.ok()) {
      (void)georeport::ReportOf(*form, "暴露垃圾");
    }
    const absl::StatusOr<georeport::Search> search = georeport::ParseSearch(*params);
    CheckStatus(search.status(), input);
    if (search.ok()) {
      // The unit tests' clock: 2026-11-30T08:00Z.
      CheckStatus(georeport::ListRequestOf(*search, 1'796'025'600'000).status(), input);
    }
  }
  const absl::StatusOr<google::protobuf::Timestamp> time = georeport::ParseW3cTime(input);
  if (time.ok()) {
    (void)georeport::W3cTime(*time);
  }

  CheckXmlText(georeport::XmlEscape(input), input);
  // The error document quotes a client's text in both formats.
  const std::string description(input);
  const Document json = Document::parse(
      georeport::ErrorText(georeport::Format::kJson, 400, description), nullptr, false);
  if (json.is_discarded() || !json.is_array() || json.size() != 1) {
    Fail("the JSON error document does not parse for", input);
  }
  return 0;
}
