#include "services/intake/report_validator.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace grid::intake {
namespace {

absl::Status Invalid(std::string_view field, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("report.", absl::string_view(field.data(), field.size()), ": ",
                   absl::string_view(what.data(), what.size())));
}

absl::Status CheckText(std::string_view field, std::string_view text, int max_chars) {
  const int length = Utf8Length(text);
  if (length < 0) {
    return Invalid(field, "is not valid UTF-8");
  }
  if (length > max_chars) {
    return Invalid(field,
                   absl::StrCat("is ", length, " characters, at most ", max_chars, " are allowed"));
  }
  return absl::OkStatus();
}

}  // namespace

int Utf8Length(std::string_view text) {
  int count = 0;
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    int extra = 0;
    std::uint32_t code = 0;
    if (c < 0x80) {
      code = c;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1;
      code = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      code = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      code = c & 0x07;
    } else {
      return -1;
    }
    if (i + extra >= text.size() && extra > 0) {
      return -1;  // truncated sequence
    }
    for (int k = 1; k <= extra; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) {
        return -1;
      }
      code = (code << 6) | (next & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (code < kMin[extra] || (code >= 0xD800 && code <= 0xDFFF) || code > 0x10FFFF) {
      return -1;
    }
    i += extra + 1;
    ++count;
  }
  return count;
}

std::string ReporterOf(const v1::Report& report, const v1::Actor& actor) {
  return report.reporter_id().empty() ? actor.subject() : report.reporter_id();
}

absl::Status ValidateReport(const v1::Report& report, const v1::Actor& actor,
                            const topology::Topology& topology, const policy::Policy& policy) {
  if (report.grid_id().empty()) {
    return Invalid("grid_id", "required");
  }
  const v1::Unit* grid = topology.Find(report.grid_id());
  if (grid == nullptr || grid->level() != v1::LEVEL_GRID) {
    return Invalid("grid_id", absl::StrCat("unknown grid \"", report.grid_id(), "\""));
  }
  if (report.category().empty()) {
    return Invalid("category", "required");
  }
  if (policy.FindCategory(report.category()) == nullptr) {
    return Invalid("category", absl::StrCat("unknown category \"", report.category(), "\""));
  }
  if (report.severity() == v1::SEVERITY_UNSPECIFIED || !v1::Severity_IsValid(report.severity())) {
    return Invalid("severity",
                   "required (SEVERITY_LOW, SEVERITY_NORMAL, SEVERITY_HIGH or "
                   "SEVERITY_CRITICAL)");
  }
  if (!v1::Source_IsValid(report.source())) {
    return Invalid("source", "unknown source");
  }
  if (report.description().empty()) {
    return Invalid("description", "required");
  }
  if (auto s = CheckText("description", report.description(), kMaxDescriptionChars); !s.ok()) {
    return s;
  }
  if (auto s = CheckText("address", report.address(), kMaxAddressChars); !s.ok()) {
    return s;
  }
  if (report.client_request_id().size() > kMaxIdBytes) {
    return Invalid("client_request_id", absl::StrCat("at most ", kMaxIdBytes, " bytes"));
  }
  if (report.reporter_id().size() > kMaxIdBytes) {
    return Invalid("reporter_id", absl::StrCat("at most ", kMaxIdBytes, " bytes"));
  }
  if (report.media_size() > kMaxMedia) {
    return Invalid("media", absl::StrCat(report.media_size(), " references, at most ", kMaxMedia,
                                         " are allowed"));
  }
  for (int i = 0; i < report.media_size(); ++i) {
    const std::string& ref = report.media(i);
    if (ref.empty() || ref.size() > kMaxMediaRefBytes || Utf8Length(ref) < 0) {
      return Invalid(absl::StrCat("media[", i, "]"),
                     absl::StrCat("must be a reference of 1 to ", kMaxMediaRefBytes, " bytes"));
    }
  }
  if (report.has_location()) {
    const double lat = report.location().lat();
    const double lng = report.location().lng();
    if (!std::isfinite(lat) || lat < -90 || lat > 90) {
      return Invalid("location.lat", absl::StrCat(lat, " is outside -90..90"));
    }
    if (!std::isfinite(lng) || lng < -180 || lng > 180) {
      return Invalid("location.lng", absl::StrCat(lng, " is outside -180..180"));
    }
    const v1::Topology& data = topology.data();
    if (data.has_bounds()) {
      const v1::BoundingBox& box = data.bounds();
      if (lat < box.south_west().lat() || lat > box.north_east().lat() ||
          lng < box.south_west().lng() || lng > box.north_east().lng()) {
        return Invalid("location",
                       absl::StrCat("(", lat, ", ", lng, ") is outside the district's bounds"));
      }
    }
  }
  const std::string reporter = ReporterOf(report, actor);
  const bool as_worker = actor.role() == v1::ROLE_WORKER ||
                         (actor.role() == v1::ROLE_UNSPECIFIED && !reporter.empty());
  if (as_worker) {
    const v1::Worker* worker = topology.FindWorker(reporter);
    if (worker == nullptr) {
      return Invalid("reporter_id", absl::StrCat("unknown grid worker \"", reporter, "\""));
    }
    const v1::Unit* home = topology.AncestorAt(worker->grid_id(), v1::LEVEL_COMMUNITY);
    const v1::Unit* here = topology.AncestorAt(report.grid_id(), v1::LEVEL_COMMUNITY);
    if (home == nullptr || here == nullptr || home != here) {
      return Invalid(
          "reporter_id",
          absl::StrCat("grid worker \"", reporter, "\" patrols community \"",
                       home == nullptr ? "" : home->id(), "\", not the community \"",
                       here == nullptr ? "" : here->id(), "\" of grid \"", report.grid_id(), "\""));
    }
  }
  if (report.has_reported_at() &&
      (report.reported_at().seconds() < 0 || report.reported_at().nanos() < 0)) {
    return Invalid("reported_at", "must not be before 1970");
  }
  return absl::OkStatus();
}

}  // namespace grid::intake
