# What both MinGW-w64 toolchains share (cmake/mingw-w64-x86_64.cmake: GCC;
# cmake/mingw-w64-clang-x86_64.cmake: Clang): Debian's MinGW-w64 sysroot and runtime, Debian's Boost
# headers, and Wine as the emulator. cmake/mingw-w64-i686.cmake sets _vmem_mingw_arch to i686 (and
# its own emulator) for 32-bit Windows.
if(NOT DEFINED _vmem_mingw_arch)
  set(_vmem_mingw_arch x86_64)
endif()
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR ${_vmem_mingw_arch})
set(CMAKE_RC_COMPILER ${_vmem_mingw_arch}-w64-mingw32-windres)
set(CMAKE_FIND_ROOT_PATH /usr/${_vmem_mingw_arch}-w64-mingw32)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
# Packages come from the sysroot and from CMAKE_PREFIX_PATH as given, so that a vmem installed to any
# prefix is found the way the README shows.
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

# Boost is header-only for vmem, so Debian's headers serve. They are reached through a folder that
# holds nothing but a link to them: adding /usr/include itself would let glibc's headers leak in.
set(_vmem_boost_dir "${CMAKE_BINARY_DIR}/mingw-boost-include")
if(NOT EXISTS "${_vmem_boost_dir}/boost")
  file(MAKE_DIRECTORY "${_vmem_boost_dir}")
  file(CREATE_LINK /usr/include/boost "${_vmem_boost_dir}/boost" SYMBOLIC)
endif()
set(Boost_INCLUDE_DIR "${_vmem_boost_dir}" CACHE PATH "Boost headers for the MinGW build")
set(Boost_NO_BOOST_CMAKE ON)

# A static build gives self-contained .exe files: no MinGW runtime DLLs to find under Wine. A shared
# build must not: a DLL and an .exe that each carry their own libstdc++ have two
# std::generic_category() objects, and error_code comparisons across them fail. There, both use the
# runtime DLLs, which cmake/wine-run puts on WINEPATH.
if(NOT BUILD_SHARED_LIBS)
  set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
endif()

if(NOT DEFINED CMAKE_CROSSCOMPILING_EMULATOR)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${CMAKE_CURRENT_LIST_DIR}/wine-run")
endif()
