// vmem tests: the error categories. Every OS code that means "out of memory" compares equal to
// std::errc::not_enough_memory, and every vmem::errc has a message that states its rule.
#include "common.hpp"

#if defined(_WIN32)
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
#else
#include <cerrno>
#endif

#include <string>
#include <vector>

using namespace vmem_test;
using vmem::errc;

BOOST_AUTO_TEST_SUITE(errors)

#if defined(_WIN32)

// The win32 category classifies the codes VirtualAlloc gives when memory runs out. The standard
// library's system_category knows the first two only; the commit-limit ones are what a full page
// file gives, and Wine never does (it has no commit accounting), so they are tested directly.
BOOST_AUTO_TEST_CASE(win32_out_of_memory_codes_are_not_enough_memory) {
    const std::vector<DWORD> codes = {ERROR_NOT_ENOUGH_MEMORY, ERROR_OUTOFMEMORY,
                                      ERROR_COMMITMENT_LIMIT,  ERROR_COMMITMENT_MINIMUM,
                                      ERROR_PAGEFILE_QUOTA,    ERROR_NOT_ENOUGH_QUOTA};
    BOOST_TEST(ERROR_COMMITMENT_LIMIT == 1455u);
    for (DWORD code : codes) {
        const std::error_code ec(static_cast<int>(code), vmem::win32_category());
        BOOST_TEST((ec == std::errc::not_enough_memory), "win32 error " << code);
        BOOST_TEST(!(ec == std::errc::invalid_argument), "win32 error " << code);
        BOOST_TEST(!ec.message().empty());
    }
}

BOOST_AUTO_TEST_CASE(other_win32_codes_keep_their_standard_meaning) {
    const std::error_code invalid(ERROR_INVALID_PARAMETER, vmem::win32_category());
    BOOST_TEST((invalid == std::errc::invalid_argument));
    BOOST_TEST(!(invalid == std::errc::not_enough_memory));
    const std::error_code denied(ERROR_ACCESS_DENIED, vmem::win32_category());
    BOOST_TEST((denied == std::errc::permission_denied));
    BOOST_TEST(std::string(vmem::win32_category().name()) == "win32");
}

#else

// POSIX reports errno under std::system_category, where ENOMEM is not_enough_memory.
BOOST_AUTO_TEST_CASE(enomem_is_not_enough_memory) {
    const std::error_code ec(ENOMEM, std::system_category());
    BOOST_TEST((ec == std::errc::not_enough_memory));
    BOOST_TEST(!(ec == std::errc::invalid_argument));
}

#endif

// A code vmem itself gives for an OS refusal: the seam produces it exactly as the OS would.
BOOST_AUTO_TEST_CASE(an_os_refusal_compares_equal_to_not_enough_memory) {
#if defined(_WIN32)
    const std::error_code refusal(ERROR_COMMITMENT_LIMIT, vmem::win32_category());
#else
    const std::error_code refusal(ENOMEM, std::system_category());
#endif
    vmem::reservation r(page());
    vmem::testing::fail_os_call(vmem::testing::os_call::commit, refusal);
    std::error_code ec;
    r.commit(r.base(), page(), vmem::access::read_write, ec);
    vmem::testing::clear_os_call_failures();
    BOOST_TEST((ec == refusal));
    BOOST_TEST((ec == std::errc::not_enough_memory));
}

BOOST_AUTO_TEST_CASE(every_vmem_error_has_its_own_message) {
    const std::vector<errc> all = {errc::null_address,
                                   errc::zero_size,
                                   errc::size_overflow,
                                   errc::invalid_access,
                                   errc::invalid_alignment,
                                   errc::not_reserved,
                                   errc::not_reservation_base,
                                   errc::outside_reservation,
                                   errc::spans_reservations,
                                   errc::not_committed,
                                   errc::empty_reservation,
                                   errc::address_unavailable,
                                   errc::reservation_owned,
                                   errc::invalid_placement,
                                   errc::invalid_option,
                                   errc::guard_page,
                                   errc::no_access,
                                   errc::not_supported,
                                   errc::huge_pages_unavailable,
                                   errc::mapping_limit,
                                   errc::process_limit};
    std::vector<std::string> seen;
    const std::string unknown = std::error_code(static_cast<errc>(1000)).message();
    for (errc e : all) {
        const std::string m = std::error_code(e).message();
        BOOST_TEST(!m.empty());
        BOOST_TEST(m != unknown, "errc " << static_cast<int>(e) << " has no message of its own");
        for (const std::string& other : seen)
            BOOST_TEST(m != other, "two errors share the message \"" << m << '"');
        seen.push_back(m);
    }
}

BOOST_AUTO_TEST_CASE(contract_errors_but_address_unavailable_are_invalid_argument) {
    for (errc e : {errc::reservation_owned, errc::invalid_placement, errc::invalid_alignment,
                   errc::size_overflow}) {
        const std::error_code ec = e;
        BOOST_TEST((ec == std::errc::invalid_argument), ec.message());
    }
    const std::error_code unavailable = errc::address_unavailable;
    BOOST_TEST(!(unavailable == std::errc::invalid_argument));
    for (errc e : {errc::invalid_option, errc::guard_page, errc::no_access})
        BOOST_TEST((std::error_code(e) == std::errc::invalid_argument));
    // What the OS refused, told apart, is still what it said; a missing feature is not_supported.
    for (errc e : {errc::mapping_limit, errc::process_limit}) {
        BOOST_TEST((std::error_code(e) == std::errc::not_enough_memory));
        BOOST_TEST(!(std::error_code(e) == std::errc::invalid_argument));
    }
    BOOST_TEST((std::error_code(errc::not_supported) == std::errc::not_supported));
    BOOST_TEST(!(std::error_code(errc::huge_pages_unavailable) == std::errc::invalid_argument));
}

// The size limit is the user address space on every platform, not half of it: the message must
// not claim a rule that holds on 64-bit systems only.
BOOST_AUTO_TEST_CASE(size_overflow_states_the_rule_that_holds_everywhere) {
    const std::string m = std::error_code(errc::size_overflow).message();
    BOOST_TEST(m.find("half") == std::string::npos, m);
    BOOST_TEST(m.find("address space") != std::string::npos, m);
    // and names its other cause: an address plus a size that wraps
    BOOST_TEST(m.find("wraps") != std::string::npos, m);
}

BOOST_AUTO_TEST_SUITE_END()
