// vmem Windows backend: system facts. Shared logic does not belong here (see src/platform.hpp).
#include "../platform.hpp"
#include "virtual_alloc2.hpp"

#include <windows.h>

#include <atomic>
#include <cstdint>

namespace vmem::detail::os {

namespace {

// The facts GetSystemInfo gives, read once. Not function-local statics: under MinGW their
// thread-safe initialisation goes through winpthreads, which allocates, and vmem must not
// (an allocator built on vmem asks for its first pages here). Racing first calls store the
// same values.
struct system_facts {
    std::size_t page, granularity;
    std::uintptr_t limit;
};

system_facts facts() noexcept {
    static std::atomic<std::size_t> page{0}, granularity{0};
    static std::atomic<std::uintptr_t> limit{0};
    if (page.load(std::memory_order_acquire) == 0) {
        SYSTEM_INFO si;
        GetSystemInfo(&si);
        granularity.store(si.dwAllocationGranularity, std::memory_order_relaxed);
        limit.store(reinterpret_cast<std::uintptr_t>(si.lpMaximumApplicationAddress) + 1,
                    std::memory_order_relaxed);
        page.store(si.dwPageSize, std::memory_order_release);
    }
    return {page.load(std::memory_order_relaxed), granularity.load(std::memory_order_relaxed),
            limit.load(std::memory_order_relaxed)};
}

} // namespace

std::size_t page_size() noexcept {
    return facts().page;
}

std::size_t allocation_granularity() noexcept {
    return facts().granularity;
}

std::uintptr_t address_limit() noexcept {
    return facts().limit;
}

bool native_aligned_reserve(bool allowed) noexcept {
    return allowed && win32::aligned_reserve_works();
}

// Windows charges every commit against the system commit limit (RAM + page files).
commit_accounting accounting() noexcept {
    return commit_accounting::strict;
}

bool commit_charged_when_writable() noexcept {
    return false;
}

} // namespace vmem::detail::os
