// vmem tests: reserve.
#include "common.hpp"
#include "support/allocation_counter.hpp"
#include "support/boost_test_data.hpp"

#include <algorithm>

#include <cstdint>
#include <vector>

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

// A hint so close to the top of the address space that the range would run past it is ignored
// like any other unusable hint: the reserve goes elsewhere instead of failing.
BOOST_AUTO_TEST_CASE(prefer_goes_elsewhere_when_the_range_would_run_past_the_top) {
    for (std::uintptr_t hint :
         {~std::uintptr_t{0} - granularity() + 1, ~std::uintptr_t{0} - 2 * granularity() + 1}) {
        vmem::reserve_options o;
        o.address = reinterpret_cast<void*>(hint);
        std::error_code ec;
        vmem::reservation r(4 * granularity(), o, ec);
        BOOST_TEST(!ec, ec.message());
        BOOST_TEST(r.base() != nullptr);
        BOOST_TEST(r.size() == 4 * granularity());
    }
}

// An aligned reserve takes its own size of address space and no more: what it over-reserved to
// find an aligned base (POSIX trims an over-sized mapping; Windows without VirtualAlloc2 frees a
// probe reservation) is given back, and release gives back the rest.
namespace {
boost::test_tools::assertion_result address_space_known(utf::test_unit_id) {
    boost::test_tools::assertion_result r(vmem_probe::address_space_in_use().has_value());
    r.message() << "the address space in use cannot be read here";
    return r;
}

void check_aligned_reserves_take_only_their_size() {
    const std::size_t size = 3 * page();
    // A first aligned reserve lets vmem's bookkeeping take what it needs before measuring.
    vmem::reserve_options warm;
    warm.alignment = granularity() << 4;
    vmem::reservation(size, warm).release();
    const std::size_t slack = 16 * page();
    for (unsigned shift : {4u, 6u, 8u, 10u}) {
        vmem::reserve_options o;
        o.alignment = granularity() << shift;
        const std::size_t before = *vmem_probe::address_space_in_use();
        vmem::reservation r(size, o);
        const std::size_t held = *vmem_probe::address_space_in_use();
        BOOST_TEST(reinterpret_cast<std::uintptr_t>(r.base()) % o.alignment == 0u);
        BOOST_TEST(held - std::min(held, before) <= r.size() + slack,
                   "alignment " << o.alignment << ": the address space grew by "
                                << (held - std::min(held, before)) << " for " << r.size());
        r.release();
        const std::size_t after = *vmem_probe::address_space_in_use();
        BOOST_TEST(after <= before + slack, "alignment " << o.alignment << ": release left "
                                                         << (after - std::min(after, before))
                                                         << " bytes of address space held");
    }
}

struct native_aligned_reserve_off {
    native_aligned_reserve_off() { vmem::testing::use_native_aligned_reserve(false); }
    ~native_aligned_reserve_off() { vmem::testing::use_native_aligned_reserve(true); }
};
} // namespace

BOOST_AUTO_TEST_CASE(aligned_reserve_holds_no_address_space_beyond_its_size,
                     *utf::precondition(address_space_known)) {
    check_aligned_reserves_take_only_their_size();
}

