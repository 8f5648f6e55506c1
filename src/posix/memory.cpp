// vmem POSIX backend: mmap / mprotect / munmap. Shared logic does not belong here (see
// src/platform.hpp); every argument arrives checked and page-aligned.
#include "../platform.hpp"

#include <vmem/error.hpp>

#include <cerrno>
#include <cstdint>
#include <sys/mman.h>

#if !defined(MAP_ANONYMOUS) && defined(MAP_ANON)
#define MAP_ANONYMOUS MAP_ANON
#endif

namespace vmem::detail::os {

namespace {

// Reservations are private, anonymous and PROT_NONE. Such a mapping is never charged, even under
// strict overcommit (mm/mmap.c, accountable_mapping); it is charged when commit makes it
// writable. No MAP_NORESERVE, so commit can fail cleanly instead of the OOM killer acting later.
// Decommit maps the same flags again, so a recommit is accounted like the first commit. A
// reservation committed at reserve is mapped with its protection at once, and charged exactly as
// a commit would be.
constexpr int reserve_flags = MAP_PRIVATE | MAP_ANONYMOUS;

int to_prot(access a) noexcept {
    switch (a) {
    case access::none:
        return PROT_NONE;
    case access::read:
        return PROT_READ;
    case access::read_write:
        return PROT_READ | PROT_WRITE;
    case access::read_execute:
        return PROT_READ | PROT_EXEC;
    case access::read_write_execute:
        return PROT_READ | PROT_WRITE | PROT_EXEC;
    }
    return PROT_NONE; // unreachable: the shared layer refuses other values
}

bool fail(std::error_code& ec) noexcept {
    ec.assign(errno, std::system_category());
    return false;
}

// mprotect, through the seam's after_part mode (testing::failure_mode): armed for `call`, the
// first part of the range changes for real and the armed error comes back in errno.
int change_protection(testing::os_call call, void* addr, std::size_t size, int prot) noexcept {
    std::error_code injected;
    const std::size_t part = injected_partial(call, size, injected);
    if (mprotect(addr, part != 0 ? part : size, prot) != 0)
        return -1;
    if (part == 0)
        return 0;
    errno = injected.value();
    return -1;
}

// The flags of every mapping of a reservation: what mmap(MAP_FIXED) must give again.
int map_flags(const mapping_traits& t) noexcept {
    int flags = reserve_flags;
#if defined(MAP_HUGETLB)
    if (t.explicit_pool) {
        flags |= MAP_HUGETLB;
#if defined(MAP_HUGE_SHIFT)
        // The pool of that size (the default pool when the bits are 0).
        int log2 = 0;
        while ((std::size_t{1} << log2) < t.huge_page)
            ++log2;
        flags |= log2 << MAP_HUGE_SHIFT;
#endif
    }
#endif
#if defined(__APPLE__) && defined(MAP_JIT)
    // macOS: only MAP_JIT memory may later be made executable (Apple silicon, hardened runtime).
    if (t.executable)
        flags |= MAP_JIT;
#endif
    return flags;
}

// The advice a mapping carries, applied to [p, p+size) after every mmap: a fresh mapping has
// none. Applied to the whole range, not just its huge-page-aligned part, so that the remapped
// pages end up with the same flags as their neighbours and the kernel merges them into one
// mapping again (THP itself only ever uses the aligned part).
bool advise(void* p, std::size_t size, const mapping_traits& t, std::error_code& ec) noexcept {
    switch (t.fork) {
    case fork_policy::inherit:
        break;
    case fork_policy::dont_fork:
#if defined(MADV_DONTFORK)
        if (madvise(p, size, MADV_DONTFORK) != 0)
            return fail(ec);
#endif
        break;
    case fork_policy::zero_on_fork:
#if defined(MADV_WIPEONFORK)
        if (madvise(p, size, MADV_WIPEONFORK) != 0)
            return fail(ec);
#endif
        break;
    }
#if defined(MADV_HUGEPAGE) && defined(MADV_NOHUGEPAGE)
    if (!t.explicit_pool) {
        if (t.huge == huge_pages::never && madvise(p, size, MADV_NOHUGEPAGE) != 0)
            return fail(ec);
        if (t.huge_page != 0 && madvise(p, size, MADV_HUGEPAGE) != 0)
            return fail(ec);
    }
#endif
    return true;
}

void* map_exactly(void* at, std::size_t size, int prot, int flags, std::error_code& ec) noexcept {
#if defined(MAP_FIXED_NOREPLACE)
    // Linux 4.17+: fails with EEXIST instead of replacing a mapping. Older kernels ignore the
    // flag and treat `at` as a hint, which the address check below catches.
    void* p = mmap(at, size, prot, flags | MAP_FIXED_NOREPLACE, -1, 0);
#else
    // Elsewhere `at` is only a hint; plain MAP_FIXED would replace what is there.
    void* p = mmap(at, size, prot, flags, -1, 0);
#endif
    if (p == MAP_FAILED) {
        if (errno == EEXIST || errno == EPERM) { // taken, or below vm.mmap_min_addr
            ec = errc::address_unavailable;
            return nullptr;
        }
        fail(ec);
        return nullptr;
    }
    if (p != at) { // the kernel placed it elsewhere: the range at `at` is taken
        munmap(p, size);
        ec = errc::address_unavailable;
        return nullptr;
    }
    return p;
}

// Over-reserve by alignment - unit (the page, or the huge page of the explicit pool), then unmap
// the unaligned head and the tail. The shared layer checked that size + alignment does not
// overflow. Reserved only: a commit would charge the whole over-sized span.
void* map_aligned(std::size_t size, std::size_t alignment, std::size_t unit, int flags,
                  std::error_code& ec) noexcept {
    const std::size_t span = size + alignment - unit;
    void* p = mmap(nullptr, span, PROT_NONE, flags, -1, 0);
    if (p == MAP_FAILED) {
        fail(ec);
        return nullptr;
    }
    const auto raw = reinterpret_cast<std::uintptr_t>(p);
    const std::uintptr_t aligned = (raw + alignment - 1) & ~(alignment - 1);
    const std::size_t head = aligned - raw;
    const std::size_t tail = span - head - size;
    // Trimming can fail: the kernel may have merged the fresh mapping with a neighbour of the
    // same kind, and cutting it then needs a split, which vm.max_map_count can refuse. Then the
    // whole over-sized mapping goes (its parts the trims could not free too), and the error is
    // reported: nothing leaks.
    if (head != 0 && munmap(p, head) != 0) {
        fail(ec);
        munmap(p, span);
        return nullptr;
    }
    if (tail != 0 && munmap(reinterpret_cast<void*>(aligned + size), tail) != 0) {
        fail(ec);
        munmap(reinterpret_cast<void*>(aligned), size + tail);
        return nullptr;
    }
    return reinterpret_cast<void*>(aligned);
}

void* map_new(void* at, std::size_t size, std::size_t alignment, const mapping_traits& t,
              const access* commit, std::error_code& ec) noexcept {
    const int flags = map_flags(t);
    const int prot = commit != nullptr ? to_prot(*commit) : PROT_NONE;
    if (at != nullptr)
        return map_exactly(at, size, prot, flags, ec);
    // The explicit pool's mappings come aligned to its page size.
    const std::size_t unit = t.explicit_pool ? t.huge_page : page_size();
    if (alignment <= unit) {
        void* p = mmap(nullptr, size, prot, flags, -1, 0);
        if (p == MAP_FAILED) {
            fail(ec);
            return nullptr;
        }
        return p;
    }
    void* p = map_aligned(size, alignment, unit, flags, ec);
    if (p != nullptr && prot != PROT_NONE && mprotect(p, size, prot) != 0) {
        fail(ec);
        munmap(p, size);
        return nullptr;
    }
    return p;
}

} // namespace

void* reserve(void* at, std::size_t size, std::size_t alignment, bool, mapping_traits& traits,
              const access* commit, std::error_code& ec) noexcept {
    void* p = map_new(at, size, alignment, traits, commit, ec);
    // huge_pages::prefer: the pool may have run dry since plan_mapping looked; normal pages then.
    // huge_pages::require: that is huge_pages_unavailable.
    if (p == nullptr && traits.explicit_pool && ec != errc::address_unavailable) {
        if (traits.huge != huge_pages::prefer) {
            ec = errc::huge_pages_unavailable;
            return nullptr;
        }
        traits.explicit_pool = false;
        traits.huge_page = 0;
        p = map_new(at, size, alignment, traits, commit, ec);
    }
    if (p == nullptr)
        return nullptr;
    if (!advise(p, size, traits, ec)) {
        munmap(p, size); // a fresh mapping of our own: cannot fail
        return nullptr;
    }
    return p;
}

bool commit(void* addr, std::size_t size, access a, std::error_code& ec) noexcept {
    // mprotect keeps the contents of pages already committed; it is also where Linux takes the
    // commit charge and checks RLIMIT_DATA, and so where ENOMEM appears.
    return change_protection(testing::os_call::commit, addr, size, to_prot(a)) == 0 || fail(ec);
}

bool decommit(void* addr, std::size_t size, const mapping_traits& traits,
              std::error_code& ec) noexcept {
    // A fresh PROT_NONE mapping over the range: the old pages are freed at once, their charge is
    // returned, access faults and the next commit reads zero. madvise(MADV_DONTNEED) would keep
    // the charge and the access; MADV_FREE frees lazily and may keep old data.
    // ENOMEM here means the vm.max_map_count limit: the kernel checks it before unmapping.
    // The remap carries the reservation's flags and advice again (fork policy, huge pages,
    // MAP_JIT), which a fresh mapping would otherwise lack. On the explicit pool the kernel rounds
    // the length up to its page size, and would unmap past the range: refused unless aligned.
    if (traits.explicit_pool &&
        ((reinterpret_cast<std::uintptr_t>(addr) | size) & (traits.huge_page - 1)) != 0) {
        ec.assign(EINVAL, std::system_category());
        return false;
    }
    std::error_code injected; // the seam's after_part mode: the first part remapped, then refused
    const std::size_t part = injected_partial(testing::os_call::decommit, size, injected);
    void* p = mmap(addr, part != 0 ? part : size, PROT_NONE, map_flags(traits) | MAP_FIXED, -1, 0);
    if (p == MAP_FAILED || part != 0) {
        // Refused, maybe after part of the range was replaced (the seam's after_part mode; Linux
        // before 6.12): a fresh mapping has none of the reservation's advice, so it is given
        // again over the whole range (where the old mappings still stand it changes nothing, and
        // the kernel merges the pieces again). Errors are ignored: this is already the error path.
        const int saved_errno = p == MAP_FAILED ? errno : injected.value();
        std::error_code ignored;
        advise(addr, size, traits, ignored);
        errno = saved_errno;
        return fail(ec);
    }
    // Cannot fail in practice: the same advice succeeded on the same kind of mapping at reserve,
    // and the range is exactly one fresh mapping, so nothing needs a split.
    return advise(addr, size, traits, ec);
}

bool protect(void* addr, std::size_t size, access a, std::error_code& ec) noexcept {
    return change_protection(testing::os_call::protect, addr, size, to_prot(a)) == 0 || fail(ec);
}

bool release(void* base, std::size_t size, std::error_code& ec) noexcept {
    return munmap(base, size) == 0 || fail(ec);
}

// mprotect and mmap(MAP_FIXED) work mapping by mapping; a refusal partway (the commit limit,
// RLIMIT_DATA, vm.max_map_count) leaves the mappings already changed as they are.
bool partial_failures() noexcept {
    return true;
}

void* allocate_pages(std::size_t size) noexcept {
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p != MAP_FAILED ? p : nullptr;
}

void free_pages(void* p, std::size_t size) noexcept {
    munmap(p, size); // a whole mapping of our own: nothing to split, so it cannot fail
}

} // namespace vmem::detail::os
