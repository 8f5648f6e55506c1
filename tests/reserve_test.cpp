// vmem tests: reserve.
#include "common.hpp"
#include "support/allocation_counter.hpp"

#include <algorithm>

#include <cstdint>
#include <vector>

#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>

using namespace vmem_test;
namespace data = boost::unit_test::data;

BOOST_AUTO_TEST_SUITE(reserve)

BOOST_AUTO_TEST_CASE(rounds_the_size_up_to_whole_pages) {
    vmem::reservation r(page() + 1);
    BOOST_TEST(r.size() == 2 * page());
    vmem::reservation one(1);
    BOOST_TEST(one.size() == page());
}

BOOST_AUTO_TEST_CASE(base_is_aligned_to_the_allocation_granularity) {
    std::vector<vmem::reservation> many;
    for (int i = 0; i < 8; ++i) {
        many.emplace_back(page() * static_cast<std::size_t>(i + 1));
        BOOST_TEST(reinterpret_cast<std::uintptr_t>(many.back().base()) % granularity() == 0u);
    }
}

BOOST_AUTO_TEST_CASE(reserved_memory_faults_on_read_and_write) {
    vmem::reservation r(4 * page());
    for (std::size_t off = 0; off < r.size(); off += page()) {
        BOOST_TEST(!vmem_probe::can_read(bytes(r) + off));
        BOOST_TEST(!vmem_probe::can_write(bytes(r) + off));
    }
}

// Alignments from the granularity up to 2^10 times it.
BOOST_DATA_TEST_CASE(aligned_reserve_honours_the_alignment, data::xrange(0, 11, 2), shift) {
    const std::size_t alignment = granularity() << shift;
    vmem::reserve_options o;
    o.alignment = alignment;
    vmem::reservation r(3 * page(), o);
    BOOST_TEST(reinterpret_cast<std::uintptr_t>(r.base()) % alignment == 0u);
    BOOST_TEST(r.size() == 3 * page());
    r.commit(r.base(), r.size(), vmem::access::read_write);
    BOOST_TEST(all_equal(r.base(), r.size(), 0));
}

BOOST_AUTO_TEST_CASE(alignment_below_the_granularity_is_raised_to_it) {
    vmem::reserve_options o;
    o.alignment = 1;
    vmem::reservation r(page(), o);
    BOOST_TEST(reinterpret_cast<std::uintptr_t>(r.base()) % granularity() == 0u);
}

// The VirtualAlloc note's example: a hint of 0x00781022 reserves at 0x00780000. The hint is
// taken from a free range found at run time, at the same offset into a 64 KiB unit.
BOOST_AUTO_TEST_CASE(hint_is_rounded_down_to_the_granularity) {
    void* free_span = vmem::reserve(4 * granularity());
    vmem::release(free_span);
    const std::uintptr_t unit = reinterpret_cast<std::uintptr_t>(free_span) + granularity();
    vmem::reserve_options o;
    o.address = reinterpret_cast<void*>(unit + (0x00781022u % granularity()));
    o.at = vmem::placement::exact;
    std::error_code ec;
    vmem::reservation r(granularity(), o, ec);
    BOOST_TEST_REQUIRE(!ec, ec.message());
    BOOST_TEST(reinterpret_cast<std::uintptr_t>(r.base()) == unit);
}

BOOST_AUTO_TEST_CASE(prefer_takes_a_free_hint_exactly) {
    void* free_span = vmem::reserve(2 * granularity());
    vmem::release(free_span);
    vmem::reserve_options o;
    o.address = free_span; // placement::prefer is the default
    vmem::reservation r(granularity(), o);
    BOOST_TEST(r.base() == free_span);
}

BOOST_AUTO_TEST_CASE(prefer_goes_elsewhere_when_the_hint_is_taken_and_leaves_it_alone) {
    vmem::reservation taken(granularity());
    taken.commit(taken.base(), page(), vmem::access::read_write);
    fill_pattern(taken.base(), page(), 7);
    vmem::reserve_options o;
    o.address = taken.base();
    vmem::reservation r(granularity(), o);
    BOOST_TEST(r.base() != taken.base());
    BOOST_TEST(!taken.contains(r.base()));
    BOOST_TEST(has_pattern(taken.base(), page(), 7));
}

BOOST_AUTO_TEST_CASE(exact_fails_when_the_address_is_taken_and_never_replaces_a_mapping) {
    vmem::reservation taken(2 * granularity());
    taken.commit(taken.base(), taken.size(), vmem::access::read_write);
    fill_pattern(taken.base(), taken.size(), 3);
    vmem::reserve_options o;
    o.address = bytes(taken) + granularity(); // overlaps the second half
    o.at = vmem::placement::exact;
    std::error_code ec;
    void* p = vmem::reserve(2 * granularity(), o, ec);
    BOOST_TEST(p == nullptr);
    BOOST_TEST(ec == vmem::errc::address_unavailable);
    BOOST_TEST(has_pattern(taken.base(), taken.size(), 3));
    BOOST_TEST(vmem_probe::can_write(bytes(taken) + taken.size() - 1));
}

