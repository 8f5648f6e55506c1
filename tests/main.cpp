// vmem tests: the test module. The same sources run natively and, cross-compiled with MinGW-w64,
// under Wine.
#define BOOST_TEST_MODULE vmem
#include <boost/test/included/unit_test.hpp>

#include "common.hpp"

#include <iostream>

namespace {

// A test that fails (or throws) between arming the seam and disarming it must not make the next
// test fail for no reason of its own: every test ends with the seam disarmed.
struct disarm_after_each_test : boost::unit_test::test_observer {
    void test_unit_finish(const boost::unit_test::test_unit&, unsigned long) override {
        vmem::testing::clear_os_call_failures();
    }
};

disarm_after_each_test disarm;

struct announce {
    announce() {
        boost::unit_test::framework::register_observer(disarm);
        const vmem::capabilities c = vmem::query_capabilities();
        std::cout << "vmem tests on " << vmem_probe::platform_name();
        if (vmem_test::under_wine())
            std::cout << " (Wine " << vmem_probe::wine_version() << ")";
        std::cout << ": page " << c.page_size;
        if (vmem_test::page_size_emulated())
            std::cout << " (emulated: tests/pagesize, VMEM_FAKE_PAGE_SIZE)";
        std::cout << ", granularity " << c.allocation_granularity << ", native aligned reserve "
                  << (c.native_aligned_reserve ? "yes" : "no") << ", write+execute "
                  << (c.write_execute ? "allowed" : "refused") << std::endl;
    }
};

} // namespace

BOOST_TEST_GLOBAL_FIXTURE(announce);
