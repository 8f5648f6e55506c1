// vmem tests: what every test file shares.
#ifndef VMEM_TESTS_COMMON_HPP
#define VMEM_TESTS_COMMON_HPP

#include "support/probe.hpp"
#include "support/sizes.hpp"

#include <vmem/vmem.hpp>

#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ostream>
#include <string>

namespace utf = boost::unit_test;

// Boost.Test prints both sides of a failed comparison. An error_code prints itself; these print
// the enumerators compared with it.
BOOST_TEST_DONT_PRINT_LOG_VALUE(std::errc)

namespace vmem {
inline std::ostream& boost_test_print_type(std::ostream& os, errc e) {
    return os << make_error_code(e);
}
} // namespace vmem

namespace vmem_test {

// page(), granularity() and bytes(void*) are in support/sizes.hpp.
inline unsigned char* bytes(const vmem::reservation& r) {
    return bytes(r.base());
}

inline bool under_wine() {
    return !vmem_probe::wine_version().empty();
}

/// A precondition that skips a test, printing `why`, when running under Wine.
struct unless_wine {
    const char* why;
    boost::test_tools::assertion_result operator()(utf::test_unit_id) const {
        boost::test_tools::assertion_result r(!under_wine());
        if (!r)
            r.message() << "Wine " << vmem_probe::wine_version() << " lacks this: " << why;
        return r;
    }
};

/// A precondition that skips a test, printing why, where the probe has no machine code to run.
inline boost::test_tools::assertion_result code_known(utf::test_unit_id) {
    vmem::reservation r(page());
    r.commit(r.base(), page(), vmem::access::read_write);
    boost::test_tools::assertion_result result(vmem_probe::write_return_42(r.base()));
    result.message() << "the probe has no machine code for this CPU";
    return result;
}

/// A precondition that skips a test, printing why, where the commit charge cannot be read.
inline boost::test_tools::assertion_result charge_readable(utf::test_unit_id) {
    boost::test_tools::assertion_result r(vmem_probe::commit_charge().has_value());
    r.message() << "the commit charge cannot be read here"
                << (under_wine() ? " (Wine keeps PrivateUsage at 0)" : "");
    return r;
}

#if defined(__SANITIZE_THREAD__)
constexpr bool under_thread_sanitizer = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
constexpr bool under_thread_sanitizer = true;
#else
constexpr bool under_thread_sanitizer = false;
#endif
#else
constexpr bool under_thread_sanitizer = false;
#endif

#if defined(__SANITIZE_ADDRESS__)
constexpr bool under_address_sanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool under_address_sanitizer = true;
#else
constexpr bool under_address_sanitizer = false;
#endif
#else
constexpr bool under_address_sanitizer = false;
#endif

/// A precondition that skips a test, printing `why`, under ThreadSanitizer.
struct unless_thread_sanitizer {
    const char* why;
    boost::test_tools::assertion_result operator()(utf::test_unit_id) const {
        boost::test_tools::assertion_result r(!under_thread_sanitizer);
        if (!r)
            r.message() << "ThreadSanitizer: " << why;
        return r;
    }
};

/// A precondition that skips a test, printing `why`, under AddressSanitizer or ThreadSanitizer.
struct unless_sanitizer {
    const char* why;
    boost::test_tools::assertion_result operator()(utf::test_unit_id) const {
        boost::test_tools::assertion_result r(!under_address_sanitizer && !under_thread_sanitizer);
        if (!r)
            r.message() << "a sanitizer: " << why;
        return r;
    }
};

/// A precondition: a reservation with huge_pages::prefer gets huge pages here now.
inline boost::test_tools::assertion_result huge_pages_now(utf::test_unit_id) {
    const std::size_t huge = vmem::query_capabilities().huge_page_size;
    std::size_t got = 0;
    if (huge != 0) {
        vmem::reserve_options o;
        o.huge = vmem::huge_pages::prefer;
        std::error_code ec;
        vmem::reservation r(4 * huge, o, ec);
        if (!ec)
            got = r.huge_page_status(ec).page_size;
    }
    boost::test_tools::assertion_result result(got != 0);
    result.message() << "huge_pages::prefer gets no huge pages here now";
    return result;
}

/// A precondition that skips a test, printing why, where there is no fork (Windows).
inline boost::test_tools::assertion_result can_fork(utf::test_unit_id) {
    boost::test_tools::assertion_result r(
        vmem_probe::run_in_child([](void*) { return std::string(); }, nullptr).has_value());
    r.message() << "no fork here (the child's limits are tried on POSIX only)";
    return r;
}

// A precondition that skips a test, printing why, where the probe cannot read the process's
// resident memory (it can on Linux, macOS, Windows, FreeBSD, NetBSD and OpenBSD).
inline boost::test_tools::assertion_result resident_readable(utf::test_unit_id) {
    boost::test_tools::assertion_result r(vmem_probe::process_resident_bytes().has_value());
    r.message() << "the process's resident memory cannot be read on "
                << vmem_probe::platform_name();
    return r;
}

/// True when tests/pagesize's shim makes the OS report a page bigger than the kernel's
/// (VMEM_FAKE_PAGE_SIZE, LD_PRELOAD): sizes, alignment and refusals are the emulated page's, but
/// what the kernel does below it (residency, faults, huge pages) is still per kernel page.
inline bool page_size_emulated() {
#if defined(__linux__)
    const char* fake = std::getenv("VMEM_FAKE_PAGE_SIZE");
    return fake != nullptr && std::strtoull(fake, nullptr, 10) == page();
#else
    return false;
#endif
}

/// True when every byte of [p, p+n) equals `value`.
inline bool all_equal(const void* p, std::size_t n, unsigned char value) {
    const unsigned char* b = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i)
        if (b[i] != value)
            return false;
    return true;
}

