// vmem: the operations on raw addresses.
//
// Page states (as on Windows):
//   free      - not ours; an access faults or hits someone else's mapping.
//   reserved  - address range held by a reservation; no storage, no commit charge; access faults.
//   committed - backed by storage and counted against the commit limit where the OS keeps one;
//               access as its vmem::access says.
// reserve: free -> reserved. commit: reserved -> committed. decommit: committed -> reserved.
// release: the whole reservation -> free. protect changes the access of committed pages.
//
// Each operation works on one reservation made by vmem and refuses a range that leaves it, on
// every platform (Windows refuses such calls; POSIX would silently allow them). Ranges are given
// as (address, size) and cover every page they intersect.
//
// The contract every operation keeps:
// - No heap. The noexcept overloads never call malloc or operator new, nor anything that does:
//   vmem's bookkeeping takes its memory from the OS (mmap, VirtualAlloc) in whole pages, so an
//   allocator built on vmem may replace malloc and operator new. Only the throwing overloads
//   allocate, to build the std::system_error they throw.
// - Ownership. A reservation has at most one owner, a vmem::reservation. vmem::release and
//   reservation::adopt refuse a reservation that has one (errc::reservation_owned);
//   reservation::detach() gives it up.
// - Lifetime. vmem works from static initialisers, static destructors, atexit handlers and
//   exiting threads, in any order relative to its own first use: its bookkeeping is never
//   destroyed.
// - Concurrency. Every operation may be called from any thread at any time. An operation racing
//   the release of its reservation either completes before the release or fails with
//   errc::not_reserved; it never touches memory outside a live vmem reservation. Calls on one
//   reservation are serialised; calls on different reservations do not wait for each other, not
//   even for a release. (Moving or destroying one vmem::reservation object while another thread
//   uses that same object is the caller's race, as for any C++ object.)
// - Failure atomicity. A failed call changes nothing: every page of the range keeps its state,
//   access and contents, and vmem's bookkeeping is as before, whatever the kernel did halfway
//   (Linux's mprotect can apply a change to some mappings and then refuse; vmem puts them back).
//   Nothing leaks on any error path.
//
// vmem::reservation wraps the same operations in an owner that already knows its bounds; prefer
// it. The free functions first find the reservation in a registry (a shared lock and a search).
//
// Every function has a noexcept overload taking std::error_code& (cleared on success) and one
// that throws std::system_error with the same code; see <vmem/error.hpp>.
#ifndef VMEM_MEMORY_HPP
#define VMEM_MEMORY_HPP

#include <vmem/access.hpp>
#include <vmem/config.hpp>
#include <vmem/error.hpp>

#include <cstddef>
#include <system_error>

namespace vmem {

/// How reserve treats options::address. Any other value is refused with errc::invalid_placement.
enum class placement {
    /// Use the address if the range there is free, else anywhere: a hint that is taken, outside
    /// what the OS gives programs, or too close to the top for the size is ignored. The default.
    prefer,
    /// Use exactly that address, or fail with errc::address_unavailable, which is also the
    /// answer for an address no program can own (null page, past the top of the user address
    /// space, non-canonical, or a range that would run past the top).
    exact,
};

/// Options of reserve. The defaults reserve anywhere, aligned to allocation_granularity().
struct reserve_options {
    /// Where to place the reservation, or null for anywhere. Rounded down to the alignment
    /// (the Windows rule: 0x00781022 becomes 0x00780000 with 64 KiB granularity).
    void* address = nullptr;
    placement at = placement::prefer;
    /// Alignment of the base: 0 for allocation_granularity(), else a power of two smaller than the
    /// user address space; values below the granularity are raised to it.
    std::size_t alignment = 0;
};

/// Reserves address space.
/// Effects: reserves at least `size` bytes, rounded up to whole pages, with no storage and no
///   commit charge. Never replaces an existing mapping.
/// Returns: the base, aligned as options say. Null on error.
/// Errors: zero_size; size_overflow (the rounded size wraps or exceeds the user address space);
///   invalid_alignment; invalid_placement; null_address (placement::exact without an address);
///   address_unavailable (placement::exact); or the OS error (not_enough_memory when the address
///   space or the mapping limit is exhausted).
/// Portability: mmap(PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS) (+MAP_FIXED_NOREPLACE for exact);
///   VirtualAlloc(MEM_RESERVE, PAGE_NOACCESS), VirtualAlloc2 for alignment.
VMEM_DECL void* reserve(std::size_t size, const reserve_options& options,
                        std::error_code& ec) noexcept;
VMEM_DECL void* reserve(std::size_t size, const reserve_options& options = {});

/// Commits pages.
/// Requires: [addr, addr+size) lies in one reservation.
/// Effects: every page the range intersects is committed with access `a`. Pages committed for the
///   first time read zero; pages already committed keep their contents and take access `a`.
/// Errors: contract errors, or the OS error: not_enough_memory when the commit limit is reached,
///   and on Linux in every overcommit mode when vm.max_map_count would be exceeded. The range is
///   then as before and the reservation stays usable.
/// Portability: mprotect; VirtualAlloc(MEM_COMMIT).
VMEM_DECL void commit(void* addr, std::size_t size, access a, std::error_code& ec) noexcept;
VMEM_DECL void commit(void* addr, std::size_t size, access a);

/// Decommits pages.
/// Requires: [addr, addr+size) lies in one reservation. Pages in it may be reserved or committed.
/// Effects: every page the range intersects returns to reserved: access faults, its storage and
///   its commit charge are given back at once, and a later commit reads zero.
/// Portability: mmap(MAP_FIXED, PROT_NONE) over the range (madvise(MADV_DONTNEED) would keep the
///   charge and the access); VirtualFree(MEM_DECOMMIT).
VMEM_DECL void decommit(void* addr, std::size_t size, std::error_code& ec) noexcept;
VMEM_DECL void decommit(void* addr, std::size_t size);

/// Changes the access of committed pages.
/// Requires: every page [addr, addr+size) intersects is committed (else errc::not_committed).
/// Portability: mprotect; VirtualProtect.
VMEM_DECL void protect(void* addr, std::size_t size, access a, std::error_code& ec) noexcept;
VMEM_DECL void protect(void* addr, std::size_t size, access a);

/// Releases a whole reservation, whatever the state of its pages.
/// Requires: `base` is the base a reserve returned (else errc::not_reservation_base, or
///   not_reserved when it lies in no reservation), and no vmem::reservation owns it (else
///   errc::reservation_owned). There is no partial release, on any platform.
/// Portability: munmap(base, size); VirtualFree(base, 0, MEM_RELEASE). (Windows refuses
///   MEM_RELEASE | MEM_DECOMMIT with ERROR_INVALID_PARAMETER; releasing decommits too.)
VMEM_DECL void release(void* base, std::error_code& ec) noexcept;
VMEM_DECL void release(void* base);

} // namespace vmem

#endif
