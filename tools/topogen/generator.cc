#include "tools/topogen/generator.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <queue>
#include <sstream>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "google/protobuf/util/json_util.h"

namespace grid::topogen {
namespace {

using grid::v1::Level;
using grid::v1::Location;
using grid::v1::Topology;
using grid::v1::Unit;

// Broken invariants of this file crash loudly; bad options never get here (ResolveCounts).
void Require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "grid_topogen: invariant violated: %s\n", what);
    std::abort();
  }
}

// Concatenates anything streamable. (Debian's abseil keeps its own string_view, so absl::StrCat
// does not take std::string_view.)
template <typename... Parts>
std::string Cat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}

// `value` in decimal, left-padded with zeros to `width` digits.
std::string Padded(int64_t value, size_t width) {
  std::string digits = std::to_string(value);
  if (digits.size() < width) {
    digits.insert(0, width - digits.size(), '0');
  }
  return digits;
}

// --- Deterministic randomness ----------------------------------------------------------------

// splitmix64. The standard distributions (std::uniform_real_distribution...) are not specified
// bit for bit and differ between standard libraries; the checked-in JSON must not.
class Rng final {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}

  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  // Uniform in [0, 1).
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

  // Uniform in [0, n); the modulo bias is irrelevant for picking names.
  size_t Below(size_t n) { return static_cast<size_t>(Next() % n); }

 private:
  uint64_t state_;
};

// One stream per purpose, so that adding a draw for one purpose does not reshuffle the others.
enum class Stream : uint64_t {
  kSubdistrictWeights = 1,
  kCommunityWeights = 2,
  kPlaceNames = 3,
  kSubdistrictNames = 4,
  kWorkerNames = 5,
  kJitter = 6,
  kCityNames = 7,
  kDistrictNames = 8,
};

Rng StreamRng(uint64_t seed, Stream stream) {
  Rng mixer(seed ^ (static_cast<uint64_t>(stream) * 0xd6e8feb86659fd93ULL));
  return Rng(mixer.Next());
}

// --- Geography ---------------------------------------------------------------------------------

struct Box {
  double south = 0;
  double west = 0;
  double north = 0;
  double east = 0;
};

// Laoshan district, roughly.
constexpr Box kLaoshanBounds{36.05, 120.43, 36.33, 120.72};
// Kilometres per degree of latitude, and the shrink of a degree of longitude at 36°N (cos 36°).
// Constants rather than std::cos so that the lattice does not depend on the libm.
constexpr double kKmPerDegree = 111.2;
constexpr double kCosLatitude = 0.809;

// The real subdistricts, codes 001..005 in this order. `communities` splits Laoshan's 139
// communities (invented: the rural subdistricts hold many former villages, 金家岭 is the new
// urban centre); `grid_density` makes urban communities hold more grids; `area` places them:
// 金家岭 and 中韩 in the urban west, 沙子口 on the south coast, 北宅 inland in the north,
// 王哥庄 on the north-east coast.
struct RealSubdistrict {
  std::string_view name;
  double communities;
  double grid_density;
  Box area;
};
constexpr std::array<RealSubdistrict, kLaoshanSubdistricts> kRealSubdistricts{{
    {"中韩街道", 24, 1.25, {36.11, 120.43, 36.20, 120.50}},
    {"沙子口街道", 38, 0.90, {36.06, 120.50, 36.18, 120.68}},
    {"王哥庄街道", 41, 0.85, {36.18, 120.59, 36.33, 120.72}},
    {"北宅街道", 28, 0.85, {36.20, 120.43, 36.33, 120.59}},
    {"金家岭街道", 8, 1.60, {36.05, 120.43, 36.11, 120.50}},
}};

// A district larger than Laoshan is laid out as Laoshan-sized tiles, five subdistricts each in
// the same arrangement, growing west and south of the real one.
Box SubdistrictArea(int index, int tile_columns) {
  const int tile = index / kLaoshanSubdistricts;
  const Box& slot = kRealSubdistricts[index % kLaoshanSubdistricts].area;
  const double dlat = (kLaoshanBounds.north - kLaoshanBounds.south) * (tile / tile_columns);
  const double dlng = (kLaoshanBounds.east - kLaoshanBounds.west) * (tile % tile_columns);
  return Box{slot.south - dlat, slot.west - dlng, slot.north - dlat, slot.east - dlng};
}

Box DistrictBounds(int subdistricts, int tile_columns) {
  const int tiles = (subdistricts + kLaoshanSubdistricts - 1) / kLaoshanSubdistricts;
  const int rows = (tiles + tile_columns - 1) / tile_columns;
  const int columns = std::min(tiles, tile_columns);
  const double height = kLaoshanBounds.north - kLaoshanBounds.south;
  const double width = kLaoshanBounds.east - kLaoshanBounds.west;
  return Box{kLaoshanBounds.south - height * (rows - 1),
             kLaoshanBounds.west - width * (columns - 1), kLaoshanBounds.north,
             kLaoshanBounds.east};
}

