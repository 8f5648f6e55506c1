// vmem POSIX backend: system facts. Shared logic does not belong here (see src/platform.hpp).
#include "../platform.hpp"

#include <cstdio>
#include <unistd.h>

namespace vmem::detail::os {

std::size_t page_size() noexcept {
    static const std::size_t size = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    return size;
}

// POSIX has no coarser reservation unit than the page.
std::size_t allocation_granularity() noexcept {
    return page_size();
}

// An over-sized mapping is trimmed with munmap, which is exact and cannot race.
bool native_aligned_reserve() noexcept {
    return true;
}

commit_accounting accounting() noexcept {
#if defined(__linux__)
    // Read on every call: an administrator may change it while we run.
    // 0: heuristic overcommit, 1: always overcommit, 2: strict
    // (Documentation/mm/overcommit-accounting).
    std::FILE* f = std::fopen("/proc/sys/vm/overcommit_memory", "r");
    int mode = 0;
    if (f != nullptr) {
        if (std::fscanf(f, "%d", &mode) != 1)
            mode = 0; // unreadable: the kernel's default
        std::fclose(f);
    }
    return mode == 2   ? commit_accounting::strict
           : mode == 1 ? commit_accounting::none
                       : commit_accounting::heuristic;
#else
    // macOS and the BSDs overcommit anonymous memory and never refuse an mprotect for it.
    return commit_accounting::none;
#endif
}

// The kernel charges private memory when it becomes writable (mm/mprotect.c, mprotect_fixup).
bool commit_charged_when_writable() noexcept {
    return true;
}

} // namespace vmem::detail::os
