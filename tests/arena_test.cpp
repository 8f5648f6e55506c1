// vmem tests: vmem::arena, the region allocator, and vmem::arena_resource (std::pmr).
#include "common.hpp"

#include <cstdint>
#include <limits>
#include <memory_resource>
#include <new>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

using namespace vmem_test;

static_assert(!std::is_copy_constructible_v<vmem::arena>);
static_assert(!std::is_copy_assignable_v<vmem::arena>);
static_assert(std::is_nothrow_move_constructible_v<vmem::arena>);
static_assert(std::is_nothrow_move_assignable_v<vmem::arena>);
static_assert(std::is_nothrow_default_constructible_v<vmem::arena>);

namespace {

vmem::arena_options step_of(std::size_t step, std::size_t keep = 0) {
    vmem::arena_options o;
    o.commit_step = step;
    o.keep_committed = keep;
    return o;
}

std::uintptr_t address(const void* p) {
    return reinterpret_cast<std::uintptr_t>(p);
}

/// True when [p, p+n) lies inside the arena's reservation.
bool inside(const vmem::arena& a, const void* p, std::size_t n) {
    return a.reservation().contains(p) &&
           a.reservation().contains(bytes(const_cast<void*>(p)) + n - 1);
}

} // namespace

BOOST_AUTO_TEST_SUITE(arena)

BOOST_AUTO_TEST_CASE(every_power_of_two_alignment_is_kept) {
    const std::size_t big = 16 * granularity();
    vmem::arena a(4 * big, step_of(page()));
    std::vector<std::size_t> alignments;
    for (std::size_t al = 1; al <= granularity(); al *= 2)
        alignments.push_back(al);
    alignments.push_back(big);
    unsigned char* previous_end = bytes(a.base());
    for (std::size_t al : alignments) {
        BOOST_TEST_CONTEXT("alignment " << al) {
            a.allocate(1, 1); // the top is now misaligned for every alignment above 1
            ++previous_end;
            unsigned char* p = static_cast<unsigned char*>(a.allocate(3, al));
            BOOST_TEST(address(p) % al == 0u);
            BOOST_TEST(inside(a, p, 3));
            BOOST_TEST(address(p) >= address(previous_end)); // no overlap with what came before
            // The smallest aligned address past the top: no byte of padding is wasted.
            BOOST_TEST(address(p) - address(previous_end) < al);
            BOOST_TEST(vmem_probe::can_write(p));
            BOOST_TEST(vmem_probe::can_write(p + 2));
            previous_end = p + 3;
            BOOST_TEST(a.size() == static_cast<std::size_t>(previous_end - bytes(a.base())));
        }
    }
}

BOOST_AUTO_TEST_CASE(other_alignments_are_refused) {
    vmem::arena a(granularity());
    for (std::size_t al : {std::size_t(0), std::size_t(3), std::size_t(6), std::size_t(24),
                           std::numeric_limits<std::size_t>::max()}) {
        BOOST_TEST_CONTEXT("alignment " << al) {
            std::error_code ec;
            BOOST_TEST(a.allocate(8, al, ec) == nullptr);
            BOOST_TEST(ec == vmem::errc::invalid_alignment);
            BOOST_CHECK_EXCEPTION(a.allocate(8, al), std::system_error,
                                  [](const std::system_error& e) {
                                      return e.code() == vmem::errc::invalid_alignment;
                                  });
            BOOST_TEST(a.size() == 0u);
        }
    }
}

