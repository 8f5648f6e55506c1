// vmem tests: guarded blocks and stacks — the guard is where it is said to be, and costs no
// mapping where the OS allows.
#include "common.hpp"
#include "support/allocation_counter.hpp"

#include <ios>
#include <limits>
#include <optional>
#include <vector>

using namespace vmem_test;

namespace {

// True when every page of [p, p+n) faults on read and write, and is a guard page: vmem refuses to
// commit it with errc::guard_page (a refused commit changes nothing). A page that merely lies
// outside any reservation, or is reserved but not guarded, fails this.
bool guarded_throughout(unsigned char* p, std::size_t n) {
    for (std::size_t off = 0; off < n; off += page()) {
        for (unsigned char* b : {p + off, p + off + page() - 1}) {
            if (vmem_probe::can_read(b) || vmem_probe::can_write(b))
                return false;
            std::error_code ec;
            vmem::commit(b, 1, vmem::access::read_write, ec);
            if (ec != vmem::errc::guard_page)
                return false;
        }
    }
    return true;
}

// Writes and reads back every page of [p, p+n): its first and last byte, and a pattern through
// the whole.
bool usable_throughout(unsigned char* p, std::size_t n, unsigned seed) {
    for (std::size_t off = 0; off < n; off += page())
        if (!vmem_probe::can_write(p + off) || !vmem_probe::can_write(p + off + page() - 1))
            return false;
    fill_pattern(p, n, seed);
    return has_pattern(p, n, seed);
}

const std::size_t huge = std::numeric_limits<std::size_t>::max();

} // namespace

BOOST_AUTO_TEST_SUITE(guarded)

BOOST_AUTO_TEST_CASE(by_default_one_guard_page_after_the_block) {
    vmem::guarded_block b(3 * page() + 1); // rounded up to whole pages
    BOOST_TEST_REQUIRE(static_cast<bool>(b));
    BOOST_TEST(b.size() == 4 * page());
    BOOST_TEST(b.guard_size() == page());
    BOOST_TEST((b.side() == vmem::guard_side::after));
    BOOST_TEST(b.data() == b.reservation_base(), "a guard below the block too");
    BOOST_TEST(b.reservation_size() == b.size() + page());
    BOOST_TEST(b.end() == b.begin() + b.size());
    BOOST_TEST(all_equal(b.data(), b.size(), 0));
    BOOST_TEST(usable_throughout(b.begin(), b.size(), 1));
    BOOST_TEST(!vmem_probe::can_read(b.end()), "the byte just after the block is readable");
    BOOST_TEST(!vmem_probe::can_write(b.end()));
    BOOST_TEST(guarded_throughout(b.end(), b.guard_size()));
}

BOOST_AUTO_TEST_CASE(a_guard_before_the_block_faults_just_before_it) {
    vmem::guarded_block b(2 * page(), {vmem::guard_side::before});
    BOOST_TEST(b.size() == 2 * page());
    BOOST_TEST(b.begin() == bytes(b.reservation_base()) + page());
    BOOST_TEST(b.reservation_size() == b.size() + page(), "a guard after the block too");
    BOOST_TEST(usable_throughout(b.begin(), b.size(), 2));
    BOOST_TEST(!vmem_probe::can_read(b.begin() - 1), "the byte just before the block is readable");
    BOOST_TEST(!vmem_probe::can_write(b.begin() - 1));
    BOOST_TEST(guarded_throughout(b.begin() - b.guard_size(), b.guard_size()));
}

BOOST_AUTO_TEST_CASE(guards_on_both_sides) {
    vmem::guarded_block b(page(), {vmem::guard_side::both});
    BOOST_TEST(b.reservation_size() == b.size() + 2 * page());
    BOOST_TEST(usable_throughout(b.begin(), b.size(), 3));
    BOOST_TEST(guarded_throughout(b.begin() - page(), page()));
    BOOST_TEST(guarded_throughout(b.end(), page()));
}

BOOST_AUTO_TEST_CASE(guards_of_several_pages_fault_throughout) {
    for (std::size_t pages : {2u, 3u, 5u}) {
        BOOST_TEST_CONTEXT("guard of " << pages << " pages") {
            vmem::guarded_block b(3 * page(), {vmem::guard_side::both, pages});
            BOOST_TEST(b.guard_size() == pages * page());
            BOOST_TEST(b.reservation_size() == b.size() + 2 * pages * page());
            BOOST_TEST(b.begin() == bytes(b.reservation_base()) + pages * page());
            BOOST_TEST(usable_throughout(b.begin(), b.size(), 4));
            BOOST_TEST(guarded_throughout(b.begin() - b.guard_size(), b.guard_size()));
            BOOST_TEST(guarded_throughout(b.end(), b.guard_size()));
        }
    }
}