int TileColumns(int subdistricts) {
  const int tiles = (subdistricts + kLaoshanSubdistricts - 1) / kLaoshanSubdistricts;
  int columns = 1;
  while (columns * columns < tiles) {
    ++columns;
  }
  return columns;
}

// Six decimals (about 0.1 m) keep the JSON short and stable.
double Round6(double degrees) { return std::round(degrees * 1e6) / 1e6; }

Location MakeLocation(double lat, double lng) {
  Location location;
  location.set_lat(Round6(lat));
  location.set_lng(Round6(lng));
  return location;
}

// `count` points on a jittered lattice filling `box`, in boustrophedon order so that consecutive
// points (the grids of one community) are neighbours. Each point stays inside its cell.
std::vector<Location> Lattice(const Box& box, int count, Rng& rng) {
  const double height_km = (box.north - box.south) * kKmPerDegree;
  const double width_km = (box.east - box.west) * kKmPerDegree * kCosLatitude;
  const int columns =
      std::max(1, static_cast<int>(std::ceil(std::sqrt(count * width_km / height_km))));
  const int rows = (count + columns - 1) / columns;
  const double cell_lat = (box.north - box.south) / rows;
  const double cell_lng = (box.east - box.west) / columns;
  std::vector<Location> points;
  points.reserve(count);
  for (int k = 0; k < count; ++k) {
    const int row = k / columns;
    const int column = row % 2 == 0 ? k % columns : columns - 1 - k % columns;
    const double jitter_lat = 0.6 * (rng.Uniform() - 0.5);
    const double jitter_lng = 0.6 * (rng.Uniform() - 0.5);
    points.push_back(MakeLocation(box.south + (row + 0.5 + jitter_lat) * cell_lat,
                                  box.west + (column + 0.5 + jitter_lng) * cell_lng));
  }
  return points;
}

// Running mean of grid centres, for the centre of a community, zone, subdistrict or district.
class Centroid final {
 public:
  void Add(const Location& location) {
    lat_ += location.lat();
    lng_ += location.lng();
    ++count_;
  }
  Location Mean() const { return MakeLocation(lat_ / count_, lng_ / count_); }

 private:
  double lat_ = 0;
  double lng_ = 0;
  int count_ = 0;
};

// --- Names -------------------------------------------------------------------------------------

// Place names in the style of Laoshan's former villages: 东岭, 石河, 王家庄, 于家埠...
constexpr std::array<std::string_view, 24> kPlaceHeads{
    "东", "西", "南", "北", "上", "下", "前", "后", "大", "小", "新", "石",
    "青", "松", "柳", "桃", "枣", "梅", "槐", "杏", "龙", "凤", "云", "金"};
constexpr std::array<std::string_view, 24> kFamilyHeads{
    "王", "李", "张", "刘", "于", "孙", "姜", "杨", "赵", "宋", "曲", "林",
    "蓝", "周", "徐", "高", "黄", "崔", "韩", "董", "吕", "薛", "江", "段"};
constexpr std::array<std::string_view, 24> kPlaceTails{
    "庄", "村", "沟", "河", "岭", "疃", "埠", "泊", "洼", "夼", "营", "寨",
    "屯", "峪", "山", "湾", "口", "崖", "涧", "泉", "岛", "坡", "园", "桥"};
constexpr size_t kPlaceNameCount = 2 * 24 * 24;

std::string PlaceName(size_t index) {
  const size_t half = kPlaceNameCount / 2;
  if (index < half) {
    return Cat(kPlaceHeads[index / 24], kPlaceTails[index % 24]);
  }
  index -= half;
  return Cat(kFamilyHeads[index / 24], "家", kPlaceTails[index % 24]);
}

// A fixed shuffle of all place names; the k-th name drawn is PlaceName(order[k % size]).
std::vector<size_t> PlaceOrder(Rng rng) {
  std::vector<size_t> order(kPlaceNameCount);
  std::iota(order.begin(), order.end(), size_t{0});
  for (size_t i = order.size() - 1; i > 0; --i) {
    std::swap(order[i], order[rng.Below(i + 1)]);
  }
  return order;
}

// 1 -> 一, 10 -> 十, 12 -> 十二, 105 -> 一百零五 (1..9999).
std::string ChineseNumeral(int n) {
  static constexpr std::array<std::string_view, 10> kDigits{"零", "一", "二", "三", "四",
                                                            "五", "六", "七", "八", "九"};
  static constexpr std::array<std::string_view, 4> kUnits{"", "十", "百", "千"};
  std::string out;
  bool zero_pending = false;
  int divisor = 1000;
  for (int position = 3; position >= 0; --position, divisor /= 10) {
    const int digit = (n / divisor) % 10;
    if (digit == 0) {
      zero_pending = !out.empty();
      continue;
    }
    if (zero_pending) {
      out += kDigits[0];
      zero_pending = false;
    }
    if (!(digit == 1 && position == 1 && out.empty())) {
      out += kDigits[digit];
    }
    out += kUnits[position];
  }
  return out;
}

