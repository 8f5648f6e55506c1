// vmem POSIX backend: the capability report. Shared logic does not belong here (see
// src/platform.hpp).
//
// No heap and no guarded statics (query_capabilities may run beneath a malloc built on vmem):
// files are read with open/read into stack buffers (proc.hpp), a directory with getdents64 (glibc's
// opendir allocates), and facts fixed at boot are kept in atomics, as src/posix/system.cpp does.
// What an administrator can change while we run (the hugetlb pool, the THP mode, vm.max_map_count)
// and the process's mapping count are read on every call.
#include "../platform.hpp"
#include "proc.hpp"

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__linux__)
#include <sys/syscall.h>
#endif

#if !defined(MAP_ANONYMOUS) && defined(MAP_ANON)
#define MAP_ANONYMOUS MAP_ANON
#endif

#if defined(__linux__)
// Linux 6.13 added guard regions (include/uapi/asm-generic/mman-common.h); older C library
// headers lack the name. The value is the kernel's on every architecture.
#if !defined(MADV_GUARD_INSTALL)
#define MADV_GUARD_INSTALL 102
#endif
// Linux 5.14 (same header); 23 on every architecture but those with their own mman.h values,
// whose C library headers of that age already name it.
#if !defined(MADV_POPULATE_WRITE)
#define MADV_POPULATE_WRITE 23
#endif
#endif

