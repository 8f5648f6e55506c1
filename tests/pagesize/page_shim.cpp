// vmem tests: a page size that is not the kernel's, emulated for the logic (LD_PRELOAD, Linux).
//
// With VMEM_FAKE_PAGE_SIZE set to a power of two above the kernel's page (16384, 65536), the
// process sees what a kernel with that page would show it, as far as vmem and its tests can tell:
// - sysconf(_SC_PAGESIZE), getpagesize() and getauxval(AT_PAGESZ) report the fake page;
// - mmap places every mapping on a fake page boundary (over-maps, then trims with the real munmap)
//   and rounds its length up to whole fake pages; a misaligned MAP_FIXED or MAP_FIXED_NOREPLACE
//   address, or a misaligned file offset, is refused with EINVAL (mm/mmap.c);
// - munmap, mprotect, madvise, mincore, msync and mremap refuse a misaligned address with EINVAL
//   and round lengths up, each as its kernel code does; mlock and munlock (and the raw system
//   calls vmem makes for them) round the address down and the end up, as mm/mlock.c does;
// - mincore answers one byte per fake page: resident when any of its kernel pages is, because a
//   real big-page kernel makes the whole page resident at the first touch of any byte of it.
// Unset, or not a power of two above the kernel's page, the library changes nothing.
//
// Left as the kernel has it: /proc (statm counts kernel pages: read VmRSS instead, in kB;
// KernelPageSize in smaps, which vmem does not read) and per-kernel-page residency, which only a
// real big-page kernel could report (tests that need it skip: vmem_test::page_size_emulated()).
#include <cerrno>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <dlfcn.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace {

using mmap_fn = void* (*)(void*, std::size_t, int, int, int, off_t);
using mmap64_fn = void* (*)(void*, std::size_t, int, int, int, off64_t);
using munmap_fn = int (*)(void*, std::size_t);
using range_fn = int (*)(void*, std::size_t, int); // mprotect, madvise, msync
using mincore_fn = int (*)(void*, std::size_t, unsigned char*);
using lock_fn = int (*)(const void*, std::size_t);
using mremap_fn = void* (*)(void*, std::size_t, std::size_t, int, ...);
using sysconf_fn = long (*)(int);
using auxval_fn = unsigned long (*)(unsigned long);
using syscall_fn = long (*)(long, ...);

