# Cross-compiling vmem for 64-bit Windows with Debian's MinGW-w64 (g++-mingw-w64-x86-64-posix),
# running the tests and examples under Wine.
set(CMAKE_C_COMPILER x86_64-w64-mingw32-gcc-posix)
set(CMAKE_CXX_COMPILER x86_64-w64-mingw32-g++-posix)
include(${CMAKE_CURRENT_LIST_DIR}/mingw-w64-common.cmake)