BOOST_AUTO_TEST_CASE(a_prefaulted_block_is_resident_and_usable) {
    const std::size_t n = 16 * page();
    vmem::guarded_block b(n, {vmem::guard_side::after, 1, true});
    if (const auto resident = vmem_probe::resident_bytes(b.data(), n))
        BOOST_TEST(*resident == n);
    else
        BOOST_TEST_MESSAGE("residency cannot be read here; checking the contents only");
    BOOST_TEST(all_equal(b.data(), n, 0));
    BOOST_TEST(usable_throughout(b.begin(), n, 5));
    BOOST_TEST(guarded_throughout(b.end(), page()));
}

BOOST_AUTO_TEST_CASE(a_stack_has_its_guard_below_and_grows_down_from_top) {
    vmem::guarded_stack s(16 * 1024, {2});
    BOOST_TEST_REQUIRE(static_cast<bool>(s));
    BOOST_TEST(s.size() >= 16u * 1024u);
    BOOST_TEST(s.size() % page() == 0u);
    BOOST_TEST(bytes(s.top()) == bytes(s.bottom()) + s.size());
    BOOST_TEST((s.block().side() == vmem::guard_side::before));
    BOOST_TEST(s.guard_size() == 2 * page());
    // Push from the top down, as a stack grows, then overflow by one byte: it faults.
    BOOST_TEST(vmem_probe::can_write(bytes(s.top()) - 1));
    BOOST_TEST(usable_throughout(bytes(s.bottom()), s.size(), 6));
    BOOST_TEST(!vmem_probe::can_write(bytes(s.bottom()) - 1), "a stack overflow did not fault");
    BOOST_TEST(guarded_throughout(bytes(s.bottom()) - s.guard_size(), s.guard_size()));
    BOOST_TEST(bytes(s.top()) == bytes(s.block().reservation_base()) + s.block().reservation_size(),
               "room above the stack's top");
}

BOOST_AUTO_TEST_CASE(move_only_and_released_on_destruction) {
    void* base = nullptr;
    std::size_t size = 0;
    {
        vmem::guarded_block a(2 * page(), {vmem::guard_side::both});
        base = a.reservation_base();
        size = a.reservation_size();
        void* data = a.data();
        vmem::guarded_block b(std::move(a));
        BOOST_TEST(!a);
        BOOST_TEST(a.data() == nullptr);
        BOOST_TEST(a.size() == 0u);
        BOOST_TEST(a.guard_size() == 0u);
        BOOST_TEST(b.data() == data);
        vmem::guarded_block c(page());
        void* c_base = c.reservation_base();
        c = std::move(b); // releases what c held
        BOOST_TEST(vmem_probe::is_unmapped(c_base, page()), "move assignment leaked");
        BOOST_TEST(c.data() == data);
        BOOST_TEST(!b);
        BOOST_TEST(guarded_throughout(c.end(), page()));
        vmem::guarded_stack s(page());
        vmem::guarded_stack t(std::move(s));
        BOOST_TEST(!s);
        BOOST_TEST(static_cast<bool>(t));
        t.release();
        BOOST_TEST(!t);
        std::error_code ec;
        t.release(ec);
        BOOST_TEST(ec == vmem::errc::empty_reservation);
    }
    BOOST_TEST(vmem_probe::is_unmapped(base, size), "the destructor left the block reserved");
}

BOOST_AUTO_TEST_CASE(bad_input_is_refused_and_reserves_nothing) {
    struct bad {
        std::size_t size;
        vmem::guarded_options options;
        vmem::errc expected;
    };
    const std::size_t over = huge / page() + 1; // guard pages whose bytes wrap
    const bad cases[] = {
        {0, {}, vmem::errc::zero_size},
        {page(), {vmem::guard_side::after, 0}, vmem::errc::zero_size},
        {huge, {}, vmem::errc::size_overflow},
        {huge - page() + 2, {}, vmem::errc::size_overflow}, // wraps when rounded
        {huge - page() + 1, {}, vmem::errc::size_overflow}, // the block fits, its guard does not
        {page(), {vmem::guard_side::after, over}, vmem::errc::size_overflow},
        {page(), {vmem::guard_side::both, huge / page() / 2 + 1}, vmem::errc::size_overflow},
        {page(), {static_cast<vmem::guard_side>(3)}, vmem::errc::invalid_option},
        {page(), {static_cast<vmem::guard_side>(-1)}, vmem::errc::invalid_option},
    };
    const auto space = vmem_probe::address_space_in_use();
    for (const bad& c : cases) {
        BOOST_TEST_CONTEXT("size " << c.size << ", side " << static_cast<int>(c.options.side)
                                   << ", guard pages " << c.options.guard_pages) {
            std::error_code ec = make_error_code(std::errc::interrupted);
            vmem::guarded_block b(c.size, c.options, ec);
            BOOST_TEST(ec == c.expected);
            BOOST_TEST(ec == std::errc::invalid_argument);
            BOOST_TEST(!b);
            BOOST_TEST(b.data() == nullptr);
            BOOST_TEST(b.reservation_base() == nullptr);
            BOOST_CHECK_EXCEPTION(
                vmem::guarded_block(c.size, c.options), std::system_error,
                [&](const std::system_error& e) { return e.code() == c.expected; });
        }
    }
    std::error_code ec;
    vmem::guarded_stack s(0, {}, ec);
    BOOST_TEST(ec == vmem::errc::zero_size);
    BOOST_TEST(!s);
    BOOST_CHECK_EXCEPTION(
        vmem::guarded_stack(page(), {0}), std::system_error,
        [](const std::system_error& e) { return e.code() == vmem::errc::zero_size; });
    if (space)
        BOOST_TEST(*vmem_probe::address_space_in_use() == *space,
                   "a refused block stayed reserved");
}

