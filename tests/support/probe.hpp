// vmem tests: observe what the OS does to memory, the same way on every platform.
// One implementation per platform: tests/support/posix/probe.cpp, tests/support/win32/probe.cpp.
#ifndef VMEM_TESTS_SUPPORT_PROBE_HPP
#define VMEM_TESTS_SUPPORT_PROBE_HPP

#include <cstddef>
#include <optional>
#include <string>

namespace vmem_probe {

/// True when reading the byte at `p` does not fault. Catches the fault in-process
/// (POSIX: SIGSEGV/SIGBUS with siglongjmp; Windows: a vectored handler or __try/__except).
bool can_read(const void* p) noexcept;

/// True when writing the byte at `p` does not fault. Writes back the value it read, so the
/// contents are unchanged; if the byte is not readable, reports false without writing.
bool can_write(void* p) noexcept;

/// The number of bytes of [p, p+size) resident in RAM (mincore; QueryWorkingSetEx).
/// Empty when the platform cannot tell.
std::optional<std::size_t> resident_bytes(const void* p, std::size_t size);

/// The process's resident memory (/proc/self/statm; GetProcessMemoryInfo's WorkingSetSize).
std::optional<std::size_t> process_resident_bytes();

/// The commit charge the OS holds (Linux: the system-wide Committed_AS of /proc/meminfo, so
/// compare large deltas only; Windows: the process's PrivateUsage). Empty when the platform does
/// not account for it (Wine keeps PrivateUsage at 0).
std::optional<std::size_t> commit_charge();

/// The page size and allocation granularity, asked of the OS without vmem.
std::size_t os_page_size();
std::size_t os_allocation_granularity();

/// Maps `size` bytes of the test's own memory, committed and read-write, exactly at `at`
/// (a multiple of the allocation granularity), straight through the OS (mmap; VirtualAlloc),
/// never through vmem and never replacing a mapping. Returns `at`, or null when the range is not
/// free. Lets a test put memory vmem does not own where a reservation was, and check that vmem
/// leaves it alone.
void* map_foreign(void* at, std::size_t size) noexcept;

/// Unmaps what map_foreign mapped.
void unmap_foreign(void* p, std::size_t size) noexcept;

/// Non-empty with Wine's version when running under Wine (ntdll exports wine_get_version).
std::string wine_version();

/// "linux", "windows", "macos", ...
std::string platform_name();

/// Writes at `p` a tiny function, `int f()` returning 42, in the running CPU's machine code, and
/// makes the instruction cache see it. False, writing nothing, on a CPU the probe has no code for
/// (x86 and x86-64 have `mov eax, 42; ret`, aarch64 `mov w0, #42; ret`).
bool write_return_42(void* p) noexcept;

/// Calls the function write_return_42 wrote at `p`, with faults caught as can_read does. True
/// when it ran and returned 42; false when fetching the code faulted (the page cannot execute).
bool can_execute(const void* p) noexcept;

/// Linux's vm.overcommit_memory (0 heuristic, 1 always, 2 strict), read from /proc without vmem.
/// Empty on other systems.
std::optional<int> overcommit_mode();

/// RAM plus swap, beyond which no commit can be granted (Linux: MemTotal + SwapTotal of
/// /proc/meminfo, the bound of heuristic overcommit; Windows: the commit limit, ullTotalPageFile
/// of GlobalMemoryStatusEx). Empty when the platform cannot tell.
std::optional<std::size_t> memory_and_swap();

/// The address space the process holds, mapped or reserved (Linux: VmSize of /proc/self/status;
/// Windows: ullTotalVirtual - ullAvailVirtual of GlobalMemoryStatusEx). Empty when unknown.
std::optional<std::size_t> address_space_in_use();

/// True when no page of [p, p+size) is mapped or reserved, by anyone (mincore fails with ENOMEM on
/// unmapped pages; VirtualQuery reports MEM_FREE).
bool is_unmapped(const void* p, std::size_t size) noexcept;

/// Runs `body(arg)` in a child process (fork) and returns what it returned, with a note when the
/// child did not exit normally. Empty where there is no fork (Windows). In the child, faults take
/// their default course and the test framework is not used; the child ends with _exit.
std::optional<std::string> run_in_child(std::string (*body)(void*), void* arg);

/// For a child of run_in_child: limits the data segment (RLIMIT_DATA) to what the process holds
/// now plus `headroom`, so that making more private memory writable is refused (Linux: mprotect
/// and mmap check may_expand_vm). False where that cannot be done.
bool limit_writable_memory(std::size_t headroom) noexcept;

/// For a child of run_in_child: makes /proc/sys/vm/overcommit_memory read `mode` in this process
/// alone (a private mount namespace with a file bound over it; the system setting is untouched).
/// False where that cannot be done (not Linux, or no privilege to unshare).
bool pretend_overcommit_mode(int mode) noexcept;

} // namespace vmem_probe

#endif
