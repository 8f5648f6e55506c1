// vmem POSIX backend: the double mapping of ring buffers (memfd_create / shm_open, mmap).
// Shared logic does not belong here (see src/platform.hpp).
#include "../platform.hpp"

#include <cerrno>
#include <cstdint>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>
#if defined(__FreeBSD__)
#include <sys/param.h> // __FreeBSD_version
#endif
#if !defined(__linux__) && !defined(__FreeBSD__)
#include <atomic>
#include <ctime>
#endif

namespace vmem::detail::os {

namespace {

#if defined(__linux__) || (defined(__FreeBSD__) && __FreeBSD_version >= 1300000)
constexpr double_mapping_method method = double_mapping_method::memfd;
#elif defined(__FreeBSD__)
constexpr double_mapping_method method = double_mapping_method::shm_anon;
#else
constexpr double_mapping_method method = double_mapping_method::shm_open;
#endif

// Closes `fd` and returns false with errno as the failure before it left it.
bool close_keeping_errno(int fd) noexcept {
    const int saved = errno;
    close(fd);
    errno = saved;
    return false;
}

#if !defined(__linux__) && !defined(__FreeBSD__)
// macOS and other POSIX: a shared memory object needs a name. A random one, unlinked as soon as
// it is open, so the object lives only in the descriptor (and then in the mappings). Built by
// hand: no stdio, no heap.
int open_named_object() noexcept {
    static std::atomic<std::uint64_t> counter{0};
    for (int attempt = 0; attempt < 16; ++attempt) {
        std::uint64_t bits = static_cast<std::uint64_t>(getpid()) * 0x9e3779b97f4a7c15u;
        bits ^= counter.fetch_add(1, std::memory_order_relaxed) << 20;
        bits ^= static_cast<std::uint64_t>(std::clock()) * 0xbf58476d1ce4e5b9u;
        bits ^= reinterpret_cast<std::uintptr_t>(&bits);
        char name[] = "/vmem-ring-0000000000000000"; // 16 hex digits below: 27 characters
        for (int i = 0; i < 16; ++i)
            name[11 + i] = "0123456789abcdef"[(bits >> (4 * i)) & 0xf];
        const int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
        if (fd >= 0) {
            shm_unlink(name); // the name goes at once; the descriptor keeps the object
            fcntl(fd, F_SETFD, FD_CLOEXEC);
            return fd;
        }
        if (errno != EEXIST)
            return -1;
    }
    return -1; // errno is EEXIST
}
#endif

// An anonymous shared memory object of `size` bytes, its descriptor close-on-exec; -1 with errno.
int open_object(std::size_t size) noexcept {
#if defined(__linux__) || (defined(__FreeBSD__) && __FreeBSD_version >= 1300000)
    const int fd = memfd_create("vmem-ring", MFD_CLOEXEC);
#elif defined(__FreeBSD__)
    const int fd = shm_open(SHM_ANON, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
#else
    const int fd = open_named_object();
#endif
    if (fd < 0)
        return -1;
#if defined(__linux__)
    // A memfd is a file to RLIMIT_FSIZE: sizing it past the limit sends SIGXFSZ, whose default
    // action ends the process. Refuse as the kernel would, without the signal.
    rlimit fsize{};
    if (getrlimit(RLIMIT_FSIZE, &fsize) == 0 && fsize.rlim_cur != RLIM_INFINITY &&
        size > fsize.rlim_cur) {
        close(fd);
        errno = EFBIG;
        return -1;
    }
#endif
    if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
        close_keeping_errno(fd);
        return -1;
    }
    return fd;
}

bool fail(std::error_code& ec) noexcept {
    ec.assign(errno, std::system_category());
    return false;
}

} // namespace

void* map_twice(std::size_t size, bool, std::error_code& ec) noexcept {
    const int fd = open_object(size);
    if (fd < 0) {
        fail(ec);
        return nullptr;
    }
    // One reservation of both halves first: the views replace its halves (MAP_FIXED inside a
    // range we hold), so no other thread's mapping can land between them.
    void* const reserved = mmap(nullptr, 2 * size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (reserved == MAP_FAILED) {
        close_keeping_errno(fd);
        fail(ec);
        return nullptr;
    }
    auto* const base = static_cast<unsigned char*>(reserved);
    for (std::size_t half = 0; half < 2; ++half) {
        void* const view =
            mmap(base + half * size, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
        if (view == MAP_FAILED) {
            const int saved = errno;
            munmap(base, 2 * size); // the first view and what is left of the reservation
            close(fd);
            errno = saved;
            fail(ec);
            return nullptr;
        }
    }
    close(fd); // the mappings keep the object; it is freed with the last of them
    return base;
}

bool unmap_twice(void* base, std::size_t size, std::error_code& ec) noexcept {
    if (munmap(base, 2 * size) != 0)
        return fail(ec);
    return true;
}

double_mapping_method double_mapping(bool) noexcept {
    return method;
}

std::size_t double_mapping_retries() noexcept {
    return 0; // one path, never retried
}

} // namespace vmem::detail::os