// The k-th name of a sequence drawn from the shuffled place names; once all are used, the next
// round adds a numeral (王家庄二) so names stay unique within the district.
std::string NthPlace(const std::vector<size_t>& order, size_t k) {
  const size_t round = k / order.size();
  std::string name = PlaceName(order[k % order.size()]);
  if (round > 0) {
    name += ChineseNumeral(static_cast<int>(round) + 1);
  }
  return name;
}

// Common surnames (Qingdao's 于, 姜, 曲, 蓝 among them) and given-name characters.
constexpr std::array<std::string_view, 40> kSurnames{
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱",
    "高", "林", "何", "郭", "马", "罗", "梁", "宋", "郑", "谢", "韩", "唐", "冯", "于",
    "董", "曲", "姜", "崔", "蓝", "薛", "袁", "邓", "许", "苏", "吕", "丁"};
constexpr std::array<std::string_view, 48> kGivenChars{
    "建", "国", "明", "华", "丽", "芳", "敏", "静", "强", "军", "磊", "洋", "勇", "艳", "杰", "娟",
    "涛", "超", "霞", "平", "刚", "桂", "英", "红", "玉", "兰", "海", "波", "宁", "鹏", "辉", "燕",
    "萍", "晓", "文", "志", "伟", "斌", "琳", "婷", "雪", "梅", "春", "秀", "凤", "成", "亮", "东"};

std::string PersonName(Rng& rng) {
  // One draw per statement: the order of a call's arguments is unspecified (gcc and clang differ),
  // and the names must not depend on the compiler. The given character is drawn first, as gcc
  // did when the names of the committed topology were generated.
  const std::string_view given = kGivenChars[rng.Below(kGivenChars.size())];
  const std::string_view surname = kSurnames[rng.Below(kSurnames.size())];
  std::string name = Cat(surname, given);
  if (rng.Uniform() < 0.7) {
    name += kGivenChars[rng.Below(kGivenChars.size())];
  }
  return name;
}

// --- Departments -------------------------------------------------------------------------------

// The district departments (370212D01...) and the category codes each owns; every small class of
// deploy/config/policy.json has exactly one owner, and the policy's rules route to these ids.
struct DepartmentSpec {
  std::string_view name;
  std::string_view categories;  // space-separated category codes
};
constexpr std::array<DepartmentSpec, 20> kDepartments{{
    {"城市管理局", "0102 0103 0104 0105 0106 0304 0503 0506 0602 0802"},  // D01
    {"应急管理局", "0505 0805"},                                          // D02
    {"住房和城乡建设局", "0301 0302 0504 0603 0704 0803"},                // D03
    {"生态环境分局", "0108 0303"},                                        // D04
    {"市场监督管理局", "0407 0806"},                                      // D05
    {"公安分局", "0403 0408"},                                            // D06
    {"水务局", "0601 0605"},                                              // D07
    {"民政局", "0405 0901 0902"},                                         // D08
    {"交通运输局", "0404 0604"},                                          // D09
    {"自然资源局", "0705 0808"},                                          // D10
    {"卫生健康局", "0904"},                                               // D11
    {"教育和体育局", "0807"},                                             // D12
    {"司法局", "0701 0702"},                                              // D13
    {"信访局", "0706"},                                                   // D14
    {"农业农村局", "0905"},                                               // D15
    {"文化和旅游局", "0406"},                                             // D16
    {"人力资源和社会保障局", "0703 0903"},                                // D17
    {"消防救援大队", "0501 0801"},                                        // D18
    {"园林和林业局", "0107 0502 0804"},                                   // D19
    {"综合行政执法局", "0101 02 0401 0402"},                              // D20
}};

// --- Counts ------------------------------------------------------------------------------------

// round(value * numerator / denominator), half up, in 64 bits.
int RoundedRatio(int64_t value, int64_t numerator, int64_t denominator) {
  return static_cast<int>((2 * value * numerator + denominator) / (2 * denominator));
}

