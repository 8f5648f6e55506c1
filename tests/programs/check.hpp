// vmem test programs: report one check and stop the program at the first one that fails.
//
// The programs run parts of their checks from static destructors, atexit handlers and exiting
// threads, where an exception or a return code cannot reach anyone: a failed check prints and
// ends the process at once with exit code 1 (std::_Exit runs no further handlers).
#ifndef VMEM_TESTS_PROGRAMS_CHECK_HPP
#define VMEM_TESTS_PROGRAMS_CHECK_HPP

#include <vmem/vmem.hpp>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <system_error>

namespace programs {

/// Prints "ok: what" or "FAILED: what"; a failure ends the process with exit code 1.
inline void check(bool ok, const char* what) {
    std::printf("%s: %s\n", ok ? "ok" : "FAILED", what);
    std::fflush(stdout);
    if (!ok)
        std::_Exit(1);
}

/// As check(!ec, what), printing the error when there is one.
inline void check_ok(const std::error_code& ec, const char* what) {
    if (ec) {
        std::printf("FAILED: %s: error %d (%s)\n", what, ec.value(), ec.category().name());
        std::fflush(stdout);
        std::_Exit(1);
    }
    check(true, what);
}

/// As check(ec == expected, what), printing the error seen when it differs.
template <class Expected>
void check_error(const std::error_code& ec, Expected expected, const char* what) {
    if (ec != expected) {
        std::printf("FAILED: %s: got error %d (%s)\n", what, ec.value(), ec.category().name());
        std::fflush(stdout);
        std::_Exit(1);
    }
    check(true, what);
}

/// Prints a line of progress.
inline void note(const char* what) {
    std::printf("-- %s\n", what);
    std::fflush(stdout);
}

/// True when the OS has nothing mapped at [base, base+size): an exact reservation there
/// succeeds (and is released again). This sees a leak that vmem's bookkeeping might not.
inline bool range_is_free(void* base, std::size_t size) {
    vmem::reserve_options exact;
    exact.address = base;
    exact.at = vmem::placement::exact;
    std::error_code ec;
    void* p = vmem::reserve(size, exact, ec);
    if (p == nullptr)
        return false;
    vmem::release(p, ec);
    return p == base && !ec;
}

} // namespace programs

#endif
