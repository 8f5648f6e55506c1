// vmem test program: the capability probes answer for the kernel, not for the process's locks.
// Under mlockall(MCL_FUTURE) every new mapping is born locked, and the kernel refuses guard
// markers (MADV_GUARD_INSTALL, Linux 6.13+) on locked memory with EINVAL, the error it gives for
// an advice it does not know. A probe that asked on such a page would report, and keep for the
// life of the process, that the kernel has no guard markers. The program locks everything first,
// then asks vmem, and compares with what the kernel says of an unlocked page. POSIX only
// (CMakeLists.txt reports it skipped elsewhere); skipped where mlockall is refused.
#include "../support/smaps.hpp"
#include "check.hpp"

#include <cerrno>
#include <cstdio>
#include <optional>
#include <string>
#include <sys/mman.h>

#if defined(__linux__) && !defined(MADV_GUARD_INSTALL)
#define MADV_GUARD_INSTALL 102 // Linux 6.13 (include/uapi/asm-generic/mman-common.h)
#endif

using namespace programs; // the helpers of check.hpp

#if defined(__linux__)
// Whether the kernel mapping holding `p` is locked ("lo" in its VmFlags in /proc/self/smaps).
static bool born_locked(const void* p) {
    const std::optional<std::string> flags = vmem_test::smaps_field(p, "VmFlags");
    return flags && (*flags + " ").find(" lo ") != std::string::npos;
}
#endif

int main() {
#if defined(__linux__)
    if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0) {
        std::printf("vmem-test-skipped: mlockall refused (errno %d): nothing to check\n", errno);
        std::printf("guard_probe_under_mlockall: passed\n");
        return 0;
    }
    // What the kernel says of an unlocked page; and that new mappings really are born locked
    // (the sanitizers' runtimes make mlockall succeed without locking anything).
    const std::size_t size = page();
    void* p = mmap(nullptr, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        fail("mmap: errno %d", errno);
    if (!born_locked(p)) {
        std::printf("vmem-test-skipped: mlockall locks nothing here (a sanitizer's runtime)\n");
        std::printf("guard_probe_under_mlockall: passed\n");
        return 0;
    }
    note("every mapping from now on is born locked");
    munlock(p, size);
    const bool kernel_has_markers = madvise(p, size, MADV_GUARD_INSTALL) == 0;
    munmap(p, size);
    std::printf("the kernel %s guard markers\n", kernel_has_markers ? "has" : "has no");
    check(vmem::query_capabilities().guard_pages_free == kernel_has_markers,
          "capabilities::guard_pages_free says what the kernel has, under mlockall");
    munlockall();
#endif
    std::printf("guard_probe_under_mlockall: passed\n");
    return 0;
}