BOOST_AUTO_TEST_CASE(commits_only_as_it_grows_in_steps) {
    const std::size_t step = 4 * page();
    vmem::arena a(64 * page(), step_of(step));
    unsigned char* base = bytes(a.base());
    BOOST_TEST(a.commit_step() == step);
    BOOST_TEST(a.committed() == 0u);
    BOOST_TEST(a.reservation().committed_bytes() == 0u);
    BOOST_TEST(!vmem_probe::can_read(base));

    a.allocate(1);
    BOOST_TEST(a.committed() == step);
    BOOST_TEST(a.reservation().committed_bytes() == step);
    BOOST_TEST(vmem_probe::can_read(base + step - 1));
    BOOST_TEST(!vmem_probe::can_read(base + step));

    a.allocate(step - 1, 1); // fills the step exactly: no further commit
    BOOST_TEST(a.size() == step);
    BOOST_TEST(a.reservation().committed_bytes() == step);

    a.allocate(1, 1); // one byte past: one more step
    BOOST_TEST(a.committed() == 2 * step);
    BOOST_TEST(a.reservation().committed_bytes() == 2 * step);
    BOOST_TEST(vmem_probe::can_write(base + 2 * step - 1));
    BOOST_TEST(!vmem_probe::can_read(base + 2 * step));

    a.allocate(5 * step + 1, 1); // to 6 steps + 2 bytes: commits up to 7 steps
    BOOST_TEST(a.committed() == 7 * step);
    BOOST_TEST(a.reservation().committed_bytes() == 7 * step);
}

BOOST_AUTO_TEST_CASE(the_default_step_is_documented_and_rounded_to_pages) {
    vmem::arena a(4 * vmem::arena::default_commit_step);
    const std::size_t expected = (vmem::arena::default_commit_step + page() - 1) / page() * page();
    BOOST_TEST(a.commit_step() == expected);
    a.allocate(1);
    BOOST_TEST(a.reservation().committed_bytes() == expected);
    vmem::arena odd(16 * page(), step_of(page() + 1, 1));
    BOOST_TEST(odd.commit_step() == 2 * page());
    BOOST_TEST(odd.keep_committed() == page());
}

// By default reset() keeps arena::default_keep_committed (rounded to pages) and decommits the rest;
// in an arena smaller than that, everything.
BOOST_AUTO_TEST_CASE(reset_keeps_the_default_amount_by_default) {
    const std::size_t keep = (vmem::arena::default_keep_committed + page() - 1) / page() * page();
    BOOST_TEST(vmem::arena::default_keep_committed == vmem::arena_options{}.keep_committed);
    vmem::arena big(keep + 4 * vmem::arena::default_commit_step);
    BOOST_TEST(big.keep_committed() == keep);
    big.allocate(keep + 2 * vmem::arena::default_commit_step, 1);
    BOOST_TEST(big.committed() > keep);
    big.reset();
    BOOST_TEST(big.committed() == keep);
    BOOST_TEST(big.reservation().committed_bytes() == keep);
    BOOST_TEST(!vmem_probe::can_read(bytes(big.base()) + keep));
    vmem::arena small(4 * page());
    BOOST_TEST(small.keep_committed() == 4 * page());
    small.allocate(4 * page(), 1);
    small.reset();
    BOOST_TEST(small.committed() == 4 * page());
}

// A step or a keep past the capacity, and not a whole number of pages, is the capacity: rounding
// it up to pages must not carry it past the end of the reservation.
BOOST_AUTO_TEST_CASE(a_step_or_keep_past_the_capacity_is_the_capacity) {
    const std::size_t cap = 4 * page();
    vmem::arena a(cap, step_of(cap + 1, cap + page() + 1));
    BOOST_TEST(a.capacity() == cap);
    BOOST_TEST(a.commit_step() == cap);
    BOOST_TEST(a.keep_committed() == cap);
    a.allocate(1, 1);
    BOOST_TEST(a.committed() == cap);
    a.reset();
    BOOST_TEST(a.reservation().committed_bytes() == cap); // all of it kept
}

BOOST_AUTO_TEST_CASE(on_huge_pages_steps_and_keep_are_whole_huge_pages,
                     *utf::precondition(huge_pages_now)) {
    const std::size_t huge = vmem::query_capabilities().huge_page_size;
    vmem::arena_options o = step_of(page(), page());
    o.huge = vmem::huge_pages::prefer;
    vmem::arena a(8 * huge, o);
    const std::size_t unit = a.reservation().huge_page_status().page_size;
    BOOST_TEST_REQUIRE(unit > page());
    BOOST_TEST(a.commit_step() == unit);
    BOOST_TEST(a.keep_committed() == unit);
    a.allocate(1, 1);
    BOOST_TEST(a.reservation().committed_bytes() == unit);
}

