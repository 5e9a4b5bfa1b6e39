// grid-topogen: prints a deterministic five-level topology as protobuf JSON.
//
//   grid-topogen --out deploy/config/laoshan-topology.json   # Laoshan, the checked-in file
//   grid-topogen --grids 100000 --out /tmp/big.json           # one district, province-sized
//   grid-topogen --districts 136 --cities 16 --grids 100000 --workers 120000
//       --out /tmp/province.json                              # a province of 136 districts
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <system_error>

#include "tools/topogen/flags.h"
#include "tools/topogen/generator.h"

namespace {

// Writes through a temporary file and a rename, so a failed run never leaves half a config file.
bool WriteFile(const std::string& path, const std::string& content) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << content;
    out.close();
    if (!out) {
      std::cerr << "grid-topogen: cannot write " << temporary << ": " << std::strerror(errno)
                << '\n';
      return false;
    }
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) {
    std::cerr << "grid-topogen: cannot rename " << temporary << " to " << path << ": "
              << error.message() << '\n';
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Writes a deterministic district topology (grid.v1.Topology as protobuf JSON). The defaults "
      "reproduce Laoshan: 5 subdistricts, 139 communities, 654 grids, 735 grid workers."};
  grid::topogen::CommandLine command_line;
  grid::topogen::AddFlags(app, command_line);
  CLI11_PARSE(app, argc, argv);

  const auto topology = grid::topogen::GenerateFrom(command_line);
  if (!topology.ok()) {
    std::cerr << "grid-topogen: " << topology.status().message() << '\n';
    return 2;
  }
  const std::string json = grid::topogen::ToJson(*topology);
  if (command_line.out_path.empty() || command_line.out_path == "-") {
    std::cout << json << std::flush;
    return std::cout ? 0 : 1;
  }
  if (!WriteFile(command_line.out_path, json)) {
    return 1;
  }
  std::cerr << "grid-topogen: wrote " << topology->units_size() << " units and "
            << topology->workers_size() << " workers (" << topology->version() << ") to "
            << command_line.out_path << '\n';
  const auto policies = grid::topogen::WriteDistrictPolicies(command_line, *topology);
  if (!policies.ok()) {
    std::cerr << "grid-topogen: " << policies.status().message() << '\n';
    return 2;
  }
  if (*policies > 0) {
    std::cerr << "grid-topogen: wrote " << *policies << " district policies to "
              << command_line.policy_dir << '\n';
  }
  return 0;
}