template <class F>
F next(const char* name) noexcept {
    return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

#define VMEM_SHIM_REAL(type, name)                                                                 \
    static const type real_fn = next<type>(name);                                                  \
    (void)0

// The kernel's page, read once from the aux vector (never through the faked functions).
std::size_t kernel_page() noexcept {
    VMEM_SHIM_REAL(auxval_fn, "getauxval");
    static const std::size_t page = static_cast<std::size_t>(real_fn(AT_PAGESZ));
    return page;
}

// The fake page, or 0 when the shim is off.
std::size_t fake_page() noexcept {
    static const std::size_t page = [] {
        const char* text = std::getenv("VMEM_FAKE_PAGE_SIZE");
        if (text == nullptr)
            return std::size_t{0};
        const std::size_t p = static_cast<std::size_t>(std::strtoull(text, nullptr, 10));
        const std::size_t k = kernel_page();
        return p > k && (p & (p - 1)) == 0 ? p : std::size_t{0};
    }();
    return page;
}

std::uintptr_t address(const void* p) noexcept {
    return reinterpret_cast<std::uintptr_t>(p);
}

bool misaligned(const void* p, std::size_t page) noexcept {
    return (address(p) & (page - 1)) != 0;
}

// len rounded up to whole fake pages; 0 when that overflows (as the kernel's PAGE_ALIGN).
std::size_t round_up(std::size_t len, std::size_t page) noexcept {
    return len > SIZE_MAX - (page - 1) ? 0 : (len + page - 1) & ~(page - 1);
}

int refuse(int error) noexcept {
    errno = error;
    return -1;
}

void* refuse_map(int error) noexcept {
    errno = error;
    return MAP_FAILED;
}

// A fresh mapping at a fake page boundary: the kernel's own placement when it is aligned (the
// usual case, as every mapping here is), else a span over-mapped without access, the mapping put
// at its first fake page boundary with MAP_FIXED (inside the span: it replaces nothing else) and
// the rest of the span unmapped.
template <class Offset, class Map>
void* place(Map real_mmap, void* hint, std::size_t len, int prot, int flags, int fd, Offset off) {
    const std::size_t page = fake_page();
    VMEM_SHIM_REAL(munmap_fn, "munmap");
    if (hint != nullptr && misaligned(hint, page))
        hint = reinterpret_cast<void*>(round_up(address(hint), page)); // as the kernel's hint
    void* p = real_mmap(hint, len, prot, flags, fd, off);
    if (p == MAP_FAILED || !misaligned(p, page))
        return p;
    real_fn(p, len);
    const std::size_t span = len + page - kernel_page();
    if (span < len)
        return refuse_map(ENOMEM);
    void* s = real_mmap(hint, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (s == MAP_FAILED)
        return s;
    const std::uintptr_t at = round_up(address(s), page);
    p = real_mmap(reinterpret_cast<void*>(at), len, prot, flags | MAP_FIXED, fd, off);
    if (p == MAP_FAILED) {
        const int error = errno;
        real_fn(s, span);
        return refuse_map(error);
    }
    if (at != address(s))
        real_fn(s, at - address(s));
    const std::uintptr_t end = address(s) + span;
    if (at + len != end)
        real_fn(reinterpret_cast<void*>(at + len), end - (at + len));
    return p;
}

template <class Offset, class Map>
void* map(Map real_mmap, void* addr, std::size_t len, int prot, int flags, int fd, Offset off) {
    const std::size_t page = fake_page();
    if (page == 0 || len == 0 || (flags & MAP_HUGETLB) != 0)
        return real_mmap(addr, len, prot, flags, fd, off);
    if ((static_cast<std::uint64_t>(off) & (page - 1)) != 0)
        return refuse_map(EINVAL);
    const std::size_t rounded = round_up(len, page);
    if (rounded == 0)
        return refuse_map(ENOMEM);
    if ((flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) != 0) {
        if (misaligned(addr, page))
            return refuse_map(EINVAL);
        return real_mmap(addr, rounded, prot, flags, fd, off);
    }
    return place(real_mmap, addr, rounded, prot, flags, fd, off);
}

// mprotect, madvise and msync: a misaligned start is EINVAL, the length is rounded up; a length
// that wraps is `wrapped` (mprotect and msync: ENOMEM; madvise: EINVAL).
int range_call(const char* name, void* addr, std::size_t len, int arg, int wrapped) noexcept {
    using fn = range_fn;
    const fn real = next<fn>(name);
    const std::size_t page = fake_page();
    if (page == 0)
        return real(addr, len, arg);
    if (misaligned(addr, page))
        return refuse(EINVAL);
    if (len == 0)
        return real(addr, 0, arg);
    const std::size_t rounded = round_up(len, page);
    if (rounded == 0)
        return refuse(wrapped);
    return real(addr, rounded, arg);
}

// mlock and munlock: the start rounded down, the end up (mm/mlock.c).
template <class Call>
int lock_range(const void* addr, std::size_t len, Call call) noexcept {
    const std::size_t page = fake_page();
    if (page == 0)
        return call(addr, len);
    const std::uintptr_t start = address(addr) & ~(page - 1);
    const std::size_t rounded = round_up(len + (address(addr) - start), page);
    if (len != 0 && rounded == 0)
        return refuse(ENOMEM);
    return call(reinterpret_cast<const void*>(start), rounded);
}

} // namespace

extern "C" {

long sysconf(int name) noexcept {
    VMEM_SHIM_REAL(sysconf_fn, "sysconf");
    if ((name == _SC_PAGESIZE || name == _SC_PAGE_SIZE) && fake_page() != 0)
        return static_cast<long>(fake_page());
    return real_fn(name);
}

int getpagesize() noexcept {
    return fake_page() != 0 ? static_cast<int>(fake_page()) : static_cast<int>(kernel_page());
}

unsigned long getauxval(unsigned long type) noexcept {
    VMEM_SHIM_REAL(auxval_fn, "getauxval");
    if (type == AT_PAGESZ && fake_page() != 0)
        return fake_page();
    return real_fn(type);
}

void* mmap(void* addr, std::size_t len, int prot, int flags, int fd, off_t off) noexcept {
    VMEM_SHIM_REAL(mmap_fn, "mmap");
    return map(real_fn, addr, len, prot, flags, fd, off);
}

void* mmap64(void* addr, std::size_t len, int prot, int flags, int fd, off64_t off) noexcept {
    VMEM_SHIM_REAL(mmap64_fn, "mmap64");
    return map(real_fn, addr, len, prot, flags, fd, off);
}

int munmap(void* addr, std::size_t len) noexcept {
    VMEM_SHIM_REAL(munmap_fn, "munmap");
    const std::size_t page = fake_page();
    if (page == 0)
        return real_fn(addr, len);
    const std::size_t rounded = round_up(len, page);
    if (misaligned(addr, page) || rounded == 0)
        return refuse(EINVAL);
    return real_fn(addr, rounded);
}

int mprotect(void* addr, std::size_t len, int prot) noexcept {
    return range_call("mprotect", addr, len, prot, ENOMEM);
}

int madvise(void* addr, std::size_t len, int advice) noexcept {
    return range_call("madvise", addr, len, advice, EINVAL);
}

int msync(void* addr, std::size_t len, int flags) {
    return range_call("msync", addr, len, flags, ENOMEM);
}

int mincore(void* addr, std::size_t len, unsigned char* vec) noexcept {
    VMEM_SHIM_REAL(mincore_fn, "mincore");
    const std::size_t page = fake_page();
    if (page == 0)
        return real_fn(addr, len, vec);
    if (misaligned(addr, page))
        return refuse(EINVAL);
    const std::size_t per = page / kernel_page(); // kernel pages in a fake page
    const std::size_t pages = len / page + (len % page != 0 ? 1 : 0);
    unsigned char in_core[4096];
    const std::size_t chunk = sizeof in_core / per; // fake pages asked of the kernel at once
    for (std::size_t done = 0; done < pages;) {
        const std::size_t n = pages - done < chunk ? pages - done : chunk;
        char* at = static_cast<char*>(addr) + done * page;
        if (real_fn(at, n * page, in_core) != 0)
            return -1;
        for (std::size_t i = 0; i < n; ++i) {
            unsigned char any = 0;
            for (std::size_t j = 0; j < per; ++j)
                any = static_cast<unsigned char>(any | (in_core[i * per + j] & 1));
            vec[done + i] = any;
        }
        done += n;
    }
    return 0;
}

int mlock(const void* addr, std::size_t len) noexcept {
    VMEM_SHIM_REAL(lock_fn, "mlock");
    return lock_range(addr, len, real_fn);
}

int munlock(const void* addr, std::size_t len) noexcept {
    VMEM_SHIM_REAL(lock_fn, "munlock");
    return lock_range(addr, len, real_fn);
}

void* mremap(void* old, std::size_t old_len, std::size_t new_len, int flags, ...) noexcept {
    VMEM_SHIM_REAL(mremap_fn, "mremap");
    void* target = nullptr;
    if ((flags & MREMAP_FIXED) != 0) {
        va_list args;
        va_start(args, flags);
        target = va_arg(args, void*);
        va_end(args);
    }
    const std::size_t page = fake_page();
    if (page == 0)
        return real_fn(old, old_len, new_len, flags, target);
    old_len = round_up(old_len, page);
    new_len = round_up(new_len, page);
    if (misaligned(old, page) || new_len == 0 ||
        ((flags & MREMAP_FIXED) != 0 && misaligned(target, page)))
        return refuse_map(EINVAL);
    if ((flags & MREMAP_MAYMOVE) == 0 || (flags & MREMAP_FIXED) != 0)
        return real_fn(old, old_len, new_len, flags, target);
    // Moved where the kernel likes: then to a fake page boundary of a span reserved for it.
    void* p = real_fn(old, old_len, new_len, flags);
    if (p == MAP_FAILED || !misaligned(p, page))
        return p;
    static const munmap_fn real_munmap = next<munmap_fn>("munmap");
    static const mmap_fn real_mmap = next<mmap_fn>("mmap");
    const std::size_t span = new_len + page - kernel_page();
    void* s =
        real_mmap(nullptr, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (s == MAP_FAILED)
        return p; // misaligned, but the contents are safe where they are
    const std::uintptr_t at = round_up(address(s), page);
    const std::uintptr_t end = address(s) + span;
    void* moved = real_fn(p, new_len, new_len, MREMAP_MAYMOVE | MREMAP_FIXED, at);
    if (moved == MAP_FAILED) {
        real_munmap(s, span);
        return p;
    }
    if (at != address(s))
        real_munmap(s, at - address(s));
    if (at + new_len != end)
        real_munmap(reinterpret_cast<void*>(at + new_len), end - (at + new_len));
    return moved;
}

// The raw system calls vmem makes for page locking (beside the sanitizers' wrappers); every other
// call goes to the C library's syscall unchanged.
long syscall(long number, ...) noexcept {
    VMEM_SHIM_REAL(syscall_fn, "syscall");
    va_list args;
    va_start(args, number);
    long a[6];
    for (long& x : a)
        x = va_arg(args, long);
    va_end(args);
    if (fake_page() != 0 && (number == SYS_mlock || number == SYS_munlock)) {
        return lock_range(reinterpret_cast<const void*>(a[0]), static_cast<std::size_t>(a[1]),
                          [number](const void* p, std::size_t n) {
                              return static_cast<int>(real_fn(number, p, n));
                          });
    }
    return real_fn(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

} // extern "C"
