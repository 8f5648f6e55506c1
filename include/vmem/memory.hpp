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

/// Huge (large) pages for a reservation: pages of capabilities::huge_page_size, which cost the
/// TLB less. Any other value is refused with errc::invalid_option. From an explicit pool (Linux
/// hugetlb, Windows large pages) the size is rounded up to whole huge pages; with transparent
/// huge pages (Linux) it is not, so a reservation smaller than one huge page never gets one:
/// require fails and prefer gets normal pages.
enum class huge_pages {
    /// Whatever the OS does by default; vmem gives no advice (Linux THP in mode `always` may
    /// still use huge pages). The default.
    os_default,
    /// Normal pages only. Linux: MADV_NOHUGEPAGE.
    never,
    /// Huge pages if the OS has them now, else normal pages; huge_page_status says which.
    prefer,
    /// Huge pages, or reserve fails with errc::huge_pages_unavailable and reserves nothing.
    require,
};

/// What a child made by fork() gets of a reservation. Any other value is refused with
/// errc::invalid_option. Windows has no fork: there, anything but inherit is errc::not_supported
/// (capabilities::fork_control says so beforehand).
enum class fork_policy {
    inherit,      ///< a copy-on-write copy, as for any private memory (the default)
    dont_fork,    ///< nothing: the range is unmapped in the child (Linux MADV_DONTFORK)
    zero_on_fork, ///< the child sees the reservation, its committed pages reading zero (Linux
                  ///< MADV_WIPEONFORK)
};

/// Options of reserve. The defaults reserve anywhere, aligned to allocation_granularity(),
/// reserving only.
struct reserve_options {
    /// Where to place the reservation, or null for anywhere. Rounded down to the alignment
    /// (the Windows rule: 0x00781022 becomes 0x00780000 with 64 KiB granularity).
    void* address = nullptr;
    placement at = placement::prefer;
    /// Alignment of the base: 0 for allocation_granularity(), else a power of two smaller than the
    /// user address space; values below the granularity are raised to it. With huge pages, at
    /// least the huge page size.
    std::size_t alignment = 0;
    /// Commit the whole reservation with `commit_access` as part of the reserve: one system call
    /// where the OS allows (mmap with that protection; VirtualAlloc(MEM_RESERVE | MEM_COMMIT)).
    bool commit = false;
    access commit_access = access::read_write;
    /// With `commit`: populate every page now instead of at first touch (see commit_options).
    bool prefault = false;
    huge_pages huge = huge_pages::os_default;
    fork_policy fork = fork_policy::inherit;
    /// A region for generated code (a JIT): on macOS it is mapped with MAP_JIT, the only memory
    /// that may later be made executable there; elsewhere nothing differs. Use make_executable to
    /// turn written code into runnable code.
    bool executable = false;
};