// Splits `total` into one share per weight, proportional to the weights (Sainte-Laguë: the next
// unit goes to the largest weight / (share + 0.5)), each share in [1, cap]; ties go to the lower
// index. When the weights are integers summing to `total`, the shares equal the weights.
std::vector<int> Apportion(int total, const std::vector<double>& weights, int cap) {
  Require(!weights.empty() && static_cast<int64_t>(weights.size()) <= total &&
              total <= static_cast<int64_t>(weights.size()) * cap,
          "apportionment out of range");
  struct Entry {
    double priority;
    size_t index;
  };
  auto lower = [](const Entry& a, const Entry& b) {
    return a.priority != b.priority ? a.priority < b.priority : a.index > b.index;
  };
  std::priority_queue<Entry, std::vector<Entry>, decltype(lower)> queue(lower);
  std::vector<int> shares(weights.size(), 1);
  if (cap > 1) {
    for (size_t i = 0; i < weights.size(); ++i) {
      queue.push({weights[i] / 1.5, i});
    }
  }
  for (int64_t left = total - static_cast<int64_t>(weights.size()); left > 0; --left) {
    Require(!queue.empty(), "apportionment ran out of room");
    const Entry top = queue.top();
    queue.pop();
    const int share = ++shares[top.index];
    if (share < cap) {
      queue.push({weights[top.index] / (share + 0.5), top.index});
    }
  }
  return shares;
}

