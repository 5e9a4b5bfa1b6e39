// gridctl: the operator and ops command line, talking to the gateway (GRID_GATEWAY).
#include <iostream>

#include "tools/gridctl/cli.h"

int main(int argc, char** argv) {
  return grid::gridctl::Run(argc, argv, std::cin, std::cout, std::cerr);
}