BOOST_AUTO_TEST_CASE(a_full_arena_gives_a_clear_error_and_stays_usable) {
    const std::size_t cap = 4 * page();
    vmem::arena a(cap, step_of(page()));
    BOOST_TEST(a.capacity() == cap);
    const vmem::arena::marker start = a.mark();
    void* all = a.allocate(cap - 1, 1);
    BOOST_TEST(all == a.base());
    std::error_code ec;
    BOOST_TEST(a.allocate(2, 1, ec) == nullptr); // one byte too many
    BOOST_TEST(ec == std::errc::not_enough_memory);
    BOOST_TEST(a.size() == cap - 1);
    BOOST_CHECK_THROW(a.allocate(2, 1), std::bad_alloc);
    void* last = a.allocate(1, 1, ec); // exactly full
    BOOST_TEST(!ec);
    BOOST_TEST(address(last) == address(a.base()) + cap - 1);
    BOOST_TEST(a.remaining() == 0u);
    BOOST_TEST(a.allocate(1, 1, ec) == nullptr);
    BOOST_TEST(ec == std::errc::not_enough_memory);
    BOOST_TEST(a.allocate(0, 1, ec) == nullptr); // zero bytes take one
    BOOST_TEST(ec == std::errc::not_enough_memory);
    BOOST_TEST(a.size() == cap);

    a.rewind(start);
    BOOST_TEST(a.allocate(cap, 1) == a.base());
    a.reset();
    BOOST_TEST(a.allocate(cap, 1) == a.base());
    BOOST_TEST(vmem_probe::can_write(bytes(a.base()) + cap - 1));
}

BOOST_AUTO_TEST_CASE(sizes_that_would_wrap_are_refused) {
    vmem::arena a(16 * page(), step_of(page()));
    a.allocate(5, 1);
    const std::size_t huge = std::numeric_limits<std::size_t>::max();
    for (std::size_t size : {huge, huge - 4, huge - page(), a.remaining() + 1}) {
        for (std::size_t al : {std::size_t(1), std::size_t(64), page()}) {
            BOOST_TEST_CONTEXT("size " << size << ", alignment " << al) {
                std::error_code ec;
                BOOST_TEST(a.allocate(size, al, ec) == nullptr);
                BOOST_TEST(ec == std::errc::not_enough_memory);
                BOOST_CHECK_THROW(a.allocate(size, al), std::bad_alloc);
                BOOST_TEST(a.size() == 5u);
                BOOST_TEST(a.committed() == page());
            }
        }
    }
    // An alignment whose padding alone runs past the end: a power of two above the arena's last
    // address, whose first multiple past the top is that power itself. A 32-bit process may hold
    // the arena above the highest power of two (2 GiB): that one's next multiple wraps past the
    // top of the address space, which must be refused the same way.
    std::size_t beyond = 1;
    while (beyond <= address(a.base()) + a.capacity() && beyond <= huge / 2)
        beyond *= 2;
    std::error_code ec;
    BOOST_TEST(a.allocate(1, beyond, ec) == nullptr);
    BOOST_TEST(ec == std::errc::not_enough_memory);
    BOOST_TEST(a.size() == 5u);
}

BOOST_AUTO_TEST_CASE(zero_bytes_give_a_unique_non_null_pointer) {
    vmem::arena a(granularity());
    void* p = a.allocate(0, 1);
    void* q = a.allocate(0, 1);
    BOOST_TEST(p != nullptr);
    BOOST_TEST(q != nullptr);
    BOOST_TEST(p != q);
    BOOST_TEST(a.size() == 2u);
}

BOOST_AUTO_TEST_CASE(rewind_gives_the_same_addresses_again_and_keeps_commits) {
    vmem::arena a(64 * page(), step_of(page()));
    a.allocate(10, 1);
    const vmem::arena::marker m = a.mark();
    BOOST_TEST(m.offset == 10u);
    void* p1 = a.allocate(100, 16);
    void* p2 = a.allocate(3 * page(), 64);
    void* p3 = a.allocate(7, 1);
    const std::size_t committed = a.committed();
    a.rewind(m);
    BOOST_TEST(a.size() == 10u);
    BOOST_TEST(a.committed() == committed);
    BOOST_TEST(a.reservation().committed_bytes() == committed);
    BOOST_TEST(a.allocate(100, 16) == p1);
    BOOST_TEST(a.allocate(3 * page(), 64) == p2);
    BOOST_TEST(a.allocate(7, 1) == p3);
}

