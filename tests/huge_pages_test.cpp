// Tests of reserve_options::huge and huge_page_status. Huge pages are best effort where the OS
// makes them so (Linux THP): the tests assert what vmem promises (the advice is applied, and
// kept across a decommit; require fails cleanly when nothing is available) and report the huge
// bytes the OS actually gave as information.
#include "common.hpp"
#include "support/smaps.hpp"

#include <vmem/testing.hpp>

#include "support/boost_test_data.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

using namespace vmem_test;
namespace data = boost::unit_test::data;

namespace {

vmem::capabilities caps() {
    return vmem::query_capabilities();
}

bool thp_on() {
    const vmem::thp_mode m = caps().transparent_huge_pages;
    return m == vmem::thp_mode::madvise || m == vmem::thp_mode::always;
}

// Linux: the THPeligible field of the /proc/self/smaps entry holding `p`; empty where there is
// no such file or field (other systems, Wine, old kernels).
std::optional<int> thp_eligible(const void* p) {
    const std::optional<std::string> v = smaps_field(p, "THPeligible");
    return v ? std::optional<int>(std::stoi(*v)) : std::nullopt;
}

// Linux: whether the VmFlags of the /proc/self/smaps entry holding `p` include `flag` ("hg" for
// MADV_HUGEPAGE, "nh" for MADV_NOHUGEPAGE).
bool vm_flag(const void* p, const std::string& flag) {
    const std::optional<std::string> v = smaps_field(p, "VmFlags");
    return v && (*v + " ").find(" " + flag + " ") != std::string::npos;
}

// Linux: the AnonHugePages of the /proc/self/smaps entry that is exactly [p, p + size), in bytes;
// empty where no entry is exactly that range (the kernel merged it with a neighbour).
std::optional<std::size_t> anon_huge_bytes(const void* p, std::size_t size) {
    const std::optional<std::string> v =
        smaps_field(p, "AnonHugePages", smaps_entry::exactly, size);
    return v ? std::optional<std::size_t>(static_cast<std::size_t>(std::stoull(*v)) * 1024)
             : std::nullopt;
}

boost::test_tools::assertion_result smaps_readable(utf::test_unit_id) {
    vmem::reservation r(page());
    r.commit(r.base(), page(), vmem::access::read_write);
    boost::test_tools::assertion_result res(thp_eligible(r.base()).has_value() &&
                                            caps().transparent_huge_pages !=
                                                vmem::thp_mode::unavailable);
    res.message() << "no /proc/self/smaps with THPeligible, or no transparent huge pages, on "
                  << vmem_probe::platform_name();
    return res;
}

boost::test_tools::assertion_result thp_usable(utf::test_unit_id id) {
    boost::test_tools::assertion_result res = smaps_readable(id);
    if (res && !thp_on()) {
        res = false;
        res.message() << "transparent huge pages are `never` here";
    }
    return res;
}

vmem::reserve_options with(vmem::huge_pages h) {
    vmem::reserve_options o;
    o.huge = h;
    return o;
}

} // namespace

BOOST_AUTO_TEST_SUITE(huge_pages)

BOOST_AUTO_TEST_CASE(status_says_what_was_asked_and_nothing_more_by_default) {
    vmem::reservation r(granularity());
    const vmem::huge_page_report h = r.huge_page_status();
    BOOST_TEST((h.policy == vmem::huge_pages::os_default));
    BOOST_TEST(!h.explicit_pool);
    vmem::reservation never(granularity(), with(vmem::huge_pages::never));
    const vmem::huge_page_report n = vmem::huge_page_status(never.base());
    BOOST_TEST((n.policy == vmem::huge_pages::never));
    BOOST_TEST(n.page_size == 0u);
    BOOST_TEST(!n.explicit_pool);
    BOOST_TEST(n.huge_bytes == 0u);
}

