// Builds a synthetic but plausible five-level topology (grid::v1::Topology) for one district.
//
// The defaults reproduce Laoshan (崂山区, 370212) with the public figures of the seed article:
// 5 subdistricts, 139 communities, 654 grids, 735 grid workers. What is not public (management
// areas, community, grid and worker names, coordinates) is invented, deterministically: the same
// Options always give the same message, byte for byte once printed. Larger counts scale the
// district up to a province-sized load test while keeping the code formats of DOMAIN.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grid/v1/policy.pb.h"
#include "grid/v1/topology.pb.h"

namespace grid::topogen {

// Laoshan's public figures (2021).
inline constexpr int kLaoshanSubdistricts = 5;
inline constexpr int kLaoshanCommunities = 139;
inline constexpr int kLaoshanGrids = 654;
inline constexpr int kLaoshanWorkers = 735;
inline constexpr char kLaoshanDistrictId[] = "370212";
inline constexpr char kLaoshanDistrictName[] = "崂山区";
inline constexpr char kLaoshanVersion[] = "laoshan-2021";

// The seed of every invented detail; the article's publication date.
inline constexpr uint64_t kDefaultSeed = 20210925;

// Code widths (DOMAIN.md "Codes"): township 3 digits, community 3, grid sequence 2; the worker
// sequence within a grid is 2 digits as well.
inline constexpr int kMaxSubdistricts = 999;
inline constexpr int kMaxCommunitiesPerSubdistrict = 999;
inline constexpr int kMaxGridsPerCommunity = 99;
inline constexpr int kMaxWorkersPerGrid = 99;
// A sanity bound well above a province (Shandong has roughly 100k grids); the output for it is
// already several hundred megabytes of JSON.
inline constexpr int kMaxGrids = 2'000'000;

// What to generate. Unset counts are derived from `grids` with Laoshan's ratios.
struct Options {
  // The district's 6-digit administrative code.
  std::string district_id = kLaoshanDistrictId;
  // The district's display name.
  std::string district_name = kLaoshanDistrictName;
  // Topology.version; empty picks "laoshan-2021" for Laoshan's own counts and a synthetic label
  // naming the counts otherwise.
  std::string version;
  // Base grids (基础网格).
  int grids = kLaoshanGrids;
  // Communities; default grids / 4.7 (654 / 139).
  std::optional<int> communities;
  // Grid workers; default grids * 1.12 (735 / 654).
  std::optional<int> workers;
  // Subdistricts; default communities / 27.8 (139 / 5).
  std::optional<int> subdistricts;
  // Seed of the invented names, weights and jitter.
  uint64_t seed = kDefaultSeed;
};

// The counts a generation will produce, after derivation.
struct Counts {
  int subdistricts = 0;
  int communities = 0;
  int grids = 0;
  int workers = 0;
};

// Derives the unset counts and checks that they fit the codes and each other. An error names the
// flag at fault (--grids, --communities, ...) and why, e.g. a community code that would need more
// than 3 digits. Never fails for default Options.
absl::StatusOr<Counts> ResolveCounts(const Options& options);

// Builds the topology: the district unit, its departments (370212D01...), subdistricts, management
// areas (管区), communities, grids (each with a centre inside `bounds`) and workers. Fails as
// ResolveCounts does, or on a district id that is not 6 digits.
absl::StatusOr<grid::v1::Topology> Generate(const Options& options);

// Several districts under one city, or under a province and its cities (Topology.root_id): a
// city's or a province's deployment. Each district is generated as Generate does (its own
// subdistricts, management areas, communities, grids, workers and departments, with Laoshan's
// ratios and its own seed) and placed on a tile of its own, east and north of the first, so that
// every grid centre is the nearest of its own district's.
struct RegionOptions {
  // Districts (2 to 99 per city).
  int districts = 10;
  // Cities: 1 makes the city the top unit; more put a province above them, the districts
  // spread evenly over the cities.
  int cities = 1;
  // The top unit's 6-digit code; empty picks 370200 (Qingdao) for one city, 370000 (Shandong)
  // for a province. A city's code is the province's first two digits, its sequence and "00"; a
  // district's, its city's first four digits and its sequence.
  std::string root_id;
  // The top unit's name; empty picks 青岛市 or 山东省.
  std::string root_name;
  // Base grids of all districts together, split evenly.
  int grids = 6540;
  // Grid workers of all districts together; default grids * 1.12.
  std::optional<int> workers;
  // Seed of the invented details; district i uses seed + i.
  uint64_t seed = kDefaultSeed;
  // Topology.version; empty picks a label naming the counts.
  std::string version;
};

// Builds the region. An error names the flag at fault (--districts, --cities, --root-id,
// --grids, --workers).
absl::StatusOr<grid::v1::Topology> GenerateRegion(const RegionOptions& options);

// One policy per district of `region`, from `model`, a policy written for one generated district:
// each is the model with its district_id set and every department id ("370212D05") moved to the
// district's own ("370213D05"). Errors name a department id that is not "<6 digits>D<digits>".
absl::StatusOr<std::vector<grid::v1::Policy>> DistrictPolicies(const grid::v1::Topology& region,
                                                               const grid::v1::Policy& model);

// Protobuf JSON: proto field names, enums by name, pretty-printed, ending in a newline. This is the
// format of deploy/config/laoshan-topology.json.
std::string ToJson(const google::protobuf::Message& message);

}  // namespace grid::topogen
