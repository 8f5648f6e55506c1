# Cross-compiling vmem for 64-bit Windows with Debian's Clang (clang-16, lld-16) and the MinGW-w64
# sysroot and runtime of g++-mingw-w64-x86-64-posix, running the tests and examples under Wine.
# cmake/mingw-clang++ makes clang++ a complete driver for that target.
set(CMAKE_CXX_COMPILER ${CMAKE_CURRENT_LIST_DIR}/mingw-clang++)
include(${CMAKE_CURRENT_LIST_DIR}/mingw-w64-common.cmake)