BOOST_AUTO_TEST_CASE(status_checks_its_argument_as_release_does) {
    std::error_code ec;
    vmem::huge_page_status(nullptr, ec);
    BOOST_TEST(ec == vmem::errc::null_address);
    vmem::reservation r(2 * granularity());
    vmem::huge_page_status(bytes(r) + granularity(), ec);
    BOOST_TEST(ec == vmem::errc::not_reservation_base);
    vmem::reservation empty;
    empty.huge_page_status(ec);
    BOOST_TEST(ec == vmem::errc::empty_reservation);
    BOOST_CHECK_THROW(empty.huge_page_status(), std::system_error);
    BOOST_CHECK_THROW(vmem::huge_page_status(nullptr), std::system_error);
}

BOOST_AUTO_TEST_CASE(prefer_gets_huge_pages_where_the_os_has_them_else_says_it_did_not) {
    const vmem::capabilities c = caps();
    vmem::reserve_options o = with(vmem::huge_pages::prefer);
    o.commit = true; // Windows gives large pages only committed at reserve
    const std::size_t size = c.huge_page_size != 0 ? 2 * c.huge_page_size : granularity();
    vmem::reservation r(size, o);
    BOOST_TEST(r.committed_bytes() == r.size());
    fill_pattern(r.base(), r.size(), 1);
    const vmem::huge_page_report h = r.huge_page_status();
    BOOST_TEST((h.policy == vmem::huge_pages::prefer));
    BOOST_TEST_MESSAGE("prefer: page size " << h.page_size << ", explicit pool " << h.explicit_pool
                                            << ", " << h.huge_bytes << " of " << r.size()
                                            << " bytes huge now");
    if (thp_on()) // transparent huge pages never fail to be advised
        BOOST_TEST(h.page_size != 0u);
    if (h.page_size != 0)
        BOOST_TEST(reinterpret_cast<std::uintptr_t>(r.base()) % h.page_size == 0u);
    else
        BOOST_TEST(h.huge_bytes == 0u);
    if (h.explicit_pool) {
        BOOST_TEST(r.size() % h.page_size == 0u);
        BOOST_TEST(h.huge_bytes == r.size());
    }
    BOOST_TEST(h.huge_bytes <= r.size());
    BOOST_TEST(has_pattern(r.base(), r.size(), 1));
}

BOOST_AUTO_TEST_CASE(require_gets_huge_pages_or_fails_and_reserves_nothing) {
    const vmem::capabilities c = caps();
    vmem::reserve_options o = with(vmem::huge_pages::require);
    o.commit = true;
    const std::size_t size = c.huge_page_size != 0 ? c.huge_page_size : granularity();
    const std::size_t held = vmem::testing::bookkeeping_bytes();
    std::error_code ec;
    vmem::reservation r(size, o, ec);
    if (ec) {
        BOOST_TEST(ec == vmem::errc::huge_pages_unavailable);
        BOOST_TEST(!r);
        BOOST_TEST(vmem::testing::bookkeeping_bytes() == held);
        BOOST_TEST(!thp_on()); // transparent huge pages, when on, are always available
    } else {
        const vmem::huge_page_report h = r.huge_page_status();
        BOOST_TEST(h.page_size != 0u);
        BOOST_TEST(reinterpret_cast<std::uintptr_t>(r.base()) % h.page_size == 0u);
        BOOST_TEST_MESSAGE("require: page size " << h.page_size << ", explicit pool "
                                                 << h.explicit_pool << ", " << h.huge_bytes
                                                 << " bytes huge");
    }
}

BOOST_AUTO_TEST_CASE(require_without_anything_available_fails,
                     *utf::precondition([](utf::test_unit_id) {
                         boost::test_tools::assertion_result r(!caps().huge_pages_usable);
                         r.message() << "huge pages are usable here (tested by the case above)";
                         return r;
                     })) {
    const std::size_t held = vmem::testing::bookkeeping_bytes();
    std::error_code ec;
    vmem::reservation r(granularity(), with(vmem::huge_pages::require), ec);
    BOOST_TEST(ec == vmem::errc::huge_pages_unavailable);
    BOOST_TEST(!r);
    BOOST_TEST(vmem::testing::bookkeeping_bytes() == held);
}