bool IsDigits(std::string_view text, size_t length) {
  return text.size() == length &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// --- The builder -------------------------------------------------------------------------------

struct SubdistrictPlan {
  std::string id;
  std::string name;
  Box area;
  int communities = 0;
  int zones = 0;
  int first_community = 0;  // index into Builder::communities_
  Centroid centre;
};

struct CommunityPlan {
  std::string id;
  std::string place;  // the name without 社区
  int subdistrict = 0;
  int zone = 0;  // 0-based within its subdistrict
  int grids = 0;
  int first_grid = 0;  // index into Builder::grid_centres_
  Centroid centre;
};

class Builder final {
 public:
  Builder(const Options& options, const Counts& counts) : options_(options), counts_(counts) {}

  Topology Build() {
    PlanSubdistricts();
    PlanCommunities();
    PlaceGrids();
    Topology topology;
    topology.set_district_id(options_.district_id);
    topology.set_version(Version());
    const int tile_columns = TileColumns(counts_.subdistricts);
    const Box bounds = DistrictBounds(counts_.subdistricts, tile_columns);
    *topology.mutable_bounds()->mutable_south_west() = MakeLocation(bounds.south, bounds.west);
    *topology.mutable_bounds()->mutable_north_east() = MakeLocation(bounds.north, bounds.east);
    EmitDistrict(topology);
    EmitDepartments(topology);
    EmitSubdistricts(topology);
    EmitZones(topology);
    EmitCommunities(topology);
    EmitGridsAndWorkers(topology);
    return topology;
  }

 private:
  std::string Version() const {
    if (!options_.version.empty()) {
      return options_.version;
    }
    std::string version;
    if (options_.district_id == kLaoshanDistrictId &&
        counts_.subdistricts == kLaoshanSubdistricts &&
        counts_.communities == kLaoshanCommunities && counts_.grids == kLaoshanGrids &&
        counts_.workers == kLaoshanWorkers) {
      version = kLaoshanVersion;
    } else {
      version = Cat("synthetic-", options_.district_id, "-", counts_.subdistricts, "s-",
                    counts_.communities, "c-", counts_.grids, "g-", counts_.workers, "w");
    }
    if (options_.seed != kDefaultSeed) {
      version += Cat("-seed", options_.seed);
    }
    return version;
  }

  void PlanSubdistricts() {
    const int tile_columns = TileColumns(counts_.subdistricts);
    Rng weights_rng = StreamRng(options_.seed, Stream::kSubdistrictWeights);
    const std::vector<size_t> name_order =
        PlaceOrder(StreamRng(options_.seed, Stream::kSubdistrictNames));
    const double mean_real_weight =
        static_cast<double>(kLaoshanCommunities) / static_cast<double>(kLaoshanSubdistricts);
    std::vector<double> weights;
    for (int s = 0; s < counts_.subdistricts; ++s) {
      SubdistrictPlan plan;
      plan.id = Cat(options_.district_id, Padded(s + 1, 3));
      plan.area = SubdistrictArea(s, tile_columns);
      if (s < kLaoshanSubdistricts) {
        plan.name = kRealSubdistricts[s].name;
        weights.push_back(kRealSubdistricts[s].communities);
      } else {
        // Place names cannot clash with the real five: no 中, 沙子, 哥, 宅 or 金家 in the tables.
        plan.name = Cat(NthPlace(name_order, s - kLaoshanSubdistricts), "街道");
        weights.push_back(mean_real_weight * (0.6 + 0.8 * weights_rng.Uniform()));
      }
      subdistricts_.push_back(std::move(plan));
    }
    const std::vector<int> communities =
        Apportion(counts_.communities, weights, kMaxCommunitiesPerSubdistrict);
    int first = 0;
    for (int s = 0; s < counts_.subdistricts; ++s) {
      SubdistrictPlan& plan = subdistricts_[s];
      plan.communities = communities[s];
      plan.first_community = first;
      first += plan.communities;
      // 2-5 management areas of about 8 communities each (1 when there is a single community).
      plan.zones = std::min({5, plan.communities, std::max(2, (plan.communities + 7) / 8)});
    }
  }

  double GridDensity(int subdistrict) const {
    return subdistrict < kLaoshanSubdistricts ? kRealSubdistricts[subdistrict].grid_density : 1.0;
  }

  void PlanCommunities() {
    Rng weights_rng = StreamRng(options_.seed, Stream::kCommunityWeights);
    const std::vector<size_t> place_order =
        PlaceOrder(StreamRng(options_.seed, Stream::kPlaceNames));
    std::vector<double> weights;
    weights.reserve(counts_.communities);
    for (int s = 0; s < counts_.subdistricts; ++s) {
      const SubdistrictPlan& subdistrict = subdistricts_[s];
      for (int c = 0; c < subdistrict.communities; ++c) {
        CommunityPlan plan;
        plan.id = Cat(subdistrict.id, Padded(c + 1, 3));
        plan.place = NthPlace(place_order, communities_.size());
        plan.subdistrict = s;
        // Consecutive communities share a management area.
        plan.zone =
            static_cast<int>(static_cast<int64_t>(c) * subdistrict.zones / subdistrict.communities);
        communities_.push_back(std::move(plan));
        weights.push_back(GridDensity(s) * (0.55 + 0.9 * weights_rng.Uniform()));
      }
    }
    const std::vector<int> grids = Apportion(counts_.grids, weights, kMaxGridsPerCommunity);
    int first = 0;
    for (size_t c = 0; c < communities_.size(); ++c) {
      communities_[c].grids = grids[c];
      communities_[c].first_grid = first;
      first += grids[c];
    }
  }

  void PlaceGrids() {
    Rng jitter = StreamRng(options_.seed, Stream::kJitter);
    grid_centres_.reserve(counts_.grids);
    for (SubdistrictPlan& subdistrict : subdistricts_) {
      int grids = 0;
      for (int c = 0; c < subdistrict.communities; ++c) {
        grids += communities_[subdistrict.first_community + c].grids;
      }
      for (Location& centre : Lattice(subdistrict.area, grids, jitter)) {
        grid_centres_.push_back(std::move(centre));
      }
    }
    for (CommunityPlan& community : communities_) {
      for (int g = 0; g < community.grids; ++g) {
        const Location& centre = grid_centres_[community.first_grid + g];
        community.centre.Add(centre);
        subdistricts_[community.subdistrict].centre.Add(centre);
        district_centre_.Add(centre);
      }
    }
  }

  static Unit* AddUnit(Topology& topology, std::string id, Level level, std::string parent_id,
                       std::string name) {
    Unit* unit = topology.add_units();
    unit->set_id(std::move(id));
    unit->set_level(level);
    unit->set_parent_id(std::move(parent_id));
    unit->set_name(std::move(name));
    unit->set_kind(grid::v1::UNIT_KIND_AREA);
    return unit;
  }

  void EmitDistrict(Topology& topology) const {
    Unit* district = AddUnit(topology, options_.district_id, grid::v1::LEVEL_DISTRICT, "",
                             options_.district_name);
    *district->mutable_center() = district_centre_.Mean();
  }

  void EmitDepartments(Topology& topology) const {
    for (size_t d = 0; d < kDepartments.size(); ++d) {
      Unit* department = AddUnit(topology, Cat(options_.district_id, "D", Padded(d + 1, 2)),
                                 grid::v1::LEVEL_DISTRICT, options_.district_id,
                                 std::string(kDepartments[d].name));
      department->set_kind(grid::v1::UNIT_KIND_DEPARTMENT);
      std::istringstream codes{std::string(kDepartments[d].categories)};
      for (std::string code; codes >> code;) {
        department->add_categories(code);
      }
    }
  }

  void EmitSubdistricts(Topology& topology) const {
    for (const SubdistrictPlan& subdistrict : subdistricts_) {
      Unit* unit = AddUnit(topology, subdistrict.id, grid::v1::LEVEL_SUBDISTRICT,
                           options_.district_id, subdistrict.name);
      *unit->mutable_center() = subdistrict.centre.Mean();
    }
  }

  static std::string ZoneId(const SubdistrictPlan& subdistrict, int zone) {
    return Cat(subdistrict.id, "Z", Padded(zone + 1, 2));
  }

  void EmitZones(Topology& topology) const {
    for (const SubdistrictPlan& subdistrict : subdistricts_) {
      for (int z = 0; z < subdistrict.zones; ++z) {
        // A management area is named after its first community's place, as 管区 usually are
        // named after their central village.
        const CommunityPlan* first = nullptr;
        Centroid centre;
        for (int c = 0; c < subdistrict.communities; ++c) {
          const CommunityPlan& community = communities_[subdistrict.first_community + c];
          if (community.zone != z) {
            continue;
          }
          if (first == nullptr) {
            first = &community;
          }
          for (int g = 0; g < community.grids; ++g) {
            centre.Add(grid_centres_[community.first_grid + g]);
          }
        }
        Require(first != nullptr, "empty management area");
        Unit* unit = AddUnit(topology, ZoneId(subdistrict, z), grid::v1::LEVEL_ZONE, subdistrict.id,
                             Cat(first->place, "管区"));
        *unit->mutable_center() = centre.Mean();
      }
    }
  }

  void EmitCommunities(Topology& topology) const {
    for (const CommunityPlan& community : communities_) {
      Unit* unit = AddUnit(topology, community.id, grid::v1::LEVEL_COMMUNITY,
                           ZoneId(subdistricts_[community.subdistrict], community.zone),
                           Cat(community.place, "社区"));
      *unit->mutable_center() = community.centre.Mean();
    }
  }

  // Every grid gets one worker; the extra workers are spread evenly over the grids.
  void EmitGridsAndWorkers(Topology& topology) const {
    Rng names = StreamRng(options_.seed, Stream::kWorkerNames);
    const int64_t grids = counts_.grids;
    const int64_t workers = counts_.workers;
    for (const CommunityPlan& community : communities_) {
      for (int g = 0; g < community.grids; ++g) {
        const int64_t index = community.first_grid + g;
        const std::string id = Cat(community.id, Padded(g + 1, 2));
        Unit* unit = AddUnit(topology, id, grid::v1::LEVEL_GRID, community.id,
                             Cat(community.place, "社区第", g + 1, "网格"));
        *unit->mutable_center() = grid_centres_[index];
        const int64_t staff = (index + 1) * workers / grids - index * workers / grids;
        for (int64_t w = 0; w < staff; ++w) {
          grid::v1::Worker* worker = topology.add_workers();
          worker->set_id(Cat("W", id, Padded(w + 1, 2)));
          worker->set_name(PersonName(names));
          worker->set_grid_id(id);
        }
      }
    }
  }

  const Options& options_;
  const Counts counts_;
  std::vector<SubdistrictPlan> subdistricts_;
  std::vector<CommunityPlan> communities_;
  std::vector<Location> grid_centres_;
  Centroid district_centre_;
};

}  // namespace

