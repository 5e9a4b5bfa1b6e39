#include "services/intake/report_validator.h"

#include "absl/strings/str_cat.h"
#include "common/input/text.h"

namespace grid::intake {
namespace {

absl::Status Invalid(std::string_view field, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("report.", absl::string_view(field.data(), field.size()), ": ",
                   absl::string_view(what.data(), what.size())));
}

// "7 days", "36 hours", "90 minutes": a window as the policy author likely wrote it.
std::string Span(Millis ms) {
  constexpr Millis kMinute = 60 * 1000;
  constexpr Millis kHour = 60 * kMinute;
  constexpr Millis kDay = 24 * kHour;
  if (ms % kDay == 0) {
    return absl::StrCat(ms / kDay, ms == kDay ? " day" : " days");
  }
  if (ms % kHour == 0) {
    return absl::StrCat(ms / kHour, " hours");
  }
  if (ms % kMinute == 0) {
    return absl::StrCat(ms / kMinute, " minutes");
  }
  return absl::StrCat(ms / 1000.0, " s");
}

absl::Status CheckReportedAt(const v1::Report& report, const policy::Policy& policy, Millis now) {
  if (!report.has_reported_at()) {
    return absl::OkStatus();
  }
  const Millis reported = FromTimestamp(report.reported_at());
  if (reported > now + kMaxClockSkew) {
    return Invalid("reported_at",
                   absl::StrCat("is ", (reported - now) / 1000, " s after its receipt; at most ",
                                kMaxClockSkew / 1000, " s of clock skew is allowed"));
  }
  if (reported < now - policy.OfflineWindow()) {
    return Invalid("reported_at",
                   absl::StrCat("is older than the offline window of ",
                                Span(policy.OfflineWindow()), " (the policy's offline_window)"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string ReporterOf(const v1::Report& report, const v1::Actor& actor) {
  return report.reporter_id().empty() ? actor.subject() : report.reporter_id();
}

absl::Status ValidateReport(const v1::Report& report, const v1::Actor& actor,
                            const topology::Topology& topology, const policy::Policy& policy,
                            Millis now) {
  if (absl::Status bounds = input::CheckFields(report, "report"); !bounds.ok()) {
    return bounds;
  }
  if (report.grid_id().empty()) {
    return Invalid("grid_id", "required");
  }
  const v1::Unit* grid = topology.Find(report.grid_id());
  if (grid == nullptr || grid->level() != v1::LEVEL_GRID) {
    return Invalid("grid_id", absl::StrCat("unknown grid ", input::Quote(report.grid_id())));
  }
  if (report.category().empty()) {
    return Invalid("category", "required");
  }
  // The grid's district's policy (its own categories and offline window).
  const policy::Policy& own = policy.ForUnit(topology, report.grid_id());
  if (own.FindCategory(report.category()) == nullptr) {
    return Invalid("category", absl::StrCat("unknown category ", input::Quote(report.category())));
  }
  if (report.severity() == v1::SEVERITY_UNSPECIFIED) {
    return Invalid("severity",
                   "required (SEVERITY_LOW, SEVERITY_NORMAL, SEVERITY_HIGH or "
                   "SEVERITY_CRITICAL)");
  }
  if (!v1::Severity_IsValid(report.severity())) {
    return Invalid("severity", absl::StrCat("unknown severity ", report.severity(),
                                            " (SEVERITY_LOW, SEVERITY_NORMAL, SEVERITY_HIGH or "
                                            "SEVERITY_CRITICAL)"));
  }
  if (!v1::Source_IsValid(report.source())) {
    return Invalid("source", absl::StrCat("unknown source ", report.source()));
  }
  if (report.description().empty()) {
    return Invalid("description", "required");
  }
  if (report.has_location()) {
    const double lat = report.location().lat();
    const double lng = report.location().lng();
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
      return Invalid("reporter_id", absl::StrCat("unknown grid worker ", input::Quote(reporter)));
    }
    const v1::Unit* home = topology.AncestorAt(worker->grid_id(), v1::LEVEL_COMMUNITY);
    const v1::Unit* here = topology.AncestorAt(report.grid_id(), v1::LEVEL_COMMUNITY);
    if (home == nullptr || here == nullptr || home != here) {
      return Invalid("reporter_id",
                     absl::StrCat("grid worker ", input::Quote(reporter), " patrols community \"",
                                  home == nullptr ? "" : home->id(), "\", not the community \"",
                                  here == nullptr ? "" : here->id(), "\" of grid ",
                                  input::Quote(report.grid_id())));
    }
  }
  return CheckReportedAt(report, own, now);
}

}  // namespace grid::intake