BOOST_AUTO_TEST_CASE(a_reservation_smaller_than_a_huge_page_gets_one_only_from_the_pool,
                     *utf::precondition([](utf::test_unit_id) {
                         boost::test_tools::assertion_result r(caps().huge_page_size > page());
                         r.message() << "no huge page size here";
                         return r;
                     })) {
    // Only an explicit pool rounds the size up to a huge page; transparent huge pages cannot back
    // less than one, so require fails and prefer says it got normal pages.
    const std::size_t huge = caps().huge_page_size;
    for (const std::size_t size : {page(), huge / 2, huge - page()}) {
        BOOST_TEST_CONTEXT("size " << size) {
            vmem::reserve_options o = with(vmem::huge_pages::require);
            o.commit = true;
            o.prefault = true;
            const std::size_t held = vmem::testing::bookkeeping_bytes();
            std::error_code ec;
            vmem::reservation r(size, o, ec);
            if (ec) {
                BOOST_TEST(ec == vmem::errc::huge_pages_unavailable);
                BOOST_TEST(!r);
                BOOST_TEST(vmem::testing::bookkeeping_bytes() == held);
            } else {
                const vmem::huge_page_report h = r.huge_page_status();
                BOOST_TEST(h.explicit_pool);
                BOOST_TEST(h.page_size != 0u);
                BOOST_TEST(r.size() % h.page_size == 0u);
                BOOST_TEST(h.huge_bytes == r.size());
            }
            o.huge = vmem::huge_pages::prefer;
            vmem::reservation p(size, o);
            const vmem::huge_page_report h = p.huge_page_status();
            BOOST_TEST((h.policy == vmem::huge_pages::prefer));
            if (h.explicit_pool) {
                BOOST_TEST(p.size() % h.page_size == 0u);
            } else {
                BOOST_TEST(h.page_size == 0u);
                BOOST_TEST(h.huge_bytes == 0u);
                BOOST_TEST(p.size() < huge);
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(prefer_advises_transparent_huge_pages_and_keeps_the_advice_after_decommit,
                     *utf::precondition(thp_usable)) {
    const std::size_t huge = caps().huge_page_size;
    BOOST_REQUIRE(huge != 0u);
    vmem::reservation r(2 * huge, with(vmem::huge_pages::prefer));
    const vmem::huge_page_report h = r.huge_page_status();
    if (h.explicit_pool)
        return; // the hugetlb pool took it: nothing transparent to see
    BOOST_REQUIRE(h.page_size != 0u);
    BOOST_TEST(reinterpret_cast<std::uintptr_t>(r.base()) % h.page_size == 0u);
    BOOST_TEST(vm_flag(r.base(), "hg"));
    r.commit(r.base(), r.size(), vmem::access::read_write);
    fill_pattern(r.base(), r.size(), 2);
    BOOST_TEST(thp_eligible(r.base()).value_or(-1) == 1);
    BOOST_TEST_MESSAGE("THP: " << r.huge_page_status().huge_bytes << " of " << r.size()
                               << " bytes huge after writing");
    // A decommit remaps: the advice must come back with the new mapping.
    r.decommit(r.base(), r.size());
    r.commit(r.base(), r.size(), vmem::access::read_write);
    BOOST_TEST(thp_eligible(r.base()).value_or(-1) == 1);
    r.decommit(bytes(r) + huge, huge);
    r.commit(bytes(r) + huge, huge, vmem::access::read_write);
    BOOST_TEST(thp_eligible(bytes(r) + huge).value_or(-1) == 1);
}

// Chooses where huge_page_status() counts (testing::use_pagemap_scan) for one scope, and says
// which.
struct huge_source {
    explicit huge_source(bool pagemap_scan) {
        vmem::testing::use_pagemap_scan(pagemap_scan);
        BOOST_TEST_MESSAGE((pagemap_scan ? "default source" : "/proc/self/smaps"));
    }
    huge_source(const huge_source&) = delete;
    huge_source& operator=(const huge_source&) = delete;
    ~huge_source() { vmem::testing::use_pagemap_scan(true); }
};

// huge_bytes is what the kernel says of the reservation's own mapping: from PAGEMAP_SCAN (Linux
// 6.7+), or from /proc/self/smaps where the mapping's range is read in hexadecimal (addresses
// hold the digits 0-9 and a-f), as older kernels are read.
BOOST_TEST_DECORATOR(*utf::precondition(thp_usable))
BOOST_DATA_TEST_CASE(huge_bytes_are_what_the_kernel_counts, data::make({true, false}),
                     pagemap_scan) {
    huge_source use(pagemap_scan);
    const std::size_t huge = caps().huge_page_size;
    BOOST_REQUIRE(huge != 0u);
    vmem::reserve_options o = with(vmem::huge_pages::prefer);
    o.commit = true;
    vmem::reservation r(2 * huge, o);
    if (r.huge_page_status().explicit_pool)
        return; // the hugetlb pool took it: counted without smaps
    fill_pattern(r.base(), r.size(), 7);
    // khugepaged may collapse pages meanwhile: a reading between two equal ones is the count.
    for (int attempt = 0; attempt < 8; ++attempt) {
        const std::optional<std::size_t> before = anon_huge_bytes(r.base(), r.size());
        const std::size_t got = r.huge_page_status().huge_bytes;
        if (!before) {
            BOOST_TEST_MESSAGE("the kernel merged the mapping with a neighbour: not compared");
            return;
        }
        if (anon_huge_bytes(r.base(), r.size()) != before)
            continue;
        BOOST_TEST_MESSAGE("huge: " << got << " bytes, the kernel says " << *before);
        BOOST_TEST(got == *before);
        return;
    }
    BOOST_TEST_MESSAGE("the count kept changing: not compared");
}

// Reserves `first` and then `second` right after it, with these options each (placed exactly in
// a span found free, aligned to `alignment`); retried in case another thread takes the span.
void reserve_adjacent_with(vmem::reservation& first, std::size_t first_size,
                           const vmem::reserve_options& first_options, vmem::reservation& second,
                           std::size_t second_size, const vmem::reserve_options& second_options,
                           std::size_t alignment) {
    for (int attempt = 0; attempt < 16; ++attempt) {
        vmem::reserve_options span_options;
        span_options.alignment = alignment;
        void* span = vmem::reserve(first_size + second_size, span_options);
        vmem::release(span);
        std::error_code ec1, ec2;
        vmem::reserve_options o = first_options;
        o.address = span;
        o.at = vmem::placement::exact;
        first = vmem::reservation(first_size, o, ec1);
        o = second_options;
        o.address = bytes(span) + first_size;
        o.at = vmem::placement::exact;
        second = vmem::reservation(second_size, o, ec2);
        if (!ec1 && !ec2)
            return;
    }
    BOOST_FAIL("could not place adjacent reservations");
}

BOOST_AUTO_TEST_CASE(huge_bytes_are_only_those_of_the_reservation_asked_about,
                     *utf::precondition(thp_usable)) {
    // Neighbouring reservations with the same flags share one kernel mapping, whose huge pages
    // /proc/self/smaps counts as a whole: each reservation must see only its own.
    const std::size_t huge = caps().huge_page_size;
    BOOST_REQUIRE(huge != 0u);
    vmem::reserve_options o = with(vmem::huge_pages::prefer);
    o.commit = true;
    vmem::reservation written, idle;
    reserve_adjacent_with(written, 2 * huge, o, idle, huge, o, huge);
    if (written.huge_page_status().explicit_pool)
        return; // the hugetlb pool took them: nothing transparent to see
    fill_pattern(written.base(), written.size(), 5);
    const std::size_t got = written.huge_page_status().huge_bytes;
    BOOST_TEST_MESSAGE("written: " << got << " of " << written.size() << " bytes huge");
    BOOST_TEST(got <= written.size());
    const vmem::huge_page_report h = idle.huge_page_status();
    BOOST_TEST(h.huge_bytes <= idle.size());
    BOOST_TEST(h.huge_bytes == 0u); // never touched: no page at all
    // Without huge pages asked for, the neighbour gets none either.
    vmem::reservation plain;
    reserve_adjacent_with(written, 2 * huge, o, plain, huge, vmem::reserve_options{}, huge);
    fill_pattern(written.base(), written.size(), 6);
    BOOST_TEST(plain.huge_page_status().huge_bytes == 0u);
    BOOST_TEST(written.huge_page_status().huge_bytes <= written.size());
}

// /proc/self/smaps gives the huge pages of whole kernel mappings: where mappings start or end
// inside the range, huge_bytes counts what lies inside it and nothing of the mappings beside it.
// The reservation [lo, lo + 2 huge) is split by protect into its own read-write lower half and a
// read-only upper half that the kernel merges with the read-only neighbour above; below it, a
// read-only neighbour of its own.
BOOST_TEST_DECORATOR(*utf::precondition(thp_usable))
BOOST_DATA_TEST_CASE(huge_bytes_count_mappings_that_start_or_end_inside_the_range,
                     data::make({true, false}), pagemap_scan) {
    huge_source use(pagemap_scan);
    const std::size_t huge = caps().huge_page_size;
    BOOST_REQUIRE(huge != 0u);
    vmem::reserve_options o = with(vmem::huge_pages::prefer);
    o.commit = true;
    vmem::reservation below, r, above;
    for (int attempt = 0; attempt < 16 && !r.base(); ++attempt) {
        vmem::reserve_options span_options;
        span_options.alignment = huge;
        void* span = vmem::reserve(4 * huge, span_options);
        vmem::release(span);
        std::error_code ec1, ec2, ec3;
        vmem::reserve_options at = o;
        at.at = vmem::placement::exact;
        at.address = span;
        below = vmem::reservation(huge, at, ec1);
        at.address = bytes(span) + huge;
        r = vmem::reservation(2 * huge, at, ec2);
        at.address = bytes(span) + 3 * huge;
        above = vmem::reservation(huge, at, ec3);
        if (ec1 || ec2 || ec3)
            r = vmem::reservation();
    }
    BOOST_REQUIRE(r.base() != nullptr);
    if (r.huge_page_status().explicit_pool)
        return; // the hugetlb pool took it: counted without smaps
    fill_pattern(below.base(), below.size(), 2);
    fill_pattern(r.base(), r.size(), 3);
    fill_pattern(above.base(), above.size(), 4);
    below.protect(below.base(), huge, vmem::access::read);
    r.protect(bytes(r) + huge, huge, vmem::access::read);
    above.protect(above.base(), huge, vmem::access::read);
    // khugepaged may collapse pages meanwhile: a reading between two equal ones is the count.
    for (int attempt = 0; attempt < 8; ++attempt) {
        const std::optional<std::size_t> own = anon_huge_bytes(r.base(), huge);
        const std::optional<std::size_t> shared = anon_huge_bytes(bytes(r) + huge, 2 * huge);
        const std::optional<std::size_t> beside = anon_huge_bytes(below.base(), huge);
        if (!own || !shared || !beside) {
            BOOST_TEST_MESSAGE("the kernel mapped them otherwise: not compared");
            return;
        }
        const std::size_t got = r.huge_page_status().huge_bytes;
        if (anon_huge_bytes(r.base(), huge) != own ||
            anon_huge_bytes(bytes(r) + huge, 2 * huge) != shared)
            continue;
        BOOST_TEST_MESSAGE("huge: " << got << " bytes; the kernel says " << *own << " + " << *shared
                                    << " shared with the neighbour above, " << *beside << " below");
        // smaps: the shared mapping's huge pages up to the part inside the range; the scan: the
        // range's own, the same where the shared mapping is all huge pages or none.
        const std::size_t bound = *own + std::min(*shared, huge);
        if (!pagemap_scan || *shared == 0 || *shared == 2 * huge)
            BOOST_TEST(got == bound);
        BOOST_TEST(got <= bound);
        BOOST_TEST(got + huge >= *own + *shared);
        return;
    }
    BOOST_TEST_MESSAGE("the count kept changing: not compared");
}

// A reservation split by protect into kernel mappings of one huge page each, more than one read of
// /proc/self/smaps holds (some 8 KiB; an entry is about 1 KiB): huge_bytes is the sum of their
// huge pages, whichever source counts them.
BOOST_TEST_DECORATOR(*utf::precondition(thp_usable))
BOOST_DATA_TEST_CASE(huge_bytes_add_up_many_kernel_mappings, data::make({true, false}),
                     pagemap_scan) {
    huge_source use(pagemap_scan);
    const std::size_t huge = caps().huge_page_size;
    BOOST_REQUIRE(huge != 0u);
    constexpr std::size_t mappings = 24;
    vmem::reserve_options o = with(vmem::huge_pages::prefer);
    o.commit = true;
    vmem::reservation r(mappings * huge, o);
    if (r.huge_page_status().explicit_pool)
        return; // the hugetlb pool took it: counted without smaps
    fill_pattern(r.base(), r.size(), 8);
    for (std::size_t i = 1; i < mappings; i += 2)
        r.protect(bytes(r) + i * huge, huge, vmem::access::read);
    const auto kernel_count = [&]() -> std::optional<std::size_t> {
        std::size_t sum = 0;
        for (std::size_t i = 0; i < mappings; ++i) {
            const std::optional<std::size_t> one = anon_huge_bytes(bytes(r) + i * huge, huge);
            if (!one)
                return std::nullopt;
            sum += *one;
        }
        return sum;
    };
    // khugepaged may collapse pages meanwhile: a reading between two equal ones is the count.
    for (int attempt = 0; attempt < 8; ++attempt) {
        const std::optional<std::size_t> before = kernel_count();
        if (!before) {
            BOOST_TEST_MESSAGE("the kernel merged a mapping with a neighbour: not compared");
            return;
        }
        const std::size_t got = r.huge_page_status().huge_bytes;
        if (kernel_count() != before)
            continue;
        BOOST_TEST_MESSAGE("huge: " << got << " bytes, the kernel says " << *before);
        BOOST_TEST(got == *before);
        return;
    }
    BOOST_TEST_MESSAGE("the count kept changing: not compared");
}

BOOST_AUTO_TEST_CASE(never_refuses_transparent_huge_pages_also_after_decommit,
                     *utf::precondition(smaps_readable)) {
    const std::size_t huge = caps().huge_page_size != 0 ? caps().huge_page_size : granularity();
    vmem::reserve_options o = with(vmem::huge_pages::never);
    o.alignment = huge; // a range THP could use
    vmem::reservation r(2 * huge, o);
    r.commit(r.base(), r.size(), vmem::access::read_write);
    fill_pattern(r.base(), r.size(), 3);
    BOOST_TEST(thp_eligible(r.base()).value_or(-1) == 0);
    BOOST_TEST(vm_flag(r.base(), "nh"));
    BOOST_TEST(r.huge_page_status().huge_bytes == 0u);
    r.decommit(r.base(), huge);
    r.commit(r.base(), huge, vmem::access::read_write);
    BOOST_TEST(thp_eligible(r.base()).value_or(-1) == 0);
    BOOST_TEST(vm_flag(r.base(), "nh"));
}

vmem::reservation from_the_pool() {
    const vmem::capabilities c = caps();
    vmem::reserve_options o = with(vmem::huge_pages::prefer);
    o.commit = true;
    return vmem::reservation(c.huge_page_size != 0 ? 2 * c.huge_page_size : granularity(), o);
}

BOOST_AUTO_TEST_CASE(the_explicit_pool_refuses_decommit_of_part_of_a_huge_page,
                     *utf::precondition([](utf::test_unit_id) {
                         boost::test_tools::assertion_result r(
                             from_the_pool().huge_page_status().explicit_pool);
                         r.message() << "no explicit huge page pool here (Linux hugetlb pages "
                                        "free, Windows large pages with SeLockMemoryPrivilege)";
                         return r;
                     })) {
    // Windows large pages refuse any decommit; a Linux hugetlb mapping one of part of a page.
    vmem::reservation r = from_the_pool();
    std::error_code ec;
    r.decommit(r.base(), page(), ec);
    BOOST_TEST(static_cast<bool>(ec)); // part of a huge page: refused everywhere
    BOOST_TEST(r.committed_bytes() == r.size());
    BOOST_TEST(vmem_probe::can_write(r.base()));
}

BOOST_AUTO_TEST_SUITE_END()
