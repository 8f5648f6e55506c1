// vmem Windows backend: the capability report. Shared logic does not belong here (see
// src/platform.hpp).
//
// No heap and no function-local statics with initialisers (under MinGW their thread-safe
// initialisation goes through winpthreads, which allocates): facts fixed for the process's life
// are kept in atomics, as src/win32/system.cpp does. GetLastError is left as it was found.
#include "../platform.hpp"

#include <windows.h>

#include <atomic>
#include <cstddef>

namespace vmem::detail::os {

namespace {

// 0: not known yet, 1: no, 2: yes. Racing first calls find the same answer.
enum : int { unknown, no, yes };

// Whether the process's token holds SeLockMemoryPrivilege (enabled or not: a program enables it
// with AdjustTokenPrivileges before asking for large pages). Read on every call: it can be
// removed from the token while we run (AdjustTokenPrivileges with SE_PRIVILEGE_REMOVED).
bool holds_lock_memory_privilege() noexcept {
    LUID lock_memory;
    if (!LookupPrivilegeValueW(nullptr, L"SeLockMemoryPrivilege", &lock_memory))
        return false;
    HANDLE token = nullptr;
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token))
        return false;
    // A token holds a few dozen privileges at most (Windows defines 36), 12 bytes each: this
    // buffer (a size in bytes, unrelated to pages) holds every one. A larger list fails with
    // ERROR_INSUFFICIENT_BUFFER, reported as not held.
    constexpr std::size_t privileges_buffer_size = 4096;
    alignas(TOKEN_PRIVILEGES) unsigned char buffer[privileges_buffer_size];
    DWORD length = 0;
    const bool read =
        GetTokenInformation(token, TokenPrivileges, buffer, sizeof buffer, &length) != 0;
    CloseHandle(token);
    if (!read)
        return false;
    const auto* privileges = reinterpret_cast<const TOKEN_PRIVILEGES*>(buffer);
    // Privileges[] is declared with one element; the token gives PrivilegeCount of them.
    const LUID_AND_ATTRIBUTES* each = privileges->Privileges;
    for (DWORD i = 0; i < privileges->PrivilegeCount; ++i) {
        if ((each[i].Attributes & SE_PRIVILEGE_REMOVED) == 0 &&
            each[i].Luid.LowPart == lock_memory.LowPart &&
            each[i].Luid.HighPart == lock_memory.HighPart)
            return true;
    }
    return false;
}

// Whether kernelbase.dll exports VirtualAlloc2, the call placeholders are made with (Windows 10
// 1803+). Looked up once.
bool has_virtual_alloc2() noexcept {
    static std::atomic<int> known{unknown};
    int k = known.load(std::memory_order_relaxed);
    if (k == unknown) {
        const HMODULE kernelbase = GetModuleHandleW(L"kernelbase.dll");
        const bool found =
            kernelbase != nullptr && GetProcAddress(kernelbase, "VirtualAlloc2") != nullptr;
        k = found ? yes : no;
        known.store(k, std::memory_order_relaxed);
    }
    return k == yes;
}

} // namespace

void fill_capabilities(capabilities& c) noexcept {
    const DWORD saved_error = GetLastError();

    // Large pages: one size, GetLargePageMinimum (0 where the processor has none). It cannot
    // change while the process runs.
    static std::atomic<std::size_t> large_page{0};
    static std::atomic<int> large_page_known{unknown};
    if (large_page_known.load(std::memory_order_acquire) == unknown) {
        large_page.store(GetLargePageMinimum(), std::memory_order_relaxed);
        large_page_known.store(yes, std::memory_order_release);
    }
    c.huge_page_size = large_page.load(std::memory_order_relaxed);
    c.huge_page_sizes[0] = c.huge_page_size;
    for (std::size_t i = 1; i < sizeof c.huge_page_sizes / sizeof c.huge_page_sizes[0]; ++i)
        c.huge_page_sizes[i] = 0;
    c.huge_pages_free = 0; // no pool: large pages come from free physical memory at reserve
    c.transparent_huge_pages = thp_mode::unavailable;
    c.large_page_privilege = holds_lock_memory_privilege();

    // No limit on the number of mappings a process has, and no cheap count of them.
    c.max_map_count = 0;
    c.map_count = 0;

    c.decommit_zero_fills = true;     // MEM_DECOMMIT drops the pages; MEM_COMMIT gives zero pages
    c.decommit_returns_charge = true; // MEM_DECOMMIT gives the commit charge back
    // DiscardVirtualMemory and MEM_RESET may leave the old contents until the pages are reused.
    c.discard_zero_fills = false;
    // guard() decommits (PAGE_NOACCESS): the pages stay in their reservation's one allocation,
    // and Windows has no limit on mappings to run into.
    c.guard_pages_free = true;
    // VirtualQuery tells MEM_COMMIT with PAGE_NOACCESS from MEM_RESERVE.
    c.query_sees_committed_none = true;
    c.fork_control = false; // no fork
    c.page_locking = true;  // VirtualLock / VirtualUnlock
    c.placeholders = has_virtual_alloc2();
    c.map_fixed_noreplace = false; // Linux only (VirtualAlloc at an address never replaces)
    c.populate_write = false;      // Linux only (PrefetchVirtualMemory is a hint, not this)
    c.process_madvise = false;     // Linux only
    c.double_mapping = double_mapping(placeholder_double_mapping_allowed());

    SetLastError(saved_error);
}

} // namespace vmem::detail::os