absl::StatusOr<Counts> ResolveCounts(const Options& options) {
  Counts counts;
  if (options.grids < 1 || options.grids > kMaxGrids) {
    return absl::InvalidArgumentError(
        Cat("--grids must be between 1 and ", kMaxGrids, ", got ", options.grids));
  }
  counts.grids = options.grids;

  if (options.communities.has_value() && *options.communities < 1) {
    return absl::InvalidArgumentError(
        Cat("--communities must be at least 1, got ", *options.communities));
  }
  counts.communities = options.communities.value_or(
      std::max(1, RoundedRatio(counts.grids, kLaoshanCommunities, kLaoshanGrids)));
  if (counts.communities > counts.grids) {
    return absl::InvalidArgumentError(Cat("--communities ", counts.communities,
                                          " is more than --grids ", counts.grids,
                                          ": every community needs at least one grid"));
  }
  if (static_cast<int64_t>(counts.grids) >
      static_cast<int64_t>(counts.communities) * kMaxGridsPerCommunity) {
    return absl::InvalidArgumentError(Cat(
        counts.grids, " grids over ", counts.communities, " communities would put more than ",
        kMaxGridsPerCommunity,
        " grids in a community, overflowing the 2-digit grid sequence of the 14-digit grid code; "
        "raise --communities"));
  }

  if (options.subdistricts.has_value() && *options.subdistricts < 1) {
    return absl::InvalidArgumentError(
        Cat("--subdistricts must be at least 1, got ", *options.subdistricts));
  }
  counts.subdistricts = options.subdistricts.value_or(
      std::max(1, RoundedRatio(counts.communities, kLaoshanSubdistricts, kLaoshanCommunities)));
  if (counts.subdistricts > kMaxSubdistricts) {
    return absl::InvalidArgumentError(Cat(
        counts.subdistricts, " subdistricts",
        options.subdistricts.has_value() ? ""
                                         : Cat(" (derived from ", counts.communities,
                                               " communities at Laoshan's ~28 per subdistrict)"),
        " overflow the 3-digit township code: one county holds at most ", kMaxSubdistricts,
        "; pass a smaller --subdistricts or fewer --grids"));
  }
  if (counts.subdistricts > counts.communities) {
    return absl::InvalidArgumentError(
        Cat("--subdistricts ", counts.subdistricts, " is more than the ", counts.communities,
            " communities: every subdistrict needs at least one community"));
  }
  if (static_cast<int64_t>(counts.communities) >
      static_cast<int64_t>(counts.subdistricts) * kMaxCommunitiesPerSubdistrict) {
    return absl::InvalidArgumentError(
        Cat(counts.communities, " communities over ", counts.subdistricts,
            " subdistricts would put more than ", kMaxCommunitiesPerSubdistrict,
            " communities in a subdistrict, overflowing the 3-digit community code; raise "
            "--subdistricts"));
  }

  counts.workers =
      options.workers.value_or(RoundedRatio(counts.grids, kLaoshanWorkers, kLaoshanGrids));
  if (counts.workers < counts.grids) {
    return absl::InvalidArgumentError(Cat("--workers ", counts.workers, " is fewer than the ",
                                          counts.grids, " grids: every grid needs a grid worker"));
  }
  if (static_cast<int64_t>(counts.workers) >
      static_cast<int64_t>(counts.grids) * kMaxWorkersPerGrid) {
    return absl::InvalidArgumentError(
        Cat(counts.workers, " workers over ", counts.grids, " grids would put more than ",
            kMaxWorkersPerGrid, " workers in a grid, overflowing the 2-digit worker sequence"));
  }
  return counts;
}

