# Cross-compiling vmem for 32-bit Windows with Debian's MinGW-w64 (g++-mingw-w64-i686-posix), running
# the tests and examples under Wine 8's WoW64 mode: cmake/wine32-run finds the i386 Wine DLLs
# (libwine:i386, unpacked into build/wine32 by scripts/test).
set(_vmem_mingw_arch i686)
set(CMAKE_C_COMPILER i686-w64-mingw32-gcc-posix)
set(CMAKE_CXX_COMPILER i686-w64-mingw32-g++-posix)
set(CMAKE_CROSSCOMPILING_EMULATOR "${CMAKE_CURRENT_LIST_DIR}/wine32-run")
include(${CMAKE_CURRENT_LIST_DIR}/mingw-w64-common.cmake)
# Large-address-aware, as 32-bit programs that need much address space are: more than 2 GiB of user
# address space (4 GiB under 64-bit Windows, 3 GiB under Wine), so the tests reserve past 2^31.
# (Without it Wine still maps above 2 GiB when given the address, which Windows would refuse.)
string(APPEND CMAKE_EXE_LINKER_FLAGS_INIT " -Wl,--large-address-aware")
