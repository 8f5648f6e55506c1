// vmem tests: the paths the OS rarely takes, through the seam of <vmem/testing.hpp>.
#include "common.hpp"

using namespace vmem_test;
using vmem::testing::os_call;

namespace {

struct disarm {
    ~disarm() { vmem::testing::clear_os_call_failures(); }
};

const std::error_code out_of_memory = std::make_error_code(std::errc::not_enough_memory);

} // namespace

BOOST_AUTO_TEST_SUITE(fault_injection)

BOOST_AUTO_TEST_CASE(a_refused_commit_leaves_the_reservation_usable_and_unchanged) {
    disarm guard;
    vmem::reservation r(4 * page());
    r.commit(r.base(), page(), vmem::access::read_write);
    fill_pattern(r.base(), page(), 31);
    vmem::testing::fail_os_call(os_call::commit, out_of_memory);
    std::error_code ec;
    r.commit(r.base(), r.size(), vmem::access::read, ec);
    BOOST_TEST(ec == std::errc::not_enough_memory);
    BOOST_TEST(r.committed_bytes() == page());
    BOOST_TEST(vmem_probe::can_write(r.base())); // access not changed to read
    BOOST_TEST(!vmem_probe::can_read(bytes(r) + page()));
    BOOST_TEST(has_pattern(r.base(), page(), 31));
    r.commit(r.base(), r.size(), vmem::access::read_write); // the seam disarmed itself
    BOOST_TEST(has_pattern(r.base(), page(), 31));
    BOOST_TEST(all_equal(bytes(r) + page(), 3 * page(), 0));
}

BOOST_AUTO_TEST_CASE(a_failed_decommit_reports_and_loses_nothing) {
    disarm guard;
    vmem::reservation r(2 * page());
    r.commit(r.base(), r.size(), vmem::access::read_write);
    fill_pattern(r.base(), r.size(), 32);
    vmem::testing::fail_os_call(os_call::decommit, out_of_memory);
    std::error_code ec;
    r.decommit(r.base(), r.size(), ec);
    BOOST_TEST(ec == std::errc::not_enough_memory);
    BOOST_TEST(r.committed_bytes() == r.size());
    BOOST_TEST(has_pattern(r.base(), r.size(), 32));
    r.decommit(r.base(), r.size());
    BOOST_TEST(!vmem_probe::can_read(r.base()));
}

BOOST_AUTO_TEST_CASE(a_failed_release_reports_and_keeps_ownership) {
    disarm guard;
    vmem::reservation r(2 * page());
    r.commit(r.base(), page(), vmem::access::read_write);
    fill_pattern(r.base(), page(), 33);
    void* base = r.base();
    vmem::testing::fail_os_call(os_call::release, std::make_error_code(std::errc::io_error));
    std::error_code ec;
    r.release(ec);
    BOOST_TEST(ec == std::errc::io_error);
    BOOST_TEST(r.base() == base);
    BOOST_TEST(has_pattern(base, page(), 33));
    std::error_code again;
    vmem::commit(bytes(base) + page(), page(), vmem::access::read_write, again); // still known
    BOOST_TEST(!again);
    r.release();
    BOOST_TEST(!vmem_probe::can_read(base));
}

BOOST_AUTO_TEST_CASE(a_failed_reserve_returns_null_and_leaks_nothing) {
    disarm guard;
    vmem::testing::fail_os_call(os_call::reserve, out_of_memory);
    std::error_code ec;
    vmem::reservation r(granularity(), {}, ec);
    BOOST_TEST(ec == std::errc::not_enough_memory);
    BOOST_TEST(!r);
}

BOOST_AUTO_TEST_CASE(skip_lets_earlier_calls_through) {
    disarm guard;
    vmem::reservation r(3 * page());
    vmem::testing::fail_os_call(os_call::protect, out_of_memory, 1);
    r.commit(r.base(), r.size(), vmem::access::read_write);
    r.protect(r.base(), page(), vmem::access::read); // skipped: goes through
    std::error_code ec;
    r.protect(bytes(r) + page(), page(), vmem::access::read, ec);
    BOOST_TEST(ec == std::errc::not_enough_memory);
    BOOST_TEST(!vmem_probe::can_write(r.base()));
    BOOST_TEST(vmem_probe::can_write(bytes(r) + page()));
}

BOOST_AUTO_TEST_SUITE_END()
