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

/// The bytes vmem's bookkeeping holds now: its record and index entry of each reservation, and
/// the nodes of committed runs (with the few spares each reservation keeps so that recording a
/// change never needs memory). Taken from the OS, never from the heap, in pages that the pools
/// keep and reuse (their slack is not counted). It grows with the number of reservations and
/// runs, never with their sizes, and a release gives back all its reservation had.
VMEM_DECL std::size_t bookkeeping_bytes() noexcept;

} // namespace vmem::testing

#endif
