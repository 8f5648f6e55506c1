// Tests of reserve_options beyond placement: options outside their enums, reserve and commit in
// one call (commit, commit_access, prefault), executable. Fork policies: fork_test.cpp; huge
// pages: huge_pages_test.cpp.
#include "common.hpp"

#include <vmem/testing.hpp>

#include <cerrno>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

using namespace vmem_test;

namespace {

// Every access, and whether this system grants it to a commit.
std::vector<vmem::access> grantable_accesses() {
    std::vector<vmem::access> all{vmem::access::none, vmem::access::read, vmem::access::read_write,
                                  vmem::access::read_execute};
    if (vmem::query_capabilities().write_execute)
        all.push_back(vmem::access::read_write_execute);
    return all;
}

bool readable(vmem::access a) {
    return a != vmem::access::none;
}

bool writable(vmem::access a) {
    return a == vmem::access::read_write || a == vmem::access::read_write_execute;
}

vmem::reserve_options committed(vmem::access a) {
    vmem::reserve_options o;
    o.commit = true;
    o.commit_access = a;
    return o;
}

// Expects reserve to refuse `o` with `expected`, through both entry points, reserving nothing.
void expect_refused(std::size_t size, const vmem::reserve_options& o, std::error_code expected) {
    const std::size_t held = vmem::testing::bookkeeping_bytes();
    std::error_code ec;
    BOOST_TEST(vmem::reserve(size, o, ec) == nullptr);
    BOOST_TEST(ec == expected);
    vmem::reservation r(size, o, ec);
    BOOST_TEST(ec == expected);
    BOOST_TEST(!r);
    BOOST_TEST(vmem::testing::bookkeeping_bytes() == held);
    BOOST_CHECK_THROW(vmem::reserve(size, o), std::system_error);
}

// Whether madvise(MADV_POPULATE_WRITE) works here: Linux 5.14 and later.
boost::test_tools::assertion_result populate_advice_works(utf::test_unit_id) {
#if defined(__linux__) && defined(MADV_POPULATE_WRITE)
    void* const p =
        mmap(nullptr, page(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    const bool works = p != MAP_FAILED && madvise(p, page(), MADV_POPULATE_WRITE) == 0;
    if (p != MAP_FAILED)
        munmap(p, page());
    boost::test_tools::assertion_result r(works);
    r.message() << "the kernel has no MADV_POPULATE_WRITE";
#else
    boost::test_tools::assertion_result r(false);
    r.message() << "no madvise(MADV_POPULATE_*) on " << vmem_probe::platform_name();
#endif
    return r;
}

} // namespace

BOOST_AUTO_TEST_SUITE(reserve_options)

BOOST_AUTO_TEST_CASE(values_outside_their_enums_are_invalid_options) {
    vmem::reserve_options o;
    o.huge = static_cast<vmem::huge_pages>(99);
    expect_refused(page(), o, vmem::errc::invalid_option);
    o = {};
    o.fork = static_cast<vmem::fork_policy>(-1);
    expect_refused(page(), o, vmem::errc::invalid_option);
    o = committed(static_cast<vmem::access>(99));
    expect_refused(page(), o, vmem::errc::invalid_access);
}

BOOST_AUTO_TEST_CASE(options_that_contradict_are_invalid) {
    vmem::reserve_options o;
    o.prefault = true; // prefault without commit
    expect_refused(page(), o, vmem::errc::invalid_option);
}

BOOST_AUTO_TEST_CASE(options_are_checked_after_the_size_and_placement_as_every_check_is) {
    vmem::reserve_options o;
    o.huge = static_cast<vmem::huge_pages>(99);
    expect_refused(0, o, vmem::errc::zero_size);
    o.at = static_cast<vmem::placement>(7);
    expect_refused(page(), o, vmem::errc::invalid_placement);
    o = {};
    o.fork = static_cast<vmem::fork_policy>(9);
    o.alignment = 3 * page();
    expect_refused(page(), o, vmem::errc::invalid_alignment);
}

BOOST_AUTO_TEST_CASE(commit_access_is_ignored_without_commit) {
    vmem::reserve_options o;
    o.commit_access = static_cast<vmem::access>(99);
    vmem::reservation r(page(), o);
    BOOST_TEST(r.committed_bytes() == 0u);
    BOOST_TEST(!vmem_probe::can_read(r.base()));
}

BOOST_AUTO_TEST_CASE(commit_at_reserve_commits_every_page_with_the_access_asked) {
    for (const vmem::access a : grantable_accesses()) {
        BOOST_TEST_CONTEXT("access " << static_cast<int>(a)) {
            const std::size_t size = 3 * granularity() + page();
            vmem::reservation r(size, committed(a));
            BOOST_TEST(r.size() == size);
            BOOST_TEST(r.committed_bytes() == size);
            for (std::size_t off = 0; off < size; off += page()) {
                BOOST_TEST(vmem_probe::can_read(bytes(r) + off) == readable(a));
                BOOST_TEST(vmem_probe::can_write(bytes(r) + off) == writable(a));
            }
            if (readable(a))
                BOOST_TEST(all_equal(bytes(r), size, 0));
            // What the OS says: committed, with that access, all of the reservation.
            const vmem::region q = vmem::query(r.base());
            BOOST_TEST(q.reservation == r.base());
            if (a != vmem::access::none || vmem::query_capabilities().query_sees_committed_none) {
                BOOST_TEST((q.state == vmem::page_state::committed));
                BOOST_TEST((q.access == a));
                BOOST_TEST(bytes(q.base) <= bytes(r));
                BOOST_TEST(bytes(q.base) + q.size >= bytes(r) + size);
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(pages_committed_at_reserve_decommit_protect_and_recommit_as_any_other) {
    const std::size_t size = 4 * granularity();
    vmem::reservation r(size, committed(vmem::access::read_write));
    fill_pattern(r.base(), size, 7);
    unsigned char* second = bytes(r) + granularity();
    r.decommit(second, granularity());
    BOOST_TEST(r.committed_bytes() == size - granularity());
    BOOST_TEST(!vmem_probe::can_read(second));
    BOOST_TEST(has_pattern(bytes(r), granularity(), 7));
    r.protect(bytes(r), granularity(), vmem::access::read);
    BOOST_TEST(vmem_probe::can_read(bytes(r)));
    BOOST_TEST(!vmem_probe::can_write(bytes(r)));
    // protect refuses the decommitted part, as for any reservation
    std::error_code ec;
    r.protect(bytes(r), 2 * granularity(), vmem::access::read, ec);
    BOOST_TEST(ec == vmem::errc::not_committed);
    r.commit(second, granularity(), vmem::access::read_write);
    BOOST_TEST(all_equal(second, granularity(), 0));
    BOOST_TEST(r.committed_bytes() == size);
    void* base = r.base();
    r.release();
    BOOST_TEST(vmem_probe::is_unmapped(base, size));
}

BOOST_AUTO_TEST_CASE(commit_at_reserve_through_the_free_function) {
    const std::size_t size = 2 * granularity();
    void* p = vmem::reserve(size, committed(vmem::access::read_write));
    BOOST_TEST(vmem_probe::can_write(p));
    BOOST_TEST(vmem_probe::can_write(bytes(p) + size - 1));
    vmem::decommit(p, size);
    BOOST_TEST(!vmem_probe::can_read(p));
    vmem::release(p);
    BOOST_TEST(vmem_probe::is_unmapped(p, size));
}

BOOST_AUTO_TEST_CASE(commit_at_reserve_with_an_alignment_or_an_exact_address) {
    const std::size_t alignment = 16 * granularity();
    vmem::reserve_options o = committed(vmem::access::read_write);
    o.alignment = alignment;
    vmem::reservation aligned(granularity(), o);
    BOOST_TEST(reinterpret_cast<std::uintptr_t>(aligned.base()) % alignment == 0u);
    BOOST_TEST(aligned.committed_bytes() == granularity());
    BOOST_TEST(vmem_probe::can_write(aligned.base()));

    void* at = aligned.base();
    aligned.release();
    o = committed(vmem::access::read);
    o.address = at;
    o.at = vmem::placement::exact;
    std::error_code ec;
    vmem::reservation exact(granularity(), o, ec);
    if (ec == vmem::errc::address_unavailable) // another thread took the range meanwhile
        return;
    BOOST_TEST(!ec);
    BOOST_TEST(exact.base() == at);
    BOOST_TEST(vmem_probe::can_read(at));
    BOOST_TEST(!vmem_probe::can_write(at));
    // exact never replaces a mapping, committed or not
    vmem::reservation again(granularity(), o, ec);
    BOOST_TEST(ec == vmem::errc::address_unavailable);
    BOOST_TEST(vmem_probe::can_read(at));
}

BOOST_AUTO_TEST_CASE(prefault_populates_every_page_at_reserve) {
    const std::size_t size = 64 * page();
    vmem::reserve_options o = committed(vmem::access::read_write);
    o.prefault = true;
    vmem::reservation r(size, o);
    BOOST_TEST(r.committed_bytes() == size);
    const auto resident = vmem_probe::resident_bytes(r.base(), size);
    if (resident)
        BOOST_TEST(*resident == size);
    else
        BOOST_TEST_MESSAGE("resident bytes cannot be read on " << vmem_probe::platform_name());
    BOOST_TEST(all_equal(r.base(), size, 0));
    // without prefault nothing is resident until touched
    vmem::reservation lazy(size, committed(vmem::access::read_write));
    if (const auto none = vmem_probe::resident_bytes(lazy.base(), size))
        BOOST_TEST(*none < size);
}

BOOST_AUTO_TEST_CASE(prefault_honours_a_read_only_access) {
    const std::size_t size = 8 * page();
    vmem::reserve_options o = committed(vmem::access::read);
    o.prefault = true;
    vmem::reservation r(size, o);
    BOOST_TEST(vmem_probe::can_read(bytes(r) + size - 1));
    BOOST_TEST(!vmem_probe::can_write(r.base()));
    BOOST_TEST(all_equal(r.base(), size, 0));
}

BOOST_AUTO_TEST_CASE(a_failed_commit_at_reserve_reserves_nothing) {
    const std::size_t held = vmem::testing::bookkeeping_bytes();
    vmem::testing::fail_os_call(vmem::testing::os_call::reserve,
                                std::make_error_code(std::errc::not_enough_memory));
    std::error_code ec;
    vmem::reservation r(granularity(), committed(vmem::access::read_write), ec);
    BOOST_TEST(ec == std::errc::not_enough_memory);
    BOOST_TEST(!r);
    BOOST_TEST(vmem::testing::bookkeeping_bytes() == held);
}

// EINVAL from MADV_POPULATE_* means a kernel without it only until it has worked once: after
// that it is this prefault's refusal, reported, not a reason to touch the pages instead.
BOOST_AUTO_TEST_CASE(einval_from_populate_after_it_worked_is_reported,
                     *utf::precondition(populate_advice_works)) {
    const std::size_t size = 4 * page();
    vmem::reserve_options o = committed(vmem::access::read_write);
    o.prefault = true;
    vmem::reservation(size, o).release(); // populated with the advice: the kernel has it
    const std::error_code einval(EINVAL, std::system_category());
    vmem::testing::fail_os_call(vmem::testing::os_call::prefault, einval, 0,
                                vmem::testing::failure_mode::after_part);
    std::error_code ec;
    void* const p = vmem::reserve(size, o, ec);
    vmem::testing::clear_os_call_failures();
    BOOST_TEST(p == nullptr);
    BOOST_TEST(ec == einval);
    if (p != nullptr)
        vmem::release(p);
}

BOOST_AUTO_TEST_CASE(a_failed_prefault_at_reserve_reserves_nothing) {
    // At a free address, exactly, so that what is left there after the failure can be seen.
    const std::size_t size = 4 * granularity();
    void* const at = vmem::reserve(size);
    vmem::release(at);
    vmem::reserve_options o = committed(vmem::access::read_write);
    o.prefault = true;
    o.address = at;
    o.at = vmem::placement::exact;
    const std::error_code refused = std::make_error_code(std::errc::not_enough_memory);
    const std::size_t held = vmem::testing::bookkeeping_bytes();
    vmem::testing::fail_os_call(vmem::testing::os_call::prefault, refused);
    std::error_code ec;
    void* const p = vmem::reserve(size, o, ec);
    vmem::testing::clear_os_call_failures();
    BOOST_TEST(p == nullptr);
    BOOST_TEST(ec == refused);
    BOOST_TEST(vmem::testing::bookkeeping_bytes() == held);
    BOOST_TEST(vmem_probe::is_unmapped(at, size));
    BOOST_TEST(is_free(at, size));
    vmem::testing::fail_os_call(vmem::testing::os_call::prefault, refused);
    BOOST_CHECK_THROW(vmem::reservation(size, o), std::system_error);
    vmem::testing::clear_os_call_failures();
    BOOST_TEST(vmem::testing::bookkeeping_bytes() == held);
    BOOST_TEST(vmem_probe::is_unmapped(at, size));
    // The seam fired once: the same reserve now succeeds, there.
    vmem::reservation r(size, o);
    BOOST_TEST(r.base() == at);
    BOOST_TEST(r.committed_bytes() == size);
}

BOOST_AUTO_TEST_CASE(executable_reservations_behave_as_any_other) {
    const std::size_t size = 2 * granularity();
    vmem::reserve_options o;
    o.executable = true;
    vmem::reservation r(size, o);
    BOOST_TEST(!vmem_probe::can_read(r.base()));
    r.commit(r.base(), size, vmem::access::read_write);
    fill_pattern(r.base(), granularity(), 4);
    fill_pattern(bytes(r) + granularity(), granularity(), 3);
    r.decommit(r.base(), granularity());
    BOOST_TEST(!vmem_probe::can_read(r.base()));
    r.commit(r.base(), granularity(), vmem::access::read_write);
    BOOST_TEST(all_equal(r.base(), granularity(), 0));
    BOOST_TEST(has_pattern(bytes(r) + granularity(), granularity(), 3));
    o = committed(vmem::access::read_write);
    o.executable = true;
    vmem::reservation both(size, o);
    BOOST_TEST(vmem_probe::can_write(both.base()));
    BOOST_TEST(both.committed_bytes() == size);
}

BOOST_AUTO_TEST_SUITE_END()
