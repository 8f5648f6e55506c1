// vmem POSIX backend: discard, guard, lock, prefault, the instruction cache, and telling apart
// what the kernel reports only as ENOMEM. Every argument arrives checked and page-aligned.
#include "../platform.hpp"
#include "proc.hpp"

#include <vmem/error.hpp>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <sys/mman.h>
#include <sys/resource.h>
#if defined(__linux__)
#include <sys/syscall.h>
#endif
#include <unistd.h>

// Linux 6.13: guard markers that fault without a mapping of their own (the headers of older
// systems lack the values).
#if defined(__linux__) && !defined(MADV_GUARD_INSTALL)
#define MADV_GUARD_INSTALL 102
#define MADV_GUARD_REMOVE 103
#endif
// Linux 5.14: populate a range in one call.
#if defined(__linux__) && !defined(MADV_POPULATE_READ)
#define MADV_POPULATE_READ 22
#define MADV_POPULATE_WRITE 23
#endif

namespace vmem::detail::os {

namespace {

bool fail(std::error_code& ec) noexcept {
    ec.assign(errno, std::system_category());
    return false;
}

// A system call over a range, through the seam's after_part mode (testing::failure_mode): armed
// for `call`, `os(addr, n)` runs for the first part of the range only and the armed error comes
// back in errno, as when the kernel refuses a range midway.
template <class Os>
int seam_call(testing::os_call call, void* addr, std::size_t size, Os os) noexcept {
    std::error_code injected;
    const std::size_t part = injected_partial(call, size, injected);
    if (os(addr, part != 0 ? part : size) != 0)
        return -1;
    if (part == 0)
        return 0;
    errno = injected.value();
    return -1;
}

int advise_range(testing::os_call call, void* addr, std::size_t size, int advice) noexcept {
    return seam_call(call, addr, size,
                     [advice](void* p, std::size_t n) { return madvise(p, n, advice); });
}

// Whether the kernel knows an madvise advice, found at its first use: 0 not known yet, 1 no,
// 2 yes. EINVAL from a kernel without it; a refusal for another reason is not an answer.
struct advice_support {
    std::atomic<int> known{0};
    bool absent() const noexcept { return known.load(std::memory_order_relaxed) == 1; }
    void learn(bool present) noexcept { known.store(present ? 2 : 1, std::memory_order_relaxed); }
};

#if defined(__linux__)
advice_support populate;
#endif

// Touches each page of [addr, addr+size) so that it is populated: a read where the access
// allows no writing, else an atomic compare-exchange of a byte with its own value, which writes
// without changing it and without losing another thread's store to it (if that store came first,
// the exchange fails, and the page was populated by that store).
void touch(void* addr, std::size_t size, access a) noexcept {
    const std::size_t page = page_size();
    auto* p = static_cast<unsigned char*>(addr);
    const bool writable = a == access::read_write || a == access::read_write_execute;
    for (std::size_t at = 0; at < size; at += page) {
        if (writable) {
            // A compare-exchange of a byte with itself: compilers turn an atomic add of zero into
            // a plain load (an idempotent read-modify-write), which would not populate the page.
            unsigned char seen = __atomic_load_n(p + at, __ATOMIC_RELAXED);
            __atomic_compare_exchange_n(p + at, &seen, seen, false, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED);
        } else {
            (void)*static_cast<volatile unsigned char*>(p + at);
        }
    }
}

// Linux: the system calls themselves. The sanitizers' runtimes replace mlock and munlock with
// functions that lock nothing and report success; vmem's contract is what the kernel does.
#if defined(__linux__)
int lock_pages(void* addr, std::size_t size) noexcept {
    return static_cast<int>(syscall(SYS_mlock, addr, size));
}
int unlock_pages(void* addr, std::size_t size) noexcept {
    return static_cast<int>(syscall(SYS_munlock, addr, size));
}
#else
int lock_pages(void* addr, std::size_t size) noexcept {
    return mlock(addr, size);
}
int unlock_pages(void* addr, std::size_t size) noexcept {
    return munlock(addr, size);
}
#endif

} // namespace

bool discard(void* addr, std::size_t size, std::error_code& ec) noexcept {
#if defined(__APPLE__)
    // The pages stay mapped and leave the process's footprint at once (MADV_FREE alone would
    // leave them counted until the kernel takes them).
    const int advice = MADV_FREE_REUSABLE;
#elif defined(__linux__)
    const int advice = MADV_DONTNEED; // private anonymous: the pages read zero afterwards
#elif defined(MADV_FREE)
    const int advice = MADV_FREE; // the BSDs: MADV_DONTNEED keeps the pages
#else
    const int advice = MADV_DONTNEED;
#endif
    if (advise_range(testing::os_call::discard, addr, size, advice) == 0)
        return true;
#if defined(__linux__)
    // MADV_DONTNEED refuses locked pages (EINVAL); discard unlocks what it covers, so unlock and
    // try again, and lock them again if that is refused too.
    if (errno == EINVAL && unlock_pages(addr, size) == 0) {
        if (madvise(addr, size, advice) == 0)
            return true;
        const int saved_errno = errno;
        lock_pages(addr, size);
        errno = saved_errno;
    }
#endif
    return fail(ec);
}

bool guard(void* addr, std::size_t size, const mapping_traits& traits,
           std::error_code& ec) noexcept {
#if defined(__linux__)
    if (guard_markers() &&
        advise_range(testing::os_call::guard, addr, size, MADV_GUARD_INSTALL) == 0)
        return true;
        // Refused (a locked mapping in the range is EINVAL) or no markers at all. The kernel
        // installs markers mapping by mapping, so some may stand on part of the range now; the
        // remap below replaces the whole range with a fresh PROT_NONE mapping, markers and locks
        // included.
#endif
    if (decommit(addr, size, traits, ec))
        return true;
#if defined(__linux__)
    // The remap was refused too (the mapping limit): lift any marker the first attempt left, so
    // that the pages keep the access vmem records (their contents may be gone).
    if (guard_markers()) {
        const int saved_errno = errno;
        madvise(addr, size, MADV_GUARD_REMOVE);
        errno = saved_errno;
    }
#endif
    return false;
}

bool lock(void* addr, std::size_t size, std::error_code& ec) noexcept {
    return seam_call(testing::os_call::lock, addr, size, lock_pages) == 0 || fail(ec);
}

bool unlock(void* addr, std::size_t size, std::error_code& ec) noexcept {
    return seam_call(testing::os_call::unlock, addr, size, unlock_pages) == 0 || fail(ec);
}

bool prefault(void* addr, std::size_t size, access a, std::error_code& ec) noexcept {
    if (a == access::none)
        return true; // nothing can be populated that no access may touch
#if defined(__linux__)
    if (!populate.absent()) {
        const bool writable = a == access::read_write || a == access::read_write_execute;
        if (advise_range(testing::os_call::prefault, addr, size,
                         writable ? MADV_POPULATE_WRITE : MADV_POPULATE_READ) == 0) {
            populate.learn(true);
            return true;
        }
        if (errno != EINVAL || populate.known.load(std::memory_order_relaxed) == 2)
            return fail(ec); // ENOMEM: the memory is not there; report it
        populate.learn(false);
    }
#else
    (void)ec;
#endif
    touch(addr, size, a);
    return true;
}

void flush_instruction_cache(const void* addr, std::size_t size) noexcept {
    char* first = static_cast<char*>(const_cast<void*>(addr));
    __builtin___clear_cache(first, first + size);
}

void classify_out_of_memory(std::error_code& ec, std::size_t size) noexcept {
#if defined(__linux__)
    if (ec != std::error_code(ENOMEM, std::system_category()))
        return;
    const int saved_errno = errno;
    // A change that splits a mapping needs up to two more; at the limit the kernel says ENOMEM.
    const std::size_t limit = file_number("/proc/sys/vm/max_map_count", 0);
    if (limit != 0 && count_lines("/proc/self/maps") + 2 >= limit) { // a line per mapping
        ec = errc::mapping_limit;
        errno = saved_errno;
        return;
    }
    // RLIMIT_AS caps the address space (VmSize), RLIMIT_DATA the private writable memory
    // (VmData); either refuses with ENOMEM.
    char text[file_buffer_size];
    if (read_file("/proc/self/status", text, sizeof text) > 0) {
        struct limit_use {
            int resource;
            const char* key;
        };
        for (const limit_use l :
             {limit_use{RLIMIT_AS, "VmSize"}, limit_use{RLIMIT_DATA, "VmData"}}) {
            rlimit rl{};
            if (getrlimit(l.resource, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
                continue;
            const std::uintmax_t used = std::uintmax_t{number_after(text, l.key)} * 1024;
            if (used + size > static_cast<std::uintmax_t>(rl.rlim_cur)) {
                ec = errc::process_limit;
                break;
            }
        }
    }
    errno = saved_errno;
#else
    // Elsewhere ENOMEM stays what it is: no mapping limit to count, and the usage against the
    // limits cannot be read as cheaply.
    (void)ec;
    (void)size;
#endif
}

} // namespace vmem::detail::os
