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
#include <fcntl.h>
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

// The locked parts of a range before a lock or unlock, so that a call the kernel refuses partway
// (it marks mapping after mapping and keeps the marks) can be undone exactly: a refused lock
// unlocks only what was not locked before, a refused unlock locks again what was. Learnt only
// when it matters: nothing is read when the process has no locked memory (VmLck: 0 kB in
// /proc/self/status), which is also where every refusal is undone whole.
struct lock_state {
    static constexpr int most = 32; // spans kept; more, and the state is not known
    std::uintptr_t lo[most] = {}, hi[most] = {};
    int spans = 0;
    bool known = true;
};

#if defined(__linux__)
// The spans of [lo, hi) in mappings whose VmFlags (/proc/self/smaps) say "lo" (VM_LOCKED).
void learn_locks(std::uintptr_t lo, std::uintptr_t hi, lock_state& out) noexcept {
    char text[file_buffer_size];
    if (read_file("/proc/self/status", text, sizeof text) <= 0) {
        out.known = false;
        return;
    }
    if (number_after(text, "VmLck") == 0)
        return; // nothing locked anywhere
    const int fd = open("/proc/self/smaps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        out.known = false;
        return;
    }
    // Streamed line by line; a line is kept up to `line`'s size (the start of a mapping's line
    // and its VmFlags line both fit).
    char line[256];
    std::size_t used = 0;
    std::uintptr_t map_lo = 0, map_hi = 0;
    const auto take_line = [&] {
        line[used < sizeof line ? used : sizeof line - 1] = 0;
        used = 0;
        if (starts_with(line, "VmFlags:")) {
            bool locked = false;
            for (const char* c = line + 8; c[0] != 0 && c[1] != 0; ++c)
                locked = locked ||
                         (c[-1] == ' ' && c[0] == 'l' && c[1] == 'o' && (c[2] == ' ' || c[2] == 0));
            const std::uintptr_t a = map_lo > lo ? map_lo : lo;
            const std::uintptr_t b = map_hi < hi ? map_hi : hi;
            if (!locked || a >= b)
                return;
            if (out.spans > 0 && out.hi[out.spans - 1] == a) {
                out.hi[out.spans - 1] = b; // adjacent: one span
            } else if (out.spans == lock_state::most) {
                out.known = false;
            } else {
                out.lo[out.spans] = a;
                out.hi[out.spans] = b;
                ++out.spans;
            }
            return;
        }
        // "lo-hi perms ...": a mapping's first line (other lines start with a capital).
        std::uintptr_t v[2] = {};
        const char* c = line;
        for (std::uintptr_t& x : v) {
            int digits = 0;
            for (;; ++c, ++digits) {
                const char d = *c;
                const int n = d >= '0' && d <= '9'   ? d - '0'
                              : d >= 'a' && d <= 'f' ? d - 'a' + 10
                                                     : -1;
                if (n < 0)
                    break;
                x = x * 16 + static_cast<std::uintptr_t>(n);
            }
            if (digits == 0)
                return;
            if (*c == '-')
                ++c;
        }
        map_lo = v[0];
        map_hi = v[1];
    };
    for (;;) {
        const ssize_t n = read(fd, text, sizeof text);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            out.known = out.known && n == 0;
            break;
        }
        for (ssize_t i = 0; i < n; ++i) {
            if (text[i] == '\n')
                take_line();
            else if (used < sizeof line)
                line[used++] = text[i];
            else
                ++used;
        }
    }
    close(fd);
}
#endif

// Learns the lock state of [addr, addr+size) where a refusal partway could need it.
lock_state locks_before(void* addr, std::size_t size) noexcept {
    lock_state s;
#if defined(__linux__)
    const auto lo = reinterpret_cast<std::uintptr_t>(addr);
    learn_locks(lo, lo + size, s);
#else
    (void)addr;
    (void)size;
#endif
    return s;
}

// Puts a refused lock (`locking`) or unlock back as `before` says: the pages locked before are
// locked again, the others unlocked. Where the state is not known, a refused lock unlocks the
// whole range and a refused unlock is left as it is (unlocked is what was asked).
void restore_locks(void* addr, std::size_t size, bool locking, const lock_state& before) noexcept {
    const int saved_errno = errno;
    const auto lo = reinterpret_cast<std::uintptr_t>(addr);
    const auto at = [](std::uintptr_t x) { return reinterpret_cast<void*>(x); };
    if (!before.known) {
        if (locking)
            unlock_pages(addr, size);
    } else if (locking) { // unlock the gaps between the spans locked before
        std::uintptr_t from = lo;
        for (int i = 0; i < before.spans; ++i) {
            if (before.lo[i] > from)
                unlock_pages(at(from), before.lo[i] - from);
            from = before.hi[i];
        }
        if (lo + size > from)
            unlock_pages(at(from), lo + size - from);
    } else {
        for (int i = 0; i < before.spans; ++i)
            lock_pages(at(before.lo[i]), before.hi[i] - before.lo[i]);
    }
    errno = saved_errno;
}

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

// mlock marks the kernel's mappings locked one by one and then faults them in, munlock unmarks
// them one by one, and both keep what they did when they fail partway: undone here.
bool lock(void* addr, std::size_t size, std::error_code& ec) noexcept {
    const lock_state before = locks_before(addr, size);
    if (seam_call(testing::os_call::lock, addr, size, lock_pages) == 0)
        return true;
    restore_locks(addr, size, true, before);
    return fail(ec);
}

bool unlock(void* addr, std::size_t size, std::error_code& ec) noexcept {
    const lock_state before = locks_before(addr, size);
    if (seam_call(testing::os_call::unlock, addr, size, unlock_pages) == 0)
        return true;
    restore_locks(addr, size, false, before);
    return fail(ec);
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
