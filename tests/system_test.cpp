// vmem tests: system facts come from the OS.
#include "common.hpp"

using namespace vmem_test;

BOOST_AUTO_TEST_SUITE(system_facts)

BOOST_AUTO_TEST_CASE(page_size_is_the_os_page_size) {
    BOOST_TEST(vmem::page_size() == vmem_probe::os_page_size());
    BOOST_TEST((vmem::page_size() & (vmem::page_size() - 1)) == 0u);
}

BOOST_AUTO_TEST_CASE(granularity_is_the_os_granularity_and_a_multiple_of_the_page) {
    BOOST_TEST(vmem::allocation_granularity() == vmem_probe::os_allocation_granularity());
    BOOST_TEST(vmem::allocation_granularity() % vmem::page_size() == 0u);
}

BOOST_AUTO_TEST_CASE(capabilities_agree_with_the_facts) {
    const vmem::capabilities c = vmem::query_capabilities();
    BOOST_TEST(c.page_size == vmem::page_size());
    BOOST_TEST(c.allocation_granularity == vmem::allocation_granularity());
}

BOOST_AUTO_TEST_SUITE_END()
