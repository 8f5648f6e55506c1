// vmem Windows backend: VirtualAlloc2 with MEM_ADDRESS_REQUIREMENTS, loaded at run time.
// It exists from Windows 10 1803 on, in kernelbase.dll; mingw-w64 10 declares it only for
// libmincore and lacks some of its constants, so the few types needed are spelled out here with
// the layout the Windows SDK gives them (winnt.h).
#ifndef VMEM_SRC_WIN32_VIRTUAL_ALLOC2_HPP
#define VMEM_SRC_WIN32_VIRTUAL_ALLOC2_HPP

#include <cstddef>

namespace vmem::detail::win32 {

/// Reserves `size` bytes aligned to `alignment` in one call; null on failure (GetLastError set).
/// Fails with ERROR_PROC_NOT_FOUND when VirtualAlloc2 is missing. `type` adds to MEM_RESERVE
/// (MEM_COMMIT, MEM_LARGE_PAGES), with `protect` for what it commits.
void* reserve_aligned(std::size_t size, std::size_t alignment, unsigned long type = 0,
                      unsigned long protect = 0) noexcept;

/// True when reserve_aligned works on this system (checked once, by trying it).
bool aligned_reserve_works() noexcept;

} // namespace vmem::detail::win32

#endif
