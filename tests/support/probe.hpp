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

/// Non-empty with Wine's version when running under Wine (ntdll exports wine_get_version).
std::string wine_version();

/// "linux", "windows", "macos", ...
std::string platform_name();

} // namespace vmem_probe

#endif