BOOST_AUTO_TEST_CASE(rewind_to_a_mark_above_the_top_is_refused) {
    vmem::arena a(granularity());
    a.allocate(100, 1);
    const vmem::arena::marker high = a.mark();
    a.rewind(vmem::arena::marker{});
    std::error_code ec;
    a.rewind(high, ec);
    BOOST_TEST(ec == vmem::errc::outside_reservation);
    BOOST_TEST(a.size() == 0u);
    BOOST_CHECK_THROW(a.rewind(high), std::system_error);
}

BOOST_AUTO_TEST_CASE(reset_keeps_what_it_should_and_decommits_the_rest) {
    const std::size_t keep = 2 * page();
    const std::size_t size = 8 * page();
    vmem::arena a(32 * page(), step_of(page(), keep));
    unsigned char* base = bytes(a.base());
    void* p = a.allocate(size, 1);
    fill_pattern(p, size, 3);
    BOOST_TEST(a.committed() == size);
    const auto before = vmem_probe::resident_bytes(base, size);
    a.reset();
    BOOST_TEST(a.size() == 0u);
    BOOST_TEST(a.committed() == keep);
    BOOST_TEST(a.reservation().committed_bytes() == keep);
    // Observed through the OS: the kept pages are readable, the rest reserved again.
    BOOST_TEST(vmem_probe::can_read(base));
    BOOST_TEST(vmem_probe::can_read(base + keep - 1));
    BOOST_TEST(!vmem_probe::can_read(base + keep));
    BOOST_TEST(!vmem_probe::can_read(base + size - 1));
    if (before && *before == size) {
        const auto after = vmem_probe::resident_bytes(base + keep, size - keep);
        BOOST_TEST_REQUIRE(after.has_value());
        BOOST_TEST(*after == 0u);
    }
    // The next frame gets the same memory back, committed again as it grows.
    BOOST_TEST(a.allocate(size, 1) == p);
    BOOST_TEST(a.committed() == size);
    BOOST_TEST(vmem_probe::can_write(base + size - 1));
}

BOOST_AUTO_TEST_CASE(reset_with_nothing_kept_decommits_everything) {
    vmem::arena a(32 * page(), step_of(page()));
    a.allocate(5 * page(), 1);
    a.reset();
    BOOST_TEST(a.committed() == 0u);
    BOOST_TEST(a.reservation().committed_bytes() == 0u);
    BOOST_TEST(!vmem_probe::can_read(a.base()));
}

BOOST_AUTO_TEST_CASE(reset_below_the_kept_amount_decommits_nothing) {
    vmem::arena a(32 * page(), step_of(page(), 8 * page()));
    a.allocate(3 * page(), 1);
    a.reset();
    BOOST_TEST(a.committed() == 3 * page());
    BOOST_TEST(vmem_probe::can_read(bytes(a.base()) + 3 * page() - 1));
}

BOOST_AUTO_TEST_CASE(prefault_makes_the_pages_resident, *utf::precondition(resident_readable)) {
    const std::size_t step = 16 * page();
    vmem::arena_options o = step_of(step);
    o.prefault = true;
    vmem::arena populated(4 * step, o);
    vmem::arena plain(4 * step, step_of(step));
    populated.allocate(1, 1);
    plain.allocate(1, 1);
    const auto resident = vmem_probe::resident_bytes(populated.base(), step);
    const auto fresh = vmem_probe::resident_bytes(plain.base(), step);
    BOOST_TEST_REQUIRE((resident && fresh));
    BOOST_TEST(*resident == step);
    BOOST_TEST(*fresh == 0u, "fresh pages were resident without prefault: the test shows nothing");
}

