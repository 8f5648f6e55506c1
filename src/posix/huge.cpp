// vmem POSIX backend: how a reservation gets huge pages and what it got (Linux: the hugetlb
// pool, else transparent huge pages; elsewhere none), and the fork policies. Files of /proc and
// /sys are read with open and read into buffers on the stack (proc.hpp): no heap.
#include "../platform.hpp"
#include "proc.hpp"

#include <vmem/error.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

namespace vmem::detail::os {

namespace {

#if defined(__linux__)

struct huge_facts {
    std::size_t pool_page = 0; // Hugepagesize, bytes
    std::size_t pool_free = 0; // pages of the default pool free and not promised to anyone
    std::size_t thp_page = 0;  // THP's PMD size, bytes, or 0 when THP is off or absent
};

huge_facts read_huge_facts() noexcept {
    huge_facts f;
    char buf[file_buffer_size];
    if (read_file("/proc/meminfo", buf, sizeof buf) > 0) {
        f.pool_page = bytes_after(buf, "Hugepagesize");
        const std::size_t free = number_after(buf, "HugePages_Free");
        const std::size_t promised = number_after(buf, "HugePages_Rsvd");
        f.pool_free = free > promised ? free - promised : 0;
    }
    // `never` leaves only the pool.
    const thp_mode mode = read_thp_mode();
    if (mode == thp_mode::always || mode == thp_mode::madvise) {
        f.thp_page = file_number("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", 0);
        if (f.thp_page == 0)
            f.thp_page = f.pool_page; // older kernels: the PMD size is the default huge page
    }
    return f;
}

bool is_power_of_two(std::size_t n) noexcept {
    return n != 0 && (n & (n - 1)) == 0;
}

// The PAGEMAP_SCAN ioctl of /proc/self/pagemap (Linux 6.7), declared here as the kernel defines
// it (older headers lack it): which pages of a range are present huge pages, page by page.
struct page_region {
    std::uint64_t start, end, categories;
};
struct pm_scan_arg {
    std::uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages, category_inverted,
        category_mask, category_anyof_mask, return_mask;
};
static_assert(sizeof(pm_scan_arg) == 96, "the kernel's struct pm_scan_arg");
constexpr unsigned long pagemap_scan_request = _IOWR('f', 16, pm_scan_arg);
constexpr std::uint64_t page_is_present = 1u << 3;
constexpr std::uint64_t page_is_huge = 1u << 6;

// The bytes of [lo, hi) (page aligned) backed by huge pages now, exactly; false where the kernel
// has no PAGEMAP_SCAN.
bool scan_huge_bytes(std::uintptr_t lo, std::uintptr_t hi, std::size_t& total) noexcept {
    const int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    total = 0;
    bool ok = true;
    page_region found[32];
    for (std::uintptr_t at = lo; at < hi;) {
        pm_scan_arg arg{};
        arg.size = sizeof arg;
        arg.start = at;
        arg.end = hi;
        arg.vec = reinterpret_cast<std::uintptr_t>(found);
        arg.vec_len = sizeof found / sizeof found[0];
        arg.category_mask = page_is_present | page_is_huge; // both required
        arg.return_mask = page_is_huge;
        const int n = ioctl(fd, pagemap_scan_request, &arg);
        if (n < 0 || arg.walk_end <= at) {
            ok = false;
            break;
        }
        for (int i = 0; i < n; ++i)
            total += static_cast<std::size_t>(found[i].end - found[i].start);
        at = static_cast<std::uintptr_t>(arg.walk_end);
    }
    close(fd);
    return ok;
}

#endif

} // namespace

bool plan_mapping(const reserve_options& options, mapping_traits& traits, std::size_t& size,
                  std::size_t& alignment, std::error_code& ec) noexcept {
    traits = mapping_traits{};
    traits.huge = options.huge;
    traits.fork = options.fork;
    traits.executable = options.executable;
#if !defined(MADV_DONTFORK) || !defined(MADV_WIPEONFORK)
    // Only Linux has both (macOS's minherit cannot zero on fork).
    if (options.fork != fork_policy::inherit) {
        ec = errc::not_supported;
        return false;
    }
#endif
    if (options.huge != huge_pages::prefer && options.huge != huge_pages::require)
        return true;
#if defined(__linux__)
    const huge_facts f = read_huge_facts();
    std::size_t unit = 0;
    // The explicit pool when it holds the whole reservation now (the kernel takes its pages from
    // the pool at mmap, so later commits cannot fail), else transparent huge pages.
    if (is_power_of_two(f.pool_page) && f.pool_page > page_size() &&
        size <= SIZE_MAX - (f.pool_page - 1)) {
        const std::size_t rounded = (size + f.pool_page - 1) & ~(f.pool_page - 1);
        if (rounded / f.pool_page <= f.pool_free) {
            traits.explicit_pool = true;
            unit = f.pool_page;
            size = rounded;
        }
    }
    // Transparent huge pages do not round the size: a reservation smaller than one huge page can
    // never be backed by one (require fails, prefer gets normal pages).
    if (!traits.explicit_pool && is_power_of_two(f.thp_page) && f.thp_page > page_size() &&
        size >= f.thp_page)
        unit = f.thp_page;
    if (unit != 0) {
        traits.huge_page = unit;
        if (alignment < unit)
            alignment = unit;
        return true;
    }
#else
    (void)size;
    (void)alignment;
#endif
    if (options.huge == huge_pages::require) {
        ec = errc::huge_pages_unavailable;
        return false;
    }
    return true; // prefer: normal pages
}

std::size_t huge_bytes(const void* base, std::size_t size, bool fast_source) noexcept {
#if defined(__linux__)
    const auto lo = reinterpret_cast<std::uintptr_t>(base);
    const std::uintptr_t hi = lo + size;
    // Neighbouring reservations with the same flags share one kernel mapping, whose huge pages
    // smaps counts as a whole: PAGEMAP_SCAN sees the range's own, where the kernel has it.
    std::size_t scanned = 0;
    if (fast_source && scan_huge_bytes(lo, hi, scanned))
        return scanned;
    // Else /proc/self/smaps, streamed through a buffer on the stack: for every mapping
    // overlapping the range, its AnonHugePages (THP) and its hugetlb pages, at most the overlap
    // (a bound only, when the mapping extends past the range).
    const int fd = open("/proc/self/smaps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    std::size_t total = 0;
    std::size_t overlap = 0; // bytes of the current mapping inside the range; 0 when outside
    std::size_t counted = 0; // of the current mapping
    char buf[8192];
    std::size_t have = 0;
    bool eof = false;
    for (;;) {
        const char* nl = static_cast<const char*>(std::memchr(buf, '\n', have));
        if (nl == nullptr) {
            if (eof || have == sizeof buf) // a line longer than the buffer: not one we read
                break;
            const ssize_t got = read(fd, buf + have, sizeof buf - have);
            if (got <= 0)
                eof = true;
            else
                have += static_cast<std::size_t>(got);
            continue;
        }
        const std::size_t len = static_cast<std::size_t>(nl - buf);
        char line[256];
        const std::size_t keep = len < sizeof line - 1 ? len : sizeof line - 1;
        std::memcpy(line, buf, keep);
        line[keep] = '\0';
        std::memmove(buf, nl + 1, have - len - 1);
        have -= len + 1;
        // A mapping's header starts with its range in hex: "7f...-7f... rw-p ..."; the fields
        // start with a capital letter.
        const bool header =
            (line[0] >= '0' && line[0] <= '9') || (line[0] >= 'a' && line[0] <= 'f');
        if (header) {
            std::uintptr_t start = 0, end = 0;
            const char* p = line;
            for (; *p != '-' && *p != '\0'; ++p)
                start =
                    start * 16 + static_cast<std::uintptr_t>(*p <= '9' ? *p - '0' : *p - 'a' + 10);
            if (*p == '-')
                ++p;
            for (; *p != ' ' && *p != '\0'; ++p)
                end = end * 16 + static_cast<std::uintptr_t>(*p <= '9' ? *p - '0' : *p - 'a' + 10);
            const std::uintptr_t a = start > lo ? start : lo;
            const std::uintptr_t b = end < hi ? end : hi;
            overlap = a < b ? b - a : 0;
            counted = 0;
            continue;
        }
        if (overlap == 0)
            continue;
        // A line names one of these at most (in kB); number_after gives 0 for the others.
        std::size_t kb = number_after(line, "AnonHugePages");
        if (kb == 0)
            kb = number_after(line, "Private_Hugetlb");
        if (kb == 0)
            kb = number_after(line, "Shared_Hugetlb");
        if (kb == 0)
            continue;
        std::size_t add = kb * 1024;
        if (counted + add > overlap)
            add = overlap - counted;
        counted += add;
        total += add;
    }
    close(fd);
    return total;
#else
    (void)base;
    (void)size;
    return 0; // no huge pages are ever used
#endif
}

} // namespace vmem::detail::os
