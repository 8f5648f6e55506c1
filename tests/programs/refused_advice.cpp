// vmem test program: what the kernel's refusals of madvise and munmap do to vmem, refusals that
// cannot be arranged on demand (a kernel without MADV_POPULATE_*, a split refused at
// vm.max_map_count). The program interposes madvise and munmap (ELF symbol interposition: POSIX
// only, CMakeLists.txt skips it elsewhere) and refuses the chosen calls as the kernel would:
// - MADV_POPULATE_* refused with EINVAL (a kernel before 5.14): a prefault falls back to touching
//   the pages, and vmem remembers that the kernel lacks it, so a later prefault does not ask
//   again (here refused with ENOMEM, which would be reported were it asked);
// - MADV_GUARD_INSTALL refused with EINVAL (a kernel before 6.13): no guard markers, and vmem
//   remembers that, so a later report or guard does not ask again (Linux only);
// - MADV_WIPEONFORK refused (ENOMEM): a zero_on_fork reserve fails rather than succeed without
//   the policy;
// - the munmap of a release refused (ENOMEM): the release fails and the reservation stays usable.
#include "check.hpp"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <dlfcn.h>
#include <sys/mman.h>
#include <system_error>

namespace {

using namespace programs; // the helpers of check.hpp

int refused_advice = -1; // the madvise advice refused, -1 none (the main thread only runs vmem)
int refused_errno = 0;   // with this error
void* refused_unmap = nullptr; // the munmap at this address is refused once, with ENOMEM
int guard_install_calls = 0;   // madvise(MADV_GUARD_INSTALL) calls, refused or not

#if defined(MADV_POPULATE_READ)
constexpr int populate_read = MADV_POPULATE_READ;
constexpr int populate_write = MADV_POPULATE_WRITE;
#else
constexpr int populate_read = 22; // Linux 5.14's values, for older headers
constexpr int populate_write = 23;
#endif
#if defined(__linux__)
constexpr int guard_install = 102; // Linux 6.13's value on every architecture
#else
constexpr int guard_install = -2; // no such advice: never counted
#endif

} // namespace

extern "C" int madvise(void* address, size_t size, int advice) {
    using madvise_fn = int (*)(void*, size_t, int);
    static const auto real = reinterpret_cast<madvise_fn>(dlsym(RTLD_NEXT, "madvise"));
    const bool populate = advice == populate_read || advice == populate_write;
    if (advice == guard_install)
        ++guard_install_calls;
    if (refused_advice >= 0 &&
        (advice == refused_advice || (refused_advice == populate_write && populate))) {
        errno = refused_errno;
        return -1;
    }
    return real(address, size, advice);
}

extern "C" int munmap(void* address, size_t size) {
    using munmap_fn = int (*)(void*, size_t);
    static const auto real = reinterpret_cast<munmap_fn>(dlsym(RTLD_NEXT, "munmap"));
    if (refused_unmap != nullptr && address == refused_unmap) {
        refused_unmap = nullptr;
        errno = ENOMEM;
        return -1;
    }
    return real(address, size);
}

int main() {
#if defined(__linux__)
    // First, before anything asks the kernel about guard markers.
    refused_advice = guard_install;
    refused_errno = EINVAL;
    check(!vmem::query_capabilities().guard_pages_free,
          "where MADV_GUARD_INSTALL is unknown (EINVAL), no guard markers are reported");
    check(guard_install_calls == 1, "the kernel was asked once");
    check(!vmem::query_capabilities().guard_pages_free, "nor are they the second time");
    void* g = vmem::reserve(4 * page());
    vmem::commit(g, 4 * page(), vmem::access::read_write);
    vmem::guard(bytes(g) + page(), page());
    check(guard_install_calls == 1, "a guard asks the kernel no more either");
    vmem::release(g);
    refused_advice = -1;
#endif

    // Warm up: the first reserve builds the registry.
    vmem::release(vmem::reserve(granularity()));

    vmem::reserve_options prefaulted;
    prefaulted.commit = true;
    prefaulted.prefault = true;
    refused_advice = populate_write; // and populate_read
    refused_errno = EINVAL;
    std::error_code ec;
    void* a = vmem::reserve(16 * page(), prefaulted, ec);
    check_ok(ec, "a prefaulted reserve where MADV_POPULATE_* is unknown (EINVAL) succeeds");
    check(bytes(a)[15 * page()] == 0, "its last page reads zero");
    refused_errno = ENOMEM; // were vmem to ask the kernel again, the prefault would fail
    void* b = vmem::reserve(16 * page(), prefaulted, ec);
    check_ok(ec, "a second prefaulted reserve does not ask for MADV_POPULATE_* again");
    refused_advice = -1;
    vmem::release(a);
    vmem::release(b);

#if defined(MADV_WIPEONFORK)
    vmem::reserve_options wiped;
    wiped.fork = vmem::fork_policy::zero_on_fork;
    refused_advice = MADV_WIPEONFORK;
    refused_errno = ENOMEM;
    void* c = vmem::reserve(16 * page(), wiped, ec);
    refused_advice = -1;
    check(c == nullptr && ec == std::errc::not_enough_memory,
          "a zero_on_fork reserve whose MADV_WIPEONFORK is refused fails with not_enough_memory");
    if (c != nullptr)
        vmem::release(c);
#endif

    void* d = vmem::reserve(16 * page(), {}, ec);
    check_ok(ec, "a reserve");
    refused_unmap = d;
    vmem::release(d, ec);
    check(static_cast<bool>(ec), "a release whose munmap is refused fails");
    check(refused_unmap == nullptr, "the release asked munmap");
    vmem::commit(d, page(), vmem::access::read_write, ec);
    check_ok(ec, "the reservation is still usable: a commit of its first page");
    bytes(d)[0] = 1;
    vmem::release(d, ec);
    check_ok(ec, "then the release succeeds");
    std::printf("refused_advice: passed\n");
    return 0;
}
