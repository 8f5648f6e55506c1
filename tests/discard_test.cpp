// vmem tests: discard (purge) — pages stay committed and accessible, their storage may go.
#include "common.hpp"

using namespace vmem_test;

namespace {

// A precondition: the OS promises discarded pages read zero (Linux MADV_DONTNEED).
boost::test_tools::assertion_result discard_zero_fills(utf::test_unit_id) {
    boost::test_tools::assertion_result r(vmem::query_capabilities().discard_zero_fills);
    r.message() << "discarded pages keep old contents or read zero here, as the OS chooses";
    return r;
}

} // namespace

BOOST_AUTO_TEST_SUITE(discard)

BOOST_AUTO_TEST_CASE(pages_stay_committed_accessible_and_keep_their_access) {
    vmem::reservation r(4 * page());
    r.commit(r.base(), 2 * page(), vmem::access::read_write);
    r.commit(bytes(r) + 2 * page(), 2 * page(), vmem::access::read);
    fill_pattern(r.base(), 2 * page(), 3);
    r.discard(r.base(), r.size());
    BOOST_TEST(r.committed_bytes() == 4 * page());
    BOOST_TEST(vmem_probe::can_write(r.base()));
    BOOST_TEST(vmem_probe::can_write(bytes(r) + 2 * page() - 1));
    BOOST_TEST(vmem_probe::can_read(bytes(r) + 2 * page()));
    BOOST_TEST(!vmem_probe::can_write(bytes(r) + 2 * page()), "discard changed the access");
    // Still usable: written again, the pages keep what is written.
    fill_pattern(r.base(), 2 * page(), 4);
    BOOST_TEST(has_pattern(r.base(), 2 * page(), 4));
}

BOOST_AUTO_TEST_CASE(discarded_pages_read_zero_where_the_os_promises_it,
                     *utf::precondition(discard_zero_fills)) {
    vmem::reservation r(3 * page());
    r.commit(r.base(), r.size(), vmem::access::read_write);
    fill_pattern(r.base(), r.size(), 5);
    vmem::discard(bytes(r) + page(), page());
    BOOST_TEST(all_equal(bytes(r) + page(), page(), 0));
    BOOST_TEST(has_pattern(r.base(), page(), 5), "a neighbour lost its contents");
}

BOOST_AUTO_TEST_CASE(the_storage_goes_back_at_once, *utf::precondition(discard_zero_fills)) {
    // Where discarded pages read zero (Linux), their storage has gone: resident memory drops.
    const std::size_t size = std::size_t{16} << 20;
    vmem::reservation r(size);
    r.commit(r.base(), size, vmem::access::read_write);
    fill_pattern(r.base(), size, 6);
    const auto before = vmem_probe::resident_bytes(r.base(), size);
    BOOST_TEST_REQUIRE(before.has_value());
    BOOST_TEST(*before == size);
    r.discard(r.base(), size);
    const auto after = vmem_probe::resident_bytes(r.base(), size);
    BOOST_TEST_REQUIRE(after.has_value());
    BOOST_TEST(*after == 0u);
    BOOST_TEST(r.committed_bytes() == size);
}

BOOST_AUTO_TEST_CASE(refuses_reserved_and_guard_pages_and_changes_nothing) {
    vmem::reservation r(3 * page());
    r.commit(r.base(), 2 * page(), vmem::access::read_write);
    fill_pattern(r.base(), 2 * page(), 7);
    std::error_code ec;
    r.discard(r.base(), r.size(), ec); // the last page is only reserved
    BOOST_TEST(ec == vmem::errc::not_committed);
    r.guard(bytes(r) + page(), page());
    vmem::discard(r.base(), 2 * page(), ec);
    BOOST_TEST(ec == vmem::errc::guard_page);
    BOOST_TEST(has_pattern(r.base(), page(), 7), "a refused discard let contents go");
    BOOST_TEST(r.committed_bytes() == page());
}

BOOST_AUTO_TEST_CASE(bad_input_is_refused) {
    vmem::reservation r(page());
    r.commit(r.base(), page(), vmem::access::read_write);
    std::error_code ec;
    vmem::discard(nullptr, page(), ec);
    BOOST_TEST(ec == vmem::errc::null_address);
    vmem::discard(r.base(), 0, ec);
    BOOST_TEST(ec == vmem::errc::zero_size);
    r.discard(r.base(), 2 * page(), ec);
    BOOST_TEST(ec == vmem::errc::outside_reservation);
    BOOST_CHECK_THROW(vmem::discard(r.base(), 2 * page()), std::system_error);
}

BOOST_AUTO_TEST_SUITE_END()
