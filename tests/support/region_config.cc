#include "tests/support/region_config.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "tests/support/shipped_config.h"
#include "tools/topogen/generator.h"

namespace grid::testing {
namespace {

[[noreturn]] void Die(const absl::Status& status) {
  std::fprintf(stderr, "the two-district region does not build: %s\n", status.ToString().c_str());
  std::abort();
}

absl::Status WriteText(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  return out ? absl::OkStatus() : absl::InternalError(absl::StrCat("cannot write ", path.string()));
}

}  // namespace

absl::StatusOr<Region> MakeTwoDistrictCity(const v1::Policy& model, int grids) {
  Region region;
  topogen::RegionOptions options;
  options.districts = 2;
  options.grids = grids;
  auto data = topogen::GenerateRegion(options);
  if (!data.ok()) {
    return data.status();
  }
  region.data = *std::move(data);
  auto policies = topogen::DistrictPolicies(region.data, model);
  if (!policies.ok()) {
    return policies.status();
  }
  region.district_policies = *std::move(policies);
  auto topology = topology::Topology::Build(region.data);
  if (!topology.ok()) {
    return topology.status();
  }
  region.topology = *std::move(topology);
  auto policy = policy::Policy::BuildAll(region.district_policies, *region.topology);
  if (!policy.ok()) {
    return policy.status();
  }
  region.policy = *std::move(policy);
  return region;
}

const Region& TwoDistrictCity() {
  static const Region* region = [] {
    auto built = MakeTwoDistrictCity(ShippedPolicy().data());
    if (!built.ok()) {
      Die(built.status());
    }
    return new Region(*std::move(built));
  }();
  return *region;
}

absl::StatusOr<std::string> WriteRegion(const Region& region, const std::string& dir) {
  const std::filesystem::path root(dir);
  std::error_code error;
  std::filesystem::create_directories(root / "policies", error);
  if (error) {
    return absl::InternalError(absl::StrCat(dir, ": ", error.message()));
  }
  const std::filesystem::path topology = root / "topology.json";
  if (auto status = WriteText(topology, topogen::ToJson(region.data)); !status.ok()) {
    return status;
  }
  for (const v1::Policy& policy : region.district_policies) {
    if (auto status = WriteText(root / "policies" / (policy.district_id() + ".json"),
                                topogen::ToJson(policy));
        !status.ok()) {
      return status;
    }
  }
  return topology.string();
}

}  // namespace grid::testing
