// vmem: facts about the system, read from the operating system once.
#ifndef VMEM_SYSTEM_HPP
#define VMEM_SYSTEM_HPP

#include <vmem/config.hpp>

#include <cstddef>

namespace vmem {

/// The size of a page: the unit of commit, decommit and protect.
/// Portability: sysconf(_SC_PAGESIZE); Windows GetSystemInfo().dwPageSize.
/// 4 KiB on x86, 16 KiB on Apple Silicon, 4/16/64 KiB on aarch64 and ppc64 Linux.
VMEM_DECL std::size_t page_size() noexcept;

/// The alignment of every reservation's base address and the unit an address hint is rounded
/// down to. Portability: Windows GetSystemInfo().dwAllocationGranularity (64 KiB); POSIX: the
/// page size.
VMEM_DECL std::size_t allocation_granularity() noexcept;

/// How commit is accounted for, which decides whether commit can fail for lack of memory.
enum class commit_accounting {
    strict,    ///< every commit is charged against a limit (Windows; Linux overcommit_memory=2)
    heuristic, ///< commits are charged; only an absurd one is refused (Linux overcommit_memory=0)
    none,      ///< commits are never refused (Linux overcommit_memory=1, macOS, the BSDs)
};

/// Linux's transparent huge pages mode (/sys/kernel/mm/transparent_hugepage/enabled).
enum class thp_mode {
    unavailable, ///< no THP (not Linux, or a kernel without it)
    never,       ///< off: only hugetlb pages
    madvise,     ///< only where asked (MADV_HUGEPAGE): huge_pages::prefer and require
    always,      ///< everywhere, unless refused (MADV_NOHUGEPAGE): huge_pages::never
};

/// How vmem::double_mapping (and vmem::ring_buffer on it) maps the same pages twice, back to back.
enum class double_mapping_method {
    none, ///< this system has no way vmem knows of
    /// Linux, FreeBSD 13+: memfd_create, two MAP_FIXED | MAP_SHARED views in one reservation
    memfd,
    shm_anon,     ///< older FreeBSD: shm_open(SHM_ANON), the same two views
    shm_open,     ///< macOS and other POSIX: shm_open with a random name, unlinked at once
    placeholders, ///< Windows 10 1803+: a placeholder split in two, MapViewOfFile3 into each half
    /// Windows without working placeholders (before 10 1803; Wine 8): MapViewOfFileEx at a free
    /// address and just after it, retried a bounded number of times when another thread takes it.
    file_mapping_retry,
};

/// What differs between platforms, reported instead of left implicit. Every field comes from the
/// OS at the call (tests branch on these, never on the platform's name).
struct capabilities {
    std::size_t page_size;              ///< page_size()
    std::size_t allocation_granularity; ///< allocation_granularity()
    /// Reserve with an alignment above the granularity is done by the kernel in one call
    /// (Windows: VirtualAlloc2 with MEM_ADDRESS_REQUIREMENTS). When false on Windows, vmem
    /// reserves, frees and re-reserves at an aligned address, which another thread may race.
    /// POSIX always trims an over-sized mapping, which is exact.
    bool native_aligned_reserve;
    commit_accounting accounting;
    /// True on POSIX: only writable private memory is charged, so a commit with access::none or
    /// access::read takes no charge and a later protect to a writable access takes it (and is
    /// where running out shows). False on Windows: commit takes the charge whatever the access.
    bool commit_charged_when_writable;
    /// A commit or protect with access::read_write_execute is allowed by this system. Where it is
    /// false such a commit or protect fails with the OS's error and changes nothing.
    /// Portability: found once, by making one fresh page read-write-execute the way commit does
    /// (POSIX: mprotect of a PROT_NONE private mapping to PROT_READ | PROT_WRITE | PROT_EXEC;
    /// Windows: VirtualAlloc MEM_COMMIT with PAGE_EXECUTE_READWRITE). False on macOS on Apple
    /// silicon (EACCES outside MAP_JIT) and on OpenBSD unless the program may break W^X
    /// (wxneeded, on a wxallowed file system); read_execute is allowed there. Also false where a
    /// policy forbids new executable memory altogether (SELinux without execmem, Linux's
    /// memory-deny-write-execute, Windows's dynamic-code mitigation ACG), which refuses
    /// read_execute too; this field does not report that.
    bool write_execute;

    // Huge pages.
    /// The default huge page size: Linux's Hugepagesize (/proc/meminfo) or THP's PMD size;
    /// Windows GetLargePageMinimum(). 0 when the system has none.
    std::size_t huge_page_size;
    /// Every huge page size the OS offers (Linux /sys/kernel/mm/hugepages), ascending, the unused
    /// entries 0.
    std::size_t huge_page_sizes[4];
    /// Free pages of huge_page_size in the OS's explicit pool now (Linux hugetlb; 0 elsewhere).
    std::size_t huge_pages_free;
    thp_mode transparent_huge_pages;
    /// Windows: the process holds SeLockMemoryPrivilege, which large pages need. False elsewhere.
    bool large_page_privilege;
    /// Whether huge_pages::prefer can get huge pages now (a free pool page, THP not `never`, or
    /// large pages with the privilege).
    bool huge_pages_usable;

    // Mappings.
    /// Linux vm.max_map_count; 0 where the system has no such limit.
    std::size_t max_map_count;
    /// The process's mappings now (Linux /proc/self/maps lines); 0 where not known.
    std::size_t map_count;
    /// Bits of user address space: the top of the user address space is below 2^address_bits.
    unsigned address_bits;

    // What the operations do here.
    bool decommit_zero_fills;     ///< a decommitted page reads zero when committed again (always)
    bool decommit_returns_charge; ///< decommit gives the commit charge back at once
    bool discard_zero_fills;      ///< a discarded page reads zero (Linux); else old or zero
    /// guard() costs no kernel mapping (Linux 6.13+ MADV_GUARD_INSTALL); else it may split one.
    bool guard_pages_free;
    /// query() can tell a committed page with access::none from a reserved one (Windows); POSIX
    /// maps both PROT_NONE.
    bool query_sees_committed_none;
    /// fork_policy other than inherit is available (Linux; Windows has no fork).
    bool fork_control;
    /// lock() and unlock() are available.
    bool page_locking;

    // OS features vmem uses where present.
    bool placeholders;        ///< Windows 10 1803+: VirtualAlloc2 and placeholders
    bool map_fixed_noreplace; ///< Linux 4.17+: an exact reserve never replaces a mapping
    bool populate_write;      ///< Linux 5.14+: MADV_POPULATE_WRITE (prefault in one call)
    bool process_madvise;     ///< Linux 5.10+: process_madvise
    /// How double_mapping maps pages twice here (<vmem/ring_buffer.hpp>).
    double_mapping_method double_mapping;
};

/// Reads the capabilities of the running system (cheap after the first call, apart from the
/// Linux overcommit mode, which is read on every call because an administrator may change it).
VMEM_DECL capabilities query_capabilities() noexcept;

} // namespace vmem

#endif