/// Fills with a pattern that depends on the offset, so a misplaced page shows.
inline void fill_pattern(void* p, std::size_t n, unsigned seed) {
    unsigned char* b = static_cast<unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i)
        b[i] = static_cast<unsigned char>((i / 7) ^ (i >> 12) ^ seed);
}

inline bool has_pattern(const void* p, std::size_t n, unsigned seed) {
    const unsigned char* b = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i)
        if (b[i] != static_cast<unsigned char>((i / 7) ^ (i >> 12) ^ seed))
            return false;
    return true;
}

/// True when [p, p+size) is free: an exact reserve there succeeds (and is undone at once).
inline bool is_free(void* p, std::size_t size) {
    vmem::reserve_options o;
    o.address = p;
    o.at = vmem::placement::exact;
    std::error_code ec;
    vmem::reservation probe(size, o, ec);
    return !ec;
}

/// A reservation of 2B bytes placed exactly at a low address B (the lowest free of a few
/// candidates): ranges in it end at or above twice their start, where arithmetic that mistakes
/// `hi % lo` for `hi - lo` shows. Empty when no candidate is free.
inline vmem::reservation reserve_low() {
    for (std::size_t b = 16 * granularity(); b != 0 && b <= (std::size_t{1} << 28); b *= 2) {
        vmem::reserve_options o;
        o.address = reinterpret_cast<void*>(b);
        o.at = vmem::placement::exact;
        std::error_code ec;
        vmem::reservation r(2 * b, o, ec);
        if (!ec)
            return r;
    }
    return vmem::reservation();
}

inline boost::test_tools::assertion_result low_address_free(utf::test_unit_id) {
    boost::test_tools::assertion_result r(static_cast<bool>(reserve_low()));
    r.message() << "no low address is free for an exact reservation here";
    return r;
}

/// Reserves `count` reservations of `size` bytes each, back to back with no gap (Windows still
/// sees them as separate reservations). Found by reserving the whole span, releasing it and
/// reserving each part exactly there; retried in case another thread takes the span meanwhile.
template <std::size_t N>
inline void reserve_adjacent(vmem::reservation (&out)[N], std::size_t size) {
    for (int attempt = 0; attempt < 16; ++attempt) {
        void* span = vmem::reserve(size * N);
        vmem::release(span);
        bool ok = true;
        for (std::size_t i = 0; i < N && ok; ++i) {
            std::error_code ec;
            vmem::reserve_options o;
            o.address = bytes(span) + i * size;
            o.at = vmem::placement::exact;
            out[i] = vmem::reservation(size, o, ec);
            ok = !ec;
        }
        if (ok)
            return;
    }
    BOOST_FAIL("could not place adjacent reservations");
}

} // namespace vmem_test

#endif