BOOST_AUTO_TEST_CASE(moves_like_a_reservation) {
    vmem::arena a(granularity(), step_of(page()));
    void* p = a.allocate(64);
    vmem::arena b(std::move(a));
    BOOST_TEST(b.base() == p);
    BOOST_TEST(b.size() == 64u);
    BOOST_TEST(b.committed() == page());
    BOOST_TEST(a.capacity() == 0u);
    BOOST_TEST(a.base() == nullptr);
    std::error_code ec;
    BOOST_TEST(a.allocate(1, 1, ec) == nullptr);
    BOOST_TEST(ec == vmem::errc::empty_reservation);
    BOOST_CHECK_THROW(a.allocate(1, 1), std::system_error);

    vmem::arena c(granularity());
    void* old = c.base();
    c = std::move(b);
    BOOST_TEST(c.base() == p);
    BOOST_TEST(b.base() == nullptr);
    BOOST_TEST(is_free(old, granularity())); // move assignment released c's own reservation
    BOOST_TEST(vmem_probe::can_write(p));

    // Whichever of the two lies lower in memory.
    vmem::arena pair[2] = {vmem::arena(granularity()), vmem::arena(granularity())};
    void* const second = pair[1].base();
    pair[0] = std::move(pair[1]);
    BOOST_TEST(pair[0].base() == second);
    BOOST_TEST(pair[1].base() == nullptr);
    pair[1] = std::move(pair[0]);
    BOOST_TEST(pair[1].base() == second);
    BOOST_TEST(pair[0].base() == nullptr);

    // swap, found by argument-dependent lookup (and linkable from a shared vmem too).
    vmem::arena d(granularity());
    void* other = d.base();
    swap(c, d);
    BOOST_TEST(c.base() == other);
    BOOST_TEST(d.base() == p);
    BOOST_TEST(d.size() == 64u);
}

BOOST_AUTO_TEST_CASE(construction_errors_are_reserve_errors) {
    std::error_code ec;
    vmem::arena a(0, {}, ec);
    BOOST_TEST(ec == vmem::errc::zero_size);
    BOOST_TEST(a.capacity() == 0u);
    BOOST_CHECK_THROW(vmem::arena(0), std::system_error);
}

BOOST_AUTO_TEST_SUITE(pmr)

BOOST_AUTO_TEST_CASE(vectors_and_strings_grow_inside_the_arena) {
    vmem::arena a(std::size_t(64) << 20);
    vmem::arena_resource r(a);
    std::pmr::vector<int> v(&r);
    for (int i = 0; i < 200000; ++i)
        v.push_back(i);
    BOOST_TEST(inside(a, v.data(), v.size() * sizeof(int)));
    BOOST_TEST(v[123456] == 123456);
    std::pmr::string s(&r);
    for (int i = 0; i < 1000; ++i)
        s += "arena ";
    BOOST_TEST(inside(a, s.data(), s.size()));
    std::pmr::vector<std::pmr::string> strings(&r);
    strings.emplace_back(300, 'x'); // the element gets the same resource (uses-allocator)
    BOOST_TEST(inside(a, strings.front().data(), 300));
    BOOST_TEST(a.size() > 200000 * sizeof(int));
}

BOOST_AUTO_TEST_CASE(deallocating_the_last_allocation_frees_it) {
    vmem::arena a(granularity());
    vmem::arena_resource r(a);
    void* keep = r.allocate(32, 8);
    void* p = r.allocate(64, 16);
    r.deallocate(p, 64, 16);
    BOOST_TEST(a.size() == 32u);
    BOOST_TEST(r.allocate(64, 16) == p);
    r.deallocate(keep, 32, 8); // not the last: nothing happens
    BOOST_TEST(a.size() == 96u);
}

BOOST_AUTO_TEST_CASE(a_full_arena_throws_bad_alloc) {
    vmem::arena a(4 * page());
    vmem::arena_resource r(a);
    std::pmr::vector<char> v(&r);
    BOOST_CHECK_THROW(v.resize(8 * page()), std::bad_alloc);
    BOOST_TEST(v.empty());
}

BOOST_AUTO_TEST_CASE(resources_over_one_arena_are_equal) {
    vmem::arena a(granularity());
    vmem::arena b(granularity());
    vmem::arena_resource ra(a), ra2(a), rb(b);
    BOOST_TEST(ra.is_equal(ra));
    BOOST_TEST(ra.is_equal(ra2));
    BOOST_TEST(!ra.is_equal(rb));
    BOOST_TEST(!ra.is_equal(*std::pmr::new_delete_resource()));
    BOOST_TEST(&ra.arena() == &a);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()
