# vmem's install rules, included by the top-level CMakeLists.txt when VMEM_INSTALL is on.
# The result is relocatable: nothing in it names the prefix it was installed to.
include(CMakePackageConfigHelpers)

set(VMEM_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/vmem CACHE STRING
    "Where vmem's CMake package files go, relative to the prefix")
mark_as_advanced(VMEM_CMAKE_DIR)

install(TARGETS vmem EXPORT vmemTargets
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY include/vmem ${PROJECT_BINARY_DIR}/include/vmem
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR})

# CMake package: find_package(vmem CONFIG REQUIRED) and the target vmem::vmem.
install(EXPORT vmemTargets NAMESPACE vmem:: DESTINATION ${VMEM_CMAKE_DIR})
configure_package_config_file(cmake/vmemConfig.cmake.in
  ${PROJECT_BINARY_DIR}/vmemConfig.cmake INSTALL_DESTINATION ${VMEM_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/vmemConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/vmemConfig.cmake ${PROJECT_BINARY_DIR}/vmemConfigVersion.cmake
  DESTINATION ${VMEM_CMAKE_DIR})

# pkg-config: vmem.pc finds the prefix from its own location (${pcfiledir}), so it relocates too.
set(_vmem_pc_dir ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
if(IS_ABSOLUTE "${_vmem_pc_dir}")
  set(VMEM_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  # "lib/pkgconfig" -> "../..", "lib/x86_64-linux-gnu/pkgconfig" -> "../../.."
  file(RELATIVE_PATH _vmem_up /vmem-prefix/${_vmem_pc_dir} /vmem-prefix)
  string(REGEX REPLACE "/$" "" _vmem_up "${_vmem_up}")
  set(VMEM_PC_PREFIX "\${pcfiledir}/${_vmem_up}")
endif()
foreach(_dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${_dir}}")
    set(VMEM_PC_${_dir} "${CMAKE_INSTALL_${_dir}}")
  else()
    set(VMEM_PC_${_dir} "\${prefix}/${CMAKE_INSTALL_${_dir}}")
  endif()
endforeach()
# Boost's headers, unless the compiler searches their folder anyway (-I/usr/include would reorder
# the system's own include path).
set(VMEM_PC_EXTRA_CFLAGS "")
foreach(_dir IN LISTS Boost_INCLUDE_DIRS)
  if(NOT _dir IN_LIST CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES)
    string(APPEND VMEM_PC_EXTRA_CFLAGS " -I${_dir}")
  endif()
endforeach()
if(BUILD_SHARED_LIBS)
  string(APPEND VMEM_PC_EXTRA_CFLAGS " -DVMEM_DYN_LINK")
endif()
# What a static vmem needs besides (pkg-config --static): the thread library, as Threads::Threads
# resolved it here ("-pthread"; nothing where the C library has the pthread functions and the flag
# is not needed).
set(VMEM_PC_LIBS_PRIVATE "")
if(VMEM_NEEDS_THREADS AND CMAKE_THREAD_LIBS_INIT)
  set(VMEM_PC_LIBS_PRIVATE " ${CMAKE_THREAD_LIBS_INIT}")
endif()
configure_file(cmake/vmem.pc.in ${PROJECT_BINARY_DIR}/vmem.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/vmem.pc DESTINATION ${_vmem_pc_dir})
