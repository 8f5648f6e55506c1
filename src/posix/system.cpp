// vmem POSIX backend: system facts. Shared logic does not belong here (see src/platform.hpp).
#include "../platform.hpp"
#include "proc.hpp"

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__linux__)
#include <sys/auxv.h>
#endif

#if !defined(MAP_ANONYMOUS) && defined(MAP_ANON)
#define MAP_ANONYMOUS MAP_ANON
#endif

namespace vmem::detail::os {

std::size_t page_size() noexcept {
    // An atomic rather than a guarded static, as on Windows (see src/win32/system.cpp).
    static std::atomic<std::size_t> size{0};
    std::size_t s = size.load(std::memory_order_relaxed);
    if (s == 0) {
        s = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
        size.store(s, std::memory_order_relaxed);
    }
    return s;
}

// POSIX has no coarser reservation unit than the page.
std::size_t allocation_granularity() noexcept {
    return page_size();
}

// An over-sized mapping is trimmed with munmap, which is exact and cannot race; there is no
// other path to switch to.
bool native_aligned_reserve(bool) noexcept {
    return true;
}

commit_accounting accounting() noexcept {
#if defined(__linux__)
    // Read on every call: an administrator may change it while we run.
    // 0: heuristic overcommit, 1: always overcommit, 2: strict
    // (Documentation/mm/overcommit-accounting). open/read (proc.hpp), not stdio, which would
    // allocate.
    // Unreadable or empty: 0, the kernel's default.
    const std::size_t mode = file_number("/proc/sys/vm/overcommit_memory", 0);
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

// Asked the way commit meets it: a fresh PROT_NONE private page made read-write-execute by
// mprotect. Refused by macOS on Apple silicon outside MAP_JIT (EACCES), OpenBSD's W^X (ENOTSUP,
// mprotect(2)), FreeBSD with vm.allow_wx=0, NetBSD's PaX MPROTECT (EACCES), SELinux without
// execmem and Linux's memory-deny-write-execute (EACCES). Any error but a shortage counts as a
// refusal. OpenBSD's kern.wxabort, a debugging setting that is off by default, would turn the
// refusal into SIGABRT.
bool write_execute() noexcept {
    // 0: not known yet, 1: refused, 2: allowed. An atomic rather than a guarded static (see
    // page_size); racing first calls probe alike and store the same answer.
    static std::atomic<int> known{0};
    int k = known.load(std::memory_order_relaxed);
    if (k == 0) {
        const int saved_errno = errno;
        const std::size_t page = page_size();
        void* p = mmap(nullptr, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            errno = saved_errno;
            return true; // no page to ask with: not an answer, so ask again next time
        }
        const bool allowed = mprotect(p, page, PROT_READ | PROT_WRITE | PROT_EXEC) == 0;
        const int error = errno;
        munmap(p, page);
        errno = saved_errno;
        if (!allowed && (error == ENOMEM || error == EAGAIN))
            return true; // short of memory, not a refusal of W+X: ask again next time
        k = allowed ? 2 : 1;
        known.store(k, std::memory_order_relaxed);
    }
    return k == 2;
}

} // namespace vmem::detail::os

namespace vmem::detail::os {

namespace {

// Whether the kernel lets a program map a page at `hint`: a plain hinted mapping lands there only
// when the address space reaches that far (Linux also needs a hint above 2^47 before it maps
// there with 5-level page tables, which is exactly what this asks).
bool mappable_at(std::uintptr_t hint) noexcept {
    const std::size_t page = page_size();
    void* p =
        mmap(reinterpret_cast<void*>(hint), page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return false;
    const bool there = reinterpret_cast<std::uintptr_t>(p) == hint;
    munmap(p, page);
    return there;
}

// An address on the main thread's stack, which the kernel puts near the top of the default
// address space. Not the caller's own stack: vmem may first be used on a fiber's stack, which
// can be anywhere.
std::uintptr_t main_stack() noexcept {
#if defined(__linux__)
    // The name the program was started by is stored at the top of the main stack.
    if (const unsigned long at = getauxval(AT_EXECFN))
        return at;
#endif
    // Elsewhere: the caller's stack, the best there is.
    return reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
}

std::uintptr_t find_address_limit() noexcept {
    constexpr unsigned bits = sizeof(std::uintptr_t) * CHAR_BIT;
    // The space reaches at least the power of two above the main stack (x86-64: 2^47; aarch64:
    // 2^48).
    const std::uintptr_t stack = main_stack();
    unsigned top = 0; // the highest power of two known to be mappable
    while (top + 1 < bits && (stack >> (top + 1)) != 0)
        ++top;
    // Above the default space the kernel maps only where a hint asks and the space reaches
    // (5-level page tables, 52-bit aarch64); nothing of the program's lives there, so the probe
    // takes no address anyone wants.
    while (top + 2 < bits && mappable_at(std::uintptr_t{1} << (top + 1)))
        ++top;
    if (top + 1 >= bits)
        return UINTPTR_MAX; // a 32-bit space that reaches the top: no limit below the wrap
    std::uintptr_t limit = std::uintptr_t{1} << (top + 1);
    // The kernel may keep the last page (x86-64's TASK_SIZE is 2^47 less a page).
    if (!mappable_at(limit - page_size()))
        limit -= page_size();
    return limit;
}

} // namespace

std::uintptr_t address_limit() noexcept {
    // Asked once; the probe is two or three one-page mappings. Racing first calls may see each
    // other's probe page and answer low: each answer is a lower bound, so the highest one stays.
    static std::atomic<std::uintptr_t> limit{0};
    std::uintptr_t l = limit.load(std::memory_order_relaxed);
    if (l == 0) {
        const std::uintptr_t found = find_address_limit();
        while (l < found && !limit.compare_exchange_weak(l, found, std::memory_order_relaxed)) {
        }
        l = limit.load(std::memory_order_relaxed);
    }
    return l;
}

} // namespace vmem::detail::os