namespace vmem::detail::os {

namespace {

#if defined(__linux__)

// The value of "key:" in /proc/meminfo, in bytes when it is given in kB, else as it stands; 0
// when the line is missing or the file unreadable.
std::size_t meminfo(const char* key) noexcept {
    // /proc/meminfo is some 1.5 KiB: one buffer holds it with room to spare.
    char buf[file_buffer_size];
    if (read_file("/proc/meminfo", buf, sizeof buf) < 0)
        return 0;
    return bytes_after(buf, key);
}

// A directory entry as getdents64 returns it (struct linux_dirent64, getdents(2)).
struct dirent64_header {
    std::uint64_t ino;
    std::int64_t off;
    unsigned short reclen;
    unsigned char type;
    char name[1];
};

// Every huge page size of /sys/kernel/mm/hugepages (entries "hugepages-<N>kB"), ascending; the
// four smallest when there are more; the rest of `sizes` 0.
void list_huge_page_sizes(std::size_t (&sizes)[4]) noexcept {
    for (std::size_t& s : sizes)
        s = 0;
    const int fd = open("/sys/kernel/mm/hugepages", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return;
    alignas(8) char buf[2048];
    for (;;) {
        const long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
        if (n <= 0)
            break;
        for (long at = 0; at < n;) {
            const auto* entry = reinterpret_cast<const dirent64_header*>(buf + at);
            at += entry->reclen;
            if (!starts_with(entry->name, "hugepages-"))
                continue;
            const char* end = nullptr;
            const std::size_t kib = parse_number(entry->name + 10, &end);
            if (kib == 0 || !starts_with(end, "kB"))
                continue;
            std::size_t size = kib * 1024;
            // Insertion into the ascending list of the four smallest.
            for (std::size_t& slot : sizes) {
                if (slot == 0) {
                    slot = size;
                    break;
                }
                if (size < slot) {
                    const std::size_t larger = slot;
                    slot = size;
                    size = larger;
                }
            }
        }
    }
    close(fd);
}

// Asks madvise(advice) of a fresh private anonymous page with protection `prot`, the kind of
// memory vmem gives it. 1: the kernel knows the advice; 0: it does not (EINVAL); -1: no answer
// (no page to ask with, or another error), so ask again next time. The page is unlocked first:
// under mlockall(MCL_FUTURE) it would be born locked, and the kernel refuses guard markers on
// locked memory with the same EINVAL, which would be taken, and kept, as "unknown advice".
int knows_advice(int advice, int prot) noexcept {
    const std::size_t page = page_size();
    void* p = mmap(nullptr, page, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    munlock(p, page);
    const int result = madvise(p, page, advice) == 0 ? 1 : errno == EINVAL ? 0 : -1;
    munmap(p, page);
    return result;
}

// A yes/no fact found once by `find` (1 yes, 0 no, -1 ask again): 0 not known yet, 1 no, 2 yes.
// An atomic rather than a guarded static; racing first calls find the same answer.
template <typename Find>
bool cached(std::atomic<int>& known, Find find) noexcept {
    int k = known.load(std::memory_order_relaxed);
    if (k == 0) {
        const int found = find();
        if (found < 0)
            return false; // no answer this time
        k = found == 1 ? 2 : 1;
        known.store(k, std::memory_order_relaxed);
    }
    return k == 2;
}

// MAP_FIXED_NOREPLACE (Linux 4.17+) over a mapping of our own must fail with EEXIST; an older
// kernel ignores the flag and takes the address as a hint, so the page lands elsewhere and
// nothing is replaced either way.
int finds_map_fixed_noreplace() noexcept {
#if defined(MAP_FIXED_NOREPLACE)
    const std::size_t page = page_size();
    void* mine = mmap(nullptr, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mine == MAP_FAILED)
        return -1;
    void* p = mmap(mine, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    int result;
    if (p == MAP_FAILED) {
        result = errno == EEXIST ? 1 : -1;
    } else {
        result = 0;
        if (p != mine)
            munmap(p, page);
    }
    munmap(mine, page);
    return result;
#else
    // vmem's exact reserve is built without it (src/posix/memory.cpp checks the address instead).
    return 0;
#endif
}

// process_madvise (Linux 5.10+) with a pidfd of -1 fails with EBADF where the call exists and
// with ENOSYS where it does not (or where a seccomp filter hides it, which is the same to us).
int finds_process_madvise() noexcept {
#if defined(SYS_process_madvise)
    const long r = syscall(SYS_process_madvise, -1, nullptr, 0, 0, 0);
    return r == 0 || errno != ENOSYS ? 1 : 0;
#else
    return 0; // the C library's headers do not name it: vmem cannot call it
#endif
}

#endif // __linux__

} // namespace

// Asked once of a fresh PROT_NONE page, the memory guard() meets in a reservation; never of a
// caller's range, where EINVAL may only mean that range is locked.
bool guard_markers() noexcept {
#if defined(__linux__)
    static std::atomic<int> known{0};
    return cached(known, [] { return knows_advice(MADV_GUARD_INSTALL, PROT_NONE); });
#else
    return false;
#endif
}

void fill_capabilities(capabilities& c) noexcept {
    const int saved_errno = errno;

#if defined(__linux__)
    // Huge page sizes are fixed at boot: listed once.
    static std::atomic<std::size_t> sizes[4];
    static std::atomic<std::size_t> default_size{0}; // Hugepagesize, or THP's PMD size
    static std::atomic<int> sizes_known{0};
    if (sizes_known.load(std::memory_order_acquire) == 0) {
        std::size_t found[4];
        list_huge_page_sizes(found);
        for (int i = 0; i < 4; ++i)
            sizes[i].store(found[i], std::memory_order_relaxed);
        std::size_t size = meminfo("Hugepagesize");
        if (size == 0)
            size = file_number("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", 0);
        default_size.store(size, std::memory_order_relaxed);
        sizes_known.store(1, std::memory_order_release);
    }
    for (int i = 0; i < 4; ++i)
        c.huge_page_sizes[i] = sizes[i].load(std::memory_order_relaxed);
    c.huge_page_size = default_size.load(std::memory_order_relaxed);

    // Changed by an administrator at any time: read now.
    c.huge_pages_free = meminfo("HugePages_Free");
    c.transparent_huge_pages = read_thp_mode();
    c.large_page_privilege = false;
    // 0 when unreadable: "no such limit" is the best the report can say then.
    c.max_map_count = file_number("/proc/sys/vm/max_map_count", 0);
    c.map_count = count_lines("/proc/self/maps"); // one line per mapping

    c.decommit_zero_fills = true;     // the remap gives fresh zero pages
    c.decommit_returns_charge = true; // the remap unaccounts the range (mm/mmap.c)
    c.discard_zero_fills = true;      // MADV_DONTNEED on private anonymous memory
    static std::atomic<int> populate_known{0}, fork_known{0}, noreplace_known{0},
        process_madvise_known{0};
    c.guard_pages_free = guard_markers();
    c.query_sees_committed_none = false;
    // MADV_DONTFORK is 2.6.16; MADV_WIPEONFORK (4.14) decides.
#if defined(MADV_WIPEONFORK)
    c.fork_control =
        cached(fork_known, [] { return knows_advice(MADV_WIPEONFORK, PROT_READ | PROT_WRITE); });
#else
    (void)fork_known;
    c.fork_control = false; // the headers cannot name it: vmem is built without it
#endif
    c.page_locking = true; // mlock / munlock
    c.placeholders = false;
    c.map_fixed_noreplace = cached(noreplace_known, finds_map_fixed_noreplace);
    // Asked of a fresh read-write page: a kernel before 5.14 says EINVAL.
    c.populate_write = cached(
        populate_known, [] { return knows_advice(MADV_POPULATE_WRITE, PROT_READ | PROT_WRITE); });
    c.process_madvise = cached(process_madvise_known, finds_process_madvise);
#else
    // macOS and the BSDs: no huge-page pool vmem uses (macOS's superpages are x86-only and off
    // by default; FreeBSD promotes to superpages on its own, with no size to ask for), no THP
    // switch, no mapping limit vmem can read cheaply.
    c.huge_page_size = 0;
    for (std::size_t& s : c.huge_page_sizes)
        s = 0;
    c.huge_pages_free = 0;
    c.transparent_huge_pages = thp_mode::unavailable;
    c.large_page_privilege = false;
    c.max_map_count = 0;
    c.map_count = 0;
    c.decommit_zero_fills = true;     // the MAP_FIXED remap gives fresh zero pages
    c.decommit_returns_charge = true; // the remap drops the pages
    // macOS MADV_FREE_REUSABLE and the BSDs' MADV_FREE may leave the old contents.
    c.discard_zero_fills = false;
    c.guard_pages_free = false; // PROT_NONE remap: a mapping of its own
    c.query_sees_committed_none = false;
    // macOS has no MADV_WIPEONFORK; the BSDs' minherit(INHERIT_NONE / INHERIT_ZERO) would do,
    // but vmem does not use it yet.
    c.fork_control = false;
    c.page_locking = true; // mlock / munlock
    c.placeholders = false;
    c.map_fixed_noreplace = false;
    c.populate_write = false;
    c.process_madvise = false;
#endif
    c.double_mapping = double_mapping(placeholder_double_mapping_allowed());

    errno = saved_errno;
}

} // namespace vmem::detail::os