BOOST_AUTO_TEST_CASE(prefer_goes_elsewhere_when_the_hint_is_outside_the_address_space) {
    vmem::reserve_options o;
    o.address = reinterpret_cast<void*>(~std::uintptr_t{0} - 16 * granularity()); // kernel space
    vmem::reservation r(granularity(), o);
    BOOST_TEST(r.base() != nullptr);
    BOOST_TEST(reinterpret_cast<std::uintptr_t>(r.base()) % granularity() == 0u);
}

BOOST_AUTO_TEST_CASE(exact_fails_over_memory_vmem_does_not_own) {
    std::vector<unsigned char> heap(4 * granularity(), 0x5a);
    vmem::reserve_options o;
    o.address = heap.data() + granularity(); // rounded down: inside the heap block
    o.at = vmem::placement::exact;
    std::error_code ec;
    BOOST_TEST(vmem::reserve(granularity(), o, ec) == nullptr);
    BOOST_TEST(ec == vmem::errc::address_unavailable);
    BOOST_TEST(all_equal(heap.data(), heap.size(), 0x5a));
}

// A huge reservation costs address space only: vmem's bookkeeping grows with use, not size.
namespace {
boost::test_tools::assertion_result needs_64_bit(utf::test_unit_id) {
    boost::test_tools::assertion_result r(sizeof(void*) == 8);
    r.message() << "needs a 64-bit address space";
    return r;
}
constexpr std::size_t tib = std::size_t{1} << (sizeof(void*) == 8 ? 40 : 20);
} // namespace

// The count comes from the test binary's operator new, which a Windows DLL does not call.
boost::test_tools::assertion_result counter_sees_vmem(utf::test_unit_id) {
    const std::size_t before = vmem_probe::heap_bytes_in_use();
    vmem::reservation r(page());
    boost::test_tools::assertion_result result(vmem_probe::heap_bytes_in_use() > before);
    result.message() << "the test's operator new does not see vmem's allocations "
                        "(vmem is a DLL with its own)";
    return result;
}

BOOST_AUTO_TEST_CASE(one_tebibyte_costs_vmem_a_few_hundred_bytes_until_used,
                     *utf::precondition(needs_64_bit) * utf::precondition(counter_sees_vmem)) {
    const std::size_t heap_before = vmem_probe::heap_bytes_in_use();
    vmem::reservation r(tib);
    BOOST_TEST(r.size() == tib);
    BOOST_TEST(r.committed_bytes() == 0u);
    const std::size_t reserved = vmem_probe::heap_bytes_in_use() - heap_before;
    // Use a page at each end and in the middle: three separate committed runs.
    for (std::size_t off : {std::size_t{0}, tib / 2, tib - page()}) {
        r.commit(bytes(r) + off, 1, vmem::access::read_write);
        bytes(r)[off] = 1;
    }
    const std::size_t used = vmem_probe::heap_bytes_in_use() - heap_before;
    BOOST_TEST(r.committed_bytes() == 3 * page());
    BOOST_TEST(reserved <= 512u, "bookkeeping of the reservation: " << reserved << " bytes");
    BOOST_TEST(used <= 1024u, "bookkeeping with three runs committed: " << used << " bytes");
    r.release();
    BOOST_TEST(vmem_probe::heap_bytes_in_use() == heap_before); // and all of it is given back
}

BOOST_AUTO_TEST_CASE(one_tebibyte_costs_the_process_almost_no_memory,
                     *utf::precondition(needs_64_bit) *
                         utf::precondition(unless_wine{
                             "Wine keeps a byte of state per reserved page (256 MiB for 1 TiB), "
                             "Windows none"})) {
    const auto rss_before = vmem_probe::process_resident_bytes();
    const auto charge_before = vmem_probe::commit_charge();
    vmem::reservation r(tib);
    const auto rss_after = vmem_probe::process_resident_bytes();
    const auto charge_after = vmem_probe::commit_charge();
    BOOST_TEST_REQUIRE(rss_before.has_value());
    // The kernel's own structures for one mapping, never page tables or per-page state.
    BOOST_TEST(*rss_after - std::min(*rss_after, *rss_before) <= 64 * 1024u);
    if (charge_before && charge_after) // Linux: system-wide, so allow other processes' noise
        BOOST_TEST(*charge_after - std::min(*charge_after, *charge_before) < tib / 1024);
}

BOOST_AUTO_TEST_SUITE_END()
