// vmem tests: decommit.
#include "common.hpp"

using namespace vmem_test;

BOOST_AUTO_TEST_SUITE(decommit)

BOOST_AUTO_TEST_CASE(decommitted_pages_fault) {
    vmem::reservation r(4 * page());
    r.commit(r.base(), r.size(), vmem::access::read_write);
    fill_pattern(r.base(), r.size(), 2);
    r.decommit(bytes(r) + page(), page());
    BOOST_TEST(!vmem_probe::can_read(bytes(r) + page()));
    BOOST_TEST(!vmem_probe::can_write(bytes(r) + 2 * page() - 1));
    BOOST_TEST(r.committed_bytes() == 3 * page());
}

BOOST_AUTO_TEST_CASE(neighbouring_pages_keep_their_contents) {
    vmem::reservation r(4 * page());
    r.commit(r.base(), r.size(), vmem::access::read_write);
    fill_pattern(r.base(), r.size(), 8);
    r.decommit(bytes(r) + page(), 2 * page());
    BOOST_TEST(has_pattern(r.base(), page(), 8));
    // The last page holds the pattern from offset 3 pages on.
    const unsigned char* last = bytes(r) + 3 * page();
    bool same = true;
    for (std::size_t i = 0; i < page(); ++i)
        same = same && last[i] == static_cast<unsigned char>(((i + 3 * page()) / 7) ^
                                                             ((i + 3 * page()) >> 12) ^ 8);
    BOOST_TEST(same);
}

BOOST_AUTO_TEST_CASE(recommit_after_decommit_reads_zero) {
    vmem::reservation r(granularity());
    r.commit(r.base(), r.size(), vmem::access::read_write);
    fill_pattern(r.base(), r.size(), 6);
    r.decommit(r.base(), r.size());
    r.commit(r.base(), r.size(), vmem::access::read_write);
    BOOST_TEST(all_equal(r.base(), r.size(), 0));
}

BOOST_AUTO_TEST_CASE(resident_memory_of_the_range_drops_at_once) {
    const std::size_t size = 256 * page();
    vmem::reservation r(size);
    r.commit(r.base(), size, vmem::access::read_write);
    fill_pattern(r.base(), size, 1);
    const auto touched = vmem_probe::resident_bytes(r.base(), size);
    BOOST_TEST_REQUIRE(touched.has_value());
    BOOST_TEST(*touched == size);
    r.decommit(r.base(), size);
    BOOST_TEST(*vmem_probe::resident_bytes(r.base(), size) == 0u);
}

BOOST_AUTO_TEST_CASE(process_resident_memory_drops_at_once) {
    const std::size_t size = std::size_t{64} << 20;
    vmem::reservation r(size);
    r.commit(r.base(), size, vmem::access::read_write);
    fill_pattern(r.base(), size, 3);
    const auto high = vmem_probe::process_resident_bytes();
    BOOST_TEST_REQUIRE(high.has_value());
    r.decommit(r.base(), size);
    const auto low = vmem_probe::process_resident_bytes();
    BOOST_TEST(*high > *low);
    BOOST_TEST(*high - *low >= size / 4 * 3, "resident memory fell by " << (*high - *low));
}

BOOST_AUTO_TEST_CASE(decommit_returns_the_commit_charge, *utf::precondition(charge_readable)) {
    const std::size_t size = std::size_t{1} << 30;
    vmem::reservation r(size);
    r.commit(r.base(), size, vmem::access::read_write);
    const std::size_t high = *vmem_probe::commit_charge();
    r.decommit(r.base(), size);
    const std::size_t low = *vmem_probe::commit_charge();
    BOOST_TEST(high > low);
    BOOST_TEST(high - low >= size / 4 * 3, "charge fell by " << (high - low));
}

BOOST_AUTO_TEST_CASE(decommitting_reserved_pages_is_harmless) {
    vmem::reservation r(4 * page());
    r.decommit(r.base(), r.size());
    r.commit(r.base(), page(), vmem::access::read_write);
    r.decommit(r.base(), r.size()); // half committed, half not
    BOOST_TEST(r.committed_bytes() == 0u);
    BOOST_TEST(!vmem_probe::can_read(r.base()));
}

BOOST_AUTO_TEST_SUITE_END()
