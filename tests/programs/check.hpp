// vmem test programs: report one check and stop the program at the first one that fails.
//
// The programs run parts of their checks from static destructors, atexit handlers and exiting
// threads, where an exception or a return code cannot reach anyone: a failed check prints and
// ends the process at once with exit code 1 (std::_Exit runs no further handlers).
#ifndef VMEM_TESTS_PROGRAMS_CHECK_HPP
#define VMEM_TESTS_PROGRAMS_CHECK_HPP

#include "../support/sizes.hpp"

#include <vmem/vmem.hpp>

#include <cstdarg>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <system_error>

// fail()'s arguments are checked against its format as printf's are (GCC; the programs get the
// C99 printf on MinGW too, hence gnu_printf rather than the platform's printf).
#if defined(__GNUC__) && !defined(__clang__)
#define VMEM_PROGRAMS_PRINTF_FORMAT __attribute__((format(gnu_printf, 1, 2)))
#else
#define VMEM_PROGRAMS_PRINTF_FORMAT
#endif

namespace programs {

/// Prints "FAILED: " and a line formatted as std::printf would (in one write, so that another
/// thread's line cannot split it), and ends the process with exit code 1.
[[noreturn]] inline VMEM_PROGRAMS_PRINTF_FORMAT void fail(const char* format, ...) {
    char line[512];
    std::va_list args;
    va_start(args, format);
    std::vsnprintf(line, sizeof line, format, args);
    va_end(args);
    std::printf("FAILED: %s\n", line);
    std::fflush(stdout);
    std::_Exit(1);
}

/// Prints "ok: what" or "FAILED: what"; a failure ends the process with exit code 1.
inline void check(bool ok, const char* what) {
    if (!ok)
        fail("%s", what);
    std::printf("ok: %s\n", what);
    std::fflush(stdout);
}

/// As check(!ec, what), printing the error when there is one.
inline void check_ok(const std::error_code& ec, const char* what) {
    if (ec)
        fail("%s: error %d (%s)", what, ec.value(), ec.category().name());
    check(true, what);
}

/// As check(ec == expected, what), printing the error seen when it differs.
template <class Expected>
void check_error(const std::error_code& ec, Expected expected, const char* what) {
    if (ec != expected)
        fail("%s: got error %d (%s)", what, ec.value(), ec.category().name());
    check(true, what);
}

/// Prints a line of progress.
inline void note(const char* what) {
    std::printf("-- %s\n", what);
    std::fflush(stdout);
}

/// The page size and the allocation granularity, for the sizes and offsets the programs use, and
/// `p` as bytes (shared with the test suite).
using vmem_test::bytes;
using vmem_test::granularity;
using vmem_test::page;

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
