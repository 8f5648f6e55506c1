// vmem Windows backend: system facts. Shared logic does not belong here (see src/platform.hpp).
#include "../platform.hpp"
#include "virtual_alloc2.hpp"

#include <windows.h>

namespace vmem::detail::os {

namespace {

const SYSTEM_INFO& info() noexcept {
    static const SYSTEM_INFO si = [] {
        SYSTEM_INFO s;
        GetSystemInfo(&s);
        return s;
    }();
    return si;
}

} // namespace

std::size_t page_size() noexcept {
    return info().dwPageSize;
}

std::size_t allocation_granularity() noexcept {
    return info().dwAllocationGranularity;
}

std::uintptr_t address_limit() noexcept {
    return reinterpret_cast<std::uintptr_t>(info().lpMaximumApplicationAddress) + 1;
}

bool native_aligned_reserve() noexcept {
    return win32::aligned_reserve_works();
}

// Windows charges every commit against the system commit limit (RAM + page files).
commit_accounting accounting() noexcept {
    return commit_accounting::strict;
}

bool commit_charged_when_writable() noexcept {
    return false;
}

} // namespace vmem::detail::os
