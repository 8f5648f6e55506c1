// vmem tests: a random sequence of operations, checked after every step against a plain model of
// each page's state, through vmem's answers, through the probe, and through the second oracle
// (support/oracle.hpp: what vmem::query says the OS holds, run by run). It exercises every way runs
// of committed pages split and merge.
#include "common.hpp"
#include "support/oracle.hpp"

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

using namespace vmem_test;

BOOST_AUTO_TEST_SUITE(model)

BOOST_AUTO_TEST_CASE(random_operations_agree_with_a_page_model) {
    const std::size_t pages = 48;
    vmem::reservation r(pages * page());
    std::vector<bool> committed(pages, false);
    vmem_oracle::page_model oracle_model(pages);
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
            oracle_model.commit(first, count, vmem::access::read_write);
        } else if (op == 1) {
            r.decommit(at, count * page(), ec);
            BOOST_TEST_REQUIRE(!ec, "step " << step << ": decommit: " << ec.message());
            for (std::size_t i = first; i < first + count; ++i)
                committed[i] = false;
            oracle_model.decommit(first, count);
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
        BOOST_TEST_REQUIRE(vmem_oracle::agrees(r, oracle_model), "step " << step);
    }
}

// The same with an access per operation: vmem must keep each committed run's access, and a protect
// refused for reserved pages must change none of them.
BOOST_AUTO_TEST_CASE(random_accesses_agree_with_a_page_model) {
    const std::size_t pages = 32;
    const vmem::access accesses[] = {vmem::access::none, vmem::access::read,
                                     vmem::access::read_write};
    vmem::reservation r(pages * page());
    // -1: reserved; otherwise the index into `accesses` of the page's access.
    std::vector<int> state(pages, -1);
    vmem_oracle::page_model oracle_model(pages);
    std::mt19937 random(20261126);
    const std::size_t bookkeeping_before = vmem::testing::bookkeeping_bytes();
    std::size_t bookkeeping_most = 0;
    for (int step = 0; step < 2000; ++step) {
        // Short ranges half the time, so that ranges that are exactly one run, inside one run, or
        // in one gap (the fast paths) come up as often as ranges across several.
        const std::size_t first = random() % pages;
        const std::size_t longest =
            random() % 2 == 0 ? std::min<std::size_t>(3, pages - first) : pages - first;
        const std::size_t count = 1 + random() % longest;
        unsigned char* at = bytes(r) + first * page();
        const unsigned op = random() % 3;
        const int a = static_cast<int>(random() % 3);
        std::error_code ec;
        if (op == 0) {
            r.commit(at, count * page(), accesses[a], ec);
            BOOST_TEST_REQUIRE(!ec, "step " << step << ": commit: " << ec.message());
            for (std::size_t i = first; i < first + count; ++i)
                state[i] = a;
            oracle_model.commit(first, count, accesses[a]);
        } else if (op == 1) {
            r.decommit(at, count * page(), ec);
            BOOST_TEST_REQUIRE(!ec, "step " << step << ": decommit: " << ec.message());
            for (std::size_t i = first; i < first + count; ++i)
                state[i] = -1;
            oracle_model.decommit(first, count);
        } else {
            bool all = true;
            for (std::size_t i = first; i < first + count; ++i)
                all = all && state[i] >= 0;
            r.protect(at, count * page(), accesses[a], ec);
            BOOST_TEST_REQUIRE((ec == vmem::errc::not_committed) == !all,
                               "step " << step << ": protect answered " << ec.message());
            if (all) {
                for (std::size_t i = first; i < first + count; ++i)
                    state[i] = a;
                oracle_model.protect(first, count, accesses[a]);
            }
        }
        std::size_t expected = 0;
        for (std::size_t i = 0; i < pages; ++i) {
            expected += state[i] >= 0 ? page() : 0;
            unsigned char* p = bytes(r) + i * page();
            BOOST_TEST_REQUIRE(vmem_probe::can_read(p) == (state[i] >= 1),
                               "step " << step << ": page " << i << " readable");
            BOOST_TEST_REQUIRE(vmem_probe::can_write(p) == (state[i] == 2),
                               "step " << step << ": page " << i << " writable");
        }
        BOOST_TEST_REQUIRE(r.committed_bytes() == expected, "step " << step);
        BOOST_TEST_REQUIRE(vmem_oracle::agrees(r, oracle_model), "step " << step);
        bookkeeping_most =
            std::max(bookkeeping_most, vmem::testing::bookkeeping_bytes() - bookkeeping_before);
    }
    // The runs never outnumber the pages: the map stays as small as the state it describes.
    BOOST_TEST(bookkeeping_most <= 2 * pages * 64, "bookkeeping grew to " << bookkeeping_most);
}

BOOST_AUTO_TEST_SUITE_END()
