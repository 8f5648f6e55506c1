// vmem tests: the test module. The same sources run natively and, cross-compiled with MinGW-w64,
// under Wine.
#define BOOST_TEST_MODULE vmem
#include <boost/test/included/unit_test.hpp>

#include "common.hpp"

#include <iostream>

namespace {

struct announce {
    announce() {
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
