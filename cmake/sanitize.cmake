# GRID_SANITIZE: one clang build (build-san/) that serves the sanitizers and the fuzzers.
#
#   cmake -S . -B build-san -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 -DGRID_SANITIZE=ON
#
# Everything (libraries, services, tests) is compiled with AddressSanitizer and
# UndefinedBehaviorSanitizer, and with the fuzzer's coverage instrumentation (fuzzer-no-link), so
# that the fuzz targets in tests/fuzz/ see the coverage of the libraries they call. Only the fuzz
# targets link libFuzzer itself (-fsanitize=fuzzer); everything else links the plain sanitizer
# runtimes, which carry the coverage callbacks' default definitions.
#
# Debian's libgrpc, libprotobuf, libhiredis and libjwt are not instrumented. That is sound here:
# ASan intercepts their malloc and free, so their heap is checked at our calls' boundaries, and the
# one known source of false reports with uninstrumented code, container-overflow, cannot arise:
# libstdc++ annotates std::vector for ASan only under _GLIBCXX_SANITIZE_VECTOR, which we leave
# undefined, so no container is annotated on one side and not on the other.
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "GRID_SANITIZE needs clang (libFuzzer): -DCMAKE_CXX_COMPILER=clang++-14")
endif()

# A finding stops the process (UBSan's default is to print and carry on), so that it fails the
# test that met it. -O1 (after the build type's -O2, so it wins) is what ASan recommends and
# builds much faster; line tables are all a report needs, and cost less to build than full -g.
add_compile_options(-O1 -gline-tables-only -fno-omit-frame-pointer
  -fsanitize=address,undefined -fno-sanitize-recover=undefined -fsanitize=fuzzer-no-link)
# lld links these large static binaries (gRPC, protobuf, the sanitizer runtimes) in a fraction of
# GNU ld's time; the build links some forty of them.
add_link_options(-fsanitize=address,undefined -fuse-ld=lld)

# Lighter for the code that is neither under test nor fuzzed: each executable's own sources (the
# services' and tools' mains, the test files; a fuzz target adds -fsanitize=fuzzer back after
# these) and the test support libraries under tests/ are compiled at -O0 and without the fuzzer's
# coverage. That more than halves their compile time (CPU seconds, clang-14: a gtest file 26.8 ->
# 10.9, routing's main.cc 48.7 -> 18.7); they are still checked by both sanitizers, and the code
# they test and fuzz keeps -O1 and coverage.
set(grid_light_code "$<OR:$<STREQUAL:$<TARGET_PROPERTY:TYPE>,EXECUTABLE>,\
$<PATH:IS_PREFIX,${PROJECT_SOURCE_DIR}/tests,$<TARGET_PROPERTY:SOURCE_DIR>>>")
add_compile_options("$<${grid_light_code}:-O0>" "$<${grid_light_code}:-fno-sanitize=fuzzer-no-link>")