/// Options of commit.
struct commit_options {
    /// Populate every page now (Linux MADV_POPULATE_WRITE or _READ as the access allows, 5.14+;
    /// else one touch per page; Windows PrefetchVirtualMemory, else touching) rather than at
    /// first use. Never writes to pages the access makes read-only, and never changes contents.
    bool prefault = false;
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

/// Commits pages, as above, with options (see commit_options).
VMEM_DECL void commit(void* addr, std::size_t size, access a, const commit_options& options,
                      std::error_code& ec) noexcept;
VMEM_DECL void commit(void* addr, std::size_t size, access a, const commit_options& options);

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

/// Discards the contents of committed pages (purge): they stay committed, with their access, and
/// the OS may take their storage back at once; their contents become unspecified (zero on Linux,
/// capabilities::discard_zero_fills). Cheaper than decommit + commit: no change of mapping and
/// no commit charge given back.
/// Requires: every page [addr, addr+size) intersects is committed (else errc::not_committed) and
///   none is a guard page (errc::guard_page).
/// Locked pages are unlocked (see lock).
/// Portability: madvise(MADV_DONTNEED) (macOS MADV_FREE_REUSABLE, the BSDs MADV_FREE); Windows
///   DiscardVirtualMemory, else VirtualAlloc(MEM_RESET).
VMEM_DECL void discard(void* addr, std::size_t size, std::error_code& ec) noexcept;
VMEM_DECL void discard(void* addr, std::size_t size);

/// Makes pages guard pages: any access faults, for as long as they stay guard pages (never the
/// one-shot PAGE_GUARD of Windows). Their contents and storage are given back. Pages may be
/// reserved or committed. Commit, protect, discard and lock refuse a range holding guard pages
/// (errc::guard_page); decommit turns them back into reserved pages. Locked pages are unlocked.
/// Errors: not_supported on a reservation of the OS's explicit huge-page pool (its pages cannot
///   be decommitted, so the guard could not be undone). If the OS refuses, the pages keep their
///   state and access and vmem's bookkeeping is unchanged, but the contents of committed pages in
///   the range may be gone (the kernel zaps pages before it reports).
/// Portability: Linux 6.13+ madvise(MADV_GUARD_INSTALL), which costs no kernel mapping
///   (capabilities::guard_pages_free); where it is refused (a locked range) or absent,
///   mmap(MAP_FIXED, PROT_NONE) like decommit, which may split a mapping; Windows
///   VirtualFree(MEM_DECOMMIT), which leaves them reserved and PAGE_NOACCESS.
VMEM_DECL void guard(void* addr, std::size_t size, std::error_code& ec) noexcept;
VMEM_DECL void guard(void* addr, std::size_t size);

/// Locks committed pages in RAM (they are populated now and never paged out) / unlocks them.
/// Decommit, discard, guard and release unlock what they cover; unlocking pages that are not
/// locked is no error.
/// Requires: every page is committed (errc::not_committed), none a guard page, and for lock none
///   with access::none (errc::no_access: Windows cannot lock them, Linux would leave them marked).
/// Errors: the OS's own, as it reports it: RLIMIT_MEMLOCK (ENOMEM, or EPERM without the
///   privilege), Windows' working-set quota (ERROR_WORKING_SET_QUOTA).
/// Portability: mlock / munlock; VirtualLock / VirtualUnlock.
VMEM_DECL void lock(void* addr, std::size_t size, std::error_code& ec) noexcept;
VMEM_DECL void lock(void* addr, std::size_t size);
VMEM_DECL void unlock(void* addr, std::size_t size, std::error_code& ec) noexcept;
VMEM_DECL void unlock(void* addr, std::size_t size);

/// Turns code written into committed read_write pages into runnable code, without a moment of
/// write+execute: the pages become read_execute, then the instruction cache is flushed for them.
/// Requires: committed pages (errc::not_committed).
/// Portability: mprotect(PROT_READ | PROT_EXEC) + __builtin___clear_cache; VirtualProtect +
///   FlushInstructionCache. On macOS the reservation must be reserve_options::executable.
VMEM_DECL void make_executable(void* addr, std::size_t size, std::error_code& ec) noexcept;
VMEM_DECL void make_executable(void* addr, std::size_t size);

/// Makes code written at [addr, addr+size) visible to instruction fetch (needed on arm64 after
/// writing code; harmless on x86). make_executable does it.
/// Portability: __builtin___clear_cache; FlushInstructionCache.
VMEM_DECL void flush_instruction_cache(const void* addr, std::size_t size) noexcept;

/// The state of a page, as the OS reports it.
enum class page_state {
    free,      ///< not mapped (or not reserved) at all
    reserved,  ///< address space only: any access faults
    committed, ///< backed by storage, accessible as `access` says
};

/// What the OS says about the pages around an address (not vmem's bookkeeping): the run of
/// pages holding it that share state and access.
struct region {
    void* base = nullptr; ///< first page of the run
    std::size_t size = 0; ///< bytes in the run
    page_state state = page_state::free;
    vmem::access access = vmem::access::none; ///< for committed pages
    /// The base of the vmem reservation holding the address, or null when it lies in none.
    void* reservation = nullptr;
};

/// Asks the OS what lies at `address`.
/// Returns: the run of pages holding it that share state and access, as far as the OS shows it:
///   within a vmem reservation, never beyond the reservation (as on Windows, where a run never
///   leaves its allocation); the kernel's separate mappings of one protection are one run. A free
///   address's run starts at its own page (no OS says cheaply where a free range begins) and ends
///   at the next mapping, or at the top of the user address space. `reservation` is null for a
///   free page. A snapshot: another thread's operation may change it at once. Guard pages made
///   by MADV_GUARD_INSTALL (guard(), Linux 6.13+) show as their mapping does: /proc does not list
///   them.
/// Errors: null_address; not_supported where vmem has no source (POSIX other than Linux and
///   macOS); the OS's error if it cannot say (e.g. /proc not mounted).
/// Portability: Windows VirtualQuery; Linux /proc/self/maps (private PROT_NONE mappings are
///   reported reserved: the OS cannot tell them from committed pages with access::none, see
///   capabilities::query_sees_committed_none); macOS mach_vm_region.
VMEM_DECL region query(const void* address, std::error_code& ec) noexcept;
VMEM_DECL region query(const void* address);

/// What huge pages a reservation got.
struct huge_page_report {
    huge_pages policy = huge_pages::os_default; ///< as asked at reserve
    std::size_t page_size = 0;                  ///< the huge page size in use, or 0 when none is
    bool explicit_pool = false; ///< from the OS's reserved pool (Linux hugetlb, Windows large
                                ///< pages) rather than transparent huge pages
    std::size_t huge_bytes = 0; ///< bytes of the reservation backed by huge pages now (Linux:
                                ///< AnonHugePages of its range in /proc/self/smaps)
};

/// Reports what the reservation based at `base` got. Errors: as release's lookup.
VMEM_DECL huge_page_report huge_page_status(void* base, std::error_code& ec) noexcept;
VMEM_DECL huge_page_report huge_page_status(void* base);

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
