// vmem tests: guard pages — fault for good, cost no mapping where the OS allows.
#include "common.hpp"

#include <fstream>
#include <optional>
#include <string>

using namespace vmem_test;

namespace {

// The process's mappings, counted by the test itself (Linux /proc/self/maps); empty elsewhere.
std::optional<std::size_t> mappings() {
    std::ifstream maps("/proc/self/maps");
    if (!maps)
        return std::nullopt;
    std::size_t n = 0;
    for (std::string line; std::getline(maps, line);)
        ++n;
    return n;
}

boost::test_tools::assertion_result mappings_countable(utf::test_unit_id) {
    // A mapping limit is where a mapping costs something (Linux); under Wine /proc/self/maps
    // would show Wine's own mappings, not Windows' regions.
    boost::test_tools::assertion_result r(vmem::query_capabilities().max_map_count != 0 &&
                                          mappings().has_value());
    r.message() << "no kernel mapping limit to count against here (Linux only)";
    return r;
}

} // namespace

BOOST_AUTO_TEST_SUITE(guard)

BOOST_AUTO_TEST_CASE(guard_pages_fault_and_neighbours_keep_working) {
    vmem::reservation r(4 * page());
    r.commit(r.base(), r.size(), vmem::access::read_write);
    fill_pattern(r.base(), r.size(), 9);
    r.guard(bytes(r) + page(), page());
    BOOST_TEST(!vmem_probe::can_read(bytes(r) + page()));
    BOOST_TEST(!vmem_probe::can_read(bytes(r) + 2 * page() - 1));
    BOOST_TEST(has_pattern(r.base(), page(), 9));
    BOOST_TEST(vmem_probe::can_write(bytes(r) + 2 * page()));
    BOOST_TEST(r.committed_bytes() == 3 * page(), "a guard page still counted as committed");
    // Still faulting later, not once (never PAGE_GUARD's one-shot).
    BOOST_TEST(!vmem_probe::can_read(bytes(r) + page()));
}

BOOST_AUTO_TEST_CASE(reserved_pages_can_be_guards) {
    vmem::reservation r(3 * page());
    vmem::guard(bytes(r) + page(), page());
    r.commit(r.base(), page(), vmem::access::read_write);
    r.commit(bytes(r) + 2 * page(), page(), vmem::access::read_write);
    BOOST_TEST(vmem_probe::can_write(r.base()));
    BOOST_TEST(!vmem_probe::can_read(bytes(r) + page()));
    BOOST_TEST(vmem_probe::can_write(bytes(r) + 2 * page()));
    BOOST_TEST(r.committed_bytes() == 2 * page());
}

BOOST_AUTO_TEST_CASE(commit_protect_discard_and_lock_refuse_guard_pages) {
    vmem::reservation r(3 * page());
    r.commit(r.base(), r.size(), vmem::access::read_write);
    r.guard(bytes(r) + page(), page());
    std::error_code ec;
    r.commit(r.base(), r.size(), vmem::access::read_write, ec);
    BOOST_TEST(ec == vmem::errc::guard_page);
    r.commit(bytes(r) + page(), page(), vmem::access::read_write, ec); // the guard page alone
    BOOST_TEST(ec == vmem::errc::guard_page);
    r.protect(r.base(), r.size(), vmem::access::read, ec);
    BOOST_TEST(ec == vmem::errc::guard_page);
    r.protect(bytes(r) + page(), page(), vmem::access::read_write, ec);
    BOOST_TEST(ec == vmem::errc::guard_page);
    r.discard(bytes(r) + page(), page(), ec);
    BOOST_TEST(ec == vmem::errc::guard_page);
    r.lock(bytes(r) + page(), page(), ec);
    BOOST_TEST(ec == vmem::errc::guard_page);
    r.commit(bytes(r) + page(), page(), vmem::access::read_write, vmem::commit_options{true}, ec);
    BOOST_TEST(ec == vmem::errc::guard_page);
    BOOST_TEST(!vmem_probe::can_read(bytes(r) + page()), "a refused call lifted the guard");
    BOOST_TEST(vmem_probe::can_write(r.base()), "a refused protect changed a neighbour");
    BOOST_TEST(vmem_probe::can_write(bytes(r) + 2 * page()));
    BOOST_TEST(r.committed_bytes() == 2 * page());
}

BOOST_AUTO_TEST_CASE(decommit_turns_guard_pages_back_into_reserved_pages) {
    vmem::reservation r(2 * page());
    r.commit(r.base(), r.size(), vmem::access::read_write);
    fill_pattern(r.base(), r.size(), 10);
    r.guard(r.base(), page());
    r.decommit(r.base(), page());
    BOOST_TEST(r.committed_bytes() == page());
    r.commit(r.base(), page(), vmem::access::read_write);
    BOOST_TEST(vmem_probe::can_write(r.base()));
    BOOST_TEST(all_equal(r.base(), page(), 0));
    BOOST_TEST(r.committed_bytes() == 2 * page());
}