BOOST_AUTO_TEST_CASE(the_noexcept_forms_hold_no_heap) {
    const std::size_t heap = vmem_probe::heap_bytes_in_use();
    std::error_code ec;
    {
        vmem::guarded_block b(4 * page(), {vmem::guard_side::both, 2, true}, ec);
        vmem::guarded_stack s(4 * page(), {}, ec);
        vmem::guarded_block bad(0, {}, ec);
        vmem::guarded_block moved(std::move(b));
        BOOST_TEST(vmem_probe::heap_bytes_in_use() == heap, "a live block holds heap memory");
        moved.release(ec);
        s.release(ec);
    }
    BOOST_TEST(vmem_probe::heap_bytes_in_use() == heap);
}

BOOST_AUTO_TEST_CASE(a_failed_guard_releases_everything) {
    const auto space = vmem_probe::address_space_in_use();
    vmem::testing::fail_os_call(vmem::testing::os_call::guard,
                                std::make_error_code(std::errc::not_enough_memory));
    std::error_code ec;
    vmem::guarded_block b(4 * page(), {vmem::guard_side::both}, ec);
    vmem::testing::clear_os_call_failures();
    BOOST_TEST(ec == std::errc::not_enough_memory);
    BOOST_TEST(!b);
    if (space)
        BOOST_TEST(*vmem_probe::address_space_in_use() == *space, "a failed block stayed reserved");
    else
        BOOST_TEST_MESSAGE("the address space in use cannot be read here");
}

BOOST_AUTO_TEST_CASE(thousands_of_stacks_cost_a_mapping_each_at_most) {
    // 5000 stacks of 16 KiB, each with a guard page below. Where guard pages are free of
    // mappings (Linux 6.13+) each stack is one mapping (adjacent ones may merge); elsewhere on
    // Linux the guard splits it off (at most three mappings with guards on both sides).
    const std::size_t stacks = 5000;
    const vmem::capabilities caps = vmem::query_capabilities();
    std::vector<vmem::guarded_stack> all;
    all.reserve(stacks);
    for (std::size_t i = 0; i < stacks; ++i) {
        std::error_code ec;
        all.emplace_back(16 * 1024, vmem::stack_options{}, ec);
        BOOST_TEST_REQUIRE(!ec, "stack " << i << ": " << ec.message());
    }
    const vmem::capabilities full = vmem::query_capabilities();
    // Every stack works and faults below its bottom (checking every tenth keeps it quick).
    for (std::size_t i = 0; i < stacks; i += 10) {
        unsigned char* bottom = bytes(all[i].bottom());
        bottom[0] = 1;
        bytes(all[i].top())[-1] = 2;
        BOOST_TEST_REQUIRE(!vmem_probe::can_read(bottom - 1), "stack " << i << " unguarded");
    }
    if (caps.max_map_count == 0) {
        BOOST_TEST_MESSAGE("no mapping limit here: " << stacks << " guarded stacks made");
        return;
    }
    // Signed: merging with the mappings around them can even lower the count.
    const long long grown =
        static_cast<long long>(full.map_count) - static_cast<long long>(caps.map_count);
    BOOST_TEST_MESSAGE("mappings for " << stacks << " guarded stacks: " << caps.map_count << " -> "
                                       << full.map_count << " (" << std::showpos << grown
                                       << std::noshowpos << ", limit " << caps.max_map_count
                                       << "; guard pages free of mappings: "
                                       << (caps.guard_pages_free ? "yes" : "no") << ")");
    if (caps.guard_pages_free)
        BOOST_TEST(full.map_count <= caps.map_count + stacks);
    else
        BOOST_TEST(full.map_count <= caps.map_count + 3 * stacks);
    void* const first = all.front().block().reservation_base();
    void* const last = all.back().block().reservation_base();
    const std::size_t each = all.front().block().reservation_size();
    all.clear();
    // What stays is vmem's own bookkeeping (the pages its records live in), no longer merged
    // with the stacks around it.
    BOOST_TEST_MESSAGE("mappings after releasing them: " << vmem::query_capabilities().map_count);
    BOOST_TEST(vmem_probe::is_unmapped(first, each));
    BOOST_TEST(vmem_probe::is_unmapped(last, each));
}

BOOST_AUTO_TEST_SUITE_END()
