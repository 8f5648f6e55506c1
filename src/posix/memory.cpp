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
// Decommit maps the same flags again, so a recommit is accounted like the first commit.
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

void* map_exactly(void* at, std::size_t size, std::error_code& ec) noexcept {
#if defined(MAP_FIXED_NOREPLACE)
    // Linux 4.17+: fails with EEXIST instead of replacing a mapping. Older kernels ignore the
    // flag and treat `at` as a hint, which the address check below catches.
    void* p = mmap(at, size, PROT_NONE, reserve_flags | MAP_FIXED_NOREPLACE, -1, 0);
#else
    // Elsewhere `at` is only a hint; plain MAP_FIXED would replace what is there.
    void* p = mmap(at, size, PROT_NONE, reserve_flags, -1, 0);
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

} // namespace

void* reserve(void* at, std::size_t size, std::size_t alignment, bool,
              std::error_code& ec) noexcept {
    if (at != nullptr)
        return map_exactly(at, size, ec);
    const std::size_t page = page_size();
    if (alignment <= page) {
        void* p = mmap(nullptr, size, PROT_NONE, reserve_flags, -1, 0);
        if (p == MAP_FAILED) {
            fail(ec);
            return nullptr;
        }
        return p;
    }
    // Over-reserve by alignment - page, then unmap the unaligned head and the tail. The shared
    // layer checked that size + alignment does not overflow.
    const std::size_t span = size + alignment - page;
    void* p = mmap(nullptr, span, PROT_NONE, reserve_flags, -1, 0);
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

bool commit(void* addr, std::size_t size, access a, std::error_code& ec) noexcept {
    // mprotect keeps the contents of pages already committed; it is also where Linux takes the
    // commit charge and checks RLIMIT_DATA, and so where ENOMEM appears.
    return mprotect(addr, size, to_prot(a)) == 0 || fail(ec);
}

bool decommit(void* addr, std::size_t size, std::error_code& ec) noexcept {
    // A fresh PROT_NONE mapping over the range: the old pages are freed at once, their charge is
    // returned, access faults and the next commit reads zero. madvise(MADV_DONTNEED) would keep
    // the charge and the access; MADV_FREE frees lazily and may keep old data.
    // ENOMEM here means the vm.max_map_count limit: the kernel checks it before unmapping.
    void* p = mmap(addr, size, PROT_NONE, reserve_flags | MAP_FIXED, -1, 0);
    return p != MAP_FAILED || fail(ec);
}

bool protect(void* addr, std::size_t size, access a, std::error_code& ec) noexcept {
    return mprotect(addr, size, to_prot(a)) == 0 || fail(ec);
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
