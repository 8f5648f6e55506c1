// vmem: make vmem's system calls fail on demand, to test the paths the OS rarely takes.
//
// Every operation passes one seam before it asks the operating system. Arming it makes a chosen
// operation fail with a chosen error before it reaches the OS, exactly as if the OS had refused
// it, once per operation (a reserve that would try a hint and then anywhere fails as a whole).
// Code built on vmem (allocators, arenas) can test its own out-of-memory handling this way. An
// unarmed seam costs one relaxed atomic load per operation.
#ifndef VMEM_TESTING_HPP
#define VMEM_TESTING_HPP

#include <vmem/config.hpp>

#include <cstddef>
#include <system_error>

namespace vmem::testing {

/// The operations that reach the OS. make_executable is a protect; a commit with
/// commit_options::prefault is a commit and then a prefault (which, refused, undoes the commit),
/// and a reserve with reserve_options::prefault is a reserve and then a prefault (which, refused,
/// releases the reservation).
enum class os_call {
    reserve,
    commit,
    decommit,
    protect,
    release,
    discard,
    guard,
    lock,
    unlock,
    prefault,
};

/// Makes a future operation of kind `call` fail with `error`: the first `skip` go through, the one
/// after fails, and the seam for `call` disarms itself. Arming again replaces the earlier setting
/// for that kind. Affects every thread.
/// Errors: std::errc::invalid_argument when `error` is empty (a failure must be one) or `call`
/// is not an os_call value; nothing is armed then.
VMEM_DECL void fail_os_call(os_call call, std::error_code error, unsigned skip,
                            std::error_code& ec) noexcept;
VMEM_DECL void fail_os_call(os_call call, std::error_code error, unsigned skip = 0);

/// Where an armed failure strikes. `before`: the operation fails before it reaches the OS, as
/// fail_os_call above does. `after_part`: the OS is asked for real, but only for the first part
/// of the range (its lower half in whole pages, at least one page, so a one-page range is done
/// whole), and the call then reports `error` as the OS's own — what the kernel does when it
/// refuses a call midway through a range (Linux's mprotect, madvise, mlock and a remap work
/// mapping by mapping and keep what they changed). The backend makes the system call there
/// (POSIX: mprotect for commit and protect, the mmap(MAP_FIXED) of decommit and of guard's
/// fallback, madvise for discard, guard and prefault, mlock, munlock; Windows: VirtualAlloc
/// MEM_COMMIT, VirtualProtect, VirtualFree MEM_DECOMMIT, DiscardVirtualMemory or MEM_RESET,
/// VirtualLock, VirtualUnlock), so the backend's own recovery runs too: a guard whose madvise
/// fails partway falls back to a remap and succeeds. A call that reaches no system call of its
/// kind (a prefault of pages with no access) leaves the seam armed.
enum class failure_mode {
    before,
    after_part,
};

/// fail_os_call with a failure_mode. `after_part` needs an error in the category the OS's own
/// errors come in (std::system_category() with an errno value on POSIX, vmem::win32_category()
/// with a GetLastError() value on Windows),
/// and an operation the OS can apply in part: not reserve or release, which the OS does whole
/// (mmap, munmap; VirtualAlloc MEM_RESERVE, VirtualFree MEM_RELEASE).
/// Errors: std::errc::invalid_argument for those, and as above; nothing is armed then.
VMEM_DECL void fail_os_call(os_call call, std::error_code error, unsigned skip, failure_mode mode,
                            std::error_code& ec) noexcept;
VMEM_DECL void fail_os_call(os_call call, std::error_code error, unsigned skip, failure_mode mode);

/// Disarms every kind.
VMEM_DECL void clear_os_call_failures() noexcept;

/// With `enabled` false, an aligned reserve takes the path used where the OS cannot align in one
/// call (Windows before VirtualAlloc2: reserve, free, re-reserve at an aligned address), so that
/// path can be tested everywhere; capabilities::native_aligned_reserve reports the choice. True
/// restores the OS's own answer. POSIX has one path (over-reserve and trim) and ignores this.
VMEM_DECL void use_native_aligned_reserve(bool enabled) noexcept;

/// With `enabled` false, vmem::query on Linux parses /proc/self/maps, read a few bytes at a time
/// so that lines straddle reads, instead of asking the PROCMAP_QUERY ioctl (Linux 6.11+): the path
/// older kernels take can be tested on any. True restores the default. Other systems have one
/// source and ignore this.
VMEM_DECL void use_procmap_query(bool enabled) noexcept;

/// With `enabled` false, huge_page_status() on Linux counts a reservation's huge pages from
/// /proc/self/smaps instead of asking the PAGEMAP_SCAN ioctl (Linux 6.7+): the path older kernels
/// take can be tested on any. True restores the default. Other systems have one source and ignore
/// this.
VMEM_DECL void use_pagemap_scan(bool enabled) noexcept;

/// The bytes vmem's bookkeeping holds now: its record and index entry of each reservation, and
/// the nodes of committed runs (with the few spares each reservation keeps so that recording a
/// change never needs memory). Taken from the OS, never from the heap, in pages that the pools
/// keep and reuse (their slack is not counted). It grows with the number of reservations and
/// runs, never with their sizes, and a release gives back all its reservation had.
VMEM_DECL std::size_t bookkeeping_bytes() noexcept;

} // namespace vmem::testing

#endif
