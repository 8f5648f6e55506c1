// vmem tests: a random sequence of operations, checked after every step against a plain model of
// each page's state, through vmem's answers and through the probe. It exercises every way runs of
// committed pages split and merge.
#include "common.hpp"

#include <cstdint>
#include <random>
#include <vector>

using namespace vmem_test;

BOOST_AUTO_TEST_SUITE(model)

BOOST_AUTO_TEST_CASE(random_operations_agree_with_a_page_model) {
    const std::size_t pages = 48;
    vmem::reservation r(pages * page());
    std::vector<bool> committed(pages, false);
    std::mt19937 random(20261125); // fixed: the same sequence on every platform and run
    for (int step = 0; step < 300; ++step) {
        const std::size_t first = random() % pages;
        const std::size_t count = 1 + random() % (pages - first);
        unsigned char* at = bytes(r) + first * page();
        const unsigned op = random() % 3;
        std::error_code ec;
        if (op == 0) {
            r.commit(at, count * page(), vmem::access::read_write, ec);
            BOOST_TEST_REQUIRE(!ec, "step " << step << ": commit: " << ec.message());
            for (std::size_t i = first; i < first + count; ++i)
                committed[i] = true;
        } else if (op == 1) {
            r.decommit(at, count * page(), ec);
            BOOST_TEST_REQUIRE(!ec, "step " << step << ": decommit: " << ec.message());
            for (std::size_t i = first; i < first + count; ++i)
                committed[i] = false;
        } else {
            bool all = true;
            for (std::size_t i = first; i < first + count; ++i)
                all = all && committed[i];
            // Protect to the access the pages already have: only the answer matters here.
            r.protect(at, count * page(), vmem::access::read_write, ec);
            BOOST_TEST_REQUIRE((ec == vmem::errc::not_committed) == !all,
                               "step " << step << ": protect answered " << ec.message());
        }
        std::size_t expected = 0;
        for (std::size_t i = 0; i < pages; ++i) {
            expected += committed[i] ? page() : 0;
            BOOST_TEST_REQUIRE(vmem_probe::can_write(bytes(r) + i * page()) == committed[i],
                               "step " << step << ": page " << i);
        }
        BOOST_TEST_REQUIRE(r.committed_bytes() == expected, "step " << step);
    }
}

BOOST_AUTO_TEST_SUITE_END()
