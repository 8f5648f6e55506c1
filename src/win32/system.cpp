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

// Asked the way commit meets it: one page reserved, then committed PAGE_EXECUTE_READWRITE. Windows
// allows it unless a process mitigation policy forbids dynamic code (ProhibitDynamicCode, ACG),
// which fails it with ERROR_DYNAMIC_CODE_BLOCKED. Trying it needs nothing newer than
// VirtualAlloc, where GetProcessMitigationPolicy would need Windows 8, and also answers for any
// other rule that refuses the commit.
bool write_execute() noexcept {
    // 0: not known yet, 1: refused, 2: allowed. Not a guarded static (see facts()); racing first
    // calls probe alike and store the same answer.
    static std::atomic<int> known{0};
    int k = known.load(std::memory_order_relaxed);
    if (k == 0) {
        const DWORD saved_error = GetLastError();
        const std::size_t page = facts().page;
        void* p = VirtualAlloc(nullptr, page, MEM_RESERVE, PAGE_NOACCESS);
        if (p == nullptr) {
            SetLastError(saved_error);
            return true; // no page to ask with: not an answer, so ask again next time
        }
        const bool allowed = VirtualAlloc(p, page, MEM_COMMIT, PAGE_EXECUTE_READWRITE) != nullptr;
        const DWORD error = GetLastError();
        VirtualFree(p, 0, MEM_RELEASE);
        SetLastError(saved_error);
        if (!allowed && (error == ERROR_COMMITMENT_LIMIT || error == ERROR_NOT_ENOUGH_MEMORY))
            return true; // short of commit, not a refusal of W+X: ask again next time
        k = allowed ? 2 : 1;
        known.store(k, std::memory_order_relaxed);
    }
    return k == 2;
}

} // namespace vmem::detail::os
