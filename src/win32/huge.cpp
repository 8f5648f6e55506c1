// vmem Windows backend: large pages (MEM_LARGE_PAGES) and what a reservation got. Windows has no
// fork, so fork policies other than inherit are not supported.
#include "../platform.hpp"

#include <vmem/error.hpp>

#include <windows.h>

#include <atomic>
#include <cstddef>

namespace vmem::detail::win32 {

namespace {

// Not function-local statics with initialisers: under MinGW their thread-safe initialisation
// goes through winpthreads, which allocates, and vmem must not. Racing first calls find the
// same answer.
enum : int { unknown, absent, present };
std::atomic<int> privilege{unknown};
// GetTickCount64() before which large pages are not tried again, after a failed attempt.
std::atomic<unsigned long long> back_off_until{0};
constexpr unsigned long long back_off_ms = 10000;

// Large pages need SeLockMemoryPrivilege held by the account and enabled in the process token.
// Enabled once; AdjustTokenPrivileges "succeeds" with ERROR_NOT_ALL_ASSIGNED when the account
// does not hold it.
bool lock_memory_privilege() noexcept {
    int s = privilege.load(std::memory_order_acquire);
    if (s == unknown) {
        bool held = false;
        HANDLE token = nullptr;
        if (OpenProcessToken(GetCurrentProcess(), TOKEN_ADJUST_PRIVILEGES | TOKEN_QUERY, &token)) {
            TOKEN_PRIVILEGES tp{};
            tp.PrivilegeCount = 1;
            tp.Privileges[0].Attributes = SE_PRIVILEGE_ENABLED;
            if (LookupPrivilegeValueW(nullptr, L"SeLockMemoryPrivilege", &tp.Privileges[0].Luid) &&
                AdjustTokenPrivileges(token, FALSE, &tp, 0, nullptr, nullptr))
                held = GetLastError() == ERROR_SUCCESS;
            CloseHandle(token);
        }
        s = held ? present : absent;
        privilege.store(s, std::memory_order_release);
    }
    return s == present;
}

} // namespace

void large_pages_failed() noexcept {
    back_off_until.store(GetTickCount64() + back_off_ms, std::memory_order_relaxed);
}

} // namespace vmem::detail::win32

namespace vmem::detail::os {

bool plan_mapping(const reserve_options& options, mapping_traits& traits, std::size_t& size,
                  std::size_t& alignment, std::error_code& ec) noexcept {
    traits = mapping_traits{};
    traits.huge = options.huge;
    traits.fork = options.fork;
    traits.executable = options.executable;     // nothing differs on Windows
    if (options.fork != fork_policy::inherit) { // no fork on Windows
        ec = errc::not_supported;
        return false;
    }
    if (options.huge != huge_pages::prefer && options.huge != huge_pages::require)
        return true;
    // Large pages exist only reserved and committed in one call, and only with the privilege;
    // after a failed attempt they are not tried again for a while.
    const std::size_t large = GetLargePageMinimum();
    const bool usable = options.commit && large != 0 && (large & (large - 1)) == 0 &&
                        size <= SIZE_MAX - (large - 1) &&
                        GetTickCount64() >= win32::back_off_until.load(std::memory_order_relaxed) &&
                        win32::lock_memory_privilege();
    if (!usable) {
        if (options.huge == huge_pages::require) {
            ec = errc::huge_pages_unavailable;
            return false;
        }
        return true; // prefer: normal pages
    }
    traits.explicit_pool = true;
    traits.huge_page = large;
    size = (size + large - 1) & ~(large - 1);
    if (alignment < large)
        alignment = large;
    return true;
}

std::size_t huge_bytes(const void*, std::size_t, bool) noexcept {
    // Only MEM_LARGE_PAGES reservations have large pages, all of them (the shared layer counts
    // those); Windows never backs other memory with them.
    return 0;
}

} // namespace vmem::detail::os
