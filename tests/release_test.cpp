// vmem tests: release.
#include "common.hpp"

using namespace vmem_test;

namespace {

boost::test_tools::assertion_result address_space_known(utf::test_unit_id) {
    boost::test_tools::assertion_result r(vmem_probe::address_space_in_use().has_value());
    r.message() << "the address space in use is unknown here";
    return r;
}

} // namespace

BOOST_AUTO_TEST_SUITE(release)

BOOST_AUTO_TEST_CASE(frees_the_whole_reservation_whatever_its_pages_states) {
    const std::size_t size = 4 * granularity();
    void* base = vmem::reserve(size);
    vmem::commit(base, page(), vmem::access::read_write);                      // committed
    vmem::commit(bytes(base) + granularity(), page(), vmem::access::read);     // read-only
    vmem::commit(bytes(base) + 2 * granularity(), page(), vmem::access::none); // no access
    vmem::commit(bytes(base) + 3 * granularity(), page(), vmem::access::read_write);
    vmem::decommit(bytes(base) + 3 * granularity(), page()); // decommitted
    bytes(base)[0] = 1;
    vmem::release(base);
    BOOST_TEST(!vmem_probe::can_read(base));
    BOOST_TEST(is_free(base, size));
}

// A release gives the nodes of every run back for reuse, all of them: reserving, cutting into many
// runs and releasing again and again takes no more address space after the first rounds.
BOOST_AUTO_TEST_CASE(releasing_many_runs_again_and_again_takes_no_more_address_space,
                     *utf::precondition(address_space_known)) {
    constexpr std::size_t runs = 4096;
    const auto round = [] {
        vmem::reservation r(2 * runs * page());
        for (std::size_t i = 0; i < runs; ++i) // a reserved page between runs keeps them apart
            r.commit(bytes(r) + 2 * i * page(), page(), vmem::access::read_write);
    };
    round();
    round();
    const std::size_t before = *vmem_probe::address_space_in_use();
    for (int i = 0; i < 12; ++i)
        round();
    const std::size_t after = *vmem_probe::address_space_in_use();
    // Lost nodes would take at least 11 rounds of `runs` nodes of four words or more.
    BOOST_TEST(after <= before + runs * sizeof(void*), "before " << before << ", after " << after);
}

BOOST_AUTO_TEST_CASE(a_released_base_is_no_longer_known) {
    void* base = vmem::reserve(granularity());
    vmem::release(base);
    std::error_code ec;
    vmem::release(base, ec);
    BOOST_TEST(ec == vmem::errc::not_reserved);
    vmem::commit(base, page(), vmem::access::read_write, ec);
    BOOST_TEST(ec == vmem::errc::not_reserved);
}

BOOST_AUTO_TEST_CASE(part_of_a_reservation_cannot_be_released) {
    vmem::reservation r(2 * granularity());
    r.commit(r.base(), r.size(), vmem::access::read_write);
    fill_pattern(r.base(), r.size(), 21);
    std::error_code ec;
    vmem::release(bytes(r) + granularity(), ec);
    BOOST_TEST(ec == vmem::errc::not_reservation_base);
    BOOST_TEST(has_pattern(r.base(), r.size(), 21));
}

BOOST_AUTO_TEST_CASE(throws_system_error_naming_the_function) {
    vmem::reservation r(2 * page());
    try {
        vmem::release(bytes(r) + page());
        BOOST_FAIL("no exception");
    } catch (const std::system_error& e) {
        BOOST_TEST(e.code() == vmem::errc::not_reservation_base);
        BOOST_TEST(std::string(e.what()).find("vmem::release") != std::string::npos);
    }
}

BOOST_AUTO_TEST_SUITE_END()
