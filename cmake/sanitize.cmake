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

# The tests' own code (tests/, but the fuzz targets) is compiled at -O0 and without the fuzzer's
# coverage, which halves its compile time (measured on a gtest-heavy file, CPU seconds): it is
# still checked by both sanitizers, the code under test keeps -O1 and coverage, and nothing
# fuzzes the tests. tests/CMakeLists.txt applies it.
set(GRID_SANITIZE_TEST_CODE_OPTIONS -O0 -fno-sanitize=fuzzer-no-link)