BOOST_AUTO_TEST_CASE(a_guard_page_costs_no_mapping_where_the_capabilities_say,
                     *utf::precondition(mappings_countable)) {
    // A guard in the middle of one committed run: with guard markers the run stays one mapping;
    // without them it splits in three.
    vmem::reservation r(5 * page());
    r.commit(r.base(), r.size(), vmem::access::read_write);
    const std::size_t before = *mappings();
    r.guard(bytes(r) + 2 * page(), page());
    const std::size_t after = *mappings();
    const bool free = vmem::query_capabilities().guard_pages_free;
    BOOST_TEST_MESSAGE("mappings: " << before << " -> " << after << " (guard pages free of "
                                    << "mappings: " << (free ? "yes" : "no") << ")");
    if (free)
        BOOST_TEST(after == before);
    else
        BOOST_TEST(after == before + 2); // one mapping split in three
    BOOST_TEST(!vmem_probe::can_read(bytes(r) + 2 * page()));
}

// A guard over a range at least as long as its own address (a low reservation, guarded whole):
// every page of it becomes a guard, the last as much as the first.
BOOST_AUTO_TEST_CASE(a_guard_longer_than_its_address_guards_all_of_it,
                     *utf::precondition(low_address_free)) {
    vmem::reservation r = reserve_low();
    unsigned char* last = bytes(r) + r.size() - page();
    r.commit(r.base(), page(), vmem::access::read_write);
    r.commit(last, page(), vmem::access::read_write);
    std::error_code ec;
    r.guard(r.base(), r.size(), ec);
    BOOST_TEST(!ec, ec.message());
    BOOST_TEST(!vmem_probe::can_read(r.base()));
    BOOST_TEST(!vmem_probe::can_read(last));
    BOOST_TEST(r.committed_bytes() == 0u);
    r.commit(last, page(), vmem::access::read_write, ec); // the whole range is guards now
    BOOST_TEST(ec == vmem::errc::guard_page, ec.message());
}

BOOST_AUTO_TEST_CASE(a_refused_guard_changes_nothing) {
    vmem::reservation r(3 * page());
    r.commit(r.base(), r.size(), vmem::access::read_write);
    fill_pattern(r.base(), r.size(), 11);
    vmem::testing::fail_os_call(vmem::testing::os_call::guard,
                                std::make_error_code(std::errc::not_enough_memory));
    std::error_code ec;
    r.guard(bytes(r) + page(), page(), ec);
    vmem::testing::clear_os_call_failures();
    BOOST_TEST(ec == std::errc::not_enough_memory);
    BOOST_TEST(has_pattern(r.base(), r.size(), 11));
    BOOST_TEST(r.committed_bytes() == 3 * page());
    // The bookkeeping was not changed either: protect is still allowed over the page.
    r.protect(bytes(r) + page(), page(), vmem::access::read, ec);
    BOOST_TEST(!ec, ec.message());
}

BOOST_AUTO_TEST_CASE(guarding_locked_pages_unlocks_them_and_keeps_guards_free_of_mappings) {
    vmem::reservation r(4 * page());
    r.commit(r.base(), r.size(), vmem::access::read_write);
    fill_pattern(r.base(), r.size(), 14);
    r.lock(bytes(r) + page(), page());
    std::error_code ec;
    r.guard(r.base(), 3 * page(), ec); // Linux refuses guard markers on a locked mapping
    BOOST_TEST_REQUIRE(!ec, ec.message());
    for (std::size_t i = 0; i < 3; ++i)
        BOOST_TEST(!vmem_probe::can_read(bytes(r) + i * page()), "page " << i << " readable");
    BOOST_TEST(vmem_probe::can_write(bytes(r) + 3 * page()));
    BOOST_TEST(r.committed_bytes() == page());
    // The refusal on a locked range must not be taken for a kernel without guard markers: a
    // later guard still costs no mapping where the capabilities say so.
    const vmem::capabilities after = vmem::query_capabilities();
    if (after.max_map_count != 0 && mappings()) {
        vmem::reservation s(5 * page());
        s.commit(s.base(), s.size(), vmem::access::read_write);
        const std::size_t before = *mappings();
        s.guard(bytes(s) + 2 * page(), page());
        BOOST_TEST(*mappings() == before + (after.guard_pages_free ? 0 : 2));
    }
}

BOOST_AUTO_TEST_CASE(guard_and_decommit_over_mixed_ranges_count_committed_bytes_right) {
    vmem::reservation r(6 * page());
    r.commit(r.base(), 4 * page(), vmem::access::read_write);
    r.guard(bytes(r) + page(), page());
    BOOST_TEST(r.committed_bytes() == 3 * page());
    r.guard(r.base(), 3 * page()); // a guard page, committed pages and nothing else
    BOOST_TEST(r.committed_bytes() == page());
    r.guard(bytes(r) + 4 * page(), 2 * page()); // reserved pages
    BOOST_TEST(r.committed_bytes() == page());
    r.decommit(r.base(), 4 * page()); // guards and one committed page
    BOOST_TEST(r.committed_bytes() == 0u);
    r.decommit(r.base(), r.size());
    r.commit(r.base(), r.size(), vmem::access::read_write);
    BOOST_TEST(r.committed_bytes() == r.size());
    BOOST_TEST(all_equal(r.base(), r.size(), 0));
}

BOOST_AUTO_TEST_SUITE_END()