absl::StatusOr<Topology> Generate(const Options& options) {
  if (!IsDigits(options.district_id, 6)) {
    return absl::InvalidArgumentError(
        Cat("--district-id must be a 6-digit county code such as 370212, got \"",
            options.district_id, "\""));
  }
  if (options.district_name.empty()) {
    return absl::InvalidArgumentError("--district-name must not be empty");
  }
  absl::StatusOr<Counts> counts = ResolveCounts(options);
  if (!counts.ok()) {
    return counts.status();
  }
  return Builder(options, *counts).Build();
}

absl::StatusOr<Topology> GenerateRegion(const RegionOptions& options) {
  if (options.cities < 1 || options.cities > 99) {
    return absl::InvalidArgumentError(
        Cat("--cities must be 1 to 99 (a 2-digit city sequence), got ", options.cities));
  }
  if (options.districts < 2 || options.districts < options.cities ||
      options.districts > options.cities * 99) {
    return absl::InvalidArgumentError(
        Cat("--districts must be 2 or more, at least one a city and at most 99 a city (",
            options.cities, " cities), got ", options.districts));
  }
  const bool province = options.cities > 1;
  const std::string root_id =
      !options.root_id.empty() ? options.root_id : (province ? "370000" : "370200");
  if (!IsDigits(root_id, 6) || (province && root_id.substr(2) != "0000") ||
      (!province && (root_id.substr(4) != "00" || root_id.substr(2, 2) == "00"))) {
    return absl::InvalidArgumentError(
        Cat("--root-id must be a 6-digit ",
            province ? "province code such as 370000" : "city code such as 370200", ", got \"",
            root_id, "\""));
  }
  if (options.grids < options.districts || options.grids > kMaxGrids) {
    return absl::InvalidArgumentError(Cat("--grids must be at least one a district (",
                                          options.districts, ") and at most ", kMaxGrids, ", got ",
                                          options.grids));
  }
  const int workers =
      options.workers.value_or(RoundedRatio(options.grids, kLaoshanWorkers, kLaoshanGrids));
  if (workers < options.grids) {
    return absl::InvalidArgumentError(Cat("--workers ", workers, " is fewer than the ",
                                          options.grids, " grids: every grid needs a grid worker"));
  }
  Topology region;
  region.set_root_id(root_id);
  region.set_version(!options.version.empty()
                         ? options.version
                         : Cat("synthetic-region-", root_id, "-", options.cities, "city-",
                               options.districts, "d-", options.grids, "g-", workers, "w"));
  Unit* root = region.add_units();
  root->set_id(root_id);
  root->set_level(province ? grid::v1::LEVEL_PROVINCE : grid::v1::LEVEL_CITY);
  root->set_name(!options.root_name.empty() ? options.root_name
                                            : std::string(province ? "山东省" : "青岛市"));
  root->set_kind(grid::v1::UNIT_KIND_AREA);
  std::vector<std::string> city_ids;
  if (province) {
    const std::vector<size_t> names = PlaceOrder(StreamRng(options.seed, Stream::kCityNames));
    for (int c = 0; c < options.cities; ++c) {
      Unit* city = region.add_units();
      city->set_id(Cat(root_id.substr(0, 2), Padded(c + 1, 2), "00"));
      city->set_level(grid::v1::LEVEL_CITY);
      city->set_parent_id(root_id);
      city->set_name(Cat(NthPlace(names, c), "市"));
      city->set_kind(grid::v1::UNIT_KIND_AREA);
      city_ids.push_back(city->id());
    }
  } else {
    city_ids.push_back(root_id);
  }
  // Each district on a tile of the largest district's size, in a square arrangement.
  const std::vector<size_t> names = PlaceOrder(StreamRng(options.seed, Stream::kDistrictNames));
  std::vector<Topology> districts;
  districts.reserve(options.districts);
  double height = 0;
  double width = 0;
  for (int d = 0; d < options.districts; ++d) {
    const int city = static_cast<int>(static_cast<int64_t>(d) * options.cities / options.districts);
    const int first = static_cast<int>(
        (static_cast<int64_t>(city) * options.districts + options.cities - 1) / options.cities);
    Options one;
    one.district_id = Cat(city_ids[city].substr(0, 4), Padded(d - first + 1, 2));
    one.district_name = Cat(NthPlace(names, d), "区");
    one.grids = static_cast<int>((static_cast<int64_t>(d) + 1) * options.grids / options.districts -
                                 static_cast<int64_t>(d) * options.grids / options.districts);
    one.workers = static_cast<int>((static_cast<int64_t>(d) + 1) * workers / options.districts -
                                   static_cast<int64_t>(d) * workers / options.districts);
    one.seed = options.seed + static_cast<uint64_t>(d);
    one.version = "region";
    absl::StatusOr<Topology> district = Generate(one);
    if (!district.ok()) {
      return absl::InvalidArgumentError(
          Cat("district ", one.district_id, ": ", district.status().message()));
    }
    const auto& box = district->bounds();
    height = std::max(height, box.north_east().lat() - box.south_west().lat());
    width = std::max(width, box.north_east().lng() - box.south_west().lng());
    for (Unit& unit : *district->mutable_units()) {
      if (unit.id() == one.district_id) {
        unit.set_parent_id(city_ids[city]);
      }
    }
    districts.push_back(*std::move(district));
  }
  int columns = 1;
  while (columns * columns < options.districts) {
    ++columns;
  }
  const auto shift = [](Location& location, double dlat, double dlng) {
    location = MakeLocation(location.lat() + dlat, location.lng() + dlng);
  };
  Box bounds{90, 180, -90, -180};
  for (int d = 0; d < options.districts; ++d) {
    Topology& district = districts[d];
    const double dlat = height * (d / columns);
    const double dlng = width * (d % columns);
    auto& box = *district.mutable_bounds();
    shift(*box.mutable_south_west(), dlat, dlng);
    shift(*box.mutable_north_east(), dlat, dlng);
    bounds.south = std::min(bounds.south, box.south_west().lat());
    bounds.west = std::min(bounds.west, box.south_west().lng());
    bounds.north = std::max(bounds.north, box.north_east().lat());
    bounds.east = std::max(bounds.east, box.north_east().lng());
    for (Unit& unit : *district.mutable_units()) {
      if (unit.has_center()) {
        shift(*unit.mutable_center(), dlat, dlng);
      }
      region.add_units()->Swap(&unit);
    }
    for (grid::v1::Worker& worker : *district.mutable_workers()) {
      region.add_workers()->Swap(&worker);
    }
  }
  *region.mutable_bounds()->mutable_south_west() = MakeLocation(bounds.south, bounds.west);
  *region.mutable_bounds()->mutable_north_east() = MakeLocation(bounds.north, bounds.east);
  return region;
}

