// vmem tests: decommit.
#include "common.hpp"
#include "support/oracle.hpp"

#include <atomic>
#include <chrono>
#include <thread>

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
    vmem_oracle::page_model model(4); // the OS agrees, run by run
    model.commit(0, 4, vmem::access::read_write);
    model.decommit(1, 1);
    BOOST_TEST(vmem_oracle::agrees(r, model));
}

BOOST_AUTO_TEST_CASE(neighbouring_pages_keep_their_contents) {
    vmem::reservation r(4 * page());
    r.commit(r.base(), r.size(), vmem::access::read_write);
    fill_pattern(r.base(), r.size(), 8);
    r.decommit(bytes(r) + page(), 2 * page());
    vmem_oracle::page_model model(4); // the OS agrees, run by run
    model.commit(0, 4, vmem::access::read_write);
    model.decommit(1, 2);
    BOOST_TEST(vmem_oracle::agrees(r, model));
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

BOOST_AUTO_TEST_CASE(process_resident_memory_drops_at_once, *utf::precondition(resident_readable)) {
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

// The pages are written first: Linux gives back the charge of memory that was never written
// when mprotect merely takes write access away, but keeps it once the mapping holds pages, so
// only a real decommit (a fresh mapping) returns it then. Resident memory must drop too.
BOOST_AUTO_TEST_CASE(decommit_returns_the_commit_charge_of_written_pages,
                     *utf::precondition(charge_readable)) {
    const std::size_t size = std::size_t{1} << 30;
    vmem::reservation r(size);
    r.commit(r.base(), size, vmem::access::read_write);
    const std::size_t written = std::size_t{64} << 20;
    for (std::size_t off = 0; off < written; off += page())
        bytes(r)[off] = 1;
    const std::size_t high = *vmem_probe::commit_charge();
    const auto resident_high = vmem_probe::resident_bytes(r.base(), size);
    r.decommit(r.base(), size);
    const std::size_t low = *vmem_probe::commit_charge();
    BOOST_TEST(high > low);
    BOOST_TEST(high - low >= size / 4 * 3, "charge fell by " << (high - low));
    if (resident_high) {
        BOOST_TEST(*resident_high >= written);
        BOOST_TEST(*vmem_probe::resident_bytes(r.base(), size) == 0u);
    }
    BOOST_TEST(!vmem_probe::can_read(r.base()));
    r.commit(r.base(), page(), vmem::access::read_write);
    BOOST_TEST(all_equal(r.base(), page(), 0));
}

// Decommitted pages stay reserved: the range is never free, so nobody can reserve it.
BOOST_AUTO_TEST_CASE(decommitted_pages_stay_reserved) {
    vmem::reservation r(4 * granularity());
    r.commit(r.base(), r.size(), vmem::access::read_write);
    fill_pattern(r.base(), r.size(), 14);
    unsigned char* middle = bytes(r) + granularity();
    r.decommit(middle, 2 * granularity());
    vmem::reserve_options o;
    o.address = middle;
    o.at = vmem::placement::exact;
    std::error_code ec;
    BOOST_TEST(vmem::reserve(granularity(), o, ec) == nullptr);
    BOOST_TEST(ec == vmem::errc::address_unavailable);
    BOOST_TEST(!vmem_probe::is_unmapped(middle, 2 * granularity()));
    BOOST_TEST(has_pattern(r.base(), granularity(), 14));
    r.commit(middle, granularity(), vmem::access::read_write);
    BOOST_TEST(all_equal(middle, granularity(), 0));
}

// Not even for an instant: while one thread commits and decommits a range over and over, another
// tries to reserve exactly there. A decommit that unmapped the range and mapped it again would
// let that reserve through now and then.
BOOST_AUTO_TEST_CASE(a_decommit_never_frees_the_range_even_briefly) {
    vmem::reservation r(8 * granularity());
    unsigned char* target = bytes(r) + 2 * granularity();
    const std::size_t span = 4 * granularity();
    std::atomic<bool> stop{false};
    std::atomic<long> attempts{0};
    std::atomic<long> taken{0};
    std::thread thief([&] {
        vmem::reserve_options o;
        o.address = target + granularity();
        o.at = vmem::placement::exact;
        while (!stop.load()) {
            std::error_code ec;
            if (void* p = vmem::reserve(granularity(), o, ec)) {
                taken.fetch_add(1);
                vmem::release(p, ec);
            } else if (ec != vmem::errc::address_unavailable) {
                taken.fetch_add(1);
            }
            attempts.fetch_add(1);
        }
    });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(400);
    long rounds = 0;
    while (std::chrono::steady_clock::now() < deadline || attempts.load() < 1000) {
        std::error_code ec;
        r.commit(target, span, vmem::access::read_write, ec);
        if (!ec)
            target[span / 2] = 1;
        r.decommit(target, span, ec);
        ++rounds;
    }
    stop = true;
    thief.join();
    BOOST_TEST(taken.load() == 0, taken.load() << " of " << attempts.load()
                                               << " exact reserves inside the reservation did "
                                                  "not fail with address_unavailable ("
                                               << rounds << " decommits)");
    r.commit(r.base(), r.size(), vmem::access::read_write);
    BOOST_TEST(all_equal(r.base(), r.size(), 0));
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