// The path for systems whose OS cannot align a reservation in one call (Windows before
// VirtualAlloc2), forced so that it runs everywhere, Wine included.
BOOST_AUTO_TEST_CASE(aligned_reserve_without_the_native_call_is_aligned_and_frees_its_probe,
                     *utf::precondition(address_space_known)) {
    const bool native = vmem::query_capabilities().native_aligned_reserve;
    {
        native_aligned_reserve_off off;
        // POSIX has one path whatever the switch says; Windows must admit it is not native now.
        if (vmem_probe::platform_name() == "windows")
            BOOST_TEST(!vmem::query_capabilities().native_aligned_reserve,
                       "capabilities say native while the switch is off");
        check_aligned_reserves_take_only_their_size();
        for (unsigned shift : {1u, 3u, 5u, 7u, 9u}) {
            vmem::reserve_options o;
            o.alignment = granularity() << shift;
            vmem::reservation r(granularity(), o);
            BOOST_TEST(reinterpret_cast<std::uintptr_t>(r.base()) % o.alignment == 0u);
            r.commit(r.base(), r.size(), vmem::access::read_write);
            BOOST_TEST(all_equal(r.base(), r.size(), 0));
        }
    }
    BOOST_TEST(vmem::query_capabilities().native_aligned_reserve == native);
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

// The index of reservations splits into leaves as it grows: reservations made in ascending order
// of address, more than one leaf holds, are each found by their base (the OS hands out addresses
// top down, so only exact placement makes them ascend).
BOOST_AUTO_TEST_CASE(many_reservations_made_in_ascending_order_are_each_found) {
    const std::size_t n = 300;
    std::error_code ec;
    auto* const region = static_cast<unsigned char*>(vmem::reserve(n * granularity()));
    vmem::release(region);
    std::vector<void*> bases;
    vmem::reserve_options o;
    o.at = vmem::placement::exact;
    for (std::size_t i = 0; i < n; ++i) {
        o.address = region + i * granularity();
        void* const base = vmem::reserve(granularity(), o, ec);
        BOOST_REQUIRE_MESSAGE(base != nullptr, "exact reserve " << i << ": " << ec.message());
        bases.push_back(base);
    }
    std::size_t not_found = 0;
    for (void* const base : bases) {
        vmem::commit(base, page(), vmem::access::read_write, ec);
        not_found += ec ? 1 : 0;
    }
    BOOST_TEST(not_found == 0u);
    for (void* const base : bases)
        vmem::release(base);
    BOOST_TEST(vmem_probe::is_unmapped(region, n * granularity()));
}

// Sizes past 2 GiB set the top bit of a 32-bit size_t, where a size held in a signed or a 32-bit
// `long` goes negative. They are reserved, committed at both ends and released as any other: in a
// 32-bit process (linux32, windows32) that is most of the address space, taken for real.
namespace {
std::size_t past_two_gib() {
    return (std::size_t{1} << 31) + granularity();
}
// Whether [base, base + size) lies below the end of the address space, its end representable.
bool addressable(const void* base, std::size_t size) {
    return reinterpret_cast<std::uintptr_t>(base) <= UINTPTR_MAX - size;
}
boost::test_tools::assertion_result more_than_two_gib(utf::test_unit_id) {
    boost::test_tools::assertion_result r(vmem::query_capabilities().address_bits > 31);
    r.message() << "the user address space is 2 GiB or less here";
    return r;
}
} // namespace

BOOST_AUTO_TEST_CASE(a_size_past_two_gibibytes_is_reserved_committed_and_released,
                     *utf::precondition(more_than_two_gib)) {
    const std::size_t size = past_two_gib();
    std::error_code ec;
    vmem::reservation r(size, {}, ec);
    // Wine 8's WoW64 mode places a region of 1.75 GiB or more for a large-address-aware 32-bit
    // program where it runs up to or past 4 GiB (seen: 0x9cfa0000 for 2 GiB + 64 KiB, and
    // 0x7fff0000, ending at 2^32; Windows keeps the top 64 KiB of the space unmapped). vmem gives
    // such a range back: its end is no address, so it could never be found again.
    if (ec == vmem::errc::address_unavailable && sizeof(void*) == 4 && under_wine()) {
        BOOST_TEST_MESSAGE("Wine placed the reservation across the end of the address space; "
                           "refused with address_unavailable");
        BOOST_TEST(r.size() == 0u); // nothing reserved
        return;
    }
    BOOST_TEST_REQUIRE(!ec, ec.message());
    BOOST_TEST(r.size() == size);
    BOOST_TEST_REQUIRE(addressable(r.base(), size),
                       "the reservation at " << r.base() << " wraps past the end");
    unsigned char* const last = bytes(r) + size - page();
    r.commit(r.base(), page(), vmem::access::read_write);
    r.commit(last, page(), vmem::access::read_write);
    fill_pattern(last, page(), 11);
    BOOST_TEST(has_pattern(last, page(), 11));
    BOOST_TEST(r.committed_bytes() == 2 * page());
    BOOST_TEST(!vmem_probe::can_read(last - page()));
    r.decommit(last, page());
    BOOST_TEST(!vmem_probe::can_read(last));
    BOOST_TEST(r.committed_bytes() == page());
    void* const base = r.base();
    r.release();
    BOOST_TEST(vmem_probe::is_unmapped(base, size));
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

// vmem's bookkeeping comes from the OS, never from the heap (vmem::testing::bookkeeping_bytes
// counts it). A reservation costs the same whatever its size; committed runs add a little each;
// release gives it all back. The heap, as the test's operator new counts it, does not change
// across any of vmem's noexcept calls. (Where vmem is a DLL with its own operator new, the count
// cannot see vmem; the bookkeeping figures still can.)
BOOST_AUTO_TEST_CASE(one_tebibyte_costs_vmem_a_few_hundred_bytes_until_used,
                     *utf::precondition(needs_64_bit)) {
    std::error_code ec;
    bool heap_changed = false;
    std::size_t heap = vmem_probe::heap_bytes_in_use();
    // Runs one of vmem's noexcept calls and notes whether the heap moved during it.
    const auto heap_free = [&](auto&& call) {
        heap = vmem_probe::heap_bytes_in_use();
        call();
        heap_changed = heap_changed || vmem_probe::heap_bytes_in_use() != heap;
    };
    const std::size_t book_before = vmem::testing::bookkeeping_bytes();

    void* small = nullptr;
    heap_free([&] { small = vmem::reserve(page(), {}, ec); });
    BOOST_TEST_REQUIRE(!ec, ec.message());
    const std::size_t small_cost = vmem::testing::bookkeeping_bytes() - book_before;
    heap_free([&] { vmem::release(small, ec); });
    BOOST_TEST(vmem::testing::bookkeeping_bytes() == book_before);

    vmem::reservation r;
    heap_free([&] { r = vmem::reservation(tib, {}, ec); });
    BOOST_TEST_REQUIRE(!ec, ec.message());
    BOOST_TEST(r.size() == tib);
    BOOST_TEST(r.committed_bytes() == 0u);
    const std::size_t reserved = vmem::testing::bookkeeping_bytes() - book_before;
    // Use a page at each end and in the middle: three separate committed runs.
    for (std::size_t off : {std::size_t{0}, tib / 2, tib - page()}) {
        heap_free([&] { r.commit(bytes(r) + off, 1, vmem::access::read_write, ec); });
        BOOST_TEST_REQUIRE(!ec, ec.message());
        bytes(r)[off] = 1;
    }
    heap_free([&] { r.protect(bytes(r) + tib / 2, page(), vmem::access::read, ec); });
    heap_free([&] { vmem::commit(bytes(r) + page(), page(), vmem::access::read_write, ec); });
    heap_free([&] { vmem::decommit(bytes(r) + page(), page(), ec); });
    const std::size_t used = vmem::testing::bookkeeping_bytes() - book_before;
    BOOST_TEST(r.committed_bytes() == 3 * page());
    BOOST_TEST(reserved == small_cost,
               "1 TiB costs " << reserved << " bytes, one page " << small_cost);
    BOOST_TEST(reserved <= 512u, "bookkeeping of the reservation: " << reserved << " bytes");
    BOOST_TEST(used <= reserved + 3 * 256u,
               "bookkeeping with three runs committed: " << used << " bytes");
    heap_free([&] { r.release(ec); });
    BOOST_TEST(!ec, ec.message());
    BOOST_TEST(vmem::testing::bookkeeping_bytes() == book_before); // all of it is given back
    BOOST_TEST(!heap_changed, "a noexcept call of vmem's used the heap");
}

BOOST_AUTO_TEST_CASE(one_tebibyte_costs_the_process_almost_no_memory,
                     *utf::precondition(needs_64_bit) * utf::precondition(resident_readable) *
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