absl::StatusOr<std::vector<grid::v1::Policy>> DistrictPolicies(const Topology& region,
                                                               const grid::v1::Policy& model) {
  const auto moved = [](const std::string& id, const std::string& district,
                        std::string* out) -> absl::Status {
    if (id.size() < 8 || !IsDigits(id.substr(0, 6), 6) || id[6] != 'D' ||
        !IsDigits(id.substr(7), id.size() - 7)) {
      return absl::InvalidArgumentError(
          Cat("department \"", id, "\" is not <district code>D<number> (e.g. 370212D05)"));
    }
    *out = Cat(district, id.substr(6));
    return absl::OkStatus();
  };
  std::vector<grid::v1::Policy> policies;
  for (const Unit& unit : region.units()) {
    if (unit.level() != grid::v1::LEVEL_DISTRICT || unit.kind() == grid::v1::UNIT_KIND_DEPARTMENT) {
      continue;
    }
    grid::v1::Policy policy = model;
    policy.set_district_id(unit.id());
    policy.set_version(Cat(model.version(), "@", unit.id()));
    for (grid::v1::Rule& rule : *policy.mutable_rules()) {
      if (!rule.department_id().empty()) {
        if (auto status = moved(rule.department_id(), unit.id(), rule.mutable_department_id());
            !status.ok()) {
          return status;
        }
      }
      for (std::string& fallback : *rule.mutable_fallback_department_ids()) {
        if (auto status = moved(fallback, unit.id(), &fallback); !status.ok()) {
          return status;
        }
      }
    }
    policies.push_back(std::move(policy));
  }
  return policies;
}

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions print_options;
  print_options.add_whitespace = true;
  print_options.preserve_proto_field_names = true;
  std::string json;
  const auto status = google::protobuf::util::MessageToJsonString(message, &json, print_options);
  // Printing a message built in memory cannot fail short of a protobuf bug.
  Require(status.ok(), "MessageToJsonString failed on a generated message");
  if (json.empty() || json.back() != '\n') {
    json.push_back('\n');
  }
  return json;
}

}  // namespace grid::topogen
