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

/// What differs between platforms, reported instead of left implicit.
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
};

/// Reads the capabilities of the running system (cheap after the first call, apart from the
/// Linux overcommit mode, which is read on every call because an administrator may change it).
VMEM_DECL capabilities query_capabilities() noexcept;

} // namespace vmem

#endif
